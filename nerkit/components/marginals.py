"""Forward-backward over the constrained BILUO lattice that `viterbi` decodes
(numpy only, log space, vectorised over tags).

With per-token log-probabilities s[t, k] and the transition mask of
`transition_mask`, a valid tag sequence has probability exp(sum s) / Z, Z the
sum over all valid sequences. `forward_backward` gives alpha (prefix sums,
the token's own score included) and beta (suffix sums after the token).
In BILUO an entity is exactly its tags: tokens i..j form an entity of label L
if and only if the path has U-L at i (i == j), or B-L at i, I-L in between and
L-L at j, so its probability is exact from the boundary terms:
alpha[i][B-L] + s[i+1:j][I-L] + s[j][L-L] + beta[j][L-L] - log Z.
Segments (sentences) are separate lattices, as in `viterbi_segments`.
"""
from typing import List, Sequence, Tuple

import numpy

from .viterbi import _SCORE_FLOOR, Mask, split_tag

Columns = Tuple[List[str], numpy.ndarray, numpy.ndarray, numpy.ndarray, numpy.ndarray]


def _logsumexp(x: numpy.ndarray, axis: int) -> numpy.ndarray:
    top = x.max(axis=axis, keepdims=True)
    top = numpy.where(numpy.isfinite(top), top, 0.0)
    with numpy.errstate(divide="ignore"):
        return numpy.squeeze(numpy.log(numpy.exp(x - top).sum(axis=axis, keepdims=True)) + top, axis=axis)


def forward_backward(scores: numpy.ndarray, mask: Mask) -> Tuple[numpy.ndarray, numpy.ndarray, float]:
    """Log-space forward and backward sums over the valid tag sequences.

    scores (ndarray): (n_tokens, n_tags) log-probabilities; values below
        -1e30 (and -inf, NaN) become -1e30, as in `viterbi`.
    mask (Tuple[ndarray, ndarray, ndarray]): `transition_mask(tags)`.
    RETURNS (Tuple[ndarray, ndarray, float]): alpha (n_tokens, n_tags): log
        sum over valid prefixes ending in each tag, its score included; beta
        (n_tokens, n_tags): log sum over valid continuations after each tag;
        log Z. The tag marginals are exp(alpha + beta - log Z).
    RAISES ValueError: On mismatched shapes, an empty sequence, or no valid sequence.
    """
    trans, start, end = mask
    scores = numpy.asarray(scores, dtype="float64")
    if scores.ndim != 2 or scores.shape[1] != trans.shape[0] or not len(scores):
        raise ValueError(f"Expected scores of shape (n_tokens > 0, {trans.shape[0]}), got {scores.shape}")
    scores = numpy.maximum(numpy.nan_to_num(scores, nan=_SCORE_FLOOR), _SCORE_FLOOR)
    n_tokens, n_tags = scores.shape
    penalty = numpy.where(trans, 0.0, -numpy.inf)
    alpha = numpy.empty((n_tokens, n_tags))
    beta = numpy.empty((n_tokens, n_tags))
    alpha[0] = numpy.where(start, scores[0], -numpy.inf)
    for t in range(1, n_tokens):
        alpha[t] = _logsumexp(alpha[t - 1][:, None] + penalty, axis=0) + scores[t]
    beta[-1] = numpy.where(end, 0.0, -numpy.inf)
    for t in range(n_tokens - 2, -1, -1):
        beta[t] = _logsumexp(penalty + (scores[t + 1] + beta[t + 1])[None, :], axis=1)
    log_z = float(_logsumexp(alpha[-1] + beta[-1], axis=0))
    if not numpy.isfinite(log_z):
        raise ValueError("No valid tag sequence: the tag set needs an 'O' tag")
    return alpha, beta, log_z


def label_columns(tags: Sequence[str]) -> Columns:
    """The labels of a BILUO tag set and the indices of their B, I, L, U tags.

    RETURNS (Tuple[List[str], ndarray, ndarray, ndarray, ndarray]): Labels in
        the order of their first tag; B, I, L, U: (n_labels,) tag indices.
    RAISES ValueError: If a label lacks one of its four tags (e.g. IOB2).
    """
    index = {tag: i for i, tag in enumerate(tags)}
    labels = list(dict.fromkeys(label for label in (split_tag(tag)[1] for tag in tags) if label is not None))
    try:
        cols = [numpy.asarray([index[f"{p}-{label}"] for label in labels], dtype="int64") for p in "BILU"]
    except KeyError as err:
        raise ValueError(f"Span probabilities need BILUO tags: no {err.args[0]} in the tag set") from None
    return (labels, *cols)  # type: ignore[return-value]


def _segments(n_tokens: int, starts: Sequence[int]) -> List[Tuple[int, int]]:
    cuts = sorted({int(s) for s in starts if 0 < int(s) < n_tokens})
    bounds = [0, *cuts, n_tokens]
    return list(zip(bounds, bounds[1:]))


def span_probs(
    scores: numpy.ndarray, tags: Sequence[str], mask: Mask, spans: Sequence[Tuple[int, int]], starts: Sequence[int] = ()
) -> numpy.ndarray:
    """For each span and label, the probability that exactly those tokens
    form one entity with that label.

    scores (ndarray): (n_tokens, n_tags) log-probabilities (see `forward_backward`).
    tags (Sequence[str]): The BILUO tag set the columns refer to.
    mask (Tuple[ndarray, ndarray, ndarray]): `transition_mask(tags)`.
    spans (Sequence[Tuple[int, int]]): (start, end) token offsets, end exclusive.
    starts (Sequence[int]): Segment starts, as in `viterbi_segments`; a span
        across one has probability 0.
    RETURNS (ndarray): (n_spans, n_labels), labels as in `label_columns`.
    RAISES ValueError: On an empty or out-of-range span.
    """
    labels, b_col, i_col, l_col, u_col = label_columns(tags)
    scores = numpy.maximum(numpy.nan_to_num(numpy.asarray(scores, dtype="float64"), nan=_SCORE_FLOOR), _SCORE_FLOOR)
    out = numpy.zeros((len(spans), len(labels)))
    for start, end in spans:
        if not 0 <= start < end <= len(scores):
            raise ValueError(f"Invalid span ({start}, {end}) for {len(scores)} tokens")
    for a, b in _segments(len(scores), starts):
        inside = [k for k, (i, j) in enumerate(spans) if a <= i < b]
        if not inside:
            continue
        alpha, beta, log_z = forward_backward(scores[a:b], mask)
        for k in inside:
            i, j = spans[k][0] - a, spans[k][1] - 1 - a  # j: the last token, inclusive
            if j >= b - a:
                continue  # across a segment start: no such entity
            if i == j:
                log_p = alpha[i, u_col] + beta[i, u_col]
            else:
                log_p = alpha[i, b_col] + scores[a + i + 1 : a + j, i_col].sum(axis=0) + scores[a + j, l_col]
                log_p = log_p + beta[j, l_col]
            out[k] = numpy.exp(numpy.minimum(log_p - log_z, 0.0))
    return out


def tag_marginals(scores: numpy.ndarray, mask: Mask, starts: Sequence[int] = ()) -> numpy.ndarray:
    """(n_tokens, n_tags) probability of each tag at each token, over the
    valid sequences of each segment."""
    out = numpy.zeros(numpy.shape(scores), dtype="float64")
    for a, b in _segments(len(scores), starts):
        alpha, beta, log_z = forward_backward(scores[a:b], mask)
        out[a:b] = numpy.exp(alpha + beta - log_z)
    return out
