"""First-piece pooling (`nerkit.reduce_first.v1`): thinc's reduce_first.v1 on
tokens with pieces, zeros (and no gradient) on tokens without any."""
import numpy
import pytest
import spacy
from spacy.util import load_model_from_config
from thinc.api import reduce_first as thinc_reduce_first
from thinc.types import Ragged

from nerkit.components.models import reduce_first

from .test_token_ner import config_with_tiny_bert, sample_examples, train

POOLING = ("components", "ner", "model", "tok2vec", "tok2vec", "pooling")


def test_first_piece_with_and_without_pieces():
    data = numpy.arange(12, dtype="float32").reshape(6, 2)
    Y, backprop = reduce_first()(Ragged(data, numpy.asarray([2, 0, 3, 1], dtype="int32")), is_train=True)
    numpy.testing.assert_array_equal(Y, [[0, 1], [0, 0], [4, 5], [10, 11]])
    dX = backprop(numpy.asarray([[1, 2], [3, 4], [5, 6], [7, 8]], dtype="float32"))
    numpy.testing.assert_array_equal(dX.dataXd, [[1, 2], [0, 0], [5, 6], [0, 0], [0, 0], [7, 8]])
    assert list(dX.lengths) == [2, 0, 3, 1]
    full = Ragged(data, numpy.asarray([2, 3, 1], dtype="int32"))
    numpy.testing.assert_array_equal(reduce_first().predict(full), thinc_reduce_first().predict(full))
    assert reduce_first().predict(Ragged(data[:0], numpy.zeros((0,), dtype="int32"))).shape == (0, 2)


@pytest.mark.parametrize("layer", ["nerkit.reduce_first.v1", "reduce_first.v1"])
def test_a_pipeline_pools_first_pieces_over_whitespace(tiny_bert, layer):
    config = config_with_tiny_bert("minilm_tokner_case_goldtok.cfg", tiny_bert)
    node = config
    for key in POOLING[:-1]:
        node = node[key]
    node[POOLING[-1]] = {"@layers": layer}
    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    train(nlp, sample_examples(nlp, n=2), steps=2)
    text = "John Smith lives in \n\n Paris ."
    assert any(token.is_space for token in nlp.make_doc(text))  # a token the transformer gives no piece
    if layer == "reduce_first.v1":  # thinc's own raises on it: the reason for ours
        with pytest.raises(ValueError, match="sequence lengths must be > 0"):
            nlp(text)
        return
    doc = nlp(text)
    assert all(not ent.text.isspace() for ent in doc.ents)
    assert [t.text for t in spacy.blank("en")(text)] == [t.text for t in doc]
