"""Entity-level exact-match scores, worked out by hand, and against seqeval."""
import random

import pytest
import spacy
from hypothesis import given, settings
from hypothesis import strategies as st
from seqeval.metrics import classification_report
from seqeval.scheme import IOB2
from spacy.tokens import Doc, Span

from nerkit.scoring import (
    EntSpan,
    align_pred_spans,
    build_report,
    collect_spans,
    iob_to_spans,
    prf,
    score_spans,
    spans_to_tags,
)


def spans(doc_index, tags):
    return [EntSpan(doc_index, s, e, lab) for s, e, lab in iob_to_spans(tags)]


def approx(row, p, r, f):
    assert row["precision"] == pytest.approx(p)
    assert row["recall"] == pytest.approx(r)
    assert row["f1"] == pytest.approx(f)


def test_iob1_to_spans():
    # IOB1: I- opens a chunk after O; B- only splits adjacent same-type chunks
    tags = ["I-PER", "I-PER", "B-PER", "O", "I-LOC", "I-ORG", "I-ORG"]
    assert iob_to_spans(tags) == [(0, 2, "PER"), (2, 3, "PER"), (4, 5, "LOC"), (5, 7, "ORG")]


def test_iob2_and_ioi_after_o():
    # conlleval: an I- after O (or after another type) starts a chunk
    tags = ["B-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-MISC"]
    assert iob_to_spans(tags) == [(0, 2, "PER"), (3, 4, "LOC"), (4, 5, "LOC"), (5, 6, "MISC")]


def test_iobes_to_spans():
    tags = ["S-PER", "B-LOC", "E-LOC", "B-LOC", "I-LOC", "E-LOC", "O"]
    assert iob_to_spans(tags) == [(0, 1, "PER"), (1, 3, "LOC"), (3, 6, "LOC")]


def test_hyphenated_labels():
    # the type is everything after the first hyphen
    tags = ["B-creative-work", "I-creative-work", "O", "I-creative-work"]
    assert iob_to_spans(tags) == [(0, 2, "creative-work"), (3, 4, "creative-work")]
    gold = spans(0, ["B-creative-work", "I-creative-work", "O", "B-PER"])
    pred = spans(0, ["B-creative-work", "I-creative-work", "B-PER", "O"])
    scores = score_spans(gold, pred)
    # creative-work: tp=1 → P=R=F=1; PER: tp=0, fp=1, fn=1 → 0
    approx(scores["per_type"]["creative-work"], 1, 1, 1)
    approx(scores["per_type"]["PER"], 0, 0, 0)
    # micro: tp=1, fp=1, fn=1 → P=1/2, R=1/2, F=1/2
    approx(scores["micro"], 1 / 2, 1 / 2, 1 / 2)


def test_hand_worked_micro_and_per_type():
    gold = [EntSpan(0, 0, 2, "PER"), EntSpan(0, 3, 4, "LOC"), EntSpan(1, 0, 1, "ORG")]
    pred = [EntSpan(0, 0, 2, "PER"), EntSpan(0, 3, 5, "LOC"), EntSpan(1, 2, 3, "ORG")]
    s = score_spans(gold, pred)
    # tp=1 (PER), fp=2, fn=2 → P=1/3, R=1/3, F=1/3
    approx(s["micro"], 1 / 3, 1 / 3, 1 / 3)
    assert (s["micro"]["tp"], s["micro"]["fp"], s["micro"]["fn"], s["micro"]["support"]) == (1, 2, 2, 3)
    # PER: tp=1 → 1,1,1; LOC: tp=0, fp=1, fn=1 → 0; ORG likewise
    approx(s["per_type"]["PER"], 1, 1, 1)
    approx(s["per_type"]["LOC"], 0, 0, 0)
    assert s["per_type"]["ORG"]["support"] == 1
    # macro over PER, LOC, ORG: (1+0+0)/3
    assert s["macro"]["f1"] == pytest.approx(1 / 3)


def test_same_span_in_another_doc_is_not_a_match():
    # (doc, start, end, label) tuples: doc index matters → tp=0, fp=1, fn=1
    s = score_spans([EntSpan(0, 0, 1, "PER")], [EntSpan(1, 0, 1, "PER")])
    approx(s["micro"], 0, 0, 0)


