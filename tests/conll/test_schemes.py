"""Tag schemes: detection, validation, lenient repairs, spans -> tags."""
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nerkit.conll import SCHEMES, TagError, detect_scheme, spans_to_tags, tags_to_spans


def spans(tags: str, scheme: str, **kwargs):
    return tags_to_spans(tags.split(), scheme, **kwargs)


@pytest.mark.parametrize(
    "tags,scheme,expected",
    [
        # IOB1: I- starts, B- only separates adjacent same-type entities
        ("I-PER I-PER B-PER O I-LOC", "iob1", [(0, 2, "PER"), (2, 3, "PER"), (4, 5, "LOC")]),
        ("I-PER I-LOC", "iob1", [(0, 1, "PER"), (1, 2, "LOC")]),
        ("O B-MISC I-MISC", "iob1", [(1, 3, "MISC")]),  # B- after O: harmless start
        ("B-PER I-PER B-PER O", "iob2", [(0, 2, "PER"), (2, 3, "PER")]),
        ("S-PER B-LOC I-LOC E-LOC O", "bioes", [(0, 1, "PER"), (1, 4, "LOC")]),
        ("U-PER B-LOC L-LOC U-LOC", "bilou", [(0, 1, "PER"), (1, 3, "LOC"), (3, 4, "LOC")]),
        # hyphenated / lower-case labels: split on the first hyphen only
        ("B-creative-work E-creative-work S-Disease", "bioes", [(0, 2, "creative-work"), (2, 3, "Disease")]),
        ("I-person B-person", "iob1", [(0, 1, "person"), (1, 2, "person")]),
        ("U-B-X", "bilou", [(0, 1, "B-X")]),
        ("O O", "iob2", []),
        ("", "bioes", []),
    ],
)
def test_tags_to_spans(tags, scheme, expected):
    assert spans(tags, scheme) == expected


@pytest.mark.parametrize(
    "tags,scheme,index,reason",
    [
        ("O I-PER", "iob2", 1, "I-PER after O is invalid in IOB2"),
        ("B-LOC I-PER", "iob2", 1, "I-PER after B-LOC is invalid in IOB2"),
        ("I-PER", "iob2", 0, "I-PER at sentence start is invalid in IOB2"),
        ("O I-PER E-PER", "bioes", 1, "I-PER after O is invalid in BIOES"),
        ("B-PER O", "bioes", 0, "B-PER is not closed: expected I-PER or E-PER next in BIOES, got O"),
        ("B-PER I-PER", "bilou", 1, "I-PER is not closed: expected I-PER or L-PER next in BILOU, got sentence end"),
        ("B-PER L-LOC", "bilou", 0, "B-PER is not closed"),
        ("U-PER L-PER", "bilou", 1, "L-PER after U-PER is invalid in BILOU"),
        ("B-PER B-PER L-PER", "bilou", 0, "B-PER is not closed"),
        ("O X-PER", "iob1", 1, "unknown tag 'X-PER'"),
        ("PER", "iob2", 0, "unknown tag 'PER'"),
        ("B-", "iob2", 0, "unknown tag 'B-'"),
        ("o", "iob2", 0, "unknown tag 'o'"),
        ("S-PER", "iob2", 0, "'S-' is not valid in IOB2"),
        ("U-PER", "bioes", 0, "'U-' is not valid in BIOES"),
        ("E-PER", "bilou", 0, "'E-' is not valid in BILOU"),
    ],
)
def test_strict_errors(tags, scheme, index, reason):
    with pytest.raises(TagError) as info:
        spans(tags, scheme)
    assert info.value.index == index
    assert reason in info.value.reason


