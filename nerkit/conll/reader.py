"""Read CoNLL-style column files into documents and sentences (plain Python).

Format accepted:
- One token per line, columns separated by spaces and/or tabs. The first column is
  the token, the tag is column ``tag_column`` (default -1, the last). Every token
  line must have as many columns as the file's first token line. With 3 or more
  columns, column 2 is kept as the POS tag (``ConllSentence.pos``).
  With ``allow_tokens_only`` (``nerkit annotate``'s input) one column is
  accepted too: tokens only, every tag ``O``.
- Columns are split on spaces and tabs only: other characters (e.g. a no-break
  space) may be part of a token. A line starting with a space or tab is an
  error (empty token).
- Sentences are separated by empty or whitespace-only lines (any number of them);
  a trailing blank line is optional.
- A line whose first column is ``-DOCSTART-`` (whatever its other columns) starts
  a document. A document without tokens (a marker followed by another) yields no
  Doc; ``ConllFile.empty_docs`` counts them. Sentences before the first marker
  (all of them, in a file without markers) are grouped into documents of
  ``n_sents`` sentences. One function draws these boundaries
  (``split_documents``), for whole files and for streams alike.
- UTF-8 with or without BOM; LF, CRLF or CR line endings.
Tags are converted to spans sentence by sentence (see ``schemes``), so an
entity never crosses a sentence boundary.
"""
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, List, Optional, Tuple, TypeVar, Union

from .schemes import Span, TagError, detect_scheme, normalize_scheme, tags_to_spans

DOCSTART = "-DOCSTART-"
T = TypeVar("T")


class ConllError(ValueError):
    """Invalid input. The message reads ``FILE:LINE: REASON: 'LINE TEXT'``.

    path (str): The file name as given.
    line_no (int): 1-based line number.
    line (str): The offending line.
    reason (str): What is wrong.
    """

    def __init__(self, path: Union[str, Path], line_no: int, line: str, reason: str) -> None:
        self.path = str(path)
        self.line_no = line_no
        self.line = line
        self.reason = reason
        super().__init__(f"{self.path}:{line_no}: {reason}: {line!r}")


@dataclass
class ConllSentence:
    """One sentence. ``line_no`` is the 1-based line of its first token,
    ``line_nos`` the line of each token, ``spans`` its (start, end, label) entities."""

    tokens: List[str]
    tags: List[str]
    pos: Optional[List[str]]
    line_no: int
    line_nos: List[int] = field(default_factory=list)
    spans: List[Span] = field(default_factory=list)


@dataclass
class ConllDocument:
    """One document; ``line_no`` is its ``-DOCSTART-`` line (or first token line)."""

    sentences: List[ConllSentence]
    line_no: int


@dataclass
class ConllFile:
    """A parsed file: its documents, the scheme used, lenient repairs by kind,
    and how many ``-DOCSTART-`` documents held no tokens."""

    path: Path
    documents: List[ConllDocument]
    scheme: str
    repairs: Counter = field(default_factory=Counter)
    empty_docs: int = 0

    @property
    def sentences(self) -> List[ConllSentence]:
        return [sent for doc in self.documents for sent in doc.sentences]


@dataclass
class StreamedDocument:
    """One document of ``stream_conll``: ``document`` parsed, or None and the
    ``reason`` (at line ``line_no``) it is invalid; ``nbytes`` the input bytes
    it stands for (all of its block's on a block's first document, else 0)."""

    line_no: int
    nbytes: int
    document: Optional[ConllDocument] = None
    reason: str = ""


def split_documents(
    lines: Iterable[T], text_of: Callable[[T], Optional[str]], n_sents: int
) -> Iterator[Tuple[List[T], bool]]:
    """The lines of a CoNLL file in documents, the rule of the module docstring:
    a new document at each ``-DOCSTART-`` line that follows tokens, and, before
    the first marker, after every ``n_sents`` sentences. Reads one line at a time.

    lines (Iterable[T]): The lines, in order, as any items.
    text_of (Callable[[T], Optional[str]]): An item's text (None: an undecodable
        line, taken as a token line).
    RETURNS (Iterator[Tuple[List[T], bool]]): Each document's items (its markers
        and blank lines included) and whether it holds a token line.
    """
    block: List[T] = []
    n_done = 0  # complete sentences in the block
    has_tokens = in_sentence = seen_marker = False
    for item in lines:
        line = text_of(item)
        is_marker = line is not None and _is_marker(line)
        is_token = line is None or not (is_marker or not line.strip())
        if has_tokens and (is_marker or (is_token and not seen_marker and n_done >= n_sents)):
            yield block, True
            block, n_done, has_tokens, in_sentence = [], 0, False, False
        seen_marker = seen_marker or is_marker
        block.append(item)
        if is_token:
            has_tokens = in_sentence = True
        elif not is_marker:
            n_done, in_sentence = n_done + in_sentence, False
    if block:
        yield block, has_tokens


