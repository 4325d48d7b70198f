"""The error breakdown, one category at a time, and the confusion table."""
from hypothesis import given, settings
from hypothesis import strategies as st

from nerkit.scoring import CATEGORIES, EntSpan, classify, confusion_matrix, error_breakdown

PER = EntSpan(0, 0, 2, "PER")


def counts(gold, pred, label):
    return error_breakdown(gold, pred)["per_type"][label]


def only(category, n=1):
    return {c: (n if c == category else 0) for c in CATEGORIES}


def test_correct():
    assert counts([PER], [EntSpan(0, 0, 2, "PER")], "PER") == only("correct")


def test_wrong_type():
    # same span, other label: booked under the gold type; the ORG row stays empty
    b = error_breakdown([PER], [EntSpan(0, 0, 2, "ORG")])
    assert b["per_type"]["PER"] == only("wrong_type")
    assert b["per_type"]["ORG"] == only("spurious", 0)


def test_wrong_boundary():
    assert counts([PER], [EntSpan(0, 0, 1, "PER")], "PER") == only("wrong_boundary")
    assert counts([PER], [EntSpan(0, 1, 3, "PER")], "PER") == only("wrong_boundary")


def test_wrong_both():
    assert counts([PER], [EntSpan(0, 1, 3, "ORG")], "PER") == only("wrong_both")


def test_missed():
    assert counts([PER], [], "PER") == only("missed")
    # a prediction next to it, not overlapping, does not save it (and is spurious)
    assert counts([PER], [EntSpan(0, 2, 3, "PER")], "PER") == {**only("missed"), "spurious": 1}


def test_spurious():
    b = error_breakdown([PER], [EntSpan(0, 2, 3, "LOC"), EntSpan(1, 0, 2, "PER")])
    assert b["per_type"]["LOC"] == only("spurious")
    # same tokens in another doc: spurious PER, and the gold PER is missed
    assert b["per_type"]["PER"] == {**only("missed"), "spurious": 1}
    assert b["total"]["spurious"] == 2


def test_misaligned_prediction_is_a_boundary_error():
    # covers exactly the gold tokens, but its characters do not align
    assert counts([PER], [EntSpan(0, 0, 2, "PER", False)], "PER") == only("wrong_boundary")


def test_classify_pred_side():
    gold = [PER, EntSpan(0, 5, 6, "LOC")]
    pred = [EntSpan(0, 0, 2, "ORG"), EntSpan(0, 4, 6, "LOC"), EntSpan(0, 8, 9, "PER")]
    g_out, p_out = classify(gold, pred)
    assert g_out == ["wrong_type", "wrong_boundary"]
    assert p_out == ["wrong_type", "wrong_boundary", "spurious"]


def test_confusion():
    gold = [PER, EntSpan(0, 3, 4, "LOC"), EntSpan(0, 6, 8, "LOC"), EntSpan(0, 10, 11, "ORG")]
    pred = [
        EntSpan(0, 0, 2, "PER"),  # PER → PER (correct)
        EntSpan(0, 3, 4, "ORG"),  # LOC → ORG (wrong type)
        EntSpan(0, 6, 7, "LOC"),  # LOC → LOC (wrong boundary: still the diagonal)
        EntSpan(0, 12, 13, "PER"),  # O → PER (spurious); the ORG at 10 is missed → O
    ]
    c = confusion_matrix(gold, pred)
    assert c["labels"] == ["LOC", "ORG", "PER", "O"]
    m = c["matrix"]
    assert m["PER"] == {"LOC": 0, "ORG": 0, "PER": 1, "O": 0}
    assert m["LOC"] == {"LOC": 1, "ORG": 1, "PER": 0, "O": 0}
    assert m["ORG"] == {"LOC": 0, "ORG": 0, "PER": 0, "O": 1}
    assert m["O"] == {"LOC": 0, "ORG": 0, "PER": 1, "O": 0}


def test_confusion_prefers_most_overlap():
    gold = [EntSpan(0, 0, 4, "ORG")]
    pred = [EntSpan(0, 0, 1, "PER"), EntSpan(0, 1, 4, "LOC")]
    # LOC covers 3 gold tokens, PER 1 → the ORG row counts LOC
    assert confusion_matrix(gold, pred)["matrix"]["ORG"]["LOC"] == 1
    # but a same-type overlap wins over a larger other-type one (boundary error)
    pred = [EntSpan(0, 0, 1, "ORG"), EntSpan(0, 1, 4, "LOC")]
    assert confusion_matrix(gold, pred)["matrix"]["ORG"]["ORG"] == 1


spans = st.builds(
    lambda d, s, n, lab: EntSpan(d, s, s + n, lab),
    st.integers(0, 2), st.integers(0, 15), st.integers(1, 4), st.sampled_from(["A", "B", "C-d"]),
)  # fmt: skip


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.lists(spans, max_size=12, unique=True), st.lists(spans, max_size=12, unique=True))
def test_invariants(gold, pred):
    b = error_breakdown(gold, pred)
    c = confusion_matrix(gold, pred)
    gold_cats = ("correct", "wrong_type", "wrong_boundary", "wrong_both", "missed")
    for label, row in b["per_type"].items():
        support = sum(1 for g in gold if g.label == label)
        # every gold entity has exactly one outcome; correct = tp
        assert sum(row[k] for k in gold_cats) == support
        assert row["correct"] == len({g for g in gold if g.label == label} & set(pred))
        # every gold entity adds one count to its confusion row
        assert sum(c["matrix"][label].values()) == support
    assert sum(c["matrix"]["O"].values()) == b["total"]["spurious"]
    diagonal = sum(c["matrix"][lab][lab] for lab in c["labels"])
    assert diagonal == b["total"]["correct"] + b["total"]["wrong_boundary"]
