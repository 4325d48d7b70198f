"""Bootstrap confidence interval for entity micro F1, resampling documents."""
from typing import Dict, Sequence, Tuple

import numpy

from .entities import prf


def bootstrap_f1(
    doc_counts: Sequence[Tuple[int, int, int]],
    *,
    n_samples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    chunk_size: int = 100,
) -> Dict:
    """Percentile bootstrap interval for micro F1. Each sample draws as many
    documents as there are, with replacement, and pools their (tp, fp, fn).
    The same counts, n_samples and seed always give the same interval.

    doc_counts (Sequence[Tuple[int, int, int]]): (tp, fp, fn) per document.
    n_samples (int): Number of bootstrap samples.
    seed (int): Seed for numpy's default_rng.
    confidence (float): Central mass of the interval.
    RETURNS (Dict): {"f1_ci95": [low, high], "f1_std", "n_samples", "seed",
        "confidence", "unit", "method"}. No documents or n_samples=0 → the
        interval collapses to the point estimate.
    """
    counts = numpy.asarray(doc_counts, dtype=numpy.int64).reshape(-1, 3)
    n_docs = counts.shape[0]
    point = prf(*(int(x) for x in counts.sum(axis=0)))["f1"]
    out = {
        "n_samples": n_samples,
        "seed": seed,
        "confidence": confidence,
        "unit": "document",
        "method": "percentile",
    }
    if n_docs == 0 or n_samples <= 0:
        return {**out, "f1_ci95": [point, point], "f1_std": 0.0}
    rng = numpy.random.default_rng(seed)
    scores = []
    for begin in range(0, n_samples, chunk_size):
        size = min(chunk_size, n_samples - begin)
        idx = rng.integers(0, n_docs, size=(size, n_docs))
        tp, fp, fn = counts[idx].sum(axis=1).T  # each of shape (size,)
        p = numpy.divide(tp, tp + fp, out=numpy.zeros(size), where=(tp + fp) > 0)
        r = numpy.divide(tp, tp + fn, out=numpy.zeros(size), where=(tp + fn) > 0)
        f = numpy.divide(2 * p * r, p + r, out=numpy.zeros(size), where=(p + r) > 0)
        scores.append(f)
    f1 = numpy.concatenate(scores)
    alpha = (1.0 - confidence) / 2
    low, high = numpy.quantile(f1, [alpha, 1.0 - alpha])
    return {**out, "f1_ci95": [float(low), float(high)], "f1_std": float(f1.std())}
