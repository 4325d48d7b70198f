"""The outputs of ``nerkit annotate``: jsonl (displaCy's manual format, with
scores), CoNLL (``token tag`` lines, ``nerkit.conll.conll_lines``) and a
DocBin; and the check that the output is not the input."""
import json
import os
from pathlib import Path
from typing import BinaryIO, Union

from spacy.tokens import Doc, DocBin

from ..conll.docs import conll_lines
from ..conll.schemes import normalize_scheme
from ..ents import SCORES_KEY, ents_json
from .inputs import Item

OUTPUT_FORMATS = {".jsonl": "jsonl", ".conll": "conll", ".spacy": "spacy"}


def check_output_path(input_path: Union[str, Path], output_path: Union[str, Path]) -> None:
    """Refuse to write the output onto the input: the same path, or the same
    file through a link (the input would be replaced by its annotation).

    RAISES ValueError: If ``output_path`` is the input file.
    """
    both_exist = os.path.exists(input_path) and os.path.exists(output_path)
    if Path(input_path).resolve() == Path(output_path).resolve() or (
        both_exist and os.path.samefile(input_path, output_path)
    ):
        raise ValueError(f"The output {str(output_path)!r} is the input file {str(input_path)!r}: "
                         "write to another path (the input would be replaced)")


# A writer gets each (item, doc) in input order while the doc's memory zone is
# open, and keeps nothing of the doc but what it extracts.


class JsonlWriter:
    """One JSON line per text: the input's fields (txt and CoNLL input:
    ``{"text": ...}``) plus ``"ents"`` (replacing an input field of that name),
    displaCy's manual format: ``start`` and ``end`` are character offsets into
    the text (Python string indices); ``score``, where the pipeline gives one,
    the probability that exactly that span with that label is an entity."""

    def __init__(self, file_: BinaryIO, scheme: str = "iob2") -> None:
        self.file = file_

    def write(self, item: Item, doc: Doc) -> None:
        record = dict(item.fields) if item.fields is not None else {"text": doc.text}
        record["ents"] = ents_json(doc)
        try:
            line = json.dumps(record, ensure_ascii=False).encode("utf8")
        except UnicodeEncodeError:  # a lone surrogate (read from a \ud800 escape) stays escaped
            line = json.dumps(record).encode("utf8")
        self.file.write(line + b"\n")

    def close(self) -> None:
        pass


class ConllWriter:
    """``token tag`` lines in ``scheme`` (see ``conll_lines``): a
    ``-DOCSTART-`` document per text (CoNLL input: per document)."""

    def __init__(self, file_: BinaryIO, scheme: str = "iob2") -> None:
        self.file = file_
        self.scheme = normalize_scheme(scheme)

    def write(self, item: Item, doc: Doc) -> None:
        starts = [sent.start for sent in doc.sents] if doc.has_annotation("SENT_START") else [0]
        ents = [(ent.start, ent.end, ent.label_) for ent in doc.ents]
        lines = conll_lines([token.text for token in doc], starts, ents, self.scheme)
        self.file.write("".join(line + "\n" for line in lines).encode("utf8"))

    def close(self) -> None:
        pass


class DocBinWriter:
    """A ``.spacy`` DocBin of all docs, written at the end: the one output
    whose memory grows with the output (compactly: arrays and strings). Of
    the user data only the entity scores are kept (``ent._.score``; not, say,
    a transformer's output)."""

    def __init__(self, file_: BinaryIO, scheme: str = "iob2") -> None:
        self.file = file_
        self.docbin = DocBin(store_user_data=True)

    def write(self, item: Item, doc: Doc) -> None:
        user_data = doc.user_data
        doc.user_data = {SCORES_KEY: user_data[SCORES_KEY]} if SCORES_KEY in user_data else {}
        try:
            self.docbin.add(doc)
        finally:
            doc.user_data = user_data

    def close(self) -> None:
        self.file.write(self.docbin.to_bytes())


WRITERS = {"jsonl": JsonlWriter, "conll": ConllWriter, "spacy": DocBinWriter}
