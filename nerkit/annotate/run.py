"""The local engine of ``nerkit annotate``: read, annotate in chunks (each
in a memory zone, sorted by length within the chunk, written in input order),
write atomically, and count (``Summary``); a progress bar on request."""
import contextlib
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from spacy.language import Language
from spacy.tokens import Doc
from tqdm import tqdm

from ..conll.docs import atomic_file
from ..ents import check_min_score, drop_below
from ..scoring.predict import cut_ents_at_sentences
from .inputs import AnnotateError, Invalid, Item, read_items, within_max_length
from .options import AnnotateOptions
from .outputs import WRITERS

N_EXAMPLES = 5  # skipped lines whose reasons the summary keeps


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

    def skip(self, error: AnnotateError) -> None:
        """Count an invalid input skipped, keeping the first few reasons."""
        self.skipped += 1
        if len(self.examples) < N_EXAMPLES:
            self.examples.append(str(error))

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


def annotate(
    nlp: Language,
    input_path: Union[str, Path],
    output_path: Union[str, Path],
    options: AnnotateOptions = AnnotateOptions(),
    *,
    progress: bool = False,
) -> Summary:
    """Annotate ``input_path`` with ``nlp`` into ``output_path``, streaming.

    options (AnnotateOptions): Formats, text field, batch and chunk sizes, scheme,
        ``skip_invalid`` and ``min_score``.
    progress (bool): Show a progress bar on stderr.
    RETURNS (Summary): Counts and seconds.
    RAISES AnnotateError: On invalid input (without ``skip_invalid``); no output is left.
    RAISES ValueError: On an unknown format, the output being the input, or
        ``min_score`` for a pipeline without entity scores (see ``check_min_score``).
    """
    in_format, out_format = options.formats(input_path, output_path)
    check_min_score(nlp.config, options.min_score)
    writer_class = WRITERS[out_format]
    summary = Summary(min_score=options.min_score)
    start = time.perf_counter()
    items = read_items(input_path, in_format, text_key=options.text_key, n_sents=options.n_sents)
    items = (within_max_length(nlp, item) for item in items)
    with contextlib.closing(Progress(input_path, progress)) as bar, atomic_file(output_path) as file_:

        def count(item: Item, doc: Doc, dropped: int) -> None:
            words = word_count(item, doc)
            summary.texts += 1
            summary.words += words
            summary.entities.update(ent.label_ for ent in doc.ents)
            summary.dropped += dropped
            bar.advance(item.nbytes, words)

        writer = writer_class(file_, options.scheme)
        for chunk in chunks(items, options.chunk_size, input_path, options.skip_invalid, summary, bar):
            with memory_zone(nlp):
                for item, doc in zip(chunk, annotate_chunk(nlp, chunk, options.batch_size, count, options.min_score)):
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


def chunks(
    items: Iterable[Union[Item, Invalid]], size: int, path: Union[str, Path], skip_invalid: bool,
    summary: Summary, bar: "Progress",
) -> Iterator[List[Item]]:
    """Lists of ``size`` valid items; invalid ones raise or are counted."""
    chunk: List[Item] = []
    for item in items:
        if isinstance(item, Invalid):
            error = AnnotateError(path, item.line_no, item.reason)
            if not skip_invalid:
                raise error
            summary.skip(error)
            bar.advance(item.nbytes, 0, texts=0)
            continue
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def annotate_chunk(
    nlp: Language, chunk: Sequence[Item], batch_size: Optional[int], count, min_score: Optional[float] = None
) -> List[Doc]:
    """The chunk's docs in input order. ``nlp.pipe`` gets the texts sorted
    by length (CoNLL: Docs of the given words and sentence starts, whose
    entities are then cut at the sentence starts, as ``nerkit evaluate``
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
    inputs = (input_doc(nlp, chunk[i]) for i in todo)
    for i, doc in zip(todo, nlp.pipe(inputs, batch_size=batch_size)):
        if chunk[i].words is not None:
            cut_ents_at_sentences(doc)
        docs[i] = doc
        count(chunk[i], doc, drop_below(doc, min_score))
    return docs  # type: ignore[return-value]


def input_doc(nlp: Language, item: Item) -> Union[str, Doc]:
    """The text, or for CoNLL a Doc of the words (single spaces between them)."""
    if item.words is None:
        return item.text
    spaces = [True] * len(item.words)
    spaces[-1] = False
    return Doc(nlp.vocab, words=item.words, spaces=spaces, sent_starts=item.sent_starts)


class Progress:
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
