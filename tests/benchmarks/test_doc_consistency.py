"""Document-level label consistency on hand-made predictions."""
import spacy
from spacy.tokens import Doc, Span

from benchmarks.doc_consistency import consistent_ents


def _doc(words, ents, sent_starts=None):
    nlp = spacy.blank("en")
    doc = Doc(nlp.vocab, words=words, sent_starts=sent_starts)
    doc.ents = [Span(doc, s, e, label=label) for s, e, label in ents]
    return doc


def _spans(ents):
    return [(e.start, e.end, e.label_) for e in ents]


WORDS = "Jordan beat Syria . Jordan won in Amman . Then Jordan lost".split()


def test_relabel_to_the_majority_and_propagate_to_uncovered_occurrences():
    doc = _doc(WORDS, [(0, 1, "LOC"), (2, 3, "LOC"), (4, 5, "LOC"), (7, 8, "LOC"), (10, 11, "PER")])
    assert _spans(consistent_ents(doc, propagate=False)) == [
        (0, 1, "LOC"), (2, 3, "LOC"), (4, 5, "LOC"), (7, 8, "LOC"), (10, 11, "LOC")]
    missed = _doc(WORDS, [(0, 1, "LOC"), (2, 3, "LOC")])
    assert _spans(consistent_ents(missed, relabel=False)) == [(0, 1, "LOC"), (2, 3, "LOC"), (4, 5, "LOC"), (10, 11, "LOC")]
    assert _spans(missed.ents) == [(0, 1, "LOC"), (2, 3, "LOC")]  # the doc itself is not changed


def test_a_tie_keeps_each_mention_its_own_label():
    doc = _doc(WORDS, [(0, 1, "LOC"), (4, 5, "PER")])
    assert _spans(consistent_ents(doc, propagate=False)) == [(0, 1, "LOC"), (4, 5, "PER")]


def test_longest_string_first_case_kept_short_strings_and_sentence_breaks_left_alone():
    words = "New York Times said New York was cold . new york A A . New".split()
    starts = [True] + [False] * 8 + [True] + [False] * 4 + [True]
    doc = _doc(words, [(0, 3, "ORG"), (11, 12, "MISC")], sent_starts=starts)
    # "New York" is not a predicted string, so "New York" at 4-6 stays; "new york" differs in case;
    # "A" (1 character) is under min_chars
    assert _spans(consistent_ents(doc)) == [(0, 3, "ORG"), (11, 12, "MISC")]
    doc = _doc(words, [(0, 3, "ORG"), (4, 6, "LOC")], sent_starts=starts)
    assert _spans(consistent_ents(doc)) == [(0, 3, "ORG"), (4, 6, "LOC")]
    starts = [True, False, False, True, False, False, False]  # a sentence starts at the first "Parker"
    across = _doc("I saw Peter Parker and Peter Parker".split(), [(5, 7, "PER")], sent_starts=starts)
    assert _spans(consistent_ents(across)) == [(5, 7, "PER")]
    assert _spans(consistent_ents(_doc("I saw Peter Parker and Peter Parker".split(), [(5, 7, "PER")]))) == [
        (2, 4, "PER"), (5, 7, "PER")]
