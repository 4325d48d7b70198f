"""The benchmark runner end to end on a tiny slice of the sample corpus with a
tiny random BERT (proves the script works, not the scores), plus unit tests of
merge's targets and of the HF first-word-piece label alignment."""
import json
from pathlib import Path

import pytest
from spacy.util import load_config

from benchmarks import merge, run
from benchmarks.hf_seed import IGNORE, align_labels, encode

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "corpus" / "sample"
PART_KEYS = {"system", "status", "started", "finished", "command", "concurrent_load", "run_settings",
             "machine", "versions", "dev", "test", "training", "inference", "peak_rss_mb", "size_mb"}


def _run(tiny_bert, tmp: Path, systems: str, note: str, *extra: str) -> int:
    return run.main([
        "--train", str(SAMPLE / "train.conll"), "--dev", str(SAMPLE / "dev.conll"), "--test", str(SAMPLE / "test.conll"),
        "--limit-sents", "40", "--max-steps", "3", "--transformer", str(tiny_bert), "--systems", systems,
        "--max-minutes", "5", "--work-dir", str(tmp / "work"), "--results", str(tmp / "results"), "--note", note, *extra,
    ])


@pytest.fixture(scope="module")
def bench(tiny_bert, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bench")
    first = "hf_seed,spacy_ner,cnn"
    second = "default"  # the default config as it ships
    rc1 = _run(tiny_bert, tmp, first, "first tiny run")
    merged1 = json.loads((tmp / "results" / "conll03.json").read_text())
    rc2 = _run(tiny_bert, tmp, second, "second tiny run")
    rc3 = _run(tiny_bert, tmp, "spacy_ner", "gold tokens", "--gold-tokens")
    rc4 = _run(tiny_bert, tmp, "spacy_ner", "overrides", "--set", "training.optimizer.learn_rate.initial_rate=0.0005",
               "--set", "training.batcher.size=300", "--tag", "lr5e-4")
    rc5 = _run(tiny_bert, tmp, "default", "final model", "--train-plus-dev")
    return {"tmp": tmp, "rc": (rc1, rc2, rc3, rc4, rc5), "first": first.split(","), "second": second, "merged1": merged1}


def test_parts_written(bench):
    assert bench["rc"] == (0, 0, 0, 0, 0)
    parts = bench["tmp"] / "results" / "parts"
    for system in bench["first"] + [bench["second"]]:
        part = json.loads((parts / f"{system}.json").read_text())
        assert PART_KEYS <= set(part), PART_KEYS - set(part)
        assert part["status"] == "complete"
        assert part["concurrent_load"] in ("first tiny run", "second tiny run")
        assert part["run_settings"]["limit_sents"] == 40
        for split in ("dev", "test"):
            assert 0.0 <= part[split]["f1"] <= 1.0
            assert 0.0 <= part[split]["precision"] <= 1.0 and 0.0 <= part[split]["recall"] <= 1.0
        assert part["test"]["n_sents"] == 40
        assert set(part["test"]["per_type"]) <= {"LOC", "MISC", "ORG", "PER"}
        assert part["inference"]["words_per_second"] > 0
        assert part["training"]["words_per_second"] > 0
        assert part["training"]["best_step"] is not None
        assert part["peak_rss_mb"] > 0 and part["size_mb"] > 0
        if system.startswith("hf_"):
            assert part["inference"]["hf_pipeline"]["words_per_second"] > 0
            assert part["test"]["words_past_truncation_set_to_O"] == 0
        else:  # spaCy systems: also scored on the raw text and without sentence starts
            assert part["test"]["scorer"].startswith("v2")
            assert part["test_raw_text"]["tokenization"].startswith("raw text")
            assert part["test_raw_text"]["n_words"] == part["test"]["n_words"]
            assert 0.0 <= part["test_raw_text"]["f1"] <= 1.0 and 0.0 <= part["test_no_sentence_starts"]["f1"] <= 1.0
            assert part["test_raw_text_keep_hyphens"]["n_words"] == part["test"]["n_words"]


def test_train_plus_dev_part(bench):
    part = json.loads((bench["tmp"] / "results" / "parts" / "default_traindev.json").read_text())
    assert part["status"] == "complete" and part["settings"]["train_data"] == "train + dev"
    assert part["settings"]["patience"] == 0 and "final model" in part["description"]
    data = part["data"]
    assert data["train_dev"]["sentences"] == data["train"]["sentences"] + data["dev"]["sentences"] == 80
    assert data["train_dev"]["spacy"] in part["child_command"] and 0.0 <= part["test"]["f1"] <= 1.0
    assert (bench["tmp"] / "work" / "default_traindev" / "output" / "model-last").exists()
    # the default trains its config as it ships: its own corpora (gold tokens) and callbacks, no overrides
    assert part["config"] == "configs/minilm_tokner_case_goldtok.cfg" and part["settings"]["overrides"] == {}
    assert part["settings"]["corpus"] == "nerkit.GoldTokensCorpus.v1"


def test_rescore_updates_a_trained_part(bench, tiny_bert):
    tmp = bench["tmp"]
    path = tmp / "results" / "parts" / "spacy_ner.json"
    before = json.loads(path.read_text())
    assert _run(tiny_bert, tmp, "spacy_ner", "rescore", "--rescore") == 0
    after = json.loads(path.read_text())
    assert after["rescored"]["by"].endswith("--rescore") and after["training"] == before["training"]
    assert after["test"]["f1"] == pytest.approx(before["test"]["f1"])  # same model, same scorer
    assert _run(tiny_bert, tmp, "spacy_case", "rescore", "--rescore") == 1  # never trained here
    # a train + dev model is scored from its last step
    final = tmp / "results" / "parts" / "default_traindev.json"
    before = json.loads(final.read_text())
    assert _run(tiny_bert, tmp, "default", "rescore", "--train-plus-dev", "--rescore") == 0
    assert json.loads(final.read_text())["test"]["f1"] == pytest.approx(before["test"]["f1"])


def test_results_carry_repo_relative_paths():
    from benchmarks.measure import REPO, repo_relative

    part = {"cmd": f"{REPO}/.venv/bin/python -m spacy train {REPO}/benchmarks/work/x/config.cfg",
            "data": [f"{REPO.parent}/shared/data/conll2003/eng.train", str(REPO)], "n": 3,
            "other": "/elsewhere/benchmarks/work/x"}
    assert repo_relative(part) == {
        "cmd": ".venv/bin/python -m spacy train benchmarks/work/x/config.cfg",
        "data": ["../shared/data/conll2003/eng.train", "."], "n": 3, "other": "/elsewhere/benchmarks/work/x"}


def test_gold_tokens_part(bench):
    tmp = bench["tmp"]
    part = json.loads((tmp / "results" / "parts" / "spacy_ner_goldtok.json").read_text())
    assert part["status"] == "complete" and part["run_settings"]["gold_tokens"] is True
    assert part["settings"]["corpus"].startswith("nerkit.ConllCorpus.v1")
    assert "gold tokens" in part["description"]
    config = (tmp / "work" / "spacy_ner_goldtok" / "config.cfg").read_text()
    assert '@readers = "nerkit.ConllCorpus.v1"' in config and "spacy.Corpus.v1" not in config
    # trained from the CoNLL copy of the same 40 sentences
    assert part["data"]["train"]["conll"] in part["child_command"]
    from nerkit.conll import read_conll

    assert len(read_conll(part["data"]["train"]["conll"]).sentences) == 40
    assert part["test"]["n_sents"] == 40 and 0.0 <= part["test"]["f1"] <= 1.0


def test_set_variant_part(bench):
    from thinc.api import Config

    tmp = bench["tmp"]
    part = json.loads((tmp / "results" / "parts" / "spacy_ner_lr5e-4.json").read_text())
    assert part["status"] == "complete" and part["run_settings"]["tag"] == "lr5e-4"
    overrides = {"training.optimizer.learn_rate.initial_rate": "0.0005", "training.batcher.size": "300"}
    assert part["settings"]["overrides"] == part["run_settings"]["overrides"] == overrides
    assert "with training.optimizer.learn_rate.initial_rate = 0.0005, training.batcher.size = 300" in part["description"]
    # the trained pipeline carries the overrides; the system's own part and model do not
    trained = Config().from_disk(tmp / "work" / "spacy_ner_lr5e-4" / "output" / "model-best" / "config.cfg")
    assert trained["training"]["optimizer"]["learn_rate"]["initial_rate"] == 0.0005
    assert trained["training"]["batcher"]["size"] == 300
    base = Config().from_disk(tmp / "work" / "spacy_ner" / "output" / "model-best" / "config.cfg")
    assert base["training"]["optimizer"]["learn_rate"]["initial_rate"] == 0.0001
    assert json.loads((tmp / "results" / "parts" / "spacy_ner.json").read_text())["settings"]["overrides"] == {}


@pytest.mark.parametrize("extra, message", [
    (["--set", "training.batcher.size=2000"], "--set needs --tag"),
    (["--set", "training.batcher.size", "--tag", "b"], "expected SECTION.KEY=VALUE"),
    (["--set", "training.nothing=1", "--tag", "b"], "configs/minilm.cfg has no setting training.nothing"),
    (["--set", "training.batcher=1", "--tag", "b"], "training.batcher is a section"),
    (["--set", "training.max_steps=9", "--tag", "b"], "has its own option"),
    (["--set", "training.batcher.size=9", "--tag", "a/b"], "letters, digits"),
    (["--systems", "hf_seed", "--set", "training.batcher.size=9", "--tag", "b"], "spaCy systems only, not hf_seed"),
])
def test_set_rejected(extra, message, capsys):
    args = ["--train", str(SAMPLE / "train.conll"), "--dev", str(SAMPLE / "dev.conll"), "--test", str(SAMPLE / "test.conll")]
    systems = [] if "--systems" in extra else ["--systems", "spacy_ner"]
    with pytest.raises(SystemExit):
        run.parse_args(args + systems + extra)
    assert message in capsys.readouterr().err


def test_set_replaces_a_section_by_a_function():
    pooling = "components.ner.model.tok2vec.tok2vec.pooling"
    files = ["--train", str(SAMPLE / "train.conll"), "--dev", str(SAMPLE / "dev.conll"), "--test", str(SAMPLE / "test.conll")]
    args = run.parse_args([*files, "--systems", "default", "--set", f'{pooling}={{"@layers":"reduce_first.v1"}}',
                           "--tag", "firstpiece"])
    assert args.overrides == {pooling: '{"@layers":"reduce_first.v1"}'}


def test_merged_json_and_md(bench):
    results = bench["tmp"] / "results"
    merged = json.loads((results / "conll03.json").read_text())
    # the second invocation kept the first one's systems
    assert set(bench["merged1"]["systems"]) == set(bench["first"])
    assert set(merged["systems"]) == set(bench["first"]) | {bench["second"], "spacy_ner_goldtok", "spacy_ner_lr5e-4",
                                                             "default_traindev"}
    assert merged["machines"][0]["cpu_cores"] >= 1 and merged["versions"][0]["spacy"]
    assert len(merged["targets"]) == 10
    seed_rows = [t for t in merged["targets"] if "over seeds" in t["target"] or "raw-text mean" in t["target"]]
    assert len(seed_rows) == 3 and all(t["status"] == "not yet measured" for t in seed_rows)  # one seed ran
    assert all(t["status"] in ("met", "missed") for t in merged["targets"] if t not in seed_rows)
    md = (results / "conll03.md").read_text()
    assert "| system | dev F1 | test F1 |" in md
    assert "## Targets" in md and "## Test F1 per type" in md
    assert "Tiny run" in md
    for system in merged["systems"]:
        assert f"| `{system}` |" in md


def test_speed_only_adds_spacy_benchmark_speed(bench):
    tmp = bench["tmp"]
    parts = tmp / "results" / "parts"
    before = json.loads((parts / "spacy_ner.json").read_text())
    rc = run.main([
        "--train", str(SAMPLE / "train.conll"), "--dev", str(SAMPLE / "dev.conll"), "--test", str(SAMPLE / "test.conll"),
        "--limit-sents", "40", "--systems", "spacy_ner,hf_seed", "--speed-only",
        "--work-dir", str(tmp / "work"), "--results", str(tmp / "results"), "--note", "speed only",
    ])
    assert rc == 1  # hf_seed has no spaCy model to time
    after = json.loads((parts / "spacy_ner.json").read_text())
    speed = after["inference"].pop("spacy_benchmark_speed")
    assert speed["returncode"] == 0 and speed["mean_words_per_second"] > 0
    assert speed["concurrent_load"] == "speed only" and "--speed-only" in speed["added_by"]
    assert after == before  # nothing else in the part changed
    assert "## `spacy benchmark speed`" in (tmp / "results" / "conll03.md").read_text()


def test_inference_levers(bench):
    from benchmarks import inference_levers
    from nerkit.conll import read_conll

    model = bench["tmp"] / "work" / "spacy_ner" / "output" / "model-best"
    out = bench["tmp"] / "results" / "levers"
    assert inference_levers.main([str(model), str(SAMPLE / "test.conll"), "--out", str(out), "--note", "tiny", "--repeats", "2"]) == 0
    result = json.loads(out.with_suffix(".json").read_text())
    assert result["repeats"] == 2
    rows = {r["variant"]: r for r in result["variants"]}
    assert len(rows) == len(inference_levers.VARIANTS)
    conll = read_conll(SAMPLE / "test.conll")
    n_docs, n_sents = len(conll.documents), len(conll.sentences)
    assert n_sents > n_docs
    trained_batch_items = load_config(model / "config.cfg")["components"]["transformer"]["max_batch_items"]
    for v in inference_levers.VARIANTS:
        row = rows[v.name]
        assert row["batch_size"] == v.batch_size and len(row["pass_seconds"]) == 2
        assert row["words_per_second"] == pytest.approx(row["n_words"] / (sum(row["pass_seconds"]) / 2))
        assert row["window_stride"] == (list(v.window_stride) if v.window_stride else None)
        assert row["max_batch_items"] == (v.max_batch_items or trained_batch_items)  # the config's
        assert row["disabled"] == list(v.disable)
        assert row["unit"] == ("sentence" if v.per_sentence else "document")
        assert row["n_docs"] == (n_sents if v.per_sentence else n_docs)
        assert row["f1"] is None if v.disable else 0 <= row["f1"] <= 1
        if v.threads:
            assert row["torch_threads"] == v.threads
    # the override reaches the loaded pipeline's span getter
    nlp = inference_levers.load(str(model), (128, 128))
    assert nlp.config["components"]["transformer"]["model"]["get_spans"]["stride"] == 128
    doc = nlp.make_doc(" ".join(["word"] * 300))
    spans = nlp.get_pipe("transformer").model.attrs["get_spans"]([doc])[0]
    assert [(s.start, s.end) for s in spans] == [(0, 128), (128, 256), (256, 300)]
    # no document context changes the units, never the tokens or the entities
    docs = inference_levers.prediction_units(conll, nlp.vocab, per_sentence=False, sort_by_length=False)
    sents = inference_levers.prediction_units(conll, nlp.vocab, per_sentence=True, sort_by_length=True)
    assert [len(d) for d in sents] == sorted(len(d) for d in sents) and len(sents) == n_sents
    assert sorted(t.text for d in sents for t in d) == sorted(t.text for d in docs for t in d)
    assert sorted((e.text, e.label_) for d in sents for e in d.ents) == sorted((e.text, e.label_) for d in docs for e in d.ents)
    md = out.with_suffix(".md").read_text()
    assert "| variant | F1 |" in md and "Concurrent load: tiny" in md and "median of 2 timed pass(es)" in md


def test_inference_levers_rounds_and_fresh_processes(bench):
    """--only picks variants in its order; --rounds times them in one process, a pass of each a round;
    --processes runs each in fresh processes of its own and pools their passes into its row."""
    import statistics

    from benchmarks import inference_levers

    model = str(bench["tmp"] / "work" / "default" / "output" / "model-best")
    dev, out = str(SAMPLE / "dev.conll"), bench["tmp"] / "results" / "levers_groups"
    common = ["--set", "groups", "--only", "2,0", "--repeats", "2", "--out", str(out), "--note", "tiny"]
    names = [inference_levers.GROUPS[2].name, inference_levers.GROUPS[0].name]
    assert inference_levers.main([model, dev, *common, "--rounds"]) == 0
    in_rounds = json.loads(out.with_suffix(".json").read_text())
    assert in_rounds["rounds"] and [r["variant"] for r in in_rounds["variants"]] == names
    assert all(len(r["pass_seconds"]) == 2 for r in in_rounds["variants"])
    assert "in rounds (one of each variant a round)" in out.with_suffix(".md").read_text()

    assert inference_levers.main([model, dev, *common, "--processes", "2"]) == 0
    result = json.loads(out.with_suffix(".json").read_text())
    rows = result["variants"]
    assert result["processes"] == 2 and [r["variant"] for r in rows] == names
    assert [r["length_group_pieces"] for r in rows] == [1024, None]
    for row in rows:
        assert len(row["pass_seconds"]) == 4 and len(row["process_words_per_second"]) == 2
        assert row["words_per_second"] == pytest.approx(row["n_words"] / statistics.median(row["pass_seconds"]))
    # the grouped forward changes the padding, not the entities
    assert rows[0]["f1"] == rows[1]["f1"] == in_rounds["variants"][0]["f1"]
    md = out.with_suffix(".md").read_text()
    assert "each variant in 2 fresh processes of its own" in md and "words/s per process |" in md

    for bad in (["--only", "0,0"], ["--only", "9"], ["--only", "x"], ["--processes", "2", "--rounds"]):
        with pytest.raises(SystemExit):
            inference_levers.main([model, dev, "--set", "groups", "--out", str(out), *bad])


def _part(system, dev, test, **extra):
    part = {"system": system, "status": "complete", "dev": {"f1": dev}, "test": {"f1": test}}
    for key, value in extra.items():
        part.setdefault(key.split("__")[0], {})[key.split("__")[1]] = value
    return part


def test_targets_from_hand_made_parts():
    parts = {
        "hf_seed": _part("hf_seed", 0.90, 0.88, training__words_per_second=400.0),
        "default": _part("default", 0.93, 0.90, training__words_per_second=700.0,
                         training__seconds_to_best=30 * 60, inference__words_per_second=1700.0),
        "default_traindev": _part("default_traindev", 0.99, 0.905, inference__words_per_second=1800.0),
        "spacy_ner": _part("spacy_ner", 0.95, 0.93, training__words_per_second=9000.0),  # an older config
        "cnn": _part("cnn", 0.85, 0.95, inference__words_per_second=9000.0),
    }
    parts["default_traindev"]["settings"] = {"train_data": "train + dev"}  # dev F1 on its own training data
    parts["hf_seed"]["inference"] = {"words_per_second": 1500.0, "hf_pipeline": {"words_per_second": 800.0}}
    assert merge.best_ours(parts) == "spacy_ner"  # selected on dev, not test; not what the targets read
    rows = {t["target"]: t for t in merge.targets(parts)}
    # test F1 and inference: the packaged final model; training: its selection run; never another row
    assert rows["test F1 ≥ 91.0"]["text"] == "missed by 0.50 (needs ≥ 91.00; has 90.50)"
    assert rows["test F1 ≥ 91.0"]["system"] == "default_traindev"
    assert rows["test F1 ≥ the strongest HF system's (hf_seed) test F1 + 1.5"]["text"] == "met by 1.00 (needs ≥ 89.50; has 90.50)"
    assert rows["training ≥ 1.5× the strongest HF system's (hf_seed) train words/s"]["text"].startswith(
        "met by 100 words/s (needs ≥ 600")
    # the HF system with the best dev F1 is the one to beat
    doc = _part("hf_doc", 0.91, 0.885, training__words_per_second=500.0)
    rows = {t["target"]: t for t in merge.targets({**parts, "hf_doc": doc, "hf_seed_lr1e-4": _part("hf_seed_lr1e-4", 0.905, 0.95)})}
    assert rows["test F1 ≥ the strongest HF system's (hf_doc) test F1 + 1.5"]["text"] == "met by 0.50 (needs ≥ 90.00; has 90.50)"
    assert rows["inference ≥ 2,000 words/s"]["text"].startswith("missed by 200 words/s")
    assert rows["inference ≥ 2× the HF pipeline"]["text"].startswith("met by 200 words/s (needs ≥ 1,600")
    assert rows["training ≥ 600 words/s"]["text"].startswith("met by 100 words/s")
    # training against the same strongest HF system
    assert rows["training ≥ 1.5× the strongest HF system's (hf_doc) train words/s"]["text"].startswith(
        "missed by 50 words/s (needs ≥ 750")
    assert rows["full run to best dev within 60 minutes"]["text"] == "met by 30.0 min (needs ≤ 60; has 30.0)"


def test_seed_mean_targets_read_the_defaults_seed_groups_only():
    def final(system, test, seed, raw):
        part = _part(system, 0.99, test, test_raw_text_keep_hyphens__f1=raw)
        part["settings"] = {"train_data": "train + dev", "overrides": {"system.seed": str(seed)} if seed else {}}
        part["run_settings"] = {"tag": f"seed{seed}" if seed else ""}
        return part

    parts = {"default_traindev": final("default_traindev", 0.906, 0, 0.905),
             "default_seed1_traindev": final("default_seed1_traindev", 0.9138, 1, 0.914),
             "default_softmax_traindev": final("default_softmax_traindev", 0.95, 0, 0.95),  # another recipe
             "default_softmax_seed1_traindev": final("default_softmax_seed1_traindev", 0.95, 1, 0.95)}
    rows = {t["target"]: t for t in merge.targets(parts)}
    mean = rows["mean test F1 over seeds ≥ 91.0 (the final model, train + dev)"]
    assert mean["value"] == pytest.approx(0.9099) and mean["text"] == "missed by 0.01 (needs ≥ 91.00; has 90.99)"
    raw = rows["its raw-text mean within 0.2 of that mean"]
    assert raw["value"] == pytest.approx(0.9095) and raw["needs"] == pytest.approx(0.9079) and raw["status"] == "met"
    assert rows["mean test F1 over seeds ≥ 90.5 (the model selected on dev, train only)"]["text"] == (
        "not yet measured (needs ≥ 2 seeds of default)")
    del parts["default_seed1_traindev"]  # one seed is no mean
    rows = {t["target"]: t for t in merge.targets(parts)}
    assert rows["mean test F1 over seeds ≥ 91.0 (the final model, train + dev)"]["status"] == "not yet measured"


def test_targets_not_yet_measured():
    rows = merge.targets({"hf_seed": _part("hf_seed", 0.9, 0.88), "spacy_ner": _part("spacy_ner", 0.9, 0.92)})
    assert all(t["status"] == "not yet measured" for t in rows)  # an older config's row never counts
    assert "default_traindev not measured yet" in rows[0]["text"]
    rows = {t["target"]: t for t in merge.targets({"default_traindev": _part("default_traindev", 0.9, 0.92)})}
    assert rows["test F1 ≥ 91.0"]["status"] == "met"
    assert rows["training ≥ 600 words/s"]["text"] == "not yet measured (default not measured yet)"
    assert rows["test F1 ≥ the strongest HF system's (none yet) test F1 + 1.5"]["text"] == (
        "not yet measured (no HF system measured yet)")


def test_merge_writes_files(tmp_path):
    parts = tmp_path / "parts"
    parts.mkdir()
    for system, dev in (("cnn", 0.8), ("spacy_ner_goldtok", 0.85), ("spacy_ner", 0.9), ("hf_seed_lr1e-4", 0.95)):
        part = _part(system, dev, 0.92)
        part["description"] = f"about {system}"
        if system == "spacy_ner":
            part["inference"] = {"spacy_benchmark_speed": {"output": "Outliers: 0.0%\nMean: 100.0 words/s", "returncode": 0}}
        (parts / f"{system}.json").write_text(json.dumps(part))
    merged = merge.merge(parts, tmp_path)
    assert merged["best_ours"] == "spacy_ner"
    assert list(merged["systems"]) == ["hf_seed_lr1e-4", "spacy_ner", "spacy_ner_goldtok", "cnn"]
    assert merged["inference_levers"] == []
    md = (tmp_path / "conll03.md").read_text()
    assert "| `spacy_ner` | 90.00 † | 92.00 † | – |" in md and "not yet measured" in md  # a part without "scorer": v1
    assert "| `hf_seed_lr1e-4` | 95.00 | 92.00 | – |" in md  # HF parts predict by sentence: no mark
    assert "- `spacy_ner_goldtok`: about spacy_ner_goldtok" in md and "inference_levers.md" not in md
    assert "- `spacy_ner`: Outliers: 0.0%; Mean: 100.0 words/s" in md
    for name in ("inference_levers_b.md", "inference_levers.md"):
        (tmp_path / name).write_text("# levers\n")
    assert merge.merge(parts, tmp_path)["inference_levers"] == ["inference_levers.md", "inference_levers_b.md"]
    assert "[inference_levers.md](inference_levers.md), [inference_levers_b.md](inference_levers_b.md)" in (
        tmp_path / "conll03.md").read_text()


def test_align_labels_first_piece():
    # [CLS] w0 w1(3 pieces) w2 [SEP]
    word_ids = [None, 0, 1, 1, 1, 2, None]
    assert align_labels(word_ids, [3, 1, 0]) == [IGNORE, 3, 1, IGNORE, IGNORE, 0, IGNORE]


def test_encode_with_tokenizer(tiny_bert):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_bert)
    label2id = {"O": 0, "B-PER": 1, "I-PER": 2}
    (feat,) = encode(tok, [["Blackburn", "said", "the"]], [["B-PER", "O", "O"]], label2id)
    pieces = tok.convert_ids_to_tokens(feat["input_ids"])
    assert pieces[0] == "[CLS]" and pieces[-1] == "[SEP]"
    n_first = feat["word_ids"].count(0)
    assert n_first > 2  # "blackburn" is split into several pieces
    assert feat["labels"][0] == IGNORE and feat["labels"][-1] == IGNORE
    assert feat["labels"][1] == 1 and feat["labels"][2 : 1 + n_first] == [IGNORE] * (n_first - 1)
    assert feat["labels"][1 + n_first :-1] == [0, 0]


