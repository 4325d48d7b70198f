"""CoNLL column files <-> spaCy docs, without losing documents, sentences or
entities. See ``reader`` (format), ``schemes`` (tag schemes, detection, lenient
repairs), ``docs`` (Doc conversion, writers), ``convert`` (files to a DocBin,
``nerkit convert``) and ``corpus`` (the ``nerkit.ConllCorpus.v1`` reader,
registered on import)."""
from .convert import convert_conll, read_conll_files
from .corpus import ConllCorpus, create_conll_corpus
from .docs import conll_to_docs, docs_to_conll, read_conll_docs, write_conll, write_docbin
from .reader import ConllDocument, ConllError, ConllFile, ConllSentence, read_conll, read_conll_text
from .schemes import SCHEMES, TagError, detect_scheme, spans_to_tags, tags_to_spans
from .stats import summarize, summary_rows, write_stats

__all__ = [
    "SCHEMES",
    "ConllCorpus",
    "ConllDocument",
    "ConllError",
    "ConllFile",
    "ConllSentence",
    "TagError",
    "conll_to_docs",
    "convert_conll",
    "create_conll_corpus",
    "detect_scheme",
    "docs_to_conll",
    "read_conll",
    "read_conll_docs",
    "read_conll_files",
    "read_conll_text",
    "spans_to_tags",
    "summarize",
    "summary_rows",
    "tags_to_spans",
    "write_conll",
    "write_docbin",
    "write_stats",
]
