"""nerkit.CaseAwareListener.v1: width, case sensitivity over an uncased
tok2vec, and training inside spaCy's ner and the token head."""
import numpy
import pytest
import spacy
from spacy.util import load_model_from_config
from thinc.api import fix_random_seed

from nerkit.components import build_case_aware_listener

from .test_token_ner import CNN_TOK2VEC, config_with_tiny_bert, ents, ents_f, sample_examples, train

# NORM only: "Paris" and "paris" look the same to it
UNCASED_TOK2VEC = {
    "@architectures": "spacy.Tok2Vec.v2",
    "embed": {"@architectures": "spacy.MultiHashEmbed.v2", "width": 16, "attrs": ["NORM"], "rows": [500],
              "include_static_vectors": False},
    "encode": {"@architectures": "spacy.MaxoutWindowEncoder.v2", "width": 16, "depth": 1, "window_size": 1,
               "maxout_pieces": 2},
}


def resolve(block):
    return spacy.registry.resolve({"x": block})["x"]


def case_aware_node(nlp):
    return next(n for n in nlp.get_pipe("ner").model.walk() if n.name == "case_aware_listener")


def test_width_is_tok2vec_width_plus_case_width():
    model = build_case_aware_listener(resolve(CNN_TOK2VEC), width=24, rows=100)
    assert model.get_dim("nO") == 64 + 24
    nlp = spacy.blank("en")
    docs = [nlp("Thomas Kowalski visited PARIS ."), nlp("a")]
    model.initialize(X=docs)
    assert [y.shape for y in model.predict(docs)] == [(5, 88), (1, 88)]


def test_tokens_differing_only_in_case_get_different_vectors():
    fix_random_seed(0)
    nlp = spacy.blank("en")
    base = resolve(UNCASED_TOK2VEC)
    model = build_case_aware_listener(base, width=8, rows=50)
    docs = [nlp("we saw paris today"), nlp("we saw Paris today"), nlp("we saw PARIS today")]
    model.initialize(X=docs)
    plain = base.predict(docs)
    cased = model.predict(docs)
    numpy.testing.assert_allclose(plain[0], plain[1])  # the uncased tok2vec cannot tell
    numpy.testing.assert_allclose(plain[0], plain[2])
    for a, b in ((0, 1), (0, 2), (1, 2)):
        numpy.testing.assert_allclose(cased[a][:, :16], cased[b][:, :16])  # its part unchanged
        assert not numpy.allclose(cased[a][2], cased[b][2]), (a, b)  # the case part differs
    numpy.testing.assert_allclose(cased[0][[0, 1, 3]], cased[1][[0, 1, 3]])


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="tok2vec"):
        build_case_aware_listener(None)
    with pytest.raises(ValueError, match="width"):
        build_case_aware_listener(resolve(CNN_TOK2VEC), width=0)
    with pytest.raises(ValueError, match="rows"):
        build_case_aware_listener(resolve(CNN_TOK2VEC), rows=-5)


def test_trains_inside_spacy_ner_on_a_cnn(tmp_path):
    nlp = spacy.blank("en")
    model = {
        "@architectures": "spacy.TransitionBasedParser.v2", "state_type": "ner", "extra_state_tokens": False,
        "hidden_width": 32, "maxout_pieces": 2, "use_upper": True, "nO": None,
        "tok2vec": {"@architectures": "nerkit.CaseAwareListener.v1", "width": 16, "rows": 200,
                    "tok2vec": CNN_TOK2VEC},
    }
    nlp.add_pipe("ner", config={"model": model})
    examples = sample_examples(nlp, n=3)
    losses = train(nlp, examples, steps=40)  # a parser's loss rises before it falls
    assert losses[-1] < max(losses) * 0.5, losses
    assert ents_f(nlp, examples) >= 0.5
    texts = [eg.x.text for eg in examples]
    expected = ents(nlp.pipe(texts))
    assert sum(map(len, expected)) >= 3, expected
    nlp.to_disk(tmp_path / "p")
    assert ents(spacy.load(tmp_path / "p").pipe(texts)) == expected


@pytest.mark.parametrize("config_name", ["minilm_case.cfg", "minilm_tokner_case.cfg"])
def test_trains_with_a_transformer_listener(config_name, tiny_bert, tmp_path):
    config = config_with_tiny_bert(config_name, tiny_bert)
    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    examples = sample_examples(nlp, n=3, max_tokens=40)
    losses = train(nlp, examples, steps=40, lr=0.003)
    assert losses[-1] < losses[0] * 0.8, losses
    # the tiny BERT is 32 wide; the width only showed once the transformer was initialised
    assert case_aware_node(nlp).get_dim("nO") == 32 + config["components"]["ner"]["model"]["tok2vec"]["width"]
    texts = [eg.x.text for eg in examples] + ["Dr. SMITH of Acme Corp. spoke ."]
    expected = ents(nlp.pipe(texts))
    assert sum(map(len, expected)) >= 3, expected  # a round trip of no entities would prove nothing
    nlp.to_disk(tmp_path / "p")
    assert ents(spacy.load(tmp_path / "p").pipe(texts)) == expected
