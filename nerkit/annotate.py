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

``nerkit annotate`` (``nerkit/cli/annotate.py``) is the command line.
"""
import contextlib
import json
import os
import sys
import time
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from spacy.language import Language
from spacy.tokens import Doc, DocBin
from tqdm import tqdm

from .conll.docs import DOCSTART_LINE, atomic_file
from .conll.reader import DOCSTART, ConllError, read_conll_text
from .conll.schemes import normalize_scheme, spans_to_tags
from .ents import SCORES_KEY, check_min_score, drop_below, ents_json
from .scoring.predict import cut_ents_at_sentences

INPUT_FORMATS = {".txt": "txt", ".jsonl": "jsonl", ".conll": "conll"}
OUTPUT_FORMATS = {".jsonl": "jsonl", ".conll": "conll", ".spacy": "spacy"}
N_EXAMPLES = 5  # skipped lines whose reasons the summary keeps

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


@dataclass
class Summary:
    """What a run did. ``texts`` counts output texts (CoNLL: documents),
    ``words`` their non-whitespace tokens, ``entities`` those written,
    ``dropped`` those under ``min_score``, ``skipped`` the invalid inputs
    skipped (the first few reasons in ``examples``)."""

    texts: int = 0
    words: int = 0
    entities: Counter = field(default_factory=Counter)
    skipped: int = 0
    examples: List[str] = field(default_factory=list)
    seconds: float = 0.0
    dropped: int = 0
    min_score: Optional[float] = None

    def rows(self) -> List[Tuple[str, str]]:
        """(name, value) rows for a table: counts, entities per label, speed."""
        secs = max(self.seconds, 1e-9)
        rows = [("Texts", f"{self.texts:,}"), ("Words", f"{self.words:,}"),
                ("Entities", f"{sum(self.entities.values()):,}")]
        rows += [(f"  {label}", f"{n:,}") for label, n in sorted(self.entities.items())]
        if self.min_score is not None:
            rows.append((f"Dropped (score < {self.min_score:g})", f"{self.dropped:,}"))
        rows += [("Skipped (invalid)", f"{self.skipped:,}"), ("Seconds", f"{self.seconds:,.1f}"),
                 ("Texts/s", f"{self.texts / secs:,.1f}"), ("Words/s", f"{self.words / secs:,.0f}")]
        return rows


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


# --- readers -----------------------------------------------------------------


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


def read_conll_stream(path: Union[str, Path], n_sents: int = 10) -> Iterator[Union[Item, Invalid]]:
    """One item per CoNLL document, its tokens as they are (never re-tokenized)
    and its sentence starts. The file is read one document at a time (a
    ``-DOCSTART-`` document, or before the first marker ``n_sents``
    sentences) and each is parsed by ``nerkit.conll.read_conll_text``: the
    format ``scripts/convert.py`` reads (token first, tag last), and also
    tokens only (one column; ``allow_tokens_only``), per document. The tags
    are not used; scheme violations in them are no error (lenient), anything
    else invalid makes the document invalid."""
    block: List[str] = []  # the lines of the current document
    first = nbytes = n_done = 0  # its first line, its bytes, its complete sentences
    error: Optional[Tuple[int, str]] = None  # its first undecodable line
    has_tokens = in_sentence = seen_marker = False
    for line_no, size, line, reason in _lines(path):
        is_marker = line is not None and line.replace("\t", " ").split(" ", 1)[0] == DOCSTART
        is_token = line is None or not (is_marker or not line.strip())
        if has_tokens and (is_marker or (is_token and not seen_marker and n_done >= n_sents)):
            yield from _conll_items(path, block, first, nbytes, n_sents, error)
            block, first, nbytes, n_done, error = [], line_no, 0, 0, None
            has_tokens = in_sentence = False
        if line is None:
            error, line = error or (line_no, reason), ""
        seen_marker = seen_marker or is_marker
        first = first or line_no
        block.append(line)
        nbytes += size
        if is_token:
            has_tokens = in_sentence = True
        elif not is_marker:
            n_done, in_sentence = n_done + in_sentence, False
    if has_tokens:
        yield from _conll_items(path, block, first, nbytes, n_sents, error)


def _conll_items(
    path: Union[str, Path], block: List[str], first: int, nbytes: int, n_sents: int, error: Optional[Tuple[int, str]]
) -> Iterator[Union[Item, Invalid]]:
    """The documents of one block of lines (starting at line ``first``)."""
    if error is not None:
        yield Invalid(error[0], nbytes, error[1])
        return
    try:
        parsed = read_conll_text("\n".join(block), path_name=str(path), n_sents=n_sents, lenient=True,
                                 first_line_no=first, allow_tokens_only=True)
    except ConllError as err:
        yield Invalid(err.line_no, nbytes, f"{err.reason}: {err.line!r}")
        return
    for k, document in enumerate(parsed.documents):
        words: List[str] = []
        sent_starts: List[bool] = []
        for sent in document.sentences:
            words.extend(sent.tokens)
            sent_starts.extend([True] + [False] * (len(sent.tokens) - 1))
        yield Item(document.line_no, nbytes if k == 0 else 0, words=words, sent_starts=sent_starts)


def read_items(
    path: Union[str, Path], fmt: str, *, text_key: str = "text", n_sents: int = 10
) -> Iterator[Union[Item, Invalid]]:
    """The items of an input file in format ``fmt`` ("txt", "jsonl", "conll")."""
    if fmt == "txt":
        return read_txt(path)
    if fmt == "jsonl":
        return read_jsonl(path, text_key)
    if fmt == "conll":
        return read_conll_stream(path, n_sents)
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


# --- writers -----------------------------------------------------------------
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


def conll_lines(
    words: Sequence[str], starts: Sequence[int], ents: Iterable[Tuple[int, int, str]], scheme: str
) -> List[str]:
    """The lines of one document: ``-DOCSTART- -X- -X- O``, a blank line, then
    per sentence ``token tag`` lines and a blank line. Whitespace tokens are
    left out (an entity keeps the tokens it has left), whitespace inside a
    token or label becomes ``_``, and an entity is cut at sentence starts.

    words (Sequence[str]): The tokens.
    starts (Sequence[int]): Sentence start offsets (0 first).
    ents (Iterable[Tuple[int, int, str]]): Sorted, non-overlapping (start, end, label).
    scheme (str): "iob1", "iob2", "bioes" or "bilou".
    """
    rank = [0]  # rank[i]: how many kept tokens come before token i
    for word in words:
        rank.append(rank[-1] + (not word.isspace()))
    kept = ["_".join(word.split()) for word in words if not word.isspace()]
    n = len(kept)
    bounds = sorted({rank[s] for s in starts if rank[s] < n} | ({0} if n else set()))
    spans = []
    for start, end, label in ents:
        a, b = rank[start], rank[end]
        cuts = bounds[bisect_right(bounds, a) : bisect_right(bounds, b - 1)]
        spans.extend((x, y, "_".join(label.split())) for x, y in zip([a, *cuts], [*cuts, b]) if x < y)
    lines = [DOCSTART_LINE, ""]
    j = 0
    for x, y in zip(bounds, [*bounds[1:], n]):
        sent = []
        while j < len(spans) and spans[j][0] < y:
            sent.append((spans[j][0] - x, spans[j][1] - x, spans[j][2]))
            j += 1
        lines.extend(f"{word} {tag}" for word, tag in zip(kept[x:y], spans_to_tags(sent, y - x, scheme)))
        lines.append("")
    return lines


# --- the run -----------------------------------------------------------------


def annotate(
    nlp: Language,
    input_path: Union[str, Path],
    output_path: Union[str, Path],
    *,
    input_format: Optional[str] = None,
    output_format: Optional[str] = None,
    text_key: str = "text",
    scheme: str = "iob2",
    chunk_size: int = 1000,
    batch_size: Optional[int] = None,
    n_sents: int = 10,
    skip_invalid: bool = False,
    progress: bool = False,
    min_score: Optional[float] = None,
) -> Summary:
    """Annotate ``input_path`` with ``nlp`` into ``output_path``, streaming.

    input_format (Optional[str]): "txt", "jsonl" or "conll"; None: from the suffix.
    output_format (Optional[str]): "jsonl", "conll" or "spacy"; None: from the suffix.
    text_key (str): The text field of jsonl input.
    scheme (str): Tag scheme of conll output.
    chunk_size (int): Texts read, annotated and written at a time (in one memory zone).
    batch_size (Optional[int]): ``nlp.pipe``'s batch size; None: the pipeline's.
    n_sents (int): Sentences per document of CoNLL input without ``-DOCSTART-``.
    skip_invalid (bool): Skip invalid lines (counted) instead of raising.
    progress (bool): Show a progress bar on stderr.
    min_score (Optional[float]): Drop entities whose probability is below it.
    RETURNS (Summary): Counts and seconds.
    RAISES AnnotateError: On invalid input (without ``skip_invalid``); no output is left.
    RAISES ValueError: On an unknown format or scheme, a chunk size below 1, the output being
        the input, or ``min_score`` for a pipeline without entity scores (see ``check_min_score``).
    """
    check_output_path(input_path, output_path)
    check_min_score(nlp.config, min_score)
    in_format = resolve_format(input_path, input_format, INPUT_FORMATS, "--format")
    writer_class = WRITERS[resolve_format(output_path, output_format, OUTPUT_FORMATS, "--output-format")]
    scheme = normalize_scheme(scheme)
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    summary = Summary(min_score=min_score)
    start = time.perf_counter()
    items = read_items(input_path, in_format, text_key=text_key, n_sents=n_sents)
    items = (within_max_length(nlp, item) for item in items)
    with contextlib.closing(_Progress(input_path, progress)) as bar, atomic_file(output_path) as file_:

        def count(item: Item, doc: Doc, dropped: int) -> None:
            words = word_count(item, doc)
            summary.texts += 1
            summary.words += words
            summary.entities.update(ent.label_ for ent in doc.ents)
            summary.dropped += dropped
            bar.advance(item.nbytes, words)

        writer = writer_class(file_, scheme)
        for chunk in _chunks(items, chunk_size, input_path, skip_invalid, summary, bar):
            with memory_zone(nlp):
                for item, doc in zip(chunk, _annotate_chunk(nlp, chunk, batch_size, count, min_score)):
                    writer.write(item, doc)
        writer.close()
    summary.seconds = time.perf_counter() - start
    return summary


def word_count(item: Item, doc: Doc) -> int:
    """The words the summary counts for a text: CoNLL's tokens, else the doc's non-whitespace tokens."""
    return len(item.words) if item.words is not None else sum(not token.is_space for token in doc)


def memory_zone(nlp: Language):
    """``nlp.memory_zone()`` (spaCy >= 3.8: the strings made inside are freed
    when it ends), or a no-op context."""
    return nlp.memory_zone() if hasattr(nlp, "memory_zone") else contextlib.nullcontext()


def _chunks(
    items: Iterable[Union[Item, Invalid]], size: int, path: Union[str, Path], skip_invalid: bool,
    summary: Summary, bar: "_Progress",
) -> Iterator[List[Item]]:
    """Lists of ``size`` valid items; invalid ones raise or are counted."""
    chunk: List[Item] = []
    for item in items:
        if isinstance(item, Invalid):
            error = AnnotateError(path, item.line_no, item.reason)
            if not skip_invalid:
                raise error
            summary.skipped += 1
            if len(summary.examples) < N_EXAMPLES:
                summary.examples.append(str(error))
            bar.advance(item.nbytes, 0, texts=0)
            continue
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _annotate_chunk(
    nlp: Language, chunk: Sequence[Item], batch_size: Optional[int], count, min_score: Optional[float] = None
) -> List[Doc]:
    """The chunk's docs in input order. ``nlp.pipe`` gets the texts sorted
    by length (CoNLL: Docs of the given words and sentence starts, whose
    entities are then cut at the sentence starts, as ``scripts/evaluate.py``
    does); empty and whitespace-only texts are only tokenized (no entities).
    Entities under ``min_score`` are dropped. ``count(item, doc, dropped)``
    is called on each doc as it is done."""
    docs: List[Optional[Doc]] = [None] * len(chunk)
    todo = []
    for i in sorted(range(len(chunk)), key=lambda i: chunk[i].length):
        if chunk[i].words is None and not chunk[i].text.strip():
            docs[i] = nlp.make_doc(chunk[i].text)
            count(chunk[i], docs[i], 0)
        else:
            todo.append(i)
    inputs = (_input_doc(nlp, chunk[i]) for i in todo)
    for i, doc in zip(todo, nlp.pipe(inputs, batch_size=batch_size)):
        if chunk[i].words is not None:
            cut_ents_at_sentences(doc)
        docs[i] = doc
        count(chunk[i], doc, drop_below(doc, min_score))
    return docs  # type: ignore[return-value]


def _input_doc(nlp: Language, item: Item) -> Union[str, Doc]:
    """The text, or for CoNLL a Doc of the words (single spaces between them)."""
    if item.words is None:
        return item.text
    spaces = [True] * len(item.words)
    spaces[-1] = False
    return Doc(nlp.vocab, words=item.words, spaces=spaces, sent_starts=item.sent_starts)


class _Progress:
    """A bar over the input's bytes with texts/s and words/s (no-op when disabled)."""

    def __init__(self, path: Union[str, Path], enabled: bool) -> None:
        total = os.path.getsize(path) if enabled and Path(path).is_file() else 0
        bar_format = "{l_bar}{bar}| {n_fmt}/{total_fmt}B [{elapsed}<{remaining}{postfix}]" if total else None
        self.bar = tqdm(total=total or None, disable=not enabled, unit="B", unit_scale=True, file=sys.stderr,
                        bar_format=bar_format, dynamic_ncols=True)
        self.start = self.shown = time.perf_counter()
        self.texts = self.words = 0

    def advance(self, nbytes: int, words: int, texts: int = 1) -> None:
        if self.bar.disable:
            return
        self.texts += texts
        self.words += words
        now = time.perf_counter()
        if now - self.shown >= 0.5:
            seconds = now - self.start
            speed = f"{self.texts / seconds:,.0f} texts/s, {self.words / seconds:,.0f} words/s"
            self.bar.set_postfix_str(speed, refresh=False)
            self.shown = now
        self.bar.update(nbytes)

    def close(self) -> None:
        self.bar.close()
