"""The #12 benchmarks on the tiny BERT: inference_vs_hf (ours, int8 and the HF
side in one run), profile_inference (time by bucket) and train_memory (RSS by
phase, evaluation with and without doc_cleaner)."""
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


def test_inference_vs_hf_rows(models, tiny_bert, tmp_path):
    float_model, int8_model = models
    out = tmp_path / "vs_hf"
    assert inference_vs_hf.main([TEST_FILE, "--model", f"float={float_model}", "--model", f"int8={int8_model}",
                                 "--hf-model", str(tiny_bert), "--repeats", "1", "--calls", "2",
                                 "--variants", "packaged,batch-items-1024", "--out", str(out)]) == 0
    result = json.loads(out.with_suffix(".json").read_text())
    systems = [r["system"] for r in result["rows"]]
    assert systems == ["HF forward loop (sentences, length-sorted)", "HF pipeline", "HF forward loop, bfloat16 weights",
                       "float: as packaged",
                       "float: transformer max_batch_items 1024", "int8: as packaged",
                       "int8: transformer max_batch_items 1024"]
    rows = {r["system"]: r for r in result["rows"]}
    assert all(r["words_per_second"] > 0 and r["n_words"] == rows["HF pipeline"]["n_words"] for r in rows.values())
    for system in ("HF pipeline", "float: as packaged", "int8: as packaged"):
        assert set(rows[system]["latency"]) == {"30_words", "500_words"}
    assert rows["int8: as packaged"]["model_dir_mb"] > 0 and rows["int8: as packaged"]["rss_mb"] > 50
    assert rows["float: as packaged"]["f1"] is not None and rows["HF forward loop (sentences, length-sorted)"]["f1"] is None
    md = out.with_suffix(".md").read_text()
    assert "| HF forward loop (sentences, length-sorted) | – |" in md and "| 1.00 |" in md


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
    buckets = json.loads(out.with_suffix(".json").read_text())["profile"]["buckets"]
    assert sum(b["share"] for b in buckets) == pytest.approx(1.0)
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
