"""The int8 transformer (`nerkit.QuantizedTransformerModel.v1`): a quantized
copy of a trained pipeline is smaller, survives a save/load round trip with its
trained weights (not random ones) and finds the float pipeline's entities."""
import io
import subprocess
import sys
import warnings
from pathlib import Path

import numpy
import pytest
import spacy
import srsly
import torch
from spacy.util import load_config

from nerkit.components.quantized import ARCHITECTURE, QuantizedHFShim, is_quantized, quantize_pipeline
from nerkit.conll import read_conll_docs

from .test_token_ner import SAMPLE, ents


@pytest.fixture(scope="module")
def int8_model(float_model, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("int8") / "model"
    assert quantize_pipeline(float_model, path) == {"transformer": "spacy-transformers.TransformerModel.v3"}
    return path


def msgpack_state(msg: dict) -> bytes:
    """The HF shim's saved state: the transformer's model file is a thinc model whose one shim holds it."""
    (shim,) = [shim for node_shims in msg["shims"] for shim in node_shims]
    return srsly.msgpack_loads(shim)["state"]


def texts(n: int = 12):
    return [doc.text for doc in read_conll_docs(SAMPLE / "dev.conll", spacy.blank("en").vocab)[:n]]


def hidden(nlp, text: str) -> numpy.ndarray:
    return nlp.get_pipe("transformer")(nlp.make_doc(text))._.trf_data.model_output.last_hidden_state


def cosine(a: numpy.ndarray, b: numpy.ndarray) -> float:
    a, b = a.ravel(), b.ravel()
    return float(a @ b / (numpy.linalg.norm(a) * numpy.linalg.norm(b)))


def test_config_and_size(float_model, int8_model):
    config = load_config(int8_model / "config.cfg")
    assert config["components"]["transformer"]["model"]["@architectures"] == ARCHITECTURE
    # the size: the tiny BERT's scales weigh as much as its weights (on MiniLM: test_project's wheel check)
    assert (int8_model / "transformer" / "model").stat().st_size < (float_model / "transformer" / "model").stat().st_size
    msg = srsly.msgpack_loads((int8_model / "transformer" / "model").read_bytes())
    state = torch.load(io.BytesIO(msgpack_state(msg)), map_location="cpu")
    packed = [v[0] for k, v in state.items() if k.endswith("_packed_params._packed_params")]
    assert packed and all(w.dtype == torch.qint8 for w in packed)
    assert state["embeddings.word_embeddings.weight"].dtype == torch.float16


def test_round_trip_keeps_the_trained_weights(float_model, int8_model):
    with warnings.catch_warnings():
        # spacy-transformers' strict=False fallback would leave random weights
        warnings.filterwarnings("error", message="Error loading saved torch state_dict")
        quantized = spacy.load(int8_model)
    shim = quantized.get_pipe("transformer").model.layers[0].shims[0]
    assert isinstance(shim, QuantizedHFShim) and is_quantized(shim._model)
    reference = spacy.load(float_model)
    text = texts(1)[0]
    similarity = cosine(hidden(reference, text), hidden(quantized, text))
    assert similarity > 0.98, similarity  # random Linear weights give about 0


def test_finds_the_float_pipelines_entities(float_model, int8_model):
    reference, quantized = spacy.load(float_model), spacy.load(int8_model)
    expected = {(i, *e) for i, doc_ents in enumerate(ents(reference.pipe(texts()))) for e in doc_ents}
    found = {(i, *e) for i, doc_ents in enumerate(ents(quantized.pipe(texts()))) for e in doc_ents}
    assert len(expected) >= 10, expected  # the float model must predict entities for this to mean anything
    shared = len(expected & found)
    assert shared >= 0.8 * len(expected), (expected, found)


def test_quantizing_twice_and_saving_again(int8_model, tmp_path):
    again = tmp_path / "again"
    quantize_pipeline(int8_model, again)
    nlp = spacy.load(again)
    nlp.to_disk(tmp_path / "saved")
    expected = ents(spacy.load(int8_model).pipe(texts(3)))
    assert sum(map(len, expected)) >= 3, expected  # a round trip of no entities would prove nothing
    assert ents(spacy.load(tmp_path / "saved").pipe(texts(3))) == expected


def test_cli_and_errors(float_model, tmp_path):
    done = subprocess.run([sys.executable, "-m", "nerkit.cli", "quantize", str(float_model), str(tmp_path / "q")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "int8" in done.stdout and spacy.load(tmp_path / "q").meta["name"].endswith("_int8")
    blank = tmp_path / "blank"
    spacy.blank("en").to_disk(blank)
    failed = subprocess.run([sys.executable, "-m", "nerkit.cli", "quantize", str(blank), str(tmp_path / "x")],
                            capture_output=True, text=True)
    assert failed.returncode == 1 and "no transformer component" in " ".join(failed.stdout.split())
