"""The bootstrap interval is seeded and reproducible."""
import random

import pytest

from nerkit.scoring import bootstrap_f1, prf


def corpus(n_docs=60, seed=1):
    rng = random.Random(seed)
    return [(rng.randint(0, 8), rng.randint(0, 3), rng.randint(0, 3)) for _ in range(n_docs)]


def point(counts):
    return prf(*(sum(c[i] for c in counts) for i in range(3)))["f1"]


def test_same_seed_same_interval():
    counts = corpus()
    a = bootstrap_f1(counts, n_samples=500, seed=0)
    b = bootstrap_f1(counts, n_samples=500, seed=0)
    assert a == b


def test_other_seed_other_interval():
    counts = corpus()
    assert bootstrap_f1(counts, seed=0)["f1_ci95"] != bootstrap_f1(counts, seed=1)["f1_ci95"]


def test_interval_contains_point_estimate():
    for seed in range(3):
        counts = corpus(seed=seed)
        low, high = bootstrap_f1(counts, seed=0)["f1_ci95"]
        assert 0.0 <= low <= point(counts) <= high <= 1.0
        assert low < high


def test_defaults():
    out = bootstrap_f1(corpus())
    assert out["n_samples"] == 1000 and out["seed"] == 0 and out["unit"] == "document"


def test_degenerate_inputs():
    # one document: every resample is that document → [F, F]
    # tp=3, fp=1, fn=1 → P=R=3/4, F=3/4
    assert bootstrap_f1([(3, 1, 1)], n_samples=50)["f1_ci95"] == pytest.approx([0.75, 0.75])
    assert bootstrap_f1([], n_samples=50)["f1_ci95"] == [0.0, 0.0]
    assert bootstrap_f1(corpus(), n_samples=0)["f1_ci95"] == [point(corpus())] * 2
