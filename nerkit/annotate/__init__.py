"""Annotate files of any size with a pipeline: read texts (``txt``: one per
line; ``jsonl``: a text field, other fields kept; ``conll``: pre-tokenized
documents, tokens kept), run ``nlp.pipe`` and write the entities (``jsonl``:
displaCy's manual format; ``conll``: ``token tag`` lines; ``spacy``: a DocBin).

Memory stays constant whatever the input size (except for ``spacy`` output,
a single DocBin that grows with the output): the input is read and written in
chunks of ``chunk_size`` texts; within a chunk the texts are sorted by length
for batching and written back in input order, inside ``nlp.memory_zone()``
(where the installed spaCy has it), so the strings of one chunk are freed
before the next. The output is written to a temp file next to it and renamed
when complete: an error or an interrupt leaves no output (and no temp file).

With ``min_score`` (a pipeline whose entities have scores, ``ent._.score``:
``nerkit_token_ner``) entities with a lower probability are dropped from every
output format, and counted (``Summary.dropped``); jsonl entities carry their
``"score"``, and ``spacy`` output keeps the scores (``doc.user_data``).

Bad input (a line that is not valid UTF-8 or JSON, a JSON line that is not an
object, lacks the text field or whose text is not a string or holds a lone
surrogate, a text longer than ``nlp.max_length``, an invalid CoNLL document)
raises ``AnnotateError`` (``FILE:LINE: reason``), or with ``skip_invalid`` is
skipped and counted in ``Summary.skipped``. The output may not be the input
file (``check_output_path``).

Modules: ``inputs`` (formats, line decoding, ``Item``, ``Invalid``,
``AnnotateError``), ``outputs`` (the writers), ``options`` (``AnnotateOptions``,
the settings both engines take, checked before a pipeline is loaded), ``run`` (the local engine,
``Summary``), ``ray`` (``--engine ray``, the ``ray`` extra; imported on use).
``nerkit annotate`` (``nerkit/cli/annotate.py``) is the command line.
"""
from .inputs import INPUT_FORMATS, AnnotateError, Invalid, Item, encodable, read_items, resolve_format
from .options import AnnotateOptions
from .outputs import OUTPUT_FORMATS, WRITERS, check_output_path
from .run import Summary, annotate, annotate_chunk, memory_zone

__all__ = [
    "INPUT_FORMATS", "OUTPUT_FORMATS", "WRITERS", "AnnotateError", "AnnotateOptions", "Invalid", "Item", "Summary", "annotate",
    "annotate_chunk", "check_output_path", "encodable", "memory_zone", "read_items", "resolve_format",
]