def test_adjacent_same_type_entities():
    # gold (IOB1): [A B]PER [C]PER
    gold = spans(0, ["I-PER", "I-PER", "B-PER"])
    assert len(gold) == 2
    # merged prediction [A B C]: tp=0, fp=1, fn=2 → P=0, R=0, F=0
    approx(score_spans(gold, spans(0, ["B-PER", "I-PER", "I-PER"]))["micro"], 0, 0, 0)
    # only the first: tp=1, fp=0, fn=1 → P=1, R=1/2, F=2/3
    approx(score_spans(gold, spans(0, ["B-PER", "I-PER", "O"]))["micro"], 1, 1 / 2, 2 / 3)
    # both, IOB2-style: tp=2 → 1, 1, 1
    approx(score_spans(gold, spans(0, ["B-PER", "I-PER", "B-PER"]))["micro"], 1, 1, 1)


def make_doc(vocab, words, ents, sent_starts=None):
    doc = Doc(vocab, words=words, sent_starts=sent_starts)
    doc.ents = [Span(doc, s, e, label=lab) for s, e, lab in ents]
    return doc


def test_entities_at_sentence_and_document_ends():
    vocab = spacy.blank("en").vocab
    # sentence 1 ends with "Ann Lee", sentence 2 (and the doc) with "New York"
    words = ["I", "met", "Ann", "Lee", "Off", "to", "New", "York"]
    starts = [True, False, False, False, True, False, False, False]
    gold = make_doc(vocab, words, [(2, 4, "PER"), (6, 8, "LOC")], starts)
    pred = make_doc(vocab, words, [(2, 4, "PER"), (6, 8, "LOC")])
    g, p = collect_spans([gold], [pred])
    # tp=2 → 1, 1, 1
    approx(score_spans(g, p)["micro"], 1, 1, 1)
    # a prediction that stops one token short at the doc end: tp=1, fp=1, fn=1 → 1/2 each
    pred2 = make_doc(vocab, words, [(2, 4, "PER"), (6, 7, "LOC")])
    g, p = collect_spans([gold], [pred2])
    approx(score_spans(g, p)["micro"], 1 / 2, 1 / 2, 1 / 2)
    # the chunker closes a chunk at the end of the sequence
    assert iob_to_spans(["O", "B-LOC", "I-LOC"]) == [(1, 3, "LOC")]


def test_empty_predictions_and_empty_gold():
    gold = [EntSpan(0, 0, 1, "PER"), EntSpan(0, 2, 3, "LOC")]
    # no predictions: tp=0, fp=0, fn=2 → P=0 by convention, R=0, F=0
    s = score_spans(gold, [])
    approx(s["micro"], 0, 0, 0)
    assert s["micro"]["support"] == 2
    # nothing at all: all 0, support 0, no per-type rows
    s = score_spans([], [])
    approx(s["micro"], 0, 0, 0)
    assert s["micro"]["support"] == 0 and s["per_type"] == {}
    assert prf(0, 0, 0) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


def test_empty_report():
    nlp = spacy.blank("en")
    report = build_report([nlp("no names")], [nlp("no names")], n_bootstrap=10)
    assert report["entity"]["micro"]["f1"] == 0.0
    assert report["entity"]["micro"]["support"] == 0
    assert report["bootstrap"]["f1_ci95"] == [0.0, 0.0]
    assert report["spacy_scorer"]["agrees"]


def test_misaligned_prediction_is_counted_not_dropped():
    vocab = spacy.blank("en").vocab
    gold = make_doc(vocab, ["New", "York", "City", "is", "big"], [(0, 2, "LOC")])
    # other tokenization, same text; "New Yo" ends inside the gold token "York"
    pred = Doc(vocab, words=["New", "Yo", "rk", "City", "is", "big"],
               spaces=[True, False, True, True, True, False])  # fmt: skip
    pred.ents = [Span(pred, 0, 2, label="LOC"), Span(pred, 5, 6, label="ORG")]
    p = align_pred_spans(gold, pred, 0)
    # covered gold tokens [0, 2) but not aligned; "big" aligns to gold token 4
    assert p == [EntSpan(0, 0, 2, "LOC", False), EntSpan(0, 4, 5, "ORG", True)]
    # tp=0, fp=2, fn=1 → P=0, R=0, F=0
    approx(score_spans(collect_spans([gold], [pred])[0], p)["micro"], 0, 0, 0)
    report = build_report([gold], [pred], n_bootstrap=10)
    assert report["errors"]["per_type"]["LOC"]["wrong_boundary"] == 1
    assert report["errors"]["per_type"]["ORG"]["spurious"] == 1
    # spaCy maps "New Yo" onto the gold tokens it covers and counts it correct
    sp = report["spacy_scorer"]
    assert not sp["agrees"] and sp["causes"]["misaligned_predictions"] == 1
    assert sp["ents_per_type"]["LOC"]["f"] == pytest.approx(1.0)


