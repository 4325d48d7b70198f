"""The token-level table, against a hand count."""
import pytest
import spacy
from spacy.tokens import Doc, Span

from nerkit.scoring import build_report, score_tokens, spans_to_tags


def test_spans_to_tags():
    # adjacent same-type entities get B- B-
    assert spans_to_tags([(0, 2, "PER"), (2, 3, "PER"), (4, 5, "creative-work")], 5) == [
        "B-PER", "I-PER", "B-PER", "O", "B-creative-work",
    ]  # fmt: skip


def test_hand_count():
    gold = [["B-PER", "I-PER", "O", "B-LOC"]]
    pred = [["B-PER", "O", "O", "B-ORG"]]
    t = score_tokens(gold, pred)
    rows = t["per_tag"]
    # entity tags grouped by type, B before I, O last
    assert list(rows) == ["B-LOC", "B-ORG", "B-PER", "I-PER", "O"]

    def check(row, p, r, f, support):
        assert (row["precision"], row["recall"], row["f1"]) == pytest.approx((p, r, f))
        assert row["support"] == support

    # B-PER: tp=1, pred=1, gold=1 → 1, 1, 1
    check(rows["B-PER"], 1, 1, 1, 1)
    # I-PER: tp=0, pred=0, gold=1 → 0, 0, 0
    check(rows["I-PER"], 0, 0, 0, 1)
    # B-LOC: tp=0, pred=0, gold=1 → 0; B-ORG: tp=0, pred=1, gold=0 → 0, support 0
    check(rows["B-LOC"], 0, 0, 0, 1)
    check(rows["B-ORG"], 0, 0, 0, 0)
    # O: tp=1 (token 2), pred=2 (tokens 1, 2), gold=1 → P=1/2, R=1, F=2/3
    check(rows["O"], 1 / 2, 1, 2 / 3, 1)
    avg = t["averages"]
    # micro over entity tags: tp=1, predicted entity tokens=2, gold entity tokens=3
    # → P=1/2, R=1/3, F=2·(1/6)/(5/6)=2/5
    check(avg["micro"], 1 / 2, 1 / 3, 2 / 5, 3)
    # macro over B-LOC, B-ORG, B-PER, I-PER: P=(0+0+1+0)/4, R=1/4, F=1/4
    check(avg["macro"], 1 / 4, 1 / 4, 1 / 4, 3)
    # weighted by support (B-LOC 1, B-ORG 0, B-PER 1, I-PER 1) / 3 → 1/3 each
    check(avg["weighted"], 1 / 3, 1 / 3, 1 / 3, 3)
    # accuracy over all 4 tokens: B-PER and the O at token 2 are right → 2/4
    assert t["accuracy"] == pytest.approx(1 / 2)
    assert t["n_tokens"] == 4


def test_all_o():
    t = score_tokens([["O", "O"]], [["O", "O"]])
    # no entity tags: averages are 0 with support 0; accuracy 2/2
    assert t["averages"]["micro"]["f1"] == 0.0 and t["averages"]["micro"]["support"] == 0
    assert t["accuracy"] == 1.0
    assert list(t["per_tag"]) == ["O"]


def test_length_mismatch():
    with pytest.raises(ValueError):
        score_tokens([["O"]], [["O", "O"]])


def test_report_token_section_is_labelled():
    vocab = spacy.blank("en").vocab
    gold = Doc(vocab, words=["Ann", "Lee", "and", "Bo", "Li", "met"])
    gold.ents = [Span(gold, 0, 2, "PER"), Span(gold, 3, 5, "PER")]
    pred = Doc(vocab, words=["Ann", "Lee", "and", "Bo", "Li", "met"])
    pred.ents = [Span(pred, 0, 2, "PER"), Span(pred, 3, 4, "PER")]
    report = build_report([gold], [pred], n_bootstrap=0)
    tok = report["token"]
    # B-PER: 2/2; I-PER: gold 2 (Lee, Li), pred 1 (Lee) → P=1, R=1/2
    assert tok["per_tag"]["I-PER"]["recall"] == pytest.approx(1 / 2)
    # token accuracy 5/6 while entity F1 is 1/2 (tp=1, fp=1, fn=1)
    assert tok["accuracy"] == pytest.approx(5 / 6)
    assert report["entity"]["micro"]["f1"] == pytest.approx(1 / 2)
    assert "not 97% entity F1" in tok["note"]
    assert tok["averaged_over"].startswith("entity tags")
