"""Calibration of entity scores (``ent._.score``, the token head's probability
that exactly that span with that label is an entity): expected calibration
error over equal-width bins, and precision and recall by score threshold.

A predicted entity is correct if a gold entity has its label and both its
character offsets (on the gold tokenization: the conlleval-exact outcome of
an entity that crosses no sentence start, which the token head's never do).
"""
from typing import Any, Dict, List, Optional, Sequence, Tuple

from spacy.tokens import Doc

from ..ents import ent_score

N_BINS = 10
THRESHOLDS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)


def scored_outcomes(gold_docs: Sequence[Doc], pred_docs: Sequence[Doc]) -> Tuple[List[Optional[float]], List[bool], int]:
    """Per predicted entity its score (None if it has none) and whether it is
    correct, and the number of gold entities."""
    scores: List[Optional[float]] = []
    outcomes: List[bool] = []
    n_gold = 0
    for gold, pred in zip(gold_docs, pred_docs):
        expected = {(e.start_char, e.end_char, e.label_) for e in gold.ents}
        n_gold += len(expected)
        for ent in pred.ents:
            scores.append(ent_score(ent))
            outcomes.append((ent.start_char, ent.end_char, ent.label_) in expected)
    return scores, outcomes, n_gold


def reliability(scores: Sequence[float], outcomes: Sequence[bool], n_bins: int = N_BINS) -> Tuple[float, List[Dict[str, Any]]]:
    """Expected calibration error: the mean over `n_bins` equal-width score
    bins ([0, 0.1), ..., [0.9, 1.0]) of |accuracy - mean score|, weighted by
    the bin's share of the entities.

    RETURNS (Tuple[float, List[Dict[str, Any]]]): The ECE (0.0 for no
        entities) and per bin lo, hi, n, mean_score and accuracy (None if empty).
    """
    bins = [{"lo": k / n_bins, "hi": (k + 1) / n_bins, "n": 0, "sum": 0.0, "correct": 0} for k in range(n_bins)]
    for score, correct in zip(scores, outcomes):
        row = bins[min(int(score * n_bins), n_bins - 1)]
        row["n"] += 1
        row["sum"] += score
        row["correct"] += bool(correct)
    total = len(scores)
    ece = 0.0
    out = []
    for row in bins:
        n = row["n"]
        mean, accuracy = (row["sum"] / n, row["correct"] / n) if n else (None, None)
        if n:
            ece += n / total * abs(accuracy - mean)
        out.append({"lo": row["lo"], "hi": row["hi"], "n": n, "mean_score": mean, "accuracy": accuracy})
    return ece, out


def threshold_table(
    scores: Sequence[Optional[float]], outcomes: Sequence[bool], n_gold: int, thresholds: Sequence[float] = THRESHOLDS
) -> List[Dict[str, Any]]:
    """Precision, recall and F1 of the entities kept at each score threshold
    (score >= threshold; an entity without a score is always kept)."""
    rows = []
    for threshold in thresholds:
        kept = [c for s, c in zip(scores, outcomes) if s is None or s >= threshold]
        correct = sum(kept)
        p = correct / len(kept) if kept else 0.0
        r = correct / n_gold if n_gold else 0.0
        rows.append({"threshold": threshold, "n_kept": len(kept), "precision": p, "recall": r,
                     "f1": 2 * p * r / (p + r) if p + r else 0.0})
    return rows


def calibration_report(gold_docs: Sequence[Doc], pred_docs: Sequence[Doc]) -> Optional[Dict[str, Any]]:
    """The report's "calibration" section, None if no predicted entity has a score."""
    scores, outcomes, n_gold = scored_outcomes(gold_docs, pred_docs)
    scored = [(s, c) for s, c in zip(scores, outcomes) if s is not None]
    if not scored:
        return None
    ece, bins = reliability([s for s, _ in scored], [c for _, c in scored])
    return {"n_scored": len(scored), "n_unscored": len(scores) - len(scored), "ece": ece, "n_bins": N_BINS,
            "bins": bins, "thresholds": threshold_table(scores, outcomes, n_gold)}
