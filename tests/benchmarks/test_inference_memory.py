"""The #12 benchmarks on the tiny BERT: inference_vs_hf (ours, int8 and the HF
side in one run, at matched precision and context; its FLOP and peak formulas),
profile_inference (time by bucket) and train_memory (RSS by phase, evaluation
with and without doc_cleaner)."""
import json
from pathlib import Path

import pytest
from spacy.util import load_model_from_config

from benchmarks import inference_vs_hf, profile_inference, train_memory
from nerkit.components.quantized import quantize_pipeline
from tests.components.test_token_ner import SAMPLE, config_with_tiny_bert, sample_examples
from tests.conftest import tiny_search_config

TEST_FILE = str(SAMPLE / "test.conll")


@pytest.fixture(scope="module")
def models(tiny_bert, tmp_path_factory):
    """The default config on the tiny BERT, initialized (untrained), and its int8 copy."""
    nlp = load_model_from_config(config_with_tiny_bert("minilm_tokner_case_goldtok.cfg", tiny_bert), auto_fill=True)
    examples = sample_examples(nlp, n=2)
    nlp.initialize(lambda: examples)
    root = tmp_path_factory.mktemp("models")
    nlp.to_disk(root / "float")
    quantize_pipeline(root / "float", root / "int8")
    return root / "float", root / "int8"


def actual_precision(module) -> str:
    """What a torch model computes in, found here without the benchmark's code: int8 where a Linear layer
    is torch's dynamically quantized one, else the one dtype of its parameters."""
    if any(type(m).__module__.startswith("torch.ao.nn.quantized") for m in module.modules()):
        return "int8"
    (dtype,) = {p.dtype for p in module.parameters()}
    return str(dtype).replace("torch.", "")


@pytest.fixture(scope="module")
def vs_hf(models, tiny_bert, tmp_path_factory):
    """One run on the tiny BERT (labels that are no precision names), with the HF models it made kept."""
    float_model, int8_model = models
    out = tmp_path_factory.mktemp("vs_hf") / "vs_hf"
    made = {}

    def spy(model, precisions):
        made.update(copies(model, precisions))  # one precision a row group
        return {precision: made[precision] for precision in precisions}

    copies = inference_vs_hf.precision_copies
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(inference_vs_hf, "precision_copies", spy)
        assert inference_vs_hf.main([TEST_FILE, "--model", f"a={float_model}", "--model", f"b={int8_model}",
                                     "--hf-model", str(tiny_bert), "--repeats", "1", "--calls", "2",
                                     "--pipeline-batch-sizes", "1,8", "--variants", "packaged,no-overlap",
                                     "--out", str(out)]) == 0
    return json.loads(out.with_suffix(".json").read_text()), out.with_suffix(".md").read_text(), made


def test_inference_vs_hf_rows(vs_hf):
    result, md, _ = vs_hf
    loops = [f"HF forward loop, {c}, {p}" for p in ("float32", "bfloat16", "int8")
             for c in ("sentences", "document windows 256/192")]
    assert [r["system"] for r in result["rows"]] == loops + [
        f"HF pipeline (first), batch {result['rows'][6]['batch_size']}, untrained head, float32",
        "a: as packaged", "a: window 256, stride 256 (no overlap)", "b: as packaged",
        "b: window 256, stride 256 (no overlap)"]
    rows = {r["system"]: r for r in result["rows"]}
    assert [rows["a: as packaged"]["context"], rows["b: window 256, stride 256 (no overlap)"]["context"]] == [
        "document windows 256/192", "document windows 256/256"]
    assert "config.cfg" in result["windows_source"] and result["windows"] == [256, 192]
    assert {r["torch_threads"] for r in result["rows"]} == {result["torch_threads"]}
    assert len(result["load_average"]["before"]) == len(result["load_average"]["after"]) == 3
    assert "avx2" in md or "flags not recorded" in md or "flags none" in md
    assert "(assumed)" in md and "| system | runtime | precision | context |" in md
    assert {r["runtime"] for r in result["rows"]} == {"PyTorch"}


