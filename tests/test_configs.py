"""Every shipped config trains its benchmarked recipe with `spacy train` alone:
its schedule is consistent and equals the one its benchmark row was trained
with, and the conll03 workflow passes no schedule of its own."""
import json
from pathlib import Path

import pytest
import srsly
from thinc.api import Config

from benchmarks.spacy_systems import CONFIGS

from .conftest import ROOT

SHIPPED = sorted((ROOT / "configs").glob("*.cfg"))
PARTS = ROOT / "benchmarks" / "results" / "parts"


def schedule(path: Path) -> dict:
    training = Config().from_disk(path, interpolate=True)["training"]
    return {"max_steps": training["max_steps"], "eval_frequency": training["eval_frequency"],
            "patience": training["patience"], "total_steps": training["optimizer"]["learn_rate"].get("total_steps"),
            "warmup_steps": training["optimizer"]["learn_rate"].get("warmup_steps", 0)}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_schedule_is_consistent(path):
    s = schedule(path)
    assert s["max_steps"] > 0, "a config trains for a fixed number of steps"
    assert s["total_steps"] in (None, s["max_steps"]), "the learning-rate schedule ends where training ends"
    assert 0 <= s["warmup_steps"] < s["max_steps"]
    assert 0 < s["eval_frequency"] <= s["max_steps"] and s["max_steps"] % s["eval_frequency"] == 0
    assert 0 <= s["patience"] <= s["max_steps"]


@pytest.mark.parametrize("system", sorted(CONFIGS))
def test_schedule_is_the_benchmarked_one(system):
    part_path = PARTS / f"{system}.json"
    if not part_path.exists():
        pytest.skip(f"no benchmark row {part_path.name}")
    settings = json.loads(part_path.read_text(encoding="utf8"))["settings"]
    s = schedule(ROOT / CONFIGS[system])
    # a row run with --set (a lever that became the default) trained the config as shipped
    # only if the shipped config now holds each of its overrides
    config = Config().from_disk(ROOT / CONFIGS[system], interpolate=False)
    for key, value in (settings.get("overrides") or {}).items():
        section = config
        for name in key.split(".")[:-1]:
            section = section[name]
        assert str(section.get(key.split(".")[-1])) == str(value), f"{system}: {key} = {value} is not the shipped config's"
    assert (s["max_steps"], s["eval_frequency"], s["patience"]) == (
        settings["max_steps"], settings["eval_frequency"], settings["patience"])


def test_conll03_takes_the_schedule_from_the_config():
    commands = {c["name"]: " ".join(c["script"]) for c in srsly.read_yaml(ROOT / "project.yml")["commands"]}
    for name in ("train-conll03", "train-conll03-final"):
        assert "configs/${vars.config}.cfg" in commands[name]
        for key in ("max_steps", "eval_frequency", "total_steps"):
            assert key not in commands[name], f"{name} passes its own {key}"
    assert "--training.patience" not in commands["train-conll03"]
    assert "--training.patience 0" in commands["train-conll03-final"]  # the final model keeps its last step
