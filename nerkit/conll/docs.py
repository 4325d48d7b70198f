"""Conversion between parsed CoNLL files and spaCy ``Doc`` objects, the CoNLL
writer and DocBin writing."""
import os
import tempfile
from bisect import bisect_right
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from spacy.tokens import Doc, DocBin, Span
from spacy.vocab import Vocab

from .reader import DOCSTART, ConllFile, read_conll
from .schemes import normalize_scheme, spans_to_tags

DOCSTART_LINE = f"{DOCSTART} -X- -X- O"


def conll_to_docs(conll_file: ConllFile, vocab: Vocab, *, keep_pos: bool = False) -> List[Doc]:
    """Make one ``Doc`` per document: tokens joined by single spaces,
    ``is_sent_start`` True on sentence starts and False elsewhere, ``doc.ents``
    from the per-sentence spans with the original labels (all other tokens are
    explicitly outside, not missing).

    conll_file (ConllFile): The parsed file.
    vocab (Vocab): The vocab (a ``Language`` is accepted too).
    keep_pos (bool): Put column 2 into ``token.tag_`` (only files with >= 3 columns).
    RETURNS (List[Doc]): The docs.
    """
    vocab = getattr(vocab, "vocab", vocab)
    docs = []
    for document in conll_file.documents:
        words: List[str] = []
        sent_starts: List[bool] = []
        with_pos = keep_pos and all(sent.pos is not None for sent in document.sentences)
        pos: List[str] = []
        spans = []
        for sent in document.sentences:
            offset = len(words)
            spans.extend((offset + start, offset + end, label) for start, end, label in sent.spans)
            words.extend(sent.tokens)
            sent_starts.extend([True] + [False] * (len(sent.tokens) - 1))
            if with_pos:
                pos.extend(sent.pos)  # type: ignore[arg-type]
        spaces = [True] * len(words)
        spaces[-1] = False
        doc = Doc(vocab, words=words, spaces=spaces, sent_starts=sent_starts, tags=pos if with_pos else None)
        doc.set_ents([Span(doc, s, e, label=label) for s, e, label in spans], default="outside")
        docs.append(doc)
    return docs


def read_conll_docs(path: Union[str, Path], vocab: Vocab, *, keep_pos: bool = False, **reader_opts) -> List[Doc]:
    """Read a CoNLL file into docs: ``read_conll`` + ``conll_to_docs``.

    path (Union[str, Path]): The file.
    vocab (Vocab): The vocab (a ``Language`` is accepted too).
    keep_pos (bool): Put column 2 into ``token.tag_``.
    **reader_opts: ``scheme``, ``tag_column``, ``n_sents``, ``lenient`` for ``read_conll``.
    RETURNS (List[Doc]): The docs.
    RAISES ConllError: On invalid input.
    """
    return conll_to_docs(read_conll(path, **reader_opts), vocab, keep_pos=keep_pos)


def docs_to_conll(docs: Iterable[Doc], *, scheme: str = "iob2", pos: Optional[bool] = None) -> Iterator[str]:
    """Yield the lines of a CoNLL file (without newlines): per doc
    ``-DOCSTART- -X- -X- O`` and a blank line, then its sentences, each followed
    by a blank line, one ``token [POS] tag`` line per token. Sentences come from
    ``doc.sents``; a doc without sentence boundaries is one sentence. An entity
    crossing a sentence boundary is written as one entity per sentence.

    docs (Iterable[Doc]): The docs.
    scheme (str): Output scheme: "iob1", "iob2", "bioes" or "bilou".
    pos (Optional[bool]): Write ``token.tag_`` as column 2 ("_" where empty);
        None: only if some token has a tag (decided per doc, so pass a bool
        when writing several docs, to keep the column count constant).
    RAISES ValueError: On a token or label that would not read back (empty,
        containing whitespace, or the token ``-DOCSTART-``).
    """
    scheme = normalize_scheme(scheme)
    for i, doc in enumerate(docs):
        for ent in doc.ents:
            _check(ent.label_, i, ent.start, "label")
        for token in doc:
            _check(token.text, i, token.i, "token")
        with_pos = pos if pos is not None else doc.has_annotation("TAG")
        starts = [sent.start for sent in doc.sents] if doc.has_annotation("SENT_START") else [0]
        ents = [(ent.start, ent.end, ent.label_) for ent in doc.ents]
        yield from conll_lines([token.text for token in doc], starts, ents, scheme,
                               [token.tag_ or "_" for token in doc] if with_pos else None)


