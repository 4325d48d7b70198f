"""The search end to end on a tiny random BERT, 4 training steps a trial: the
study file, the table, the plot, best.cfg, resuming (finished trials are not
redone, an interrupted one runs again), pruning, and the command line."""
import json
import shutil
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin
from spacy.util import load_config
from typer.testing import CliRunner

from nerkit.cli import app
from nerkit.conll import read_conll_docs
from nerkit.search import SearchError, load_space, make_settings, run_search
from nerkit.search.study import STUDY_FILE, open_study

from ..conftest import tiny_search_config

optuna = pytest.importorskip("optuna")
pytest.importorskip("matplotlib")

ROOT = Path(__file__).resolve().parents[2]
SPACE = """
params:
  training.optimizer.learn_rate.initial_rate: {type: float, low: 1.0e-4, high: 1.0e-2, log: true}
  training.dropout: {type: categorical, choices: [0.0, 0.1]}
  windows:
    type: categorical
    choices:
      "32/24": {components.transformer.model.get_spans.window: 32, components.transformer.model.get_spans.stride: 24}
      "64/64": {components.transformer.model.get_spans.window: 64, components.transformer.model.get_spans.stride: 64}
"""


@pytest.fixture(scope="module")
def setup(tiny_bert, tmp_path_factory):
    """(config, space, train, dev) files of a tiny search."""
    folder = tmp_path_factory.mktemp("search-setup")
    vocab = spacy.blank("en").vocab
    for split, n in (("train", 4), ("dev", 2)):
        docs = read_conll_docs(ROOT / "corpus" / "sample" / f"{split}.conll", vocab)[:n]
        DocBin(docs=[next(iter(doc.sents)).as_doc() for doc in docs]).to_disk(folder / f"{split}.spacy")
    (folder / "space.yml").write_text(SPACE, encoding="utf8")
    config = tiny_search_config(tiny_bert, folder / "tiny.cfg")
    return config, folder / "space.yml", folder / "train.spacy", folder / "dev.spacy"


def search(setup, output: Path, n_trials: int, steps: int = 4, **options):
    config, space_path, train, dev = setup
    space = load_space(space_path)
    settings = make_settings(config, space, train, dev, steps=steps, eval_frequency=2)
    return run_search(space, settings, output, n_trials, log=lambda line: None, **{"pruner": "none", **options})


def numbers_and_starts(study):
    return [(t.number, t.state.name, t.datetime_start) for t in study.get_trials()]


def test_search_writes_table_plot_best_config_and_resumes(setup, tmp_path):
    study = search(setup, tmp_path, n_trials=2)
    assert (tmp_path / STUDY_FILE).is_file()
    data = json.loads((tmp_path / "results.json").read_text())
    assert [row["state"] for row in data["trials"]] == ["complete", "complete"]
    assert all(row["last_step"] == 4 and 0.0 <= row["value"] <= 1.0 for row in data["trials"])
    assert (tmp_path / "trials/trial-000/model-best/config.cfg").is_file()
    assert not (tmp_path / "trials/trial-000/model-last").exists()
    table = (tmp_path / "results.md").read_text()
    assert [line.split(" | ")[1] for line in table.splitlines() if line[:3] in ("| 0", "| 1")] == ["complete"] * 2
    assert (tmp_path / "plot.png").read_bytes()[:4] == b"\x89PNG"

    best = study.best_trial
    assert data["best"]["trial"] == best.number and data["best"]["value"] == best.value
    config = load_config(tmp_path / "best.cfg")  # spaCy's reader, interpolated
    rate = config["training"]["optimizer"]["learn_rate"]
    assert rate["initial_rate"] == pytest.approx(best.params["training.optimizer.learn_rate.initial_rate"])
    assert config["training"]["dropout"] == best.params["training.dropout"]
    window, stride = map(int, best.params["windows"].split("/"))
    assert config["components"]["transformer"]["model"]["get_spans"] == {
        "@span_getters": "spacy-transformers.strided_spans.v1", "window": window, "stride": stride}
    assert config["paths"]["train"] is None and config["training"]["max_steps"] == 1500  # the config's own
    assert "dev ents_f" in (tmp_path / "best.cfg").read_text().splitlines()[1]

    before = numbers_and_starts(study)
    study = search(setup, tmp_path, n_trials=3)  # resume: one more trial, the first two untouched
    assert numbers_and_starts(study)[:2] == before and len(study.trials) == 3
    assert len(json.loads((tmp_path / "results.json").read_text())["trials"]) == 3
    assert len(search(setup, tmp_path, n_trials=3).trials) == 3  # nothing left to do

    with pytest.raises(SearchError, match=r"other settings \(steps: 4 -> 6\)"):
        search(setup, tmp_path, n_trials=4, steps=6)


