"""Constrained Viterbi decoding over BILUO or IOB2 tag sequences (numpy only).

A tag set is a list of strings: ``"O"`` plus ``"{P}-{LABEL}"`` with the prefix
``P`` in B, I, L, U (BILUO) or B, I (IOB2). ``transition_mask`` says which tag
may follow which, and which tags may start or end a sequence; ``viterbi``
finds the best-scoring sequence among the valid ones, so a decoder built on it
never emits ``I-PER`` after ``O``, ``L-ORG`` without ``B-ORG`` and so on.
Nothing here imports spaCy, so it can be tested on its own.
"""
from typing import List, Optional, Sequence, Tuple

import numpy

SCHEMES = ("bilou", "iob2")
_PREFIXES = {"bilou": ("B", "I", "L", "U"), "iob2": ("B", "I")}
# Scores are clipped to this floor, so a valid path always has a finite score
# and -inf only ever marks a forbidden transition.
_SCORE_FLOOR = -1e30

Mask = Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]


def _check_scheme(scheme: str) -> str:
    scheme = scheme.lower()
    if scheme not in SCHEMES:
        raise ValueError(f"Unknown tag scheme '{scheme}': expected one of {SCHEMES}")
    return scheme


def make_tags(labels: Sequence[str], scheme: str = "bilou") -> List[str]:
    """The tag set for entity labels: "O" first, then the tags of each label
    in the order given.

    labels (Sequence[str]): Entity labels, e.g. ["LOC", "PER"].
    scheme (str): "bilou" or "iob2".
    RETURNS (List[str]): E.g. ["O", "B-LOC", "I-LOC", "L-LOC", "U-LOC", ...].
    """
    prefixes = _PREFIXES[_check_scheme(scheme)]
    return ["O"] + [f"{prefix}-{label}" for label in labels for prefix in prefixes]


def split_tag(tag: str) -> Tuple[str, Optional[str]]:
    """Split a tag into its prefix and label: "B-PER" -> ("B", "PER"),
    "O" -> ("O", None).

    RAISES ValueError: On a tag that is neither "O" nor "{P}-{LABEL}".
    """
    if tag == "O":
        return "O", None
    prefix, sep, label = tag.partition("-")
    if not sep or not label or prefix not in ("B", "I", "L", "U"):
        raise ValueError(f"Invalid tag '{tag}': expected 'O' or 'B-LABEL', 'I-LABEL', 'L-LABEL', 'U-LABEL'")
    return prefix, label


def _allowed(prev: str, nxt: str, scheme: str) -> bool:
    p_prefix, p_label = split_tag(prev)
    n_prefix, n_label = split_tag(nxt)
    if scheme == "bilou":
        inside = p_prefix in ("B", "I")  # an entity is open and must go on
        if n_prefix in ("I", "L"):
            return inside and p_label == n_label
        return not inside  # O, B-x, U-x only after O, L-y, U-y
    if n_prefix == "I":  # iob2
        return p_prefix in ("B", "I") and p_label == n_label
    return True


def transition_mask(tags: Sequence[str], scheme: str = "bilou") -> Mask:
    """Which tags may follow which, and start or end a sequence.

    tags (Sequence[str]): The tag set (see `make_tags`; any order).
    scheme (str): "bilou" or "iob2".
    RETURNS (Tuple[ndarray, ndarray, ndarray]): Boolean arrays `trans`
        (n_tags, n_tags), `trans[i, j]` True if tag j may follow tag i;
        `start` and `end` (n_tags,), True if a tag may start / end a sequence.
    RAISES ValueError: On an invalid tag, or an L-/U- tag in an IOB2 tag set.
    """
    scheme = _check_scheme(scheme)
    prefixes = [split_tag(tag)[0] for tag in tags]
    if scheme == "iob2" and any(p in ("L", "U") for p in prefixes):
        raise ValueError("L- and U- tags are not valid in the IOB2 scheme")
    n_tags = len(tags)
    trans = numpy.zeros((n_tags, n_tags), dtype=bool)
    for i, prev in enumerate(tags):
        for j, nxt in enumerate(tags):
            trans[i, j] = _allowed(prev, nxt, scheme)
    start = numpy.array([p != "I" and p != "L" for p in prefixes], dtype=bool)
    if scheme == "bilou":
        end = numpy.array([p in ("O", "L", "U") for p in prefixes], dtype=bool)
    else:
        end = numpy.ones(n_tags, dtype=bool)
    return trans, start, end


