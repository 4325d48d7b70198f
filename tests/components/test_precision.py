"""bfloat16 inference (`nerkit.inference_precision.v1`): a loaded pipeline runs
its transformer in bfloat16 where asked (or where the CPU has it, with "auto"),
finds the float32 pipeline's entities, saves float32 weights, and refuses to
train in bfloat16; training itself and int8 quantization stay float32."""
import io
import shutil

import numpy
import pytest
import spacy
import srsly
import torch
from spacy.util import load_config, load_model_from_config

from nerkit.components import precision
from nerkit.components.precision import FLOAT32, PrecisionHFShim, inference_precision, resolve_dtype
from nerkit.components.quantized import QuantizedHFShim, quantize_pipeline

from .test_quantized import cosine, hidden, msgpack_state, texts
from .test_token_ner import config_with_tiny_bert, ents, sample_examples

BFLOAT16 = {"nlp": {"after_pipeline_creation": {"dtype": "bfloat16"}}}


def shim(nlp):
    return nlp.get_pipe("transformer").model.layers[0].shims[0]


def dtype(nlp) -> torch.dtype:
    return next(shim(nlp)._model.parameters()).dtype


def test_bfloat16_load_finds_the_float32_entities(float_model):
    reference, half = spacy.load(float_model, config=FLOAT32), spacy.load(float_model, config=BFLOAT16)
    assert isinstance(shim(half), PrecisionHFShim)
    assert (dtype(reference), dtype(half)) == (torch.float32, torch.bfloat16)
    text = texts(1)[0]
    out = hidden(half, text)
    assert out.dtype == numpy.float32 and cosine(hidden(reference, text), out) > 0.99
    expected = {(i, *e) for i, doc_ents in enumerate(ents(reference.pipe(texts()))) for e in doc_ents}
    found = {(i, *e) for i, doc_ents in enumerate(ents(half.pipe(texts()))) for e in doc_ents}
    assert len(expected) >= 10, expected  # the float model must predict entities for this to mean anything
    assert len(expected & found) >= 0.9 * len(expected), (expected, found)


def test_auto_follows_the_cpu(float_model, monkeypatch):
    nlp = spacy.load(float_model)  # the default config says "auto"
    assert dtype(nlp) == (torch.bfloat16 if precision.native_bfloat16() else torch.float32)
    for native, expected in ((True, torch.bfloat16), (False, torch.float32)):
        monkeypatch.setattr(precision, "native_bfloat16", lambda: native)
        assert resolve_dtype("auto") == expected
    assert resolve_dtype("float32") == torch.float32 and resolve_dtype("bfloat16") == torch.bfloat16
    with pytest.raises(ValueError, match="dtype must be one of auto, float32, bfloat16, not 'half'"):
        inference_precision("half")


def test_saves_float32_weights(float_model, tmp_path):
    spacy.load(float_model, config=BFLOAT16).to_disk(tmp_path / "saved")
    msg = srsly.msgpack_loads((tmp_path / "saved" / "transformer" / "model").read_bytes())
    state = torch.load(io.BytesIO(msgpack_state(msg)), map_location="cpu")
    assert {v.dtype for v in state.values() if v.is_floating_point()} == {torch.float32}
    again, reference = spacy.load(tmp_path / "saved", config=FLOAT32), spacy.load(float_model, config=FLOAT32)
    text = texts(1)[0]
    assert cosine(hidden(reference, text), hidden(again, text)) > 0.99


def test_training_stays_float32_and_a_bfloat16_load_refuses_to_train(float_model, tiny_bert):
    config = config_with_tiny_bert("minilm_tokner_case_goldtok.cfg", tiny_bert)
    config["nlp"]["after_pipeline_creation"]["dtype"] = "bfloat16"
    nlp = load_model_from_config(config, auto_fill=True)
    examples = sample_examples(nlp, n=2, max_tokens=40)
    nlp.initialize(lambda: examples)
    nlp.update(examples)
    assert isinstance(shim(nlp), PrecisionHFShim) and dtype(nlp) == torch.float32
    loaded = spacy.load(float_model, config=BFLOAT16)
    with pytest.raises(ValueError, match="load the pipeline in float32"):
        loaded.update(sample_examples(loaded, n=2, max_tokens=40))


def test_quantizing_a_bfloat16_pipeline_starts_from_float32(float_model, tmp_path):
    source = tmp_path / "bf16"
    shutil.copytree(float_model, source)
    config = load_config(source / "config.cfg", interpolate=False)
    config["nlp"]["after_pipeline_creation"]["dtype"] = "bfloat16"
    config.to_disk(source / "config.cfg")
    quantize_pipeline(source, tmp_path / "int8")
    quantized = spacy.load(tmp_path / "int8")
    assert isinstance(shim(quantized), QuantizedHFShim)
    assert load_config(tmp_path / "int8" / "config.cfg")["nlp"]["after_pipeline_creation"]["dtype"] == "float32"
    text = texts(1)[0]
    assert cosine(hidden(spacy.load(float_model, config=FLOAT32), text), hidden(quantized, text)) > 0.98