def test_hf_doc_part(tiny_bert, tmp_path):
    """The strong HF baseline end to end: document windows, lr 1e-4 with warmup, the word budget."""
    assert _run(tiny_bert, tmp_path, "hf_doc", "hf_doc tiny run") == 0
    part = json.loads((tmp_path / "results" / "parts" / "hf_doc.json").read_text())
    assert PART_KEYS <= set(part), PART_KEYS - set(part)
    assert part["status"] == "complete" and part["description"].startswith("a strong HF baseline")
    settings = part["settings"]
    assert {k: settings[k] for k in ("lr", "context", "window_words", "stride_words", "max_length", "batch_size",
                                     "warmup_steps", "patience", "word_budget", "max_steps")} == {
        "lr": 1e-4, "context": "doc", "window_words": 256, "stride_words": 192, "max_length": 512, "batch_size": 4,
        "warmup_steps": 100, "patience": 0, "word_budget": 1_200_000, "max_steps": 3}
    for flag in ("--context doc", "--window-words 256", "--stride-words 192", "--max-length 512", "--lr 0.0001",
                 "--warmup-steps 100", "--word-budget 1200000", "--batch-size 4", "--patience 0"):
        assert flag in part["child_command"]
    training = part["training"]
    assert training["steps"] == 3 and training["stop_reason"] == "max-steps" and training["schedule_steps"] == 3
    assert training["inputs"] == {"context": "doc", "max_length_pieces": 512, "window_words": 256, "stride_words": 192}
    # 40 sentences in 4 documents of 155, 183, 84 and 111 words: at least one window each (more where the
    # tiny vocabulary, which spells most words letter by letter, puts a window over 512 pieces), each word
    # labelled in one of them
    windows = training["train_windows"]
    assert windows["windows"] >= 4 and windows["truncated"] == 0
    assert training["labelled_words_per_epoch"] == part["data"]["train"]["words"] == 533
    assert training["best_step"] is not None and training["words_per_second"] > 0
    for split in ("dev", "test"):
        assert part[split]["n_sents"] == 40 and 0.0 <= part[split]["f1"] <= 1.0
        assert part[split]["words_past_truncation_set_to_O"] == 0
    assert part["inference"]["words_per_second"] > 0 and "document windows" in part["inference"]["method"]
    assert part["inference"]["hf_pipeline"]["words_per_second"] > 0
    assert part["peak_rss_mb"] > 0 and part["size_mb"] > 0
    md = (tmp_path / "results" / "conll03.md").read_text()
    assert "| `hf_doc` |" in md
    assert (f"- `hf_doc`: {windows['windows']} training windows, {windows['shrunk_for_piece_limit']} shrunk and 0 "
            "truncated for the 512-piece limit; words without a piece set to O: dev 0, test 0; stop: max-steps.") in md
    assert merge.best_ours(json.loads((tmp_path / "results" / "conll03.json").read_text())["systems"]) is None