def viterbi(scores: numpy.ndarray, mask: Mask) -> numpy.ndarray:
    """The highest-scoring valid tag sequence.

    scores (ndarray): (n_tokens, n_tags) additive scores, e.g. log-softmax
        probabilities. Values below -1e30 (and -inf) are clipped to -1e30.
    mask (Tuple[ndarray, ndarray, ndarray]): `transition_mask(tags)`.
    RETURNS (ndarray): (n_tokens,) int tag indices; the sequence maximises the
        summed scores among the sequences that the mask allows.
    RAISES ValueError: On mismatched shapes, or if no valid sequence exists
        (a tag set without "O" can have none).
    """
    trans, start, end = mask
    scores = numpy.asarray(scores, dtype="float64")
    if scores.ndim != 2 or scores.shape[1] != trans.shape[0]:
        raise ValueError(f"Expected scores of shape (n_tokens, {trans.shape[0]}), got {scores.shape}")
    n_tokens, n_tags = scores.shape
    if n_tokens == 0:
        return numpy.zeros((0,), dtype="int64")
    scores = numpy.maximum(numpy.nan_to_num(scores, nan=_SCORE_FLOOR), _SCORE_FLOOR)
    penalty = numpy.where(trans, 0.0, -numpy.inf)
    best = numpy.where(start, scores[0], -numpy.inf)
    backptr = numpy.zeros((n_tokens, n_tags), dtype="int64")
    for t in range(1, n_tokens):
        candidates = best[:, None] + penalty  # (prev, next)
        backptr[t] = candidates.argmax(axis=0)
        best = candidates[backptr[t], numpy.arange(n_tags)] + scores[t]
    best = numpy.where(end, best, -numpy.inf)
    last = int(best.argmax())
    if not numpy.isfinite(best[last]):
        raise ValueError("No valid tag sequence: the tag set needs an 'O' tag")
    path = numpy.zeros((n_tokens,), dtype="int64")
    path[-1] = last
    for t in range(n_tokens - 1, 0, -1):
        path[t - 1] = backptr[t, path[t]]
    return path


def viterbi_segments(scores: numpy.ndarray, mask: Mask, starts: Sequence[int] = ()) -> numpy.ndarray:
    """`viterbi` with boundaries no entity may cross: each segment (e.g. a
    sentence) is decoded on its own, so every tag sequence is valid within
    its segment and an entity never runs over a boundary.

    scores (ndarray): (n_tokens, n_tags) additive scores.
    mask (Tuple[ndarray, ndarray, ndarray]): `transition_mask(tags)`.
    starts (Sequence[int]): Token offsets where a new segment starts (0 and
        offsets outside (0, n_tokens) are ignored).
    RETURNS (ndarray): (n_tokens,) int tag indices.
    """
    n_tokens = len(scores)
    cuts = sorted({int(s) for s in starts if 0 < int(s) < n_tokens})
    if not cuts:
        return viterbi(scores, mask)
    bounds = [0, *cuts, n_tokens]
    return numpy.concatenate([viterbi(scores[a:b], mask) for a, b in zip(bounds, bounds[1:])])


def is_valid(tags: Sequence[str], scheme: str = "bilou") -> bool:
    """Whether a tag sequence obeys the scheme (transitions, start and end).

    tags (Sequence[str]): A sequence of tags, e.g. ["B-PER", "L-PER", "O"].
    scheme (str): "bilou" or "iob2".
    RETURNS (bool): True if the mask of the scheme allows the sequence.
    """
    scheme = _check_scheme(scheme)
    if not tags:
        return True
    prefixes = [split_tag(tag)[0] for tag in tags]
    if scheme == "iob2" and any(p in ("L", "U") for p in prefixes):
        return False
    if prefixes[0] in ("I", "L") or (scheme == "bilou" and prefixes[-1] in ("B", "I")):
        return False
    return all(_allowed(a, b, scheme) for a, b in zip(tags, tags[1:]))


def tags_to_spans(path: Sequence[int], tags: Sequence[str]) -> List[Tuple[int, int, str]]:
    """Entity spans from a valid tag sequence (BILUO or IOB2).

    path (Sequence[int]): Tag indices, e.g. from `viterbi`.
    tags (Sequence[str]): The tag set the indices refer to.
    RETURNS (List[Tuple[int, int, str]]): (start, end, label) token offsets,
        end exclusive.
    """
    spans: List[Tuple[int, int, str]] = []
    start: Optional[int] = None
    label: Optional[str] = None
    for i, index in enumerate(path):
        prefix, tag_label = split_tag(tags[int(index)])
        if start is not None and prefix != "I" and prefix != "L":
            spans.append((start, i, label))  # type: ignore[arg-type]
            start = None
        if prefix in ("B", "U"):
            start, label = i, tag_label
        if prefix in ("L", "U") and start is not None:
            spans.append((start, i + 1, label))  # type: ignore[arg-type]
            start = None
    if start is not None:
        spans.append((start, len(path), label))  # type: ignore[arg-type]
    return spans


def log_softmax(scores: numpy.ndarray) -> numpy.ndarray:
    """Row-wise log-softmax of a (n, k) array of logits."""
    scores = numpy.asarray(scores, dtype="float64")
    shifted = scores - scores.max(axis=-1, keepdims=True)
    return shifted - numpy.log(numpy.exp(shifted).sum(axis=-1, keepdims=True))
