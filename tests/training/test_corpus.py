"""nerkit.GoldTokensCorpus.v1: examples on the DocBin's own tokens, whole documents."""
import pytest
import spacy
from spacy.tokens import Doc, DocBin, Span
from spacy.util import registry


def make_docbin(vocab, path):
    words = "The New York-based firm hired Mary . She starts Monday .".split()
    doc = Doc(vocab, words=words, sent_starts=[w in ("The", "She") for w in words])
    doc.ents = [Span(doc, 1, 3, "LOC"), Span(doc, 5, 6, "PER")]
    other = Doc(vocab, words=["Hi"])
    DocBin(docs=[doc, other, Doc(vocab, words=[])]).to_disk(path)
    return doc


def test_examples_keep_gold_tokens_and_whole_documents(tmp_path):
    nlp = spacy.blank("en")
    gold = make_docbin(nlp.vocab, tmp_path / "train.spacy")
    assert len(nlp.make_doc(gold.text)) != len(gold)  # spaCy's tokenizer would split "York-based"
    reader = registry.resolve({"c": {"@readers": "nerkit.GoldTokensCorpus.v1", "path": str(tmp_path / "train.spacy")}})["c"]
    examples = list(reader(nlp))
    assert len(examples) == 2  # the empty doc is skipped
    eg = examples[0]
    assert [t.text for t in eg.predicted] == [t.text for t in gold] and eg.predicted.text == gold.text
    assert [(e.text, e.label_) for e in eg.reference.ents] == [("New York-based", "LOC"), ("Mary", "PER")]
    assert len(list(eg.reference.sents)) == 2 and not eg.predicted.has_annotation("SENT_START")
    assert eg.get_aligned_ner() == ["O", "B-LOC", "L-LOC", "O", "O", "U-PER", "O", "O", "O", "O", "O"]
    # a folder of DocBins, and limit
    folder = registry.resolve({"c": {"@readers": "nerkit.GoldTokensCorpus.v1", "path": str(tmp_path), "limit": 1}})["c"]
    assert len(list(folder(nlp))) == 1


def test_bad_settings_are_refused(tmp_path):
    nlp = spacy.blank("en")
    make_docbin(nlp.vocab, tmp_path / "train.spacy")
    short = registry.resolve({"c": {"@readers": "nerkit.GoldTokensCorpus.v1", "path": str(tmp_path / "train.spacy"),
                                    "max_length": 5}})["c"]
    with pytest.raises(ValueError, match="longer than max_length=5"):
        list(short(nlp))
    with pytest.raises(ValueError, match="no path"):
        registry.resolve({"c": {"@readers": "nerkit.GoldTokensCorpus.v1", "path": None}})