def test_seed_groups():
    def run(system, tag, test, seed=None, data="train"):
        part = _part(system, 0.9, test, test_raw_text__f1=test - 0.01)
        part["run_settings"] = {"tag": tag}
        part["settings"] = {"train_data": data, "overrides": {"system.seed": str(seed)} if seed is not None else {}}
        return part

    parts = {p["system"]: p for p in (
        run("spacy_ner_w256", "w256", 0.80),
        run("spacy_ner_w256_seed1", "w256_seed1", 0.84, seed=1),
        run("spacy_ner_w256_seed2_traindev", "w256_seed2", 0.85, seed=2, data="train + dev"),
        run("spacy_ner_lr", "lr", 0.70),
    )}
    parts["hf_seed"] = _part("hf_seed", 0.9, 0.5)
    (group,) = merge.seed_groups(parts)  # a single-seed recipe or a lone train + dev run is no group
    assert group["recipe"] == "spacy_ner_w256" and group["train_data"] == "train"
    assert group["seeds"] == [0, 1] and group["systems"] == ["spacy_ner_w256", "spacy_ner_w256_seed1"]
    assert group["mean"] == pytest.approx(0.82) and group["max"] - group["min"] == pytest.approx(0.04)
    assert group["raw_text_mean"] == pytest.approx(0.81)
    parts["spacy_ner_w256_traindev"] = run("spacy_ner_w256_traindev", "w256", 0.86, data="train + dev")
    groups = {g["train_data"]: g for g in merge.seed_groups(parts)}
    assert groups["train + dev"]["seeds"] == [0, 2] and groups["train + dev"]["mean"] == pytest.approx(0.855)
    parts["spacy_ner"] = run("spacy_ner", "", 0.90)  # a system's own part (no tag) and a seed-only tag
    parts["spacy_ner_seed3"] = run("spacy_ner_seed3", "seed3", 0.92, seed=3)
    assert sorted((g["recipe"], g["train_data"], g["seeds"]) for g in merge.seed_groups(parts)) == [
        ("spacy_ner", "train", [0, 3]), ("spacy_ner_w256", "train", [0, 1]), ("spacy_ner_w256", "train + dev", [0, 2])]
    md = merge.render_markdown({"generated": "now", "systems": parts, "best_ours": None, "targets": [],
                                "seeds": list(groups.values()), "machines": [], "versions": []})
    assert "| `spacy_ner_w256` | train + dev | 0, 2 | 86.00, 85.00 | 85.50 | 1.00 | 0.71 | 84.50 |" in md