@pytest.mark.parametrize(
    "tags,scheme,expected,repairs",
    [
        ("O I-PER I-PER", "iob2", [(1, 3, "PER")], {"I- after O/other type starts an entity": 1}),
        ("B-LOC I-PER", "iob2", [(0, 1, "LOC"), (1, 2, "PER")], {"I- after O/other type starts an entity": 1}),
        ("B-PER I-PER O", "bilou", [(0, 2, "PER")], {"missing L-: entity closed at last token": 1}),
        ("B-PER", "bioes", [(0, 1, "PER")], {"missing E-: entity closed at last token": 1}),
        ("O E-PER", "bioes", [(1, 2, "PER")], {"E- after O/other type starts an entity": 1}),
        (
            "B-PER L-LOC",
            "bilou",
            [(0, 1, "PER"), (1, 2, "LOC")],
            {"missing L-: entity closed at last token": 1, "L- after O/other type starts an entity": 1},
        ),
    ],
)
def test_lenient_repairs(tags, scheme, expected, repairs):
    counts: Counter = Counter()
    assert spans(tags, scheme, lenient=True, repairs=counts) == expected
    assert counts == repairs


def test_lenient_keeps_unknown_prefix_an_error():
    with pytest.raises(TagError, match="unknown tag"):
        spans("O X-PER", "iob2", lenient=True)


@pytest.mark.parametrize(
    "sentences,expected",
    [
        (["O I-PER I-PER", "O"], "iob1"),  # CoNLL-2003: I- after O
        (["I-PER"], "iob1"),  # I- at sentence start
        (["B-PER I-LOC"], "iob1"),  # I- after another type
        (["B-PER I-PER", "B-LOC"], "iob2"),
        (["O O"], "iob2"),  # no entities
        (["B-PER E-PER", "O"], "bioes"),
        (["S-PER"], "bioes"),
        (["U-PER"], "bilou"),
        (["B-X L-X"], "bilou"),
        (["O X-PER"], "iob2"),  # unknown tags are left to validation
    ],
)
def test_detect_scheme(sentences, expected):
    assert detect_scheme(s.split() for s in sentences) == expected


def test_spans_to_tags_examples():
    sp = [(0, 2, "creative-work"), (2, 3, "creative-work"), (4, 7, "X")]
    assert spans_to_tags(sp, 7, "iob1") == "I-creative-work I-creative-work B-creative-work O I-X I-X I-X".split()
    assert spans_to_tags(sp, 7, "iob2") == "B-creative-work I-creative-work B-creative-work O B-X I-X I-X".split()
    assert spans_to_tags(sp, 7, "bioes") == "B-creative-work E-creative-work S-creative-work O B-X I-X E-X".split()
    assert spans_to_tags(sp, 7, "bilou") == "B-creative-work L-creative-work U-creative-work O B-X I-X L-X".split()
    assert spans_to_tags([(1, 2, "A"), (2, 3, "B")], 3, "iob1") == ["O", "I-A", "I-B"]
    for bad in ([(0, 2, "A"), (1, 3, "B")], [(2, 4, "A")], [(1, 1, "A")]):
        with pytest.raises(ValueError):
            spans_to_tags(bad, 3, "iob2")


LABELS = st.sampled_from(["PER", "LOC", "creative-work", "Disease", "B-X", "x-"])


@st.composite
def sentence_spans(draw):
    """Random well-formed (length, spans)."""
    length = draw(st.integers(0, 12))
    cuts = sorted(draw(st.lists(st.integers(0, length), max_size=8)))
    result, pos = [], 0
    for a, b in zip(cuts[::2], cuts[1::2]):
        a = max(a, pos)
        if a < b:
            result.append((a, b, draw(LABELS)))
            pos = b
    return length, result


@given(st.lists(sentence_spans(), max_size=5), st.sampled_from(SCHEMES))
def test_spans_tags_round_trip(sentences, scheme):
    tag_seqs = [spans_to_tags(sp, n, scheme) for n, sp in sentences]
    for (n, sp), tags in zip(sentences, tag_seqs):
        assert len(tags) == n
        assert tags_to_spans(tags, scheme) == sp
        assert spans_to_tags(tags_to_spans(tags, scheme), n, scheme) == tags
    if any(sp for _, sp in sentences):
        assert detect_scheme(tag_seqs) == scheme or (
            # without multi-token entities / I- tags, iob2 and iob1 read the same
            {scheme, detect_scheme(tag_seqs)} == {"iob1", "iob2"}
            and [tags_to_spans(t, "iob1") for t in tag_seqs] == [tags_to_spans(t, "iob2") for t in tag_seqs]
        )