def stream_conll(
    lines: Iterable[Tuple[int, int, Optional[str], str]], path_name: str, n_sents: int = 10
) -> Iterator[StreamedDocument]:
    """The documents of a CoNLL file read line by line (memory for one
    document at a time), split by ``split_documents``. ``lines`` holds
    ``(line_no, nbytes, text, reason)``, ``text`` None where the line could not
    be decoded (``reason``). Each document is parsed by ``read_conll_text`` with
    ``allow_tokens_only`` (text to annotate) and ``lenient`` tags (they are not used)."""
    for block, has_tokens in split_documents(lines, lambda line: line[2], n_sents):
        if has_tokens:
            yield from _parse_block(path_name, block, n_sents)


def _parse_block(
    path_name: str, block: List[Tuple[int, int, Optional[str], str]], n_sents: int
) -> Iterator[StreamedDocument]:
    """The document of one block of ``stream_conll``'s lines."""
    nbytes = sum(size for _, size, _, _ in block)
    error = next(((line_no, reason) for line_no, _, text, reason in block if text is None), None)
    if error is not None:
        yield StreamedDocument(error[0], nbytes, reason=error[1])
        return
    try:
        parsed = read_conll_text("\n".join(text for _, _, text, _ in block), path_name=path_name, n_sents=n_sents,
                                 lenient=True, first_line_no=block[0][0], allow_tokens_only=True)
    except ConllError as err:
        yield StreamedDocument(err.line_no, nbytes, reason=f"{err.reason}: {err.line!r}")
        return
    for k, document in enumerate(parsed.documents):
        yield StreamedDocument(document.line_no, nbytes if k == 0 else 0, document)


