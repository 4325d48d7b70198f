"""Build the evaluation report (a JSON-able dict) from gold and predicted docs.

The layout is documented in nerkit/scoring/README.md; the Markdown and HTML
reports are rendered from this dict alone.
"""
import datetime
from collections import Counter, defaultdict
from typing import Any, Dict, List, Optional, Sequence, Tuple

import spacy
from spacy.language import Language
from spacy.scorer import get_ner_prf
from spacy.tokens import Doc
from spacy.training import Example

from .bootstrap import bootstrap_f1
from .calibration import calibration_report
from .entities import EntSpan, collect_spans_and_cuts, doc_counts, score_spans
from .errors import classify, confusion_matrix, error_breakdown
from .predict import predict, predict_raw, sentence_bounds
from .tokens import spans_to_tags, score_tokens

SCHEMA_VERSION = 1
TOLERANCE = 1e-9
ENTITY_DEFINITION = (
    "Exact match on the gold tokenization, as conlleval: an entity is correct only "
    "if its type and both boundaries match. A predicted entity that runs over a gold "
    "sentence boundary counts as two, cut there, as conlleval reads the blank line "
    "between sentences. Micro = pooled over all entities."
)
TOKEN_NOTE = (
    "Token level, IOB2 tags: each token is scored on its own, so 97% token "
    "accuracy is not 97% entity F1. Averages are over the entity tags (O excluded); "
    "accuracy counts all tokens, O included."
)


def _tags_per_doc(spans: Sequence[EntSpan], docs: Sequence[Doc]) -> List[List[str]]:
    by_doc: Dict[int, list] = defaultdict(list)
    for s in spans:
        by_doc[s.doc].append((s.start, s.end, s.label))
    return [spans_to_tags(by_doc[i], len(d)) for i, d in enumerate(docs)]


def _spacy_scores(
    gold_docs: Sequence[Doc], pred_docs: Sequence[Doc], ours: Dict, pred: List[EntSpan]
) -> Dict:
    """spaCy's own NER figures (what `nlp.evaluate` reports for an ner or
    entity_ruler component) beside ours, with the reasons they may differ."""
    examples = [Example(p, g) for g, p in zip(gold_docs, pred_docs)]
    sp = get_ner_prf(examples)
    per_type = {
        k: {m: float(v[m]) for m in ("p", "r", "f")}
        for k, v in (sp.get("ents_per_type") or {}).items()
    }
    out: Dict[str, Any] = {
        "ents_p": float(sp["ents_p"] or 0.0),
        "ents_r": float(sp["ents_r"] or 0.0),
        "ents_f": float(sp["ents_f"] or 0.0),
        "ents_per_type": per_type,
        "method": "spacy.scorer.get_ner_prf",
    }
    pairs = [(out[f"ents_{k[0]}"], ours["micro"][k]) for k in ("precision", "recall", "f1")]
    for label in set(per_type) | set(ours["per_type"]):
        row = ours["per_type"].get(label, {"precision": 0.0, "recall": 0.0, "f1": 0.0})
        theirs = per_type.get(label, {"p": 0.0, "r": 0.0, "f": 0.0})
        pairs += [(theirs[k[0]], row[k]) for k in ("precision", "recall", "f1")]
    out["agrees"] = all(abs(a - b) < TOLERANCE for a, b in pairs)
    # known causes of disagreement, counted
    misaligned = sum(1 for s in pred if not s.aligned)
    unannotated = sum(1 for g in gold_docs if not g.has_annotation("ENT_IOB"))
    on_missing = sum(
        1
        for s, g in ((s, gold_docs[s.doc]) for s in pred)
        if g.has_annotation("ENT_IOB") and any(t.ent_iob == 0 for t in g[s.start : s.end])
    )
    out["causes"] = {
        "misaligned_predictions": misaligned,
        "gold_docs_without_ner_annotation": unannotated,
        "predictions_on_unannotated_gold_tokens": on_missing,
    }
    if out["agrees"]:
        out["note"] = (
            "spaCy's scorer agrees with the conlleval-exact scores, as it should "
            "when predictions are made on the gold tokenization."
        )
    else:
        out["note"] = (
            "spaCy's scorer disagrees. It maps a misaligned predicted span to the gold "
            "tokens it covers (and may count it correct; here it is always wrong), skips "
            "gold docs without NER annotation and ignores predictions on gold tokens with "
            "missing NER annotation (here those tokens are O). Counts: "
            + ", ".join(f"{k}={v}" for k, v in out["causes"].items())
            + "."
        )
    return out


