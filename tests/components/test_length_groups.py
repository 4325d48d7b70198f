"""The transformer's inference forward in length groups (nerkit.components.length_groups): the same
outputs at the real positions as one padded forward, fewer padded pieces computed, in every shim."""
import numpy
import pytest
import spacy
import torch
from thinc.api import ArgsKwargs

from nerkit.components.length_groups import length_groups, predict_in_length_groups
from nerkit.components.quantized import quantize_pipeline

from .test_quantized import texts


def test_length_groups_cover_every_row_once_within_the_budget():
    lengths = [3, 10, 5, 10, 1, 40]
    groups = length_groups(lengths, 20)
    assert groups == [[5], [1, 3], [2, 0, 4]]  # longest first; 40 alone (over the budget)
    assert sorted(i for g in groups for i in g) == list(range(len(lengths)))
    assert all(len(g) * max(lengths[i] for i in g) <= 20 for g in groups if len(g) > 1)
    assert length_groups([], 20) == []


def batch_inputs(lengths, width):
    torch.manual_seed(0)
    ids = torch.randint(5, 90, (len(lengths), width))
    mask = torch.zeros_like(ids)
    for row, n in enumerate(lengths):
        mask[row, :n] = 1
    return ArgsKwargs(args=(), kwargs={"input_ids": ids * mask, "attention_mask": mask,
                                       "token_type_ids": torch.zeros_like(ids)})


def test_grouped_forward_equals_one_padded_forward(tiny_bert):
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(tiny_bert)).eval()
    shapes = []
    model.register_forward_pre_hook(lambda m, a, k: shapes.append(tuple(k["input_ids"].shape)), with_kwargs=True)

    def predict(inputs):
        with torch.no_grad():
            return model(*inputs.args, **inputs.kwargs)

    lengths = [30, 4, 17, 30, 9, 2]
    inputs = batch_inputs(lengths, 30)
    whole = predict(inputs)
    grouped = predict_in_length_groups(predict, inputs, 64)
    assert shapes[0] == (6, 30) and shapes[1:] == [(2, 30), (3, 17), (1, 2)]  # 180 padded pieces -> 113
    assert type(grouped) is type(whole) and set(grouped.keys()) == set(whole.keys())
    mask = inputs.kwargs["attention_mask"].bool()
    assert torch.allclose(grouped.last_hidden_state[mask], whole.last_hidden_state[mask], atol=1e-5)
    states = grouped.last_hidden_state  # zeros past each group's longest window: not computed
    assert not states[[2, 4, 1], 17:].any() and not states[5, 2:].any() and states[4, 9:17].any()
    assert torch.allclose(grouped.pooler_output, whole.pooler_output, atol=1e-5)
    shapes.clear()
    assert predict_in_length_groups(predict, inputs, 0) is not None and shapes == [(6, 30)]  # 0: off


@pytest.fixture(scope="module")
def int8_model(float_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("int8-groups") / "model"
    quantize_pipeline(float_model, path)
    return path


def load(path, pieces, dtype="float32"):
    overrides = {"nlp": {"after_pipeline_creation": {"dtype": dtype, "length_group_pieces": pieces}}}
    return spacy.load(path, config=overrides)


def padded_pieces(nlp):
    module = nlp.get_pipe("transformer").model.layers[0].shims[0]._model
    seen = []
    module.register_forward_pre_hook(lambda m, a, k: seen.append(k["input_ids"].numel()), with_kwargs=True)
    return seen


@pytest.mark.parametrize("kind", ["float32", "bfloat16", "int8"])
def test_pipelines_give_the_same_entities_and_scores_grouped(float_model, int8_model, kind):
    """nlp.pipe with length groups on (a budget smaller than a batch) finds the entities, with the scores,
    of one padded forward, and computes fewer padded pieces."""
    path = int8_model if kind == "int8" else float_model
    dtype = "bfloat16" if kind == "bfloat16" else "float32"
    runs = {}
    for pieces in (0, 96):
        nlp = load(path, pieces, dtype)
        seen = padded_pieces(nlp)
        docs = list(nlp.pipe(texts(12), batch_size=12))
        runs[pieces] = ([[(e.start, e.end, e.label_) for e in d.ents] for d in docs],
                        [e._.score for d in docs for e in d.ents], sum(seen), len(seen))
    (ents0, scores0, pieces0, calls0), (ents1, scores1, pieces1, calls1) = runs[0], runs[96]
    assert any(ents0) and ents1 == ents0
    # int8: activations are quantized with one scale per forward, which a group changes (~3e-4 here)
    assert numpy.allclose(scores1, scores0, atol={"float32": 1e-4, "bfloat16": 2e-2, "int8": 5e-3}[kind])
    assert calls1 > calls0 and pieces1 < pieces0


def test_negative_budget_is_refused(float_model):
    with pytest.raises(ValueError, match="length_group_pieces"):
        load(float_model, -1)
