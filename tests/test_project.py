"""project.yml: complete deps, real overrides, clear errors, and the `all` workflow end to end."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import srsly
from weasel.cli.run import project_run
from weasel.util import load_project_config

from .conftest import ROOT

PROJECT = load_project_config(ROOT)
VARS = PROJECT["vars"]


def overrides(**values) -> dict:
    """`--vars.NAME` overrides, refusing names project.yml does not define:
    a misspelt override would silently do nothing."""
    unknown = set(values) - set(VARS)
    assert not unknown, f"not vars in project.yml: {unknown}"
    return {f"vars.{name}": value for name, value in values.items()}


def test_overrides_refuse_unknown_vars():
    with pytest.raises(AssertionError, match="max_step"):
        overrides(max_step=10)


def test_every_script_and_config_a_command_reads_is_a_dep():
    raw = srsly.read_yaml(ROOT / "project.yml")  # before var substitution
    for command in raw["commands"]:
        read = set()
        for line in command["script"]:
            read |= set(re.findall(r"(?:scripts|configs)/[\w${}.]+\.(?:py|cfg)", line))
        missing = read - set(command.get("deps", []))
        assert not missing, f"{command['name']}: add {missing} to deps"


def test_workflows_name_real_commands():
    names = {command["name"] for command in PROJECT["commands"]}
    for workflow, steps in PROJECT["workflows"].items():
        assert set(steps) <= names, workflow


def test_sample_corpus_is_what_the_generator_writes(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_sample_corpus.py"), str(tmp_path)],
                   check=True, capture_output=True)
    for split in ("train", "dev", "test"):
        shipped = (ROOT / "corpus" / "sample" / f"{split}.conll").read_text(encoding="utf8")
        assert (tmp_path / f"{split}.conll").read_text(encoding="utf8") == shipped, split


@pytest.fixture
def project_copy(tmp_path) -> Path:
    """The project's own files in a temp dir, so runs leave the checkout alone."""
    for name in ("project.yml", "configs", "scripts", "corpus/sample"):
        src, dest = ROOT / name, tmp_path / name
        if src.is_dir():
            shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, dest)
    return tmp_path


def test_missing_conll_data_names_the_var(project_copy):
    with pytest.raises(subprocess.SubprocessError) as error:
        project_run(project_copy, "conll03", overrides=overrides(conll_dir="no/such/dir"), capture=True)
    assert "--vars.conll_dir" in str(error.value) and "eng.train" in str(error.value)


def test_all_workflow_smoke(project_copy):
    """convert → train (a few steps) → evaluate → package → install in a fresh venv and load."""
    project_run(project_copy, "all", overrides=overrides(max_steps=4, eval_frequency=2, name="ner_smoke"),
                capture=True)
    stats = srsly.read_json(project_copy / "corpus/converted/sample/test.stats.json")
    assert stats["docs"] == 15 and stats["scheme"] == "iob1"
    report = srsly.read_json(project_copy / "metrics/sample-minilm.json")
    assert report["meta"]["n_docs"] == 15
    for suffix in ("md", "html", "predictions.conll"):
        assert (project_copy / f"metrics/sample-minilm.{suffix}").stat().st_size > 0
    dist = project_copy / "packages/en_ner_smoke-0.1.0/dist"
    assert (dist / "en_ner_smoke-0.1.0-py3-none-any.whl").is_file()
    meta = srsly.read_json(dist.parent / "meta.json")
    assert meta["performance"]["ents_f"] == pytest.approx(report["entity"]["micro"]["f1"])
    assert set(meta["performance"]["dev"]) == {"ents_f", "ents_p", "ents_r", "ents_per_type"}
    assert (project_copy / "training/check-venv/bin/python").is_file()