def test_levers_table():
    def run(system, tag, dev, test, data="train", steps=1500, **overrides):
        part = _part(system, dev, test)
        part["run_settings"] = {"tag": tag}
        part["settings"] = {"train_data": data, "max_steps": steps, "overrides": overrides}
        return part

    parts = {p["system"]: p for p in (
        run("default", "", 0.93, 0.90),
        run("default_longer", "longer", 0.925, 0.91, steps=2400),  # better on test, worse on dev: loses
        run("default_avg", "avg", 0.935, 0.89, **{"training.optimizer.use_averages": "true"}),
        run("default_seed1", "seed1", 0.94, 0.90, **{"system.seed": "1"}),  # a seed, not a lever
        run("default_traindev", "", 0.99, 0.91, data="train + dev"),
        run("default_attention_dropout", "", 0.92, 0.89),  # an older config, no tag
    )}
    parts["default_new"] = run("default_new", "", 0.95, 0.91, **{"components.ner.loss": "lattice"})
    parts["default_new"]["lever_of"] = "default"  # a lever that became the default, beside the run it changed
    rows = {r["system"]: r for r in merge.levers(parts)}
    assert sorted(rows) == ["default_avg", "default_longer", "default_new"]
    assert rows["default_new"]["base"] == "default" and rows["default_new"]["change"] == "components.ner.loss = lattice"
    assert rows["default_longer"]["change"] == "2400 steps" and not rows["default_longer"]["wins_on_dev"]
    assert rows["default_longer"]["test_delta"] == pytest.approx(0.01)
    assert rows["default_avg"]["change"] == "training.optimizer.use_averages = true" and rows["default_avg"]["wins_on_dev"]
    md = merge.render_markdown({"generated": "now", "systems": parts, "best_ours": None, "targets": [], "seeds": [],
                                "levers": list(rows.values()), "machines": [], "versions": []})
    assert "| `default_longer` | `default` | 2400 steps | 92.50 | -0.50 | 91.00 | +1.00 | loses |" in md
    assert merge.levers({"default_avg": parts["default_avg"]}) == []  # nothing to compare with


