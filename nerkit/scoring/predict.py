"""Load a test set, run a pipeline on its gold tokenization or on its raw text
(timed), and write the predictions as conlleval-readable CoNLL columns."""
import time
from pathlib import Path
from typing import Iterable, List, Sequence, Tuple, Union

from spacy.language import Language
from spacy.tokens import Doc, DocBin, Span
from spacy.vocab import Vocab

from .entities import align_pred_spans, cut_at_sentences, doc_spans, sentence_bounds
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


def input_doc(vocab: Vocab, gold: Doc, sentence_starts: bool = True) -> Doc:
    """A fresh Doc with the gold words and spaces and, with
    `sentence_starts`, the gold sentence starts (if it has any): no entities."""
    sent_starts = None
    if sentence_starts and gold.has_annotation("SENT_START"):
        sent_starts = [bool(t.is_sent_start) for t in gold]
    return Doc(vocab, words=[t.text for t in gold], spaces=[bool(t.whitespace_) for t in gold], sent_starts=sent_starts)


def cut_ents_at_sentences(doc: Doc) -> int:
    """Cut the doc's entities at its sentence starts, so none runs over a
    sentence boundary; RETURNS how many entities were cut."""
    bounds = sentence_bounds(doc)
    spans = doc_spans(doc, 0)
    pieces = cut_at_sentences(spans, bounds)
    if len(pieces) != len(spans):
        doc.set_ents([Span(doc, s.start, s.end, label=s.label) for s in pieces], default="outside")
    return len(pieces) - len(spans)


def predict(
    nlp: Language, gold_docs: Sequence[Doc], *, batch_size: int = 64, sentence_starts: bool = True
) -> Tuple[List[Doc], float]:
    """Run `nlp` on fresh docs with the gold words and spaces, one per gold
    doc, in order. With `sentence_starts` (the default) the docs carry the
    gold sentence starts and predicted entities are cut at them (the token
    head never crosses one; this also cuts spaCy's `ner`).

    RETURNS (Tuple[List[Doc], float]): The predicted docs and the seconds
        `nlp.pipe` took.
    """
    inputs = [input_doc(nlp.vocab, d, sentence_starts) for d in gold_docs]
    start = time.perf_counter()
    preds = list(nlp.pipe(inputs, batch_size=batch_size))
    seconds = time.perf_counter() - start
    if sentence_starts:
        for doc in preds:
            cut_ents_at_sentences(doc)
    return preds, seconds


def predict_raw(nlp: Language, gold_docs: Sequence[Doc], *, batch_size: int = 64) -> Tuple[List[Doc], float]:
    """Run `nlp` on the text of each gold doc, as users call it: spaCy's own
    tokenizer, no sentence starts. The entities are mapped back to the gold
    tokens by character offset when scored (`align_pred_spans`).

    RETURNS (Tuple[List[Doc], float]): The predicted docs and the seconds
        `nlp.pipe` took (tokenization included).
    """
    texts = [d.text for d in gold_docs]
    start = time.perf_counter()
    preds = list(nlp.pipe(texts, batch_size=batch_size))
    return preds, time.perf_counter() - start


# conlleval has no way to say "this entity is not on token boundaries": in the
# predictions file such an entity covers the gold tokens it touches, under
# this type suffix, so that conlleval, like the report, never counts it correct.
MISALIGNED_SUFFIX = "~misaligned"


def _column(text: str) -> str:
    # one whitespace-free field per token; a whitespace-only token becomes "_"
    return "_".join(text.split()) or "_"


def prediction_lines(gold_docs: Sequence[Doc], pred_docs: Sequence[Doc]) -> Iterable[str]:
    """Lines `token gold predicted` (IOB2), a blank line after each sentence."""
    for i, (gold, pred) in enumerate(zip(gold_docs, pred_docs)):
        g_tags = spans_to_tags(
            [(s.start, s.end, s.label) for s in doc_spans(gold, i)], len(gold)
        )
        p_spans = cut_at_sentences(align_pred_spans(gold, pred, i), sentence_bounds(gold))
        p_tags = spans_to_tags(
            [(s.start, s.end, s.label if s.aligned else s.label + MISALIGNED_SUFFIX) for s in p_spans], len(gold)
        )
        for start, end in sentence_bounds(gold):
            for k in range(start, end):
                yield f"{_column(gold[k].text)} {g_tags[k]} {p_tags[k]}"
            yield ""


def write_predictions(
    path: Union[str, Path], gold_docs: Sequence[Doc], pred_docs: Sequence[Doc]
) -> Path:
    """Write the CoNLL predictions file that conlleval reads. A predicted
    entity crossing a gold sentence boundary is cut there (B- after the blank
    line), as conlleval and the report count it: two entities. A predicted
    entity off the gold token boundaries (raw-text mode) is written over the
    tokens it touches with the type `LABEL~misaligned`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf8") as f:
        for line in prediction_lines(gold_docs, pred_docs):
            f.write(line + "\n")
    return path