def test_inference_vs_hf_in_fresh_processes(vs_hf, models, tiny_bert, tmp_path):
    """--fresh: the same rows in the same order, each row group from a child process of its own."""
    out = tmp_path / "fresh"
    assert inference_vs_hf.main([TEST_FILE, "--model", f"a={models[0]}", "--hf-model", str(tiny_bert),
                                 "--repeats", "1", "--calls", "2", "--pipeline-batch-sizes", "1",
                                 "--variants", "packaged", "--fresh", "--out", str(out)]) == 0
    result = json.loads(out.with_suffix(".json").read_text())
    def names(rows):  # the pipeline row's name says the batch size it found fastest
        return [r["runner"] if r["runner"] == "HF pipeline" else r["system"] for r in rows]

    in_one = names(r for r in vs_hf[0]["rows"] if not r["system"].startswith(("a: window", "b: ")))
    assert result["fresh_processes"] and names(result["rows"]) == in_one and len(in_one) == 8
    assert result["rows"][-1]["latency"] and result["rows"][-1]["rss_mb"] > 0  # our model's own figures
    assert result["headline"]["ours"] == "a: as packaged"
    assert "ran in a fresh process of its own" in out.with_suffix(".md").read_text()
    assert "All rows ran in this one process" in vs_hf[1]


def test_inference_vs_hf_precision_is_what_ran(vs_hf, models):
    """Each row's precision is what its model computes in: the HF rows' models (kept by the spy, in the
    order the rows ran) and our pipelines loaded as the benchmark loads them."""
    import spacy

    result, _, copies = vs_hf
    hf = [r for r in result["rows"] if r["kind"] == "hf"]
    ran = [model for model in copies.values() for _ in range(2)] + [copies["float32"]]  # the pipeline: float32
    assert [r["precision"] for r in hf] == [actual_precision(m) for m in ran]
    assert [r["precision"] for r in hf[:6]] == ["float32"] * 2 + ["bfloat16"] * 2 + ["int8"] * 2
    for path, label in zip(models, "ab"):
        module = inference_vs_hf.transformer_module(spacy.load(path))
        ours = [r for r in result["rows"] if r["system"].startswith(f"{label}: ")]
        assert {r["precision"] for r in ours} == {actual_precision(module)}
    assert {r["precision"] for r in result["rows"] if r["system"].startswith("b: ")} == {"int8"}


def test_onnx_pipelines_are_named_by_runtime_and_graph_precision(models, tmp_path):
    """An ONNX copy's row says ONNX Runtime and the graph's precision (float32, int8 once quantized), which
    its ratios pair with the HF loop of that precision; the torch pipelines say PyTorch."""
    import spacy

    pytest.importorskip("onnxscript")
    from nerkit.components.onnx_runtime import onnx_pipeline

    onnx_pipeline(models[0], tmp_path / "onnx")
    onnx_pipeline(tmp_path / "onnx", tmp_path / "onnx-int8", int8=True)
    seen, torch_precision = {}, {}
    for path in (models[0], models[1], tmp_path / "onnx", tmp_path / "onnx-int8"):
        module = inference_vs_hf.transformer_module(spacy.load(path))
        seen[path.name] = (inference_vs_hf.runtime_of(module), inference_vs_hf.precision_of(module))
        if path in models:
            torch_precision[path.name] = actual_precision(module)  # bfloat16 where the CPU has it ("auto")
    assert seen == {"float": ("PyTorch", torch_precision["float"]), "int8": ("PyTorch", "int8"),
                    "onnx": ("ONNX Runtime", "float32"), "onnx-int8": ("ONNX Runtime", "int8")}


def test_inference_vs_hf_windows_cover_the_test_words(vs_hf):
    """The HF document-window rows tag every word of the test file exactly once (words counted from the file)."""
    lines = Path(TEST_FILE).read_text(encoding="utf8").splitlines()
    n_words = sum(1 for line in lines if line.strip() and not line.startswith("-DOCSTART-"))
    windows = [r for r in vs_hf[0]["rows"] if r["runner"] == "HF forward loop" and r["context"] != "sentences"]
    assert len(windows) == 3
    for row in windows:
        coverage = row["window_coverage"]
        assert coverage["words_tagged"] == coverage["distinct_words_tagged"] == row["n_words"] == n_words
        assert row["words_untagged"] == 0 and coverage["windows"] >= 15  # at least one window per document
        assert row["pieces"]["pieces_real_per_pass"] > n_words


def test_inference_vs_hf_compute_figures(vs_hf):
    result = vs_hf[0]
    for row in result["rows"]:
        c, p = row["compute"], row["pieces"]
        assert p["pieces_padded_per_pass"] >= p["pieces_real_per_pass"] > 0
        assert c["gflops_per_second"] >= c["useful_gflops_per_second"] > 0
        peak = result["cpu"]["peak_gflops"][row["precision"]]
        if peak:
            assert c["share_of_peak"] == pytest.approx(c["gflops_per_second"] / peak)