def read_conll(
    path: Union[str, Path],
    *,
    scheme: str = "auto",
    tag_column: int = -1,
    n_sents: int = 10,
    lenient: bool = False,
) -> ConllFile:
    """Read and validate a CoNLL column file.

    path (Union[str, Path]): The file.
    scheme (str): "auto" (see ``detect_scheme``), "iob1", "iob2", "bioes"/"iobes", "bilou".
    tag_column (int): Index of the tag column (negative counts from the end).
    n_sents (int): Sentences per document for files without ``-DOCSTART-``.
    lenient (bool): Repair scheme violations (counted in ``ConllFile.repairs``).
    RETURNS (ConllFile): The parsed file.
    RAISES ConllError: On invalid input, naming the file, line number and line.
    """
    data = Path(path).read_bytes()
    nul = data.find(b"\x00")
    if nul >= 0:
        _raise_binary(path, data, nul, "not a text file (contains NUL bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        _raise_binary(path, data, err.start, f"not valid UTF-8 (byte {data[err.start]:#04x})")
    return read_conll_text(
        text, path_name=str(path), scheme=scheme, tag_column=tag_column,
        n_sents=n_sents, lenient=lenient,
    )


def _raise_binary(path: Union[str, Path], data: bytes, pos: int, reason: str) -> None:
    line_no = data.count(b"\n", 0, pos) + 1
    start = data.rfind(b"\n", 0, pos) + 1
    end = data.find(b"\n", pos)
    line = data[start : end if end >= 0 else len(data)][:200]
    raise ConllError(path, line_no, line.decode("utf-8", "replace"), reason)


def read_conll_text(
    text: str,
    *,
    path_name: str = "<text>",
    scheme: str = "auto",
    tag_column: int = -1,
    n_sents: int = 10,
    lenient: bool = False,
    first_line_no: int = 1,
    allow_tokens_only: bool = False,
) -> ConllFile:
    """Parse CoNLL text; same options as ``read_conll``. ``path_name`` is the
    file name used in error messages and ``ConllFile.path``; ``first_line_no``
    the line number of the text's first line in that file (for a piece of a
    file read in parts). ``allow_tokens_only``: a text whose first token line
    has one column is tokens only, every tag ``O`` (text to annotate; training
    data keeps needing a tag).
    """
    scheme = normalize_scheme(scheme, allow_auto=True)
    if n_sents < 1:
        raise ValueError(f"n_sents must be at least 1, got {n_sents}")
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    documents, empty_docs = _parse(lines, path_name, tag_column, n_sents, first_line_no, allow_tokens_only)
    sentences = [sent for doc in documents for sent in doc.sentences]
    if not sentences:
        raise ConllError(path_name, first_line_no, lines[0], "no tokens found (empty file)")
    if scheme == "auto":
        scheme = detect_scheme(sent.tags for sent in sentences)
    repairs: Counter = Counter()
    for sent in sentences:
        try:
            sent.spans = tags_to_spans(sent.tags, scheme, lenient=lenient, repairs=repairs)
        except TagError as err:
            line_no = sent.line_nos[err.index]
            raise ConllError(path_name, line_no, lines[line_no - first_line_no], err.reason) from None
    return ConllFile(Path(path_name), documents, scheme, repairs, empty_docs)


def _parse(
    lines: List[str], path_name: str, tag_column: int, n_sents: int, first_line_no: int = 1,
    allow_tokens_only: bool = False,
) -> Tuple[List[ConllDocument], int]:
    """Split lines into documents of sentences (``split_documents``; no tag
    validation yet); also count the ``-DOCSTART-`` documents that hold no tokens."""
    columns = _Columns(path_name, tag_column, allow_tokens_only)
    documents: List[ConllDocument] = []
    empty_docs = 0
    numbered = enumerate(lines, first_line_no)
    for block, has_tokens in split_documents(numbered, lambda line: line[1], n_sents):
        markers = [i for i, line in block if _is_marker(line)]
        empty_docs += len(markers) - (1 if has_tokens and markers else 0)
        sentences = _sentences(block, columns)
        if sentences:
            documents.append(ConllDocument(sentences, markers[-1] if markers else sentences[0].line_no))
    return documents, empty_docs


class _Columns:
    """The column layout, fixed by a file's first token line; checks every later one."""

    def __init__(self, path_name: str, tag_column: int, allow_tokens_only: bool) -> None:
        self.path_name, self.tag_column, self.allow_tokens_only = path_name, tag_column, allow_tokens_only
        self.n_cols = self.first_line = self.tag_idx = self.pos_idx = 0

    def check(self, line_no: int, line: str, cols: List[str]) -> None:
        if not self.n_cols:
            self.n_cols, self.first_line = len(cols), line_no
            if self.n_cols < 2 and not self.allow_tokens_only:
                raise ConllError(self.path_name, line_no, line, "expected at least 2 columns (token and tag)")
            if self.n_cols > 1 and (not -self.n_cols <= self.tag_column < self.n_cols
                                    or self.tag_column % self.n_cols == 0):
                raise ConllError(self.path_name, line_no, line,
                                 f"tag_column {self.tag_column} is not a tag column of {self.n_cols} columns")
            self.tag_idx = self.tag_column % self.n_cols  # 0 (the token) for tokens only: no tag
            self.pos_idx = 1 if self.n_cols >= 3 else 0
        elif len(cols) != self.n_cols:
            plural = "s" if self.n_cols > 1 else ""
            raise ConllError(self.path_name, line_no, line,
                             f"expected {self.n_cols} column{plural} (as on line {self.first_line}), found {len(cols)}")


def _sentences(block: List[Tuple[int, str]], columns: _Columns) -> List[ConllSentence]:
    """The sentences of one document's numbered lines (its markers skipped)."""
    sentences: List[ConllSentence] = []
    tokens: List[str] = []
    tags: List[str] = []
    pos: List[str] = []
    line_nos: List[int] = []
    for i, line in block + [(0, "")]:  # a blank line ends the last sentence
        if not line.strip() or _is_marker(line):
            if tokens:
                sentences.append(ConllSentence(tokens, tags, pos if columns.pos_idx else None, line_nos[0], line_nos))
                tokens, tags, pos, line_nos = [], [], [], []
            continue
        if line[0] in " \t":
            raise ConllError(columns.path_name, i, line, "empty token (line starts with whitespace)")
        cols = _split(line)
        columns.check(i, line, cols)
        tokens.append(cols[0])
        tags.append(cols[columns.tag_idx] if columns.tag_idx else "O")
        if columns.pos_idx:
            pos.append(cols[columns.pos_idx])
        line_nos.append(i)
    return sentences


def _is_marker(line: str) -> bool:
    """Whether ``line`` starts a document (its first column is ``-DOCSTART-``)."""
    return line.replace("\t", " ").split(" ", 1)[0] == DOCSTART


def _split(line: str) -> List[str]:
    """Split on spaces and tabs only (other Unicode spaces may be part of a token)."""
    return [col for col in line.replace("\t", " ").split(" ") if col]
