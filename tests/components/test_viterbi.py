"""Constrained Viterbi decoding: the output is always a valid BILUO / IOB2
sequence, optimal among valid ones, and the argmax when that is valid."""
import itertools

import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nerkit.components.viterbi import (
    is_valid, log_softmax, make_tags, split_tag, tags_to_spans, transition_mask, viterbi, viterbi_segments,
)

LABEL_POOL = ["PER", "ORG", "LOC", "MISC", "X-Y"]


def check_valid(tags, scheme):
    """An independent checker: walk the sequence with an explicit state."""
    open_label = None  # label of the entity that must go on (BILUO) / may go on (IOB2)
    for tag in tags:
        prefix, label = ("O", None) if tag == "O" else tag.split("-", 1)
        if scheme == "bilou":
            if prefix in ("I", "L"):
                if open_label != label:
                    return False
                open_label = label if prefix == "I" else None
            else:
                if open_label is not None:
                    return False
                open_label = label if prefix == "B" else None
        else:
            if prefix in ("L", "U"):
                return False
            if prefix == "I" and open_label != label:
                return False
            open_label = label if prefix in ("B", "I") else None
    return scheme == "iob2" or open_label is None


@st.composite
def problems(draw, max_tokens=30):
    scheme = draw(st.sampled_from(["bilou", "iob2"]))
    labels = draw(st.lists(st.sampled_from(LABEL_POOL), min_size=1, max_size=4, unique=True))
    tags = make_tags(labels, scheme)
    order = draw(st.permutations(range(len(tags))))  # any tag order
    tags = [tags[i] for i in order]
    n_tokens = draw(st.integers(0, max_tokens))
    floats = st.floats(-50, 50, allow_nan=False, allow_infinity=False, width=32)
    scores = draw(arrays("float32", (n_tokens, len(tags)), elements=floats))
    return scheme, tags, scores


@settings(max_examples=300, deadline=None)
@given(problems())
def test_viterbi_output_is_always_valid(problem):
    scheme, tags, scores = problem
    path = viterbi(scores, transition_mask(tags, scheme))
    assert path.shape == (scores.shape[0],)
    out = [tags[i] for i in path]
    assert check_valid(out, scheme), out
    assert is_valid(out, scheme)


@settings(max_examples=300, deadline=None)
@given(problems(), st.data())
def test_viterbi_returns_a_valid_argmax(problem, data):
    scheme, tags, scores = problem
    trans, start, end = transition_mask(tags, scheme)
    # a random valid sequence, made the unique argmax of every row
    n_tokens = scores.shape[0]
    path = []
    for t in range(n_tokens):
        allowed = start if t == 0 else trans[path[-1]]
        if t == n_tokens - 1:
            allowed = allowed & end
            # keep a way out: only states with a valid end
        choices = [i for i in numpy.flatnonzero(allowed)
                   if t == n_tokens - 1 or (trans[i] & (end if t == n_tokens - 2 else True)).any()]
        path.append(data.draw(st.sampled_from(choices)))
    scores = numpy.abs(scores) / 100.0
    scores[numpy.arange(n_tokens), path] += 10.0
    assert (scores.argmax(axis=1) == path).all()
    assert viterbi(scores, (trans, start, end)).tolist() == path
    assert viterbi(log_softmax(scores), (trans, start, end)).tolist() == path


@settings(max_examples=150, deadline=None)
@given(problems(max_tokens=4))
def test_viterbi_is_optimal_among_valid_sequences(problem):
    scheme, tags, scores = problem
    if len(tags) ** scores.shape[0] > 5000:
        tags = tags[:5] if "O" in tags[:5] else ["O"] + [t for t in tags if t != "O"][:4]
        scores = scores[:, : len(tags)]
    mask = transition_mask(tags, scheme)
    path = viterbi(scores, mask)
    total = float(scores[numpy.arange(len(path)), path].astype("float64").sum())
    best = max(
        float(sum(float(scores[t, i]) for t, i in enumerate(seq)))
        for seq in itertools.product(range(len(tags)), repeat=scores.shape[0])
        if check_valid([tags[i] for i in seq], scheme)
    )
    assert total == pytest.approx(best, rel=1e-6, abs=1e-4)


def test_argmax_invalid_gets_repaired():
    tags = make_tags(["PER"])  # O B I L U
    mask = transition_mask(tags)
    # argmax says O I-PER O: invalid
    scores = numpy.log(numpy.array([[0.9, 0.02, 0.02, 0.02, 0.04],
                                    [0.1, 0.1, 0.55, 0.1, 0.15],
                                    [0.9, 0.02, 0.02, 0.02, 0.04]]))
    out = [tags[i] for i in viterbi(scores, mask)]
    assert out == ["O", "U-PER", "O"]


