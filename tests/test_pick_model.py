"""scripts/pick_model.py: the candidate with the best test F1 is copied, and its
meta.json says what it was trained on."""
import subprocess
import sys

import pytest
import spacy
import srsly

from .conftest import ROOT

SCRIPT = ROOT / "scripts" / "pick_model.py"


def candidate(tmp_path, name, f1):
    nlp = spacy.blank("en")
    nlp.meta["name"] = name
    nlp.to_disk(tmp_path / name)
    srsly.write_json(tmp_path / f"{name}.json", {"entity": {"micro": {"f1": f1}}})
    return ["--model", tmp_path / name, "--report", tmp_path / f"{name}.json"]


def run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True)


def test_picks_the_better_test_f1(tmp_path):
    out = tmp_path / "picked" / "model"
    result = run(out, *candidate(tmp_path, "dev_selected", 0.8912), "--trained-on", "eng.train",
                 *candidate(tmp_path, "final", 0.9034), "--trained-on", "eng.train + eng.testa")
    assert result.returncode == 0, result.stdout + result.stderr
    meta = srsly.read_json(out / "meta.json")
    assert meta["name"] == "final" and meta["nerkit"]["trained_on"] == "eng.train + eng.testa"
    assert [c["test_f1"] for c in meta["nerkit"]["candidates"]] == pytest.approx([0.8912, 0.9034])
    assert srsly.read_json(out.with_suffix(".json"))["entity"]["micro"]["f1"] == pytest.approx(0.9034)
    # the other way round, into the same place: replaced
    result = run(out, *candidate(tmp_path, "a", 0.95), "--trained-on", "x", *candidate(tmp_path, "b", 0.5),
                 "--trained-on", "y")
    assert result.returncode == 0 and srsly.read_json(out / "meta.json")["nerkit"]["trained_on"] == "x"


def test_refuses_unpaired_options(tmp_path):
    result = run(tmp_path / "out", *candidate(tmp_path, "a", 0.9), "--trained-on", "x", "--trained-on", "y")
    assert result.returncode == 1 and "give one of each per candidate" in " ".join(result.stdout.split())
    assert not (tmp_path / "out").exists()
