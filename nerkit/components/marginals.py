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
from bisect import bisect_right
from typing import List, Sequence, Tuple

import numpy

from .viterbi import _SCORE_FLOOR, Mask, split_tag

Columns = Tuple[List[str], numpy.ndarray, numpy.ndarray, numpy.ndarray, numpy.ndarray]


def _logsumexp(x: numpy.ndarray, axis: int) -> numpy.ndarray:
    top = x.max(axis=axis, keepdims=True)
    top = numpy.where(numpy.isfinite(top), top, 0.0)
    with numpy.errstate(divide="ignore"):
        return numpy.squeeze(numpy.log(numpy.exp(x - top).sum(axis=axis, keepdims=True)) + top, axis=axis)


def _clean(scores: numpy.ndarray) -> numpy.ndarray:
    return numpy.maximum(numpy.nan_to_num(numpy.asarray(scores, dtype="float64"), nan=_SCORE_FLOOR), _SCORE_FLOOR)


def _shifted(x: numpy.ndarray) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """exp(x - max) and the max, per row. The max is finite: "O" may follow
    any tag that may end an entity and start or end a sequence, and scores are
    floored at -1e30, so every position's "O" has a finite sum."""
    top = x.max(axis=-1, keepdims=True)
    return numpy.exp(x - top), top


def _forward_backward(
    scores: numpy.ndarray, mask: Mask, check: bool = True
) -> Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """`forward_backward` over a batch of sequences of one length: scores
    (n_seqs, n_tokens, n_tags) -> alpha, beta (same shape), log Z (n_seqs,);
    `check`: RAISES ValueError where a sequence has no valid path (else its
    log Z is -inf).

    Each step sums over the allowed predecessors as exp(alpha - max) times the
    0/1 transition matrix, then back to logs: log-sum-exp with one shift per
    position instead of one per tag pair, about 3x faster. It is exact unless a
    tag's allowed predecessors all lie e^700 below the position's best tag:
    such a tag gets probability 0, where its true one is below e^-500 with any
    finite log-probabilities (in BILUO any two states' continuations meet
    again within two tokens).
    """
    trans, start, end = mask
    allowed = trans.astype("float64")
    alpha = numpy.empty(scores.shape)
    beta = numpy.empty(scores.shape)
    alpha[:, 0] = numpy.where(start, scores[:, 0], -numpy.inf)
    with numpy.errstate(divide="ignore"):
        for t in range(1, scores.shape[1]):
            weights, top = _shifted(alpha[:, t - 1])
            alpha[:, t] = numpy.log(weights @ allowed) + top + scores[:, t]
        beta[:, -1] = numpy.where(end, 0.0, -numpy.inf)
        for t in range(scores.shape[1] - 2, -1, -1):
            weights, top = _shifted(scores[:, t + 1] + beta[:, t + 1])
            beta[:, t] = numpy.log(weights @ allowed.T) + top
    log_z = _logsumexp(alpha[:, -1] + beta[:, -1], axis=1)
    if check and not numpy.isfinite(log_z).all():
        raise ValueError("No valid tag sequence: the tag set needs an 'O' tag")
    return alpha, beta, log_z


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
    scores = numpy.asarray(scores)
    if scores.ndim != 2 or scores.shape[1] != mask[0].shape[0] or not len(scores):
        raise ValueError(f"Expected scores of shape (n_tokens > 0, {mask[0].shape[0]}), got {scores.shape}")
    alpha, beta, log_z = _forward_backward(_clean(scores)[None], mask)
    return alpha[0], beta[0], float(log_z[0])


