"""Error breakdown per entity type and a gold × predicted confusion table.

Every gold entity gets exactly one outcome, booked under its *gold* type:

- correct:        a prediction with the same boundaries and type
- wrong_type:     a prediction with the same boundaries, another type
- wrong_boundary: no exact-span prediction, an overlapping one of the same type
- wrong_both:     no exact-span prediction, only overlapping ones of other types
- missed:         no overlapping prediction at all

so correct + wrong_type + wrong_boundary + wrong_both + missed = support, and
correct = tp. Every prediction overlapping no gold entity is `spurious`, booked
under its *predicted* type. A misaligned prediction (not on gold token
boundaries) never has "the same boundaries".
"""
from collections import defaultdict
from typing import Dict, List, Sequence, Tuple

from .entities import EntSpan

GOLD_OUTCOMES = ("correct", "wrong_type", "wrong_boundary", "wrong_both", "missed")
PRED_OUTCOMES = ("correct", "wrong_type", "wrong_boundary", "wrong_both", "spurious")
CATEGORIES = GOLD_OUTCOMES + ("spurious",)
NONE_LABEL = "O"


def _overlap(a: EntSpan, b: EntSpan) -> int:
    return max(0, min(a.end, b.end) - max(a.start, b.start))


def _same_bounds(a: EntSpan, b: EntSpan) -> bool:
    return a.aligned and b.aligned and a.start == b.start and a.end == b.end


def _outcome(span: EntSpan, others: Sequence[EntSpan], none: str) -> str:
    exact = [o for o in others if _same_bounds(span, o)]
    if exact:
        return "correct" if any(o.label == span.label for o in exact) else "wrong_type"
    overlapping = [o for o in others if _overlap(span, o)]
    if any(o.label == span.label for o in overlapping):
        return "wrong_boundary"
    return "wrong_both" if overlapping else none


def _by_doc(spans: Sequence[EntSpan]) -> Dict[int, List[EntSpan]]:
    out: Dict[int, List[EntSpan]] = defaultdict(list)
    for s in spans:
        out[s.doc].append(s)
    return out


def classify(
    gold: Sequence[EntSpan], pred: Sequence[EntSpan]
) -> Tuple[List[str], List[str]]:
    """The outcome of each gold span (GOLD_OUTCOMES) and of each predicted span
    (PRED_OUTCOMES, judged against the gold spans it overlaps), in input order.
    """
    gold_by_doc, pred_by_doc = _by_doc(gold), _by_doc(pred)
    g_out = [_outcome(g, pred_by_doc.get(g.doc, []), "missed") for g in gold]
    p_out = [_outcome(p, gold_by_doc.get(p.doc, []), "spurious") for p in pred]
    return g_out, p_out


def error_breakdown(gold: Sequence[EntSpan], pred: Sequence[EntSpan]) -> Dict:
    """Counts of each error category per type and in total.

    RETURNS (Dict): {"per_type": {label: {category: n}}, "total": {category: n}}
        with the categories of CATEGORIES.
    """
    g_out, p_out = classify(gold, pred)
    labels = sorted({s.label for s in gold} | {s.label for s in pred})
    per_type = {lab: {c: 0 for c in CATEGORIES} for lab in labels}
    for span, out in zip(gold, g_out):
        per_type[span.label][out] += 1
    for span, out in zip(pred, p_out):
        if out == "spurious":
            per_type[span.label]["spurious"] += 1
    total = {c: sum(row[c] for row in per_type.values()) for c in CATEGORIES}
    return {"per_type": per_type, "total": total}


def _best_match(g: EntSpan, preds: Sequence[EntSpan]) -> str:
    exact = [p for p in preds if _same_bounds(g, p)]
    if exact:  # prefer the right label among exact-span predictions
        exact.sort(key=lambda p: p.label != g.label)
        return exact[0].label
    overlapping = [p for p in preds if _overlap(g, p)]
    if not overlapping:
        return NONE_LABEL
    # the same label (a boundary error), then most overlap, then the earliest
    best = max(
        overlapping, key=lambda p: (p.label == g.label, _overlap(g, p), -p.start)
    )
    return best.label


def confusion_matrix(gold: Sequence[EntSpan], pred: Sequence[EntSpan]) -> Dict:
    """Gold type × predicted type. Each gold entity adds one count in its row:
    the type of the exact-span prediction, else the same type if an overlapping
    prediction has it, else the type of the most-overlapping one, else "O"
    (missed). Each spurious prediction adds one count in row "O". So the
    diagonal is correct + wrong_boundary.

    RETURNS (Dict): {"labels": [... , "O"], "matrix": {gold: {pred: n}}}, a
        full square table; matrix["O"]["O"] is always 0.
    """
    labels = sorted({s.label for s in gold} | {s.label for s in pred})
    labels.append(NONE_LABEL)
    matrix = {g: {p: 0 for p in labels} for g in labels}
    gold_by_doc, pred_by_doc = _by_doc(gold), _by_doc(pred)
    for g in gold:
        matrix[g.label][_best_match(g, pred_by_doc.get(g.doc, []))] += 1
    for p in pred:
        if not any(_overlap(p, g) for g in gold_by_doc.get(p.doc, [])):
            matrix[NONE_LABEL][p.label] += 1
    return {"labels": labels, "matrix": matrix}
