"""nerkit final-model (nerkit.packaging.final_model): the final (train + dev)
model is packaged by rule, even where the model selected on dev scores higher
on test; both scores are reported."""
import pytest
import spacy
import srsly
from typer.testing import CliRunner

from nerkit.cli import app


def model(tmp_path, name, f1):
    nlp = spacy.blank("en")
    nlp.meta["name"] = name
    nlp.to_disk(tmp_path / name)
    srsly.write_json(tmp_path / f"{name}.json", {"entity": {"micro": {"f1": f1}}})
    return tmp_path / name, tmp_path / f"{name}.json"


def run(out, final, selected):
    args = [out, "--final", final[0], "--final-report", final[1], "--final-data", "eng.train + eng.testa",
            "--selected", selected[0], "--selected-report", selected[1], "--selected-data", "eng.train"]
    return CliRunner().invoke(app, ["final-model", *map(str, args)])


@pytest.mark.parametrize("final_f1,selected_f1", [(0.9034, 0.8912), (0.8912, 0.9034)])
def test_packages_the_final_model_whatever_the_test_scores(tmp_path, final_f1, selected_f1):
    out = tmp_path / "package" / "model"
    result = run(out, model(tmp_path, "final", final_f1), model(tmp_path, "selected", selected_f1))
    assert result.exit_code == 0, result.output
    meta = srsly.read_json(out / "meta.json")
    assert meta["name"] == "final" and meta["nerkit"]["trained_on"] == "eng.train + eng.testa"
    assert "not used to choose" in meta["nerkit"]["chosen_by"]
    assert [m["packaged"] for m in meta["nerkit"]["models"]] == [True, False]
    assert [m["test_f1"] for m in meta["nerkit"]["models"]] == pytest.approx([final_f1, selected_f1])
    assert srsly.read_json(out.with_suffix(".json"))["entity"]["micro"]["f1"] == pytest.approx(final_f1)
    # into the same place again: replaced
    assert run(out, model(tmp_path, "final", final_f1), model(tmp_path, "selected", selected_f1)).exit_code == 0
    assert f"{final_f1 * 100:.2f} test F1" in result.output and "by rule" in result.output


def test_missing_report_is_refused(tmp_path):
    final, selected = model(tmp_path, "final", 0.9), model(tmp_path, "selected", 0.8)
    result = run(tmp_path / "out", (final[0], tmp_path / "nope.json"), selected)
    assert result.exit_code != 0 and not (tmp_path / "out").exists()