def _examples(
    gold_docs: Sequence[Doc],
    gold: List[EntSpan],
    pred: List[EntSpan],
    n_examples: int,
) -> List[Dict]:
    """The sentences with the most errors (false positives + false negatives),
    ties in corpus order, with gold and predicted entities in char offsets
    relative to the sentence text. A prediction belongs to the sentence where
    it starts and is clipped to it."""
    if n_examples <= 0:
        return []
    g_out, p_out = classify(gold, pred)
    sents = {i: sentence_bounds(d) for i, d in enumerate(gold_docs)}

    def sent_of(span: EntSpan) -> int:
        return next(k for k, (s, e) in enumerate(sents[span.doc]) if s <= span.start < e)

    errors: Counter = Counter()
    for spans, outs in ((gold, g_out), (pred, p_out)):
        for span, out in zip(spans, outs):
            if out != "correct":
                errors[(span.doc, sent_of(span))] += 1
    ranked = sorted(errors.items(), key=lambda kv: (-kv[1], kv[0]))[:n_examples]
    examples = []
    for (d, k), n_err in ranked:
        doc = gold_docs[d]
        s, e = sents[d][k]
        offset = doc[s].idx
        ex: Dict[str, Any] = {
            "doc": d,
            "sent_start": s,
            "sent_end": e,
            "n_errors": n_err,
            "text": doc[s:e].text,
        }
        for key, spans, outs in (("gold", gold, g_out), ("pred", pred, p_out)):
            ents = []
            for span, out in zip(spans, outs):
                if span.doc != d or not (s <= span.start < e):
                    continue
                sub = doc[span.start : min(span.end, e)]
                ents.append(
                    {
                        "start": sub.start_char - offset,
                        "end": sub.end_char - offset,
                        "label": span.label,
                        "text": sub.text,
                        "outcome": out,
                    }
                )
            ex[key] = ents
        examples.append(ex)
    return examples


