"""nerkit.keep_hyphenated_words.v1: hyphenated words stay whole, as in CoNLL."""
import pytest
import spacy

TEXT = "Jean-Luc Brassard of AL-AIN won 1-0 in the post-Communist era ."
CALLBACK = {"nlp": {"after_creation": {"@callbacks": "nerkit.keep_hyphenated_words.v1"}}}


def words(nlp, text=TEXT):
    return [t.text for t in nlp(text)]


def test_hyphenated_words_stay_whole(tmp_path):
    assert words(spacy.blank("en"))[:3] == ["Jean", "-", "Luc"]  # spaCy's default
    nlp = spacy.blank("en", config=CALLBACK)
    assert words(nlp) == ["Jean-Luc", "Brassard", "of", "AL-AIN", "won", "1", "-", "0", "in", "the",
                          "post-Communist", "era", "."]
    # saved with the pipeline, and the config names the callback for spacy.load
    nlp.to_disk(tmp_path / "nlp")
    loaded = spacy.load(tmp_path / "nlp")
    assert loaded.config["nlp"]["after_creation"] == CALLBACK["nlp"]["after_creation"]
    assert words(loaded) == words(nlp)


def test_a_language_without_the_rule_is_refused():
    with pytest.raises(ValueError, match="'de' tokenizer has no hyphen infix rule"):
        spacy.blank("de", config=CALLBACK)