def _row(system, kind, precision, context, wps, runner=None):
    runner = runner or ("HF forward loop" if kind == "hf" else "ours")
    return {"system": system, "kind": kind, "runner": runner, "precision": precision, "runtime": "PyTorch",
            "context": context, "words_per_second": wps}


def test_ratios_pair_only_same_precision_and_context():
    w = "document windows 256/192"
    rows = [_row("hf f32 sent", "hf", "float32", "sentences", 100), _row("hf f32 win", "hf", "float32", w, 200),
            _row("hf bf16 sent", "hf", "bfloat16", "sentences", 400),
            _row("hf pipe", "hf", "float32", "sentences", 50, runner="HF pipeline"),
            _row("hf int8 win", "hf", "int8", w, 1000),
            _row("A", "ours", "float32", w, 400), _row("B", "ours", "bfloat16", w, 800),
            _row("C", "ours", "int8", "document windows 256/256", 500), _row("D", "ours", "float32", "sentences", 300)]
    assert inference_vs_hf.ratios(rows) == {
        "A": {"hf_loop_sentences": 4.0, "hf_loop_same_context": 2.0},
        "B": {"hf_loop_sentences": 2.0, "hf_loop_same_context": None},
        "C": {"hf_loop_sentences": None, "hf_loop_same_context": None},
        "D": {"hf_loop_sentences": 3.0, "hf_loop_same_context": 3.0}}
    assert inference_vs_hf.headline(rows) == {
        "ours": "A", "ours_precision": "float32", "ours_context": w, "hf": "hf int8 win", "hf_precision": "int8",
        "hf_context": w, "ratio": 0.4}
    packaged = dict(_row("A, as packaged", "ours", "bfloat16", w, 4000), label="a", variant="as packaged")
    first = [dict(rows[5], label="a", variant="other"), dict(rows[6], label="b", variant="as packaged"), packaged]
    assert inference_vs_hf.headline(rows[:5] + first)["ours"] == "A, as packaged"  # not a's first row, not b's
    md_rows = inference_vs_hf.speed_lines({"rows": [dict(r, f1=None) for r in rows],
                                           "ratios": inference_vs_hf.ratios(rows)})
    assert "| B | PyTorch | bfloat16 | document windows 256/192 | – | 800 | 2.00 | – |" in md_rows


def test_hf_trained_head_is_loaded_as_saved(tiny_bert, tmp_path):
    """--hf-trained: the saved token-classification model, head weights as saved (not a fresh head)."""
    import torch
    from transformers import AutoModelForTokenClassification

    saved = AutoModelForTokenClassification.from_pretrained(tiny_bert, num_labels=3)
    saved.save_pretrained(tmp_path / "hf")
    from transformers import AutoTokenizer

    AutoTokenizer.from_pretrained(tiny_bert).save_pretrained(tmp_path / "hf")
    model, _, head = inference_vs_hf.load_hf(str(tiny_bert), str(tmp_path / "hf"))
    assert head == "trained head" and model.config.num_labels == 3
    assert torch.equal(model.classifier.weight, saved.classifier.weight)
    assert inference_vs_hf.load_hf(str(tiny_bert), None)[2] == "untrained head"


def test_config_windows(models, tmp_path):
    from spacy.util import load_config

    assert inference_vs_hf.config_windows(str(models[0]))[0] == (256, 192)
    config = load_config(Path(models[0]) / "config.cfg", interpolate=False)
    config["components"]["transformer"]["model"]["get_spans"].update(window=128, stride=96)
    config.to_disk(tmp_path / "config.cfg")
    assert inference_vs_hf.config_windows(str(tmp_path))[0] == (128, 96)
    assert inference_vs_hf.config_windows(str(tmp_path / "none"))[0] == inference_vs_hf.DEFAULT_WINDOWS


