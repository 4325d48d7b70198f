"""The inputs of ``nerkit annotate``: txt (one text per line), jsonl (a text
field, other fields kept) and CoNLL (pre-tokenized documents), read line by
line into ``Item`` (a text to annotate) or ``Invalid`` (why a line cannot be),
and ``AnnotateError`` (``FILE:LINE: reason``) for invalid input."""
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List, Optional, Tuple, Union

from spacy.language import Language

from ..conll.reader import stream_conll

INPUT_FORMATS = {".txt": "txt", ".jsonl": "jsonl", ".conll": "conll"}

_JSON_TYPES = {type(None): "null", bool: "a boolean", int: "a number", float: "a number", str: "a string",
               list: "an array", dict: "an object"}


class AnnotateError(ValueError):
    """Invalid input. The message reads ``FILE:LINE: reason``.

    path (str): The input file.
    line_no (int): 1-based line number (for CoNLL, of the offending line).
    reason (str): What is wrong.
    """

    def __init__(self, path: Union[str, Path], line_no: int, reason: str) -> None:
        self.path = str(path)
        self.line_no = line_no
        self.reason = reason
        super().__init__(f"{self.path}:{line_no}: {reason}")


@dataclass
class Item:
    """One input text: ``text`` (txt, jsonl) or ``words`` and ``sent_starts``
    (a CoNLL document); ``fields`` the JSON record (jsonl). ``line_no`` is its
    first line, ``nbytes`` the input bytes it stands for (progress)."""

    line_no: int
    nbytes: int
    text: str = ""
    fields: Optional[dict] = None
    words: Optional[List[str]] = None
    sent_starts: Optional[List[bool]] = None

    @property
    def length(self) -> int:
        return len(self.words) if self.words is not None else len(self.text)


@dataclass
class Invalid:
    """An input line (or CoNLL document) that cannot be annotated."""

    line_no: int
    nbytes: int
    reason: str


def resolve_format(path: Union[str, Path], given: Optional[str], formats: dict, option: str) -> str:
    """The format named by ``given``, else by the path's suffix.

    RAISES ValueError: On an unknown format or suffix (naming ``option``).
    """
    names = sorted(set(formats.values()))
    if given is not None:
        if given not in names:
            raise ValueError(f"Unknown format {given!r}: expected one of {', '.join(names)}")
        return given
    suffix = Path(path).suffix.lower()
    if suffix not in formats:
        raise ValueError(
            f"Cannot tell the format of {str(path)!r} from its suffix {suffix!r} "
            f"({', '.join(sorted(formats))}): use {option} {'|'.join(names)}"
        )
    return formats[suffix]


def _lines(path: Union[str, Path]) -> Iterator[Tuple[int, int, Optional[str], str]]:
    """Yield ``(line_no, nbytes, text, reason)`` per line: the line without
    its line ending (and without a BOM on line 1), or None and why not."""
    with open(path, "rb") as file_:
        for line_no, raw in enumerate(file_, 1):
            yield (line_no, len(raw), *decode_line(line_no, raw))


def decode_line(line_no: int, raw: bytes) -> Tuple[Optional[str], str]:
    """``(text, "")`` for one raw input line (its line ending and a BOM on
    line 1 removed), or ``(None, reason)`` if it is not valid UTF-8."""
    raw = raw[:-1] if raw.endswith(b"\n") else raw
    raw = raw[:-1] if raw.endswith(b"\r") else raw
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        return None, f"not valid UTF-8 (byte {raw[err.start]:#04x} at column {err.start + 1})"
    if line_no == 1 and text.startswith("\ufeff"):
        text = text[1:]
    return text, ""


def read_txt(path: Union[str, Path]) -> Iterator[Union[Item, Invalid]]:
    """One text per line (empty lines are empty texts)."""
    for line_no, nbytes, text, reason in _lines(path):
        yield txt_item(line_no, nbytes, text, reason)


def txt_item(line_no: int, nbytes: int, text: Optional[str], reason: str) -> Union[Item, Invalid]:
    """The item of one decoded txt line."""
    return Item(line_no, nbytes, text) if text is not None else Invalid(line_no, nbytes, reason)