def test_an_interrupted_trial_runs_again_with_its_parameters(setup, tmp_path):
    config, space_path, train, dev = setup
    settings = make_settings(config, load_space(space_path), train, dev, steps=4, eval_frequency=2)
    killed = open_study(tmp_path, settings, optuna.pruners.NopPruner(), seed=0)
    params = {"training.optimizer.learn_rate.initial_rate": 0.003, "training.dropout": 0.1, "windows": "64/64"}
    killed.enqueue_trial(params)
    trial = killed.ask()  # left RUNNING, as by a killed process
    trial.suggest_float("training.optimizer.learn_rate.initial_rate", 1e-4, 1e-2, log=True)
    trial.suggest_categorical("training.dropout", [0.0, 0.1])
    trial.suggest_categorical("windows", ["32/24", "64/64"])

    study = search(setup, tmp_path, n_trials=1)
    first, again = study.trials
    assert first.state.name == "FAIL" and again.state.name == "COMPLETE"
    assert again.params == params and again.user_attrs["retry_of"] == 0


def test_editing_the_config_during_a_search_changes_none_of_its_trials(setup, tmp_path):
    config, space_path, train, dev = setup
    edited = tmp_path / "config.cfg"
    shutil.copy(config, edited)
    space = load_space(space_path)
    settings = make_settings(edited, space, train, dev, steps=4, eval_frequency=2)

    def log(line: str) -> None:  # trial 1 starts: someone edits the config file
        if line.startswith("Trial 1:"):
            edited.write_text("[nlp]\nlang = broken\n", encoding="utf8")

    study = run_search(space, settings, tmp_path / "out", 2, pruner="none", log=log)
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]
    assert "broken" not in (tmp_path / "out" / "best.cfg").read_text()
    with pytest.raises(SearchError, match="config.cfg changed after the search's settings were made"):
        run_search(space, settings, tmp_path / "out", 3, pruner="none", log=lambda line: None)


class AlwaysPrune(optuna.pruners.BasePruner):
    def prune(self, study, trial) -> bool:
        return True


def test_a_pruned_trial_keeps_no_model_and_gives_no_best_config(setup, tmp_path):
    study = search(setup, tmp_path, n_trials=1, pruner=AlwaysPrune())
    (trial,) = study.trials
    assert trial.state.name == "PRUNED" and list(trial.intermediate_values) == [0]
    assert not (tmp_path / "trials/trial-000/model-best").exists()
    assert not (tmp_path / "best.cfg").exists()
    row = json.loads((tmp_path / "results.json").read_text())["trials"][0]
    assert row["state"] == "pruned" and row["last_step"] == 0 and row["value"] is None
    assert "| 0 | pruned |" in (tmp_path / "results.md").read_text()


class PruneFromStep(optuna.pruners.BasePruner):
    def __init__(self, step: int):
        self.step = step

    def prune(self, study, trial) -> bool:
        return trial.last_step >= self.step


def test_the_last_evaluation_is_not_put_to_the_pruner(setup, tmp_path):
    study = search(setup, tmp_path, n_trials=1, steps=4, pruner=PruneFromStep(2))
    (trial,) = study.trials  # pruned at step 2 of 4, as asked
    assert trial.state.name == "PRUNED" and list(trial.intermediate_values) == [0, 2]
    study = search(setup, tmp_path / "last", n_trials=1, steps=4, pruner=PruneFromStep(4))
    (trial,) = study.trials  # step 4 ends the schedule: complete, with its score
    assert trial.state.name == "COMPLETE" and list(trial.intermediate_values) == [0, 2, 4]
    assert trial.value == max(trial.intermediate_values.values())


def test_a_key_both_fixed_and_searched_is_refused(setup):
    config, space_path, train, dev = setup
    with pytest.raises(SearchError, match="searches training.dropout, which the search's options also set"):
        make_settings(config, load_space(space_path), train, dev, overrides={"training.dropout": 0.2})


def test_command_line(setup, tmp_path):
    config, space_path, train, dev = setup
    runner = CliRunner()
    bad = tmp_path / "bad.yml"
    bad.write_text("params: {training.dropuot: {type: float, low: 0, high: 0.3}}", encoding="utf8")
    args = ["search", str(config), str(bad), str(tmp_path / "out"), "--train", str(train), "--dev", str(dev)]
    result = runner.invoke(app, args)
    assert result.exit_code == 1 and f"{bad}: params.training.dropuot" in result.output
    args[2] = str(space_path)
    result = runner.invoke(app, args + ["--n-trials", "1", "--steps", "2", "--eval-frequency", "2",
                                        "--training.batcher.size", "400"])
    assert result.exit_code == 0, result.output
    assert "Best: trial 0" in result.output
    assert load_config(tmp_path / "out" / "best.cfg")["training"]["batcher"]["size"] == 400
    settings = json.loads((tmp_path / "out" / "results.json").read_text())["settings"]
    assert settings["overrides"] == {"training.batcher.size": 400} and settings["steps"] == 2


def test_missing_libraries_say_what_to_install(monkeypatch):
    from nerkit.search import _compat

    monkeypatch.setattr(_compat, "LIBRARIES", ("optuna", "no_such_library_here"))
    with pytest.raises(ImportError, match=r"needs no_such_library_here: pip install 'nerkit\[search\]'"):
        _compat.require_search_libs()