def test_flop_formula_by_hand_and_against_torch(tiny_bert):
    """The tiny BERT (d 32, d_ff 37, 2 layers): the formula against a hand computation, and the counted
    pieces' FLOPs against torch's FlopCounterMode on one forward pass with padding. Eager attention:
    FlopCounterMode does not count the CPU's fused scaled_dot_product_attention."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    from transformers import AutoModel

    from benchmarks import flops

    model = AutoModel.from_pretrained(tiny_bert, attn_implementation="eager").eval()
    shape = flops.encoder_shape(model.config)
    assert shape == {"layers": 2, "d": 32, "d_ff": 37}
    # per layer: 2·(4·32² + 2·32·37) = 12,928 (projections, feed-forward) + 2·2·64·32 = 8,192 (attention)
    assert flops.flops_per_piece(shape, 64) == 2 * (12928 + 8192) == 42240
    ids = torch.randint(5, 50, (3, 64))
    mask = torch.ones_like(ids)
    mask[1, 40:] = mask[2, 10:] = 0
    counter = flops.PieceCounter(model)
    with FlopCounterMode(display=False) as torch_count, torch.inference_mode():
        model(input_ids=ids, attention_mask=mask)
    counted = counter.close(shape, 1)
    assert counted["pieces_padded_per_pass"] == 192 and counted["pieces_real_per_pass"] == 64 + 40 + 10
    assert counted["mean_padded_length"] == 64
    assert counted["flops_per_pass"] == pytest.approx(torch_count.get_total_flops(), rel=0.02)
    without_attention = 192 * flops.flops_per_piece(shape, 0)
    assert torch_count.get_total_flops() > 1.2 * without_attention  # the attention term matters here


def test_peak_formula():
    from benchmarks import flops

    # 2 threads × 2.3 GHz × 2 FMA units × 16 lanes × 2 = 294.4 GFLOP/s
    peaks = flops.peak_gflops(2, 2300, ["avx2", "avx512f", "avx512_bf16", "avx512_vnni"])
    assert peaks == pytest.approx({"float32": 294.4, "bfloat16": 588.8, "int8": 1177.6})
    assert flops.peak_gflops(1, 1000, ["avx2"]) == pytest.approx({"float32": 32, "bfloat16": 32, "int8": 32})


def test_inference_vs_hf_refuses_bad_arguments(tmp_path):
    with pytest.raises(SystemExit):
        inference_vs_hf.main([TEST_FILE, "--model", "no-label", "--out", str(tmp_path / "x")])
    with pytest.raises(SystemExit):
        inference_vs_hf.main([TEST_FILE, "--model", "a=b", "--variants", "warp-speed", "--out", str(tmp_path / "x")])


def test_profile_buckets(models, tmp_path):
    assert profile_inference.bucket_of("/x/site-packages/torch/nn/modules/linear.py", "forward").startswith("transformer")
    assert profile_inference.bucket_of("~", "<built-in method torch._C._nn.linear>").startswith("transformer")
    assert profile_inference.bucket_of("~", "<method 'encode_batch' of 'tokenizers.Tokenizer' objects>").startswith("word-piece")
    assert profile_inference.bucket_of("/repo/nerkit/components/viterbi.py", "viterbi").startswith("nerkit")
    assert profile_inference.bucket_of("doc.pyx", "__iter__").startswith("spaCy")
    out = tmp_path / "profile"
    assert profile_inference.main([str(models[0]), TEST_FILE, "--out", str(out)]) == 0
    profiled = json.loads(out.with_suffix(".json").read_text())["profile"]
    buckets = profiled["buckets"]
    # every function's own time lands in one bucket: together they are the pass's wall time (own clock)
    assert sum(b["seconds"] for b in buckets) == pytest.approx(profiled["wall_seconds"], rel=0.05)
    assert buckets[0]["seconds"] >= buckets[-1]["seconds"]


def test_train_memory_phases(tiny_bert, tmp_path):
    config = tiny_search_config(tiny_bert, tmp_path / "tiny.cfg")
    converted = tmp_path / "corpus"
    converted.mkdir()
    from spacy.tokens import DocBin
    import spacy

    from nerkit.conll import read_conll_docs

    for split in ("train", "dev"):
        docs = read_conll_docs(SAMPLE / f"{split}.conll", spacy.blank("en").vocab)
        DocBin(docs=docs).to_disk(converted / f"{split}.spacy")
    out = tmp_path / "memory"
    assert train_memory.main([str(config), str(converted / "train.spacy"), str(converted / "dev.spacy"),
                              "--steps", "4", "--eval-frequency", "2", "--variants", "default,plain", "--eval-memory",
                              "--work", str(tmp_path / "work"), "--out", str(out)]) == 0
    result = json.loads(out.with_suffix(".json").read_text())
    row, plain = result["variants"]
    assert plain["returncode"] == 0 and plain["overrides"] == {"initialize.after_init": "null"}
    assert row["returncode"] == 0 and row["peak_train_mb"] > 50 and row["peak_eval_mb"] > 50
    assert row["rss_by_step_mb"] and row["peak_train_step"] is not None
    pipelines = [r["pipeline"] for r in result["evaluation"]]
    assert pipelines == [["transformer", "ner", "doc_cleaner"], ["transformer", "ner"]]
    assert "Evaluation alone" in Path(out.with_suffix(".md")).read_text()