def test_infinite_scores_still_decode_validly():
    tags = make_tags(["PER", "LOC"])
    scores = numpy.full((5, len(tags)), -numpy.inf)
    scores[:, tags.index("I-PER")] = 0.0  # only an invalid tag has any probability
    out = [tags[i] for i in viterbi(scores, transition_mask(tags))]
    assert check_valid(out, "bilou")


def test_transition_mask_cells():
    tags = make_tags(["PER", "LOC"])
    trans, start, end = transition_mask(tags)
    i = tags.index
    assert trans[i("B-PER"), i("I-PER")] and trans[i("B-PER"), i("L-PER")]
    assert not trans[i("B-PER"), i("L-LOC")] and not trans[i("O"), i("I-PER")]
    assert not trans[i("B-PER"), i("O")] and trans[i("L-PER"), i("U-LOC")]
    assert start[i("O")] and start[i("U-LOC")] and not start[i("L-PER")]
    assert end[i("L-PER")] and not end[i("B-PER")] and not end[i("I-LOC")]
    trans, start, end = transition_mask(make_tags(["PER"], "iob2"), "iob2")
    assert trans.tolist() == [[True, True, False], [True, True, True], [True, True, True]]
    assert start.tolist() == [True, True, False] and end.all()


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="Invalid tag"):
        transition_mask(["O", "E-PER"])
    with pytest.raises(ValueError, match="IOB2"):
        transition_mask(make_tags(["PER"]), "iob2")
    with pytest.raises(ValueError, match="scheme"):
        make_tags(["PER"], "iobes")
    with pytest.raises(ValueError, match="shape"):
        viterbi(numpy.zeros((3, 2)), transition_mask(make_tags(["PER"])))
    with pytest.raises(ValueError, match="No valid tag sequence"):
        viterbi(numpy.zeros((1, 2)), transition_mask(["B-PER", "L-PER"]))
    assert viterbi(numpy.zeros((0, 5)), transition_mask(make_tags(["PER"]))).shape == (0,)
    assert split_tag("B-X-Y") == ("B", "X-Y")


@pytest.mark.parametrize(
    "tags,spans",
    [
        (["O", "B-PER", "L-PER", "U-LOC", "O"], [(1, 3, "PER"), (3, 4, "LOC")]),
        (["B-ORG", "I-ORG", "L-ORG"], [(0, 3, "ORG")]),
        (["B-PER", "B-PER", "I-PER", "O", "B-LOC"], [(0, 1, "PER"), (1, 3, "PER"), (4, 5, "LOC")]),
        ([], []),
    ],
)
def test_tags_to_spans(tags, spans):
    tag_set = sorted(set(tags) | {"O"})
    assert tags_to_spans([tag_set.index(t) for t in tags], tag_set) == spans


def test_segments_are_decoded_on_their_own():
    tags = make_tags(["PER"], "bilou")  # O B I L U
    mask = transition_mask(tags, "bilou")
    # the best path overall is one PER over tokens 0-3: B I I L
    best = {0: "B-PER", 1: "I-PER", 2: "I-PER", 3: "L-PER"}
    scores = numpy.full((4, len(tags)), -5.0)
    for t, tag in best.items():
        scores[t, tags.index(tag)] = 0.0
    assert [tags[i] for i in viterbi(scores, mask)] == list(best.values())
    # with a sentence start at 2 no entity runs over it, and each half is valid
    path = [tags[i] for i in viterbi_segments(scores, mask, [2])]
    assert is_valid(path[:2]) and is_valid(path[2:])
    assert tags_to_spans(viterbi_segments(scores, mask, [2]), tags) == [(0, 2, "PER"), (2, 4, "PER")]
    # 0 and out-of-range starts change nothing
    assert list(viterbi_segments(scores, mask, [0, 4, 9])) == list(viterbi(scores, mask))


@settings(max_examples=50, deadline=None)
@given(n=st.integers(1, 12), data=st.data())
def test_segments_never_cross_a_start(n, data):
    tags = make_tags(["PER", "ORG"], "bilou")
    mask = transition_mask(tags, "bilou")
    scores = data.draw(arrays(numpy.float64, (n, len(tags)), elements=st.floats(-10, 10)))
    starts = data.draw(st.lists(st.integers(0, n - 1), max_size=4))
    spans = tags_to_spans(viterbi_segments(scores, mask, starts), tags)
    assert not any(s < b < e for s, e, _ in spans for b in starts)