def build_report(
    gold_docs: Sequence[Doc],
    pred_docs: Sequence[Doc],
    *,
    pipeline: str = "",
    test_data: str = "",
    seconds: Optional[float] = None,
    batch_size: Optional[int] = None,
    n_examples: int = 10,
    n_bootstrap: int = 1000,
    seed: int = 0,
    pipeline_meta: Optional[Dict[str, Any]] = None,
    sentence_starts: Optional[bool] = None,
    raw_text: bool = False,
) -> Dict[str, Any]:
    """Score predicted docs against gold docs; every document is scored.

    gold_docs (Sequence[Doc]): Gold docs with entities (and sentence starts).
    pred_docs (Sequence[Doc]): One prediction per gold doc, same text.
    seconds (Optional[float]): Time the pipeline took, for words/s.
    sentence_starts (Optional[bool]): Whether the pipeline was given the gold
        sentence starts (None: not known), for the report's meta.
    raw_text (bool): The predictions come from the raw text (the pipeline's
        own tokens), for the report's meta.
    RETURNS (Dict[str, Any]): The report, laid out as in the README.
    """
    gold, pred, n_crossing = collect_spans_and_cuts(gold_docs, pred_docs)
    entity = score_spans(gold, pred)
    tokens = score_tokens(
        _tags_per_doc(gold, gold_docs), _tags_per_doc(pred, gold_docs)
    )
    n_words = sum(len(d) for d in gold_docs)
    pmeta = pipeline_meta or {}
    meta = {
        "schema_version": SCHEMA_VERSION,
        "pipeline": str(pipeline),
        "pipeline_name": f"{pmeta['lang']}_{pmeta['name']}" if "name" in pmeta else None,
        "pipeline_version": pmeta.get("version"),
        "test_data": str(test_data),
        "n_docs": len(gold_docs),
        "n_sents": sum(len(sentence_bounds(d)) for d in gold_docs),
        "n_words": n_words,
        "n_gold_ents": len(gold),
        "n_pred_ents": len(pred),
        "labels": sorted({s.label for s in gold}),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "spacy_version": spacy.__version__,
        "tokenization": "gold" if raw_text is False else "raw text: the pipeline's tokenizer, entities mapped to gold tokens by character offsets",
        "n_pred_ents_misaligned": sum(1 for s in pred if not s.aligned),
        "sentence_starts_given": sentence_starts,
        "n_pred_ents_crossing_sentences": n_crossing,
    }
    return {
        "meta": meta,
        "entity": {**entity, "definition": ENTITY_DEFINITION},
        "token": {**tokens, "note": TOKEN_NOTE},
        "errors": error_breakdown(gold, pred),
        "confusion": confusion_matrix(gold, pred),
        "bootstrap": bootstrap_f1(
            doc_counts(gold, pred, len(gold_docs)), n_samples=n_bootstrap, seed=seed
        ),
        "speed": {
            "words_per_second": n_words / seconds if seconds else None,
            "seconds": seconds,
            "n_words": n_words,
            "batch_size": batch_size,
        },
        "spacy_scorer": _spacy_scores(gold_docs, pred_docs, entity, pred),
        "examples": _examples(gold_docs, gold, pred, n_examples),
        "calibration": calibration_report(gold_docs, pred_docs),
    }


def headline(report: Dict[str, Any]) -> Dict[str, Any]:
    """The headline figures in the shape of a spaCy meta.json `performance`
    block: conlleval-exact ents_p/r/f and ents_per_type {label: {p, r, f}}."""
    ent = report["entity"]
    return {
        "ents_p": ent["micro"]["precision"],
        "ents_r": ent["micro"]["recall"],
        "ents_f": ent["micro"]["f1"],
        "ents_per_type": {
            label: {"p": row["precision"], "r": row["recall"], "f": row["f1"]}
            for label, row in ent["per_type"].items()
        },
    }


def evaluate(
    nlp: Language,
    gold_docs: Sequence[Doc],
    *,
    batch_size: int = 64,
    sentence_starts: bool = True,
    raw_text: bool = False,
    **kwargs: Any,
) -> Tuple[Dict[str, Any], List[Doc]]:
    """Run `nlp` on the gold tokenization of `gold_docs` (timed), with the
    gold sentence starts unless `sentence_starts` is False (see `predict`),
    or with `raw_text` on each doc's text as users call it (`predict_raw`:
    spaCy's tokenizer, no sentence starts, entities that miss the gold token
    boundaries count as errors), and build the report; keyword arguments go
    to `build_report`.

    RETURNS (Tuple[Dict[str, Any], List[Doc]]): The report and predicted docs.
    """
    if raw_text:
        pred_docs, seconds = predict_raw(nlp, gold_docs, batch_size=batch_size)
        sentence_starts = False
    else:
        pred_docs, seconds = predict(nlp, gold_docs, batch_size=batch_size, sentence_starts=sentence_starts)
    kwargs.setdefault("pipeline_meta", nlp.meta)
    report = build_report(
        gold_docs, pred_docs, seconds=seconds, batch_size=batch_size,
        sentence_starts=sentence_starts, raw_text=raw_text, **kwargs
    )
    return report, pred_docs
