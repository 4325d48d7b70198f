"""Entity-level, exact-match scoring (conlleval's definition of a correct chunk).

An entity is an `EntSpan(doc, start, end, label)` in *gold* token indices. A
predicted entity is correct only if label and both boundaries match a gold one.
"""
from bisect import bisect_right
from collections import Counter
from typing import Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

from spacy.tokens import Doc


class EntSpan(NamedTuple):
    """An entity in gold token coordinates: tokens [start, end) of doc `doc`.

    `aligned` is False for a predicted span whose character offsets do not fall
    on gold token boundaries; start/end then cover the gold tokens it touches.
    A misaligned span never equals a gold span, so it is always a false
    positive (and a boundary error where it overlaps gold).
    """

    doc: int
    start: int
    end: int
    label: str
    aligned: bool = True


def split_tag(tag: str) -> Tuple[str, str]:
    """Split an IOB/IOBES tag into (prefix, type) at the *first* hyphen, so
    that `B-creative-work` has the type `creative-work`. "O" → ("O", "").
    """
    if tag in ("O", "", "-"):
        return "O", ""
    prefix, sep, label = tag.partition("-")
    if not sep:
        raise ValueError(f"Malformed tag {tag!r}: expected PREFIX-TYPE or O")
    return prefix.upper(), label


def _end_of_chunk(prev: str, tag: str, prev_type: str, typ: str) -> bool:
    # conlleval's endOfChunk, for the prefixes B, I, E, S and O
    if prev in ("E", "S"):
        return True
    if prev in ("B", "I") and tag in ("B", "S", "O"):
        return True
    return prev != "O" and prev_type != typ


def _start_of_chunk(prev: str, tag: str, prev_type: str, typ: str) -> bool:
    # conlleval's startOfChunk
    if tag in ("B", "S"):
        return True
    if tag in ("I", "E") and prev in ("E", "S", "O"):
        return True
    return tag != "O" and prev_type != typ


def iob_to_spans(tags: Sequence[str]) -> List[Tuple[int, int, str]]:
    """Read chunks off a tag sequence the way conlleval does. Works for IOB1,
    IOB2 and IOBES (an I- after O or after another type starts a chunk).

    tags (Sequence[str]): One tag per token.
    RETURNS (List[Tuple[int, int, str]]): (start, end, label), end exclusive.
    """
    spans = []
    start: Optional[int] = None
    prev, prev_type = "O", ""
    for i, tag in enumerate(tags):
        pre, typ = split_tag(tag)
        if start is not None and _end_of_chunk(prev, pre, prev_type, typ):
            spans.append((start, i, prev_type))
            start = None
        if _start_of_chunk(prev, pre, prev_type, typ):
            start = i
        prev, prev_type = pre, typ
    if start is not None:
        spans.append((start, len(tags), prev_type))
    return spans


def doc_spans(doc: Doc, doc_index: int) -> List[EntSpan]:
    """The entities of a doc (`doc.ents`) as EntSpans."""
    return [EntSpan(doc_index, e.start, e.end, e.label_) for e in doc.ents]


def _char_map(pred_text: str, gold_text: str) -> List[int]:
    """Map each char of pred_text to a char of gold_text, matching the
    non-whitespace characters in order; whitespace maps to -1."""
    gold_pos = [i for i, c in enumerate(gold_text) if not c.isspace()]
    out, k = [], 0
    for c in pred_text:
        if c.isspace():
            out.append(-1)
            continue
        if k >= len(gold_pos) or gold_text[gold_pos[k]] != c:
            raise ValueError("Predicted and gold docs have different texts")
        out.append(gold_pos[k])
        k += 1
    if k != len(gold_pos):
        raise ValueError("Predicted and gold docs have different texts")
    return out


def align_pred_spans(gold: Doc, pred: Doc, doc_index: int) -> List[EntSpan]:
    """Map the entities of `pred` onto the tokens of `gold` by character offset.

    Same tokenization: spans are copied as they are. Otherwise a span whose
    offsets fall on gold token boundaries becomes an aligned EntSpan; one that
    does not becomes `aligned=False` covering the gold tokens it touches, so it
    is counted (as a false positive), never dropped. Texts must be equal up to
    whitespace.
    """
    if len(gold) == len(pred) and all(
        g.text == p.text and g.idx == p.idx for g, p in zip(gold, pred)
    ):
        return doc_spans(pred, doc_index)
    cmap = None if gold.text == pred.text else _char_map(pred.text, gold.text)
    starts = [t.idx for t in gold]
    ends = [t.idx + len(t.text) for t in gold]
    spans = []
    for ent in pred.ents:
        cs, ce = ent.start_char, ent.end_char  # [cs, ce)
        if cmap is not None:
            inside = [cmap[i] for i in range(cs, ce) if cmap[i] >= 0]
            if not inside:  # a whitespace-only entity has no place in gold
                continue
            cs, ce = inside[0], inside[-1] + 1
        if not gold:
            continue
        s = max(bisect_right(starts, cs) - 1, 0)
        e = max(bisect_right(starts, ce - 1), s + 1)
        aligned = starts[s] == cs and ends[e - 1] == ce
        spans.append(EntSpan(doc_index, s, e, ent.label_, aligned))
    return merge_overlaps(spans)