def test_doc_consistency_lever(bench):
    """Every variant scored on dev and test from one prediction pass each; the table names the dev winner."""
    from benchmarks import doc_consistency

    model = str(bench["tmp"] / "work" / "default" / "output" / "model-best")
    out = bench["tmp"] / "results" / "doc_consistency"
    result = doc_consistency.main([model, "--dev", str(SAMPLE / "dev.conll"), "--test", str(SAMPLE / "test.conll"),
                                   "--out", str(out), "--note", "tiny"])
    for split in ("dev", "test"):
        assert [row["variant"] for row in result[split]] == list(doc_consistency.VARIANTS)
        assert all(0 <= row["f1"] <= 1 for row in result[split])
    md = out.with_suffix(".md").read_text()
    best = max(result["dev"], key=lambda row: row["f1"])["variant"]
    assert f"Best on dev: **{best}**" in md and md.count("\n| ") == 1 + len(doc_consistency.VARIANTS)


def test_ensemble_lever(bench):
    """A pipeline ensembled with itself decodes exactly what the pipeline predicts; two pipelines get a row each."""
    from benchmarks import ensemble

    output = bench["tmp"] / "work" / "default" / "output"
    best, last = str(output / "model-best"), str(output / "model-last")
    files = ["--dev", str(SAMPLE / "dev.conll"), "--test", str(SAMPLE / "test.conll"), "--note", "tiny"]
    itself = ensemble.main([best, best, *files, "--out", str(bench["tmp"] / "results" / "ensemble_self")])
    for split in ("dev", "test"):
        single, _, mean = itself[split]
        assert single["f1"] > 0 and mean["f1"] == single["f1"] and mean["precision"] == single["precision"]
    pair = ensemble.main([best, last, *files, "--out", str(bench["tmp"] / "results" / "ensemble_pair")])
    assert [row["system"] for row in pair["dev"]][:2] == [best, last] and len(pair["test"]) == 3
    md = (bench["tmp"] / "results" / "ensemble_pair.md").read_text()
    assert md.count("\n| ") == 1 + 3 and "mean of the 2 tag distributions" in md and "Training seeds: 0, 0." in md
