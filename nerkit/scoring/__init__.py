"""Evaluation of NER pipelines: conlleval-exact entity scores, a token-level
table, an error breakdown, bootstrap intervals and JSON/Markdown/HTML reports.
No torch or transformers imports here. The JSON layout: nerkit/scoring/README.md.
"""
from .bootstrap import bootstrap_f1
from .conlleval import compare, parse_conlleval, run_conlleval
from .entities import (
    EntSpan,
    align_pred_spans,
    collect_spans,
    cut_at_sentences,
    doc_counts,
    doc_spans,
    iob_to_spans,
    prf,
    score_spans,
)
from .errors import CATEGORIES, classify, confusion_matrix, error_breakdown
from .evaluate_pipeline import evaluate_pipeline
from .entities import sentence_bounds
from .predict import MISALIGNED_SUFFIX, cut_ents_at_sentences, load_docs, predict, predict_raw, write_predictions
from .render import headline_markdown, render_html, render_markdown, write_report
from .report import SCHEMA_VERSION, build_report, evaluate, headline
from .tokens import score_tokens, spans_to_tags

__all__ = [
    "CATEGORIES",
    "EntSpan",
    "MISALIGNED_SUFFIX",
    "SCHEMA_VERSION",
    "align_pred_spans",
    "bootstrap_f1",
    "build_report",
    "classify",
    "collect_spans",
    "compare",
    "cut_at_sentences",
    "cut_ents_at_sentences",
    "confusion_matrix",
    "doc_counts",
    "doc_spans",
    "error_breakdown",
    "evaluate",
    "evaluate_pipeline",
    "headline",
    "headline_markdown",
    "iob_to_spans",
    "load_docs",
    "parse_conlleval",
    "predict",
    "predict_raw",
    "prf",
    "render_html",
    "render_markdown",
    "run_conlleval",
    "score_spans",
    "score_tokens",
    "sentence_bounds",
    "spans_to_tags",
    "write_predictions",
    "write_report",
]