def merge_overlaps(spans: Sequence[EntSpan]) -> List[EntSpan]:
    """Predicted entities that share a gold token become one misaligned
    entity over their gold tokens, with the first one's label. Only entities
    from another tokenization can overlap on the gold tokens (`AL` and `AIN`
    in the gold token `AL-AIN`); a predictions file can show one entity per
    token, so the report counts what conlleval will read there."""
    out: List[EntSpan] = []
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        if out and span.start < out[-1].end:
            out[-1] = out[-1]._replace(end=max(out[-1].end, span.end), aligned=False)
        else:
            out.append(span)
    return out


def sentence_bounds(doc: Doc) -> List[Tuple[int, int]]:
    """(start, end) token offsets of the doc's sentences; the whole doc if it
    has no sentence boundaries. An empty doc has none."""
    if not len(doc):
        return []
    if doc.has_annotation("SENT_START"):
        return [(s.start, s.end) for s in doc.sents]
    return [(0, len(doc))]


def cut_at_sentences(spans: Iterable[EntSpan], bounds: Sequence[Tuple[int, int]]) -> List[EntSpan]:
    """Cut each span at the sentence starts inside it, the way conlleval reads
    a predictions file: the blank line between two sentences is an `O` for
    both columns, so an entity running over it becomes two entities.

    spans (Iterable[EntSpan]): Spans of one document, in its token offsets.
    bounds (Sequence[Tuple[int, int]]): Its sentences (`sentence_bounds`).
    RETURNS (List[EntSpan]): The pieces, each inside one sentence.
    """
    starts = [s for s, _ in bounds[1:]]
    out: List[EntSpan] = []
    for span in spans:
        lo = bisect_right(starts, span.start)
        hi = bisect_right(starts, span.end - 1)
        cuts = [span.start, *starts[lo:hi], span.end]
        out.extend(span._replace(start=a, end=b) for a, b in zip(cuts, cuts[1:]))
    return out


def collect_spans(
    gold_docs: Sequence[Doc], pred_docs: Sequence[Doc]
) -> Tuple[List[EntSpan], List[EntSpan]]:
    """Gold and predicted EntSpans over all documents (pred in gold tokens).
    A predicted span that runs over a gold sentence boundary is cut there
    (`cut_at_sentences`), so the scores equal conlleval's on the predictions
    file, where sentences are separated by blank lines."""
    gold, pred, _ = collect_spans_and_cuts(gold_docs, pred_docs)
    return gold, pred


def collect_spans_and_cuts(
    gold_docs: Sequence[Doc], pred_docs: Sequence[Doc]
) -> Tuple[List[EntSpan], List[EntSpan], int]:
    """`collect_spans`, plus how many predicted entities ran over a gold
    sentence boundary (and were cut there)."""
    if len(gold_docs) != len(pred_docs):
        raise ValueError(f"{len(gold_docs)} gold docs but {len(pred_docs)} predicted")
    gold: List[EntSpan] = []
    pred: List[EntSpan] = []
    n_crossing = 0
    for i, (g, p) in enumerate(zip(gold_docs, pred_docs)):
        gold.extend(doc_spans(g, i))
        spans = align_pred_spans(g, p, i)
        pieces = cut_at_sentences(spans, sentence_bounds(g))
        n_crossing += len(pieces) - len(spans)
        pred.extend(pieces)
    return gold, pred, n_crossing


def prf(tp: int, fp: int, fn: int) -> Dict[str, float]:
    """Precision, recall and F1 with the conlleval conventions: a ratio with an
    empty denominator is 0 (no predictions → P=0; no gold → R=0; P+R=0 → F=0).
    """
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f}


def _row(tp: int, fp: int, fn: int) -> Dict[str, float]:
    return {**prf(tp, fp, fn), "support": tp + fn, "tp": tp, "fp": fp, "fn": fn}


def score_spans(gold: Iterable[EntSpan], pred: Iterable[EntSpan]) -> Dict:
    """Exact-match P/R/F1, micro over all entities and per type, with support
    (number of gold entities). Per-type rows cover every label in gold or pred;
    macro averages those rows' P, R and F1 (unweighted).

    RETURNS (Dict): {"micro": row, "macro": {...}, "per_type": {label: row}},
        a row being precision, recall, f1, support, tp, fp, fn.
    """
    gold_set, pred_set = set(gold), set(pred)
    tp = Counter(s.label for s in gold_set & pred_set)
    fp = Counter(s.label for s in pred_set - gold_set)
    fn = Counter(s.label for s in gold_set - pred_set)
    labels = sorted({s.label for s in gold_set} | {s.label for s in pred_set})
    per_type = {lab: _row(tp[lab], fp[lab], fn[lab]) for lab in labels}
    micro = _row(sum(tp.values()), sum(fp.values()), sum(fn.values()))
    macro = {
        k: (sum(r[k] for r in per_type.values()) / len(labels) if labels else 0.0)
        for k in ("precision", "recall", "f1")
    }
    return {"micro": micro, "macro": macro, "per_type": per_type}


def doc_counts(
    gold: Iterable[EntSpan], pred: Iterable[EntSpan], n_docs: int
) -> List[Tuple[int, int, int]]:
    """(tp, fp, fn) per document, for resampling."""
    counts = [[0, 0, 0] for _ in range(n_docs)]
    gold_set, pred_set = set(gold), set(pred)
    for s in gold_set & pred_set:
        counts[s.doc][0] += 1
    for s in pred_set - gold_set:
        counts[s.doc][1] += 1
    for s in gold_set - pred_set:
        counts[s.doc][2] += 1
    return [tuple(c) for c in counts]  # type: ignore[misc]