def _segment_lattices(
    scores: numpy.ndarray, mask: Mask, starts: Sequence[int], check: bool = True
) -> Tuple[List[Tuple[int, int]], numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """Forward-backward over all segments at once (vectorised over segments
    and tags, a loop over the positions of the longest). A shorter segment is
    padded with positions where only "O" may follow, at no cost: its Z and its
    real positions' sums are those of the segment alone (B- and I- still
    cannot end it, as they cannot precede "O").

    RETURNS: The (start, end) segments, and alpha, beta (n_segments,
        longest, n_tags) and log Z (n_segments,).
    """
    segments = _segments(len(scores), starts)
    longest = max(b - a for a, b in segments)
    padded = numpy.full((len(segments), longest, scores.shape[1]), -numpy.inf)
    padded[:, :, 0] = 0.0  # column 0 is "O" (see make_tags)
    for k, (a, b) in enumerate(segments):
        padded[k, : b - a] = scores[a:b]
    return (segments, *_forward_backward(padded, mask, check))  # type: ignore[return-value]


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
    tags (Sequence[str]): The BILUO tag set the columns refer to, "O" first.
    mask (Tuple[ndarray, ndarray, ndarray]): `transition_mask(tags)`.
    spans (Sequence[Tuple[int, int]]): (start, end) token offsets, end exclusive.
    starts (Sequence[int]): Segment starts, as in `viterbi_segments`; a span
        across one has probability 0.
    RETURNS (ndarray): (n_spans, n_labels), labels as in `label_columns`.
    RAISES ValueError: On an empty or out-of-range span.
    """
    labels, b_col, i_col, l_col, u_col = label_columns(tags)
    _check_o_first(tags)
    scores = _clean(scores)
    out = numpy.zeros((len(spans), len(labels)))
    for start, end in spans:
        if not 0 <= start < end <= len(scores):
            raise ValueError(f"Invalid span ({start}, {end}) for {len(scores)} tokens")
    if not spans:
        return out
    segments, alpha, beta, log_z = _segment_lattices(scores, mask, starts)
    seg_starts = [a for a, _ in segments]
    for k, (start, end) in enumerate(spans):
        s = bisect_right(seg_starts, start) - 1
        a, b = segments[s]
        if end > b:
            continue  # across a segment start: no such entity
        i, j = start - a, end - 1 - a  # j: the last token, inclusive
        if i == j:
            log_p = alpha[s, i, u_col] + beta[s, i, u_col]
        else:
            log_p = alpha[s, i, b_col] + scores[start + 1 : end - 1, i_col].sum(axis=0) + scores[end - 1, l_col]
            log_p = log_p + beta[s, j, l_col]
        out[k] = numpy.exp(numpy.minimum(log_p - log_z[s], 0.0))
    return out


def tag_marginals(scores: numpy.ndarray, mask: Mask, starts: Sequence[int] = ()) -> numpy.ndarray:
    """(n_tokens, n_tags) probability of each tag at each token, over the
    valid sequences of each segment ("O" must be the first tag)."""
    if not len(scores):
        return numpy.zeros(numpy.shape(scores), dtype="float64")
    segments, alpha, beta, log_z = _segment_lattices(_clean(scores), mask, starts)
    out = numpy.zeros(numpy.shape(scores), dtype="float64")
    for s, (a, b) in enumerate(segments):
        out[a:b] = numpy.exp(alpha[s, : b - a] + beta[s, : b - a] - log_z[s])
    return out


def lattice_loss(
    log_probs: numpy.ndarray, mask: Mask, gold: numpy.ndarray, starts: Sequence[int] = ()
) -> Tuple[float, numpy.ndarray]:
    """The negative log-likelihood of the gold tags among the valid tag
    sequences (a CRF whose only transitions are the scheme's constraints,
    over the per-token log-probabilities), summed over the segments.

    Tokens without a gold tag (-1) are marginalised: the loss is
    log Z - log Z(gold), Z(gold) summing the valid sequences that agree with
    every known tag. Its gradient with respect to the log-probabilities, and so
    to the logits under them (each row sums to 0), is the tag marginals minus
    the marginals given the gold tags (the one-hot gold where all are known).
    A segment whose gold tags form no valid sequence (e.g. an entity cut by a
    sentence start) gets the per-token cross-entropy instead.

    log_probs (ndarray): (n_tokens, n_tags) log-probabilities, "O" first.
    mask (Tuple[ndarray, ndarray, ndarray]): `transition_mask(tags)`.
    gold (ndarray): (n_tokens,) gold tag indices, -1 where unknown.
    starts (Sequence[int]): Segment starts, as in `viterbi_segments`.
    RETURNS (Tuple[float, ndarray]): The loss and its (n_tokens, n_tags) gradient.
    """
    scores = _clean(log_probs)
    gold = numpy.asarray(gold, dtype="int64")
    if not len(scores):
        return 0.0, numpy.zeros(scores.shape)
    known = numpy.flatnonzero(gold >= 0)
    clamped = scores.copy()
    clamped[known] = _SCORE_FLOOR
    clamped[known, gold[known]] = scores[known, gold[known]]
    segments, alpha, beta, log_z = _segment_lattices(scores, mask, starts)
    with numpy.errstate(invalid="ignore"):
        _, alpha_g, beta_g, log_z_g = _segment_lattices(clamped, mask, starts, check=False)
    loss, grad = 0.0, numpy.zeros(scores.shape)
    for s, (a, b) in enumerate(segments):
        n = b - a
        if numpy.isfinite(log_z_g[s]) and log_z_g[s] > _SCORE_FLOOR / 2:
            loss += float(log_z[s] - log_z_g[s])
            grad[a:b] = numpy.exp(alpha[s, :n] + beta[s, :n] - log_z[s]) - numpy.exp(
                alpha_g[s, :n] + beta_g[s, :n] - log_z_g[s])
        else:  # no valid sequence agrees with the gold tags: per-token cross-entropy
            rows = known[(known >= a) & (known < b)]
            grad[rows] = numpy.exp(scores[rows])
            grad[rows, gold[rows]] -= 1.0
            loss -= float(scores[rows, gold[rows]].sum())
    return loss, grad


def _check_o_first(tags: Sequence[str]) -> None:
    if not len(tags) or tags[0] != "O":
        raise ValueError("The tag set must start with 'O' (see make_tags)")
