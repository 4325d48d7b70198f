"""CoNLL-2003 English: nothing lost. Counts from ../shared/data/conll2003/SOURCES.md."""
from collections import Counter
from pathlib import Path

import pytest
from spacy.vocab import Vocab

from nerkit.conll import ConllError, conll_to_docs, read_conll

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "conll2003"

EXPECTED = {
    "eng.train": (946, 14041, 203621, {"PER": 6600, "LOC": 7140, "ORG": 6321, "MISC": 3438}),
    "eng.testa": (216, 3250, 51362, {"PER": 1842, "LOC": 1837, "ORG": 1341, "MISC": 922}),
    "eng.testb": (231, 3453, 46435, {"PER": 1617, "LOC": 1668, "ORG": 1661, "MISC": 702}),
}

pytestmark = pytest.mark.skipif(
    not all((DATA / name).exists() for name in EXPECTED),
    reason=f"CoNLL-2003 data not found in {DATA} (eng.train, eng.testa, eng.testb)",
)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_counts(name):
    n_docs, n_sents, n_tokens, entities = EXPECTED[name]
    conll_file = read_conll(DATA / name)  # strict, auto-detected
    assert conll_file.scheme == "iob1"
    assert not conll_file.repairs
    assert len(conll_file.documents) == n_docs
    assert len(conll_file.sentences) == n_sents
    assert sum(len(s.tokens) for s in conll_file.sentences) == n_tokens
    docs = conll_to_docs(conll_file, Vocab())
    assert len(docs) == n_docs
    assert sum(len(doc) for doc in docs) == n_tokens
    assert sum(1 for doc in docs for _ in doc.sents) == n_sents
    assert Counter(ent.label_ for doc in docs for ent in doc.ents) == entities
    assert all(not any(t.text == "-DOCSTART-" for t in doc) for doc in docs)


def test_train_b_misc_after_o_starts_entities():
    conll_file = read_conll(DATA / "eng.train", scheme="iob1")
    found = []
    for sent in conll_file.sentences:
        for start, end, label in sent.spans:
            if sent.line_nos[start] in (152428, 175436):
                found.append((sent.tokens[start], end - start, label))
    assert found == [("Atlanta", 2, "MISC"), ("Urdu-speaking", 2, "MISC")]


def test_train_is_not_iob2():
    with pytest.raises(ConllError, match=r"eng.train:3: I-ORG at sentence start is invalid in IOB2: 'EU NNP I-NP I-ORG'"):
        read_conll(DATA / "eng.train", scheme="iob2")
