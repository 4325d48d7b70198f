"""Load a test set, run a pipeline on its gold tokenization (timed), and write
the predictions as conlleval-readable CoNLL columns."""
import time
from pathlib import Path
from typing import Iterable, List, Sequence, Tuple, Union

from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab

from .entities import align_pred_spans, doc_spans
from .tokens import spans_to_tags


def load_docs(path: Union[str, Path], vocab: Vocab) -> List[Doc]:
    """Read gold docs: a `.spacy` DocBin, or anything else as a CoNLL file
    (through `nerkit.conll.read_conll_docs`, imported only when needed).
    """
    path = Path(path)
    if path.suffix == ".spacy":
        return list(DocBin().from_disk(path).get_docs(vocab))
    from nerkit.conll import read_conll_docs

    return list(read_conll_docs(path, vocab))


def predict(
    nlp: Language, gold_docs: Sequence[Doc], *, batch_size: int = 64
) -> Tuple[List[Doc], float]:
    """Run `nlp` on fresh docs with the gold words and spaces (no sentence
    starts, no entities), one per gold doc, in order.

    RETURNS (Tuple[List[Doc], float]): The predicted docs and the seconds
        `nlp.pipe` took.
    """
    inputs = [
        Doc(nlp.vocab, words=[t.text for t in d], spaces=[bool(t.whitespace_) for t in d])
        for d in gold_docs
    ]
    start = time.perf_counter()
    preds = list(nlp.pipe(inputs, batch_size=batch_size))
    return preds, time.perf_counter() - start


def sentence_bounds(doc: Doc) -> List[Tuple[int, int]]:
    """(start, end) token offsets of the doc's sentences; the whole doc if it
    has no sentence boundaries. An empty doc has none."""
    if not len(doc):
        return []
    if doc.has_annotation("SENT_START"):
        return [(s.start, s.end) for s in doc.sents]
    return [(0, len(doc))]


def _column(text: str) -> str:
    # one whitespace-free field per token; a whitespace-only token becomes "_"
    return "_".join(text.split()) or "_"


def conll_lines(gold_docs: Sequence[Doc], pred_docs: Sequence[Doc]) -> Iterable[str]:
    """Lines `token gold predicted` (IOB2), a blank line after each sentence."""
    for i, (gold, pred) in enumerate(zip(gold_docs, pred_docs)):
        g_tags = spans_to_tags(
            [(s.start, s.end, s.label) for s in doc_spans(gold, i)], len(gold)
        )
        p_tags = spans_to_tags(
            [(s.start, s.end, s.label) for s in align_pred_spans(gold, pred, i)],
            len(gold),
        )
        for start, end in sentence_bounds(gold):
            for k in range(start, end):
                yield f"{_column(gold[k].text)} {g_tags[k]} {p_tags[k]}"
            yield ""


def write_predictions(
    path: Union[str, Path], gold_docs: Sequence[Doc], pred_docs: Sequence[Doc]
) -> Path:
    """Write the CoNLL predictions file that conlleval reads. A predicted
    entity crossing a sentence boundary continues as I- after the blank line;
    conlleval splits it in two there, the JSON report counts it once."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf8") as f:
        for line in conll_lines(gold_docs, pred_docs):
            f.write(line + "\n")
    return path