def read_jsonl(path: Union[str, Path], text_key: str = "text") -> Iterator[Union[Item, Invalid]]:
    """One JSON object per line with the text in ``text_key``; blank lines
    are passed over (they hold no record)."""
    pending = 0  # bytes of blank lines, counted with the next item
    for line_no, nbytes, line, reason in _lines(path):
        item = jsonl_item(line_no, nbytes + pending, line, reason, text_key)
        pending = nbytes + pending if item is None else 0
        if item is not None:
            yield item


def jsonl_item(
    line_no: int, nbytes: int, line: Optional[str], reason: str, text_key: str = "text"
) -> Optional[Union[Item, Invalid]]:
    """The item of one decoded jsonl line; None for a blank line."""
    if line is None:
        return Invalid(line_no, nbytes, reason)
    if not line.strip():
        return None
    try:
        record = json.loads(line)
    except ValueError as err:
        where = f" at column {err.colno}" if isinstance(err, json.JSONDecodeError) else ""
        return Invalid(line_no, nbytes, f"not JSON ({getattr(err, 'msg', err)}{where})")
    if not isinstance(record, dict):
        return Invalid(line_no, nbytes, f"not a JSON object (got {_JSON_TYPES[type(record)]})")
    if text_key not in record:
        return Invalid(line_no, nbytes, f"no field {text_key!r}")
    if not isinstance(record[text_key], str):
        return Invalid(line_no, nbytes, f"field {text_key!r} is not a string (got {_JSON_TYPES[type(record[text_key])]})")
    if not encodable(record[text_key]):
        return Invalid(line_no, nbytes, f"field {text_key!r} holds a lone surrogate (a \\ud800-\\udfff escape), not text")
    return Item(line_no, nbytes, record[text_key], fields=record)


def encodable(text: str) -> bool:
    """Whether ``text`` is valid Unicode (no lone surrogates, which spaCy's tokenizer cannot take)."""
    try:
        text.encode("utf8")
    except UnicodeEncodeError:
        return False
    return True


def read_conll_items(path: Union[str, Path], n_sents: int = 10) -> Iterator[Union[Item, Invalid]]:
    """One item per CoNLL document (``nerkit.conll.stream_conll``): its
    tokens as they are (never re-tokenized) and its sentence starts; an
    invalid document is ``Invalid``."""
    for part in stream_conll(_lines(path), str(path), n_sents):
        if part.document is None:
            yield Invalid(part.line_no, part.nbytes, part.reason)
            continue
        words: List[str] = []
        sent_starts: List[bool] = []
        for sent in part.document.sentences:
            words.extend(sent.tokens)
            sent_starts.extend([True] + [False] * (len(sent.tokens) - 1))
        yield Item(part.document.line_no, part.nbytes, words=words, sent_starts=sent_starts)


def read_items(
    path: Union[str, Path], fmt: str, *, text_key: str = "text", n_sents: int = 10
) -> Iterator[Union[Item, Invalid]]:
    """The items of an input file in format ``fmt`` ("txt", "jsonl", "conll")."""
    if fmt == "txt":
        return read_txt(path)
    if fmt == "jsonl":
        return read_jsonl(path, text_key)
    if fmt == "conll":
        return read_conll_items(path, n_sents)
    raise ValueError(f"Unknown input format {fmt!r}")


def within_max_length(nlp: Language, item: Union[Item, Invalid]) -> Union[Item, Invalid]:
    """``item``, or ``Invalid`` if it is a text longer than ``nlp.max_length``,
    which spaCy refuses (E088). Such a text is an error rather than split:
    offsets and one output record per input line stay simple, and the limit
    can be raised (``nlp.max_length``, ``--max-length``). CoNLL documents are
    not checked: a ``Doc`` of given words skips the tokenizer and its limit."""
    if isinstance(item, Invalid) or item.words is not None or len(item.text) <= nlp.max_length:
        return item
    return Invalid(item.line_no, item.nbytes,
                   f"text of {len(item.text):,} characters exceeds the pipeline's max_length ({nlp.max_length:,}); "
                   "split it, or raise the limit (nlp.max_length, nerkit annotate --max-length)")
