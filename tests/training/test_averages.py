"""The optimizer's weight averages (`[training.optimizer] use_averages`) reach
the transformer: spaCy evaluates and saves a pipeline inside
`nlp.use_params(optimizer.averages)`, and there the HF model's weights are the
averages (thinc's own PyTorchShim never finds them), restored afterwards."""
import numpy
import torch
from spacy.util import load_model_from_config
from thinc.api import Adam, fix_random_seed

from nerkit.training.memory import transformer_modules

from ..components.test_token_ner import config_with_tiny_bert, ents, sample_examples


def test_use_params_swaps_in_the_transformer_averages(tiny_bert):
    nlp = load_model_from_config(config_with_tiny_bert("minilm_tokner_case_goldtok.cfg", tiny_bert), auto_fill=True)
    examples = sample_examples(nlp, n=3, max_tokens=40)
    fix_random_seed(0)
    nlp.initialize(lambda: examples)
    optimizer = Adam(0.001, use_averages=True)
    for _ in range(4):
        nlp.update(examples, sgd=optimizer)
    (hf,) = transformer_modules(nlp)
    shim = nlp.get_pipe("transformer").model.layers[0].shims[0]
    name = "encoder.layer.0.intermediate.dense.weight"
    weight = dict(hf.named_parameters())[name]
    current = weight.detach().clone()
    average = torch.from_numpy(numpy.asarray(optimizer.averages[(shim.id, name)]))
    assert not torch.allclose(current, average)
    before = ents(nlp.pipe(["Peter Smith flew to Paris."]))
    with nlp.use_params(optimizer.averages):
        assert torch.equal(weight.detach(), average)
        saved = nlp.get_pipe("transformer").to_bytes()
    assert torch.equal(weight.detach(), current)
    assert ents(nlp.pipe(["Peter Smith flew to Paris."])) == before
    nlp.get_pipe("transformer").from_bytes(saved)  # what spaCy saved as model-best: the averages
    (hf,) = transformer_modules(nlp)
    loaded = dict(hf.named_parameters())[name].detach()  # in the load's inference dtype (bfloat16 where native)
    assert torch.equal(loaded, average.to(loaded.dtype))