def test_coarser_tokenization_that_aligns():
    vocab = spacy.blank("en").vocab
    gold = make_doc(vocab, ["New", "York", "City", "is", "big"], [(0, 2, "LOC")])
    # one token "New York" (and extra whitespace): its chars match gold tokens 0-1
    pred = Doc(vocab, words=["New York", "City", "is", "big"], spaces=[True, True, True, False])
    pred.ents = [Span(pred, 0, 1, label="LOC")]
    assert align_pred_spans(gold, pred, 3) == [EntSpan(3, 0, 2, "LOC", True)]
    pred2 = Doc(vocab, words=["New", "York", "City", "is", "big"], spaces=[True, True, True, True, True])
    pred2.ents = [Span(pred2, 0, 2, label="LOC")]
    # texts differ only in whitespace ("big " vs "big")
    assert align_pred_spans(gold, pred2, 0) == [EntSpan(0, 0, 2, "LOC", True)]


LABELS = ["PER", "LOC", "creative-work"]


def seqeval_report(y_true, y_pred):
    return classification_report(
        y_true, y_pred, mode="strict", scheme=IOB2, output_dict=True, zero_division=0
    )


@st.composite
def span_sets(draw, n_tokens):
    """Random non-overlapping spans over n_tokens tokens."""
    out, i = [], 0
    while i < n_tokens:
        if draw(st.booleans()):
            length = draw(st.integers(1, 3))
            out.append((i, min(i + length, n_tokens), draw(st.sampled_from(LABELS))))
            i += length
        else:
            i += 1
    return out


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.data())
def test_micro_matches_seqeval(data):
    lengths = data.draw(st.lists(st.integers(1, 12), min_size=1, max_size=6))
    gold, pred, y_true, y_pred = [], [], [], []
    for d, n in enumerate(lengths):
        g, p = data.draw(span_sets(n)), data.draw(span_sets(n))
        gold += [EntSpan(d, *s) for s in g]
        pred += [EntSpan(d, *s) for s in p]
        y_true.append(spans_to_tags(g, n))
        y_pred.append(spans_to_tags(p, n))
    if not gold or not pred:
        return  # seqeval divides by zero there
    ours = score_spans(gold, pred)
    theirs = seqeval_report(y_true, y_pred)
    micro = theirs["micro avg"]
    assert ours["micro"]["precision"] == pytest.approx(micro["precision"])
    assert ours["micro"]["recall"] == pytest.approx(micro["recall"])
    assert ours["micro"]["f1"] == pytest.approx(micro["f1-score"])
    assert ours["micro"]["support"] == micro["support"]
    for label, row in ours["per_type"].items():
        if row["support"]:
            assert row["f1"] == pytest.approx(theirs[label]["f1-score"])


def test_micro_matches_seqeval_random_corpus():
    # a larger seeded corpus: noisy copies of gold
    rng = random.Random(0)
    y_true, y_pred, gold, pred = [], [], [], []
    for d in range(200):
        n = rng.randint(1, 25)
        g, i = [], 0
        while i < n:
            if rng.random() < 0.3:
                j = min(n, i + rng.randint(1, 3))
                g.append((i, j, rng.choice(LABELS)))
                i = j
            else:
                i += 1
        p = []
        for s, e, lab in g:
            r = rng.random()
            if r < 0.6:
                p.append((s, e, lab))
            elif r < 0.75:
                p.append((s, e, rng.choice(LABELS)))
            elif r < 0.9:
                p.append((s, max(s + 1, e - 1), lab))
        gold += [EntSpan(d, *s) for s in g]
        pred += [EntSpan(d, *s) for s in p]
        y_true.append(spans_to_tags(g, n))
        y_pred.append(spans_to_tags(p, n))
    ours = score_spans(gold, pred)["micro"]
    micro = seqeval_report(y_true, y_pred)["micro avg"]
    assert ours["f1"] == pytest.approx(micro["f1-score"])
    assert ours["precision"] == pytest.approx(micro["precision"])
    assert ours["recall"] == pytest.approx(micro["recall"])
