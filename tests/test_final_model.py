"""scripts/final_model.py: the final (train + dev) model is packaged by rule, even
where the model selected on dev scores higher on test; both scores are reported."""
import subprocess
import sys

import pytest
import spacy
import srsly

from .conftest import ROOT

SCRIPT = ROOT / "scripts" / "final_model.py"


def model(tmp_path, name, f1):
    nlp = spacy.blank("en")
    nlp.meta["name"] = name
    nlp.to_disk(tmp_path / name)
    srsly.write_json(tmp_path / f"{name}.json", {"entity": {"micro": {"f1": f1}}})
    return tmp_path / name, tmp_path / f"{name}.json"


def run(out, final, selected):
    args = [out, "--final", final[0], "--final-report", final[1], "--final-data", "eng.train + eng.testa",
            "--selected", selected[0], "--selected-report", selected[1], "--selected-data", "eng.train"]
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True)


@pytest.mark.parametrize("final_f1,selected_f1", [(0.9034, 0.8912), (0.8912, 0.9034)])
def test_packages_the_final_model_whatever_the_test_scores(tmp_path, final_f1, selected_f1):
    out = tmp_path / "package" / "model"
    result = run(out, model(tmp_path, "final", final_f1), model(tmp_path, "selected", selected_f1))
    assert result.returncode == 0, result.stdout + result.stderr
    meta = srsly.read_json(out / "meta.json")
    assert meta["name"] == "final" and meta["nerkit"]["trained_on"] == "eng.train + eng.testa"
    assert "not used to choose" in meta["nerkit"]["chosen_by"]
    assert [m["packaged"] for m in meta["nerkit"]["models"]] == [True, False]
    assert [m["test_f1"] for m in meta["nerkit"]["models"]] == pytest.approx([final_f1, selected_f1])
    assert srsly.read_json(out.with_suffix(".json"))["entity"]["micro"]["f1"] == pytest.approx(final_f1)
    # into the same place again: replaced
    assert run(out, model(tmp_path, "final", final_f1), model(tmp_path, "selected", selected_f1)).returncode == 0