def conll_lines(
    words: Sequence[str], starts: Sequence[int], ents: Iterable[Tuple[int, int, str]], scheme: str,
    pos: Optional[Sequence[str]] = None,
) -> List[str]:
    """The lines of one document: ``-DOCSTART- -X- -X- O``, a blank line, then
    per sentence ``token [POS] tag`` lines and a blank line. Whitespace tokens
    are left out (an entity keeps the tokens it has left), whitespace inside a
    token, POS or label becomes ``_``, and an entity is cut at sentence starts.

    words (Sequence[str]): The tokens.
    starts (Sequence[int]): Sentence start offsets (0 first).
    ents (Iterable[Tuple[int, int, str]]): Sorted, non-overlapping (start, end, label).
    scheme (str): "iob1", "iob2", "bioes" or "bilou".
    pos (Optional[Sequence[str]]): A POS column, one per token (None: none).
    """
    rank = [0]  # rank[i]: how many kept tokens come before token i
    for word in words:
        rank.append(rank[-1] + (not word.isspace()))
    kept = ["_".join(word.split()) for word in words if not word.isspace()]
    if pos is not None:
        kept = [f"{word} {'_'.join(tag.split()) or '_'}" for word, tag in
                zip(kept, (tag for word, tag in zip(words, pos) if not word.isspace()))]
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


def _check(text: str, doc_i: int, token_i: int, what: str) -> None:
    if not text or text == DOCSTART or any(char.isspace() for char in text):
        raise ValueError(
            f"Doc {doc_i}, token {token_i}: {what} {text!r} cannot be written to a "
            "CoNLL file (empty, contains whitespace or is -DOCSTART-)"
        )


def write_conll(
    docs: Iterable[Doc], path: Union[str, Path], *, scheme: str = "iob2", pos: Optional[bool] = None
) -> None:
    """Write docs as a CoNLL file (see ``docs_to_conll``), UTF-8, LF line
    endings. Written to a temp file and renamed, so nothing is left on error;
    parent directories are created.

    docs (Iterable[Doc]): The docs.
    path (Union[str, Path]): The output file.
    scheme (str): Output scheme: "iob1", "iob2", "bioes" or "bilou".
    pos (Optional[bool]): Write a POS column (see ``docs_to_conll``).
    """
    text = "".join(line + "\n" for line in docs_to_conll(docs, scheme=scheme, pos=pos))
    atomic_write(path, text.encode("utf8"))


def write_docbin(docs: Iterable[Doc], path: Union[str, Path]) -> None:
    """Write docs to a ``.spacy`` DocBin file (atomically, parents created).

    docs (Iterable[Doc]): The docs.
    path (Union[str, Path]): The output file.
    """
    atomic_write(path, DocBin(docs=docs).to_bytes())


def atomic_write(path: Union[str, Path], data: bytes) -> None:
    """Write bytes to a temp file next to ``path``, then rename it to ``path``.

    path (Union[str, Path]): The output file; parent directories are created.
    data (bytes): The content.
    """
    with atomic_file(path) as file_:
        file_.write(data)


@contextmanager
def atomic_file(path: Union[str, Path]) -> Iterator[BinaryIO]:
    """Open a temp file next to ``path`` for binary writing; when the block
    ends without an error it is renamed to ``path``, on any error (or an
    interrupt) it is deleted, so ``path`` never holds a partial file.

    path (Union[str, Path]): The output file; parent directories are created.
    YIELDS (BinaryIO): The open temp file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600
        with os.fdopen(fd, "wb") as file_:
            yield file_
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
