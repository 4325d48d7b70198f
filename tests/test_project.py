"""project.yml: complete deps, real overrides, clear errors, and the `all` workflow end to end."""
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Optional, Tuple

import pytest
import spacy
import srsly
from spacy.util import load_config
from weasel.cli.run import project_run
from weasel.util import load_project_config

from .conftest import ROOT, tiny_search_config
from .shapes import SHAPES, write_corpus

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


def test_commands_call_nerkit_verbs_or_project_helpers():
    """Every step is `python -m nerkit.cli VERB` (a verb the app has), spaCy's own
    command, or a file of this checkout (scripts/ keeps only project helpers)."""
    from typer.main import get_command

    from nerkit.cli import app

    verbs = set(get_command(app).commands)
    raw = srsly.read_yaml(ROOT / "project.yml")
    for command in raw["commands"]:
        for line in command["script"]:
            argv = line.split()
            assert argv[0] == "python", line
            if argv[1:3] == ["-m", "nerkit.cli"]:
                assert argv[3] in verbs, f"{command['name']}: no verb {argv[3]!r} in nerkit.cli"
            elif argv[1] != "-m":
                assert (ROOT / argv[1]).is_file(), f"{command['name']}: no {argv[1]}"
            assert not re.search(r"scripts/(convert|evaluate|package|final_model|check_data|check_package|train)\.py",
                                 line), f"{command['name']}: moved to nerkit.cli: {line}"


def test_file_vars_are_deps_one_each():
    files = {"train_file": "/data/train.tsv", "dev_file": "dev.txt", "test_file": "t/test.conll"}
    config = load_project_config(ROOT, overrides=overrides(**files))
    convert = next(command for command in config["commands"] if command["name"] == "convert")
    assert set(files.values()) <= set(convert["deps"])


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
    """The project's own files in a temp dir, so runs leave the checkout alone. The whole nerkit
    package comes along: project.yml's deps name files in it, and `python -m nerkit.cli` finds the
    package in the working directory first (a part of it there would shadow the installed one)."""
    for name in ("project.yml", "configs", "scripts", "corpus/sample", "nerkit"):
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


def smoke_config(project: Path, model: Optional[Path] = None) -> str:
    """The default config with a schedule that finds entities in 10 steps (no
    warmup, rate 1e-3, batches of 500 padded tokens), as configs/smoke.cfg: with
    the configs' 100 warmup steps, a few steps predict no entity at all. With
    `model` (the tiny BERT), configs/tiny.cfg with that transformer instead."""
    config = load_config(project / "configs" / f"{VARS['config']}.cfg")
    config["training"]["optimizer"]["learn_rate"].update(warmup_steps=0, initial_rate=0.001)
    config["training"]["batcher"]["size"] = 500
    name = "smoke" if model is None else "tiny"
    if model is not None:
        config["components"]["transformer"]["model"]["name"] = str(model)
    config.to_disk(project / "configs" / f"{name}.cfg")
    return name


def test_all_workflow_smoke(project_copy, capfd):
    """convert → train (10 steps) → evaluate → package → install in a fresh venv and load,
    with the same entities on a training sentence (not none) as the trained pipeline."""
    text = "John Castillo said on Saturday that Microsoft would cut 300 jobs in Poland ."
    config = smoke_config(project_copy)
    project_run(project_copy, "all", overrides=overrides(config=config, max_steps=10, eval_frequency=10,
                                                          name="ner_smoke", check_text=text))
    output = capfd.readouterr().out  # the commands write to this process's stdout
    stats = srsly.read_json(project_copy / "corpus/converted/ner_smoke/test.stats.json")
    assert stats["docs"] == 15 and stats["scheme"] == "iob1"
    report = srsly.read_json(project_copy / f"metrics/ner_smoke-{config}.json")
    assert report["meta"]["n_docs"] == 15
    for suffix in ("md", "html", "predictions.conll"):
        assert (project_copy / f"metrics/ner_smoke-{config}.{suffix}").stat().st_size > 0
    dist = project_copy / "packages/en_ner_smoke-0.1.0/dist"
    assert (dist / "en_ner_smoke-0.1.0-py3-none-any.whl").is_file()
    meta = srsly.read_json(dist.parent / "meta.json")
    assert meta["performance"]["ents_f"] == pytest.approx(report["entity"]["micro"]["f1"])
    assert set(meta["performance"]["dev"]) == {"ents_f", "ents_p", "ents_r", "ents_per_type"}
    assert not any(req.startswith("nerkit") for req in meta["requirements"])
    assert (project_copy / "training/check-venv/bin/python").is_file()
    # check-package: the entity table is not "(none)" and matches the trained pipeline
    expected = [e.text for e in spacy.load(project_copy / f"training/ner_smoke/{config}/model-best")(text).ents]
    assert expected, "the smoke model should predict entities on its training sentence"
    checked = output[output.index("Loaded in a fresh environment, offline, without nerkit"):]
    assert "(none)" not in checked and all(ent in checked for ent in expected)
    assert "Same entities as the trained pipeline" in checked
    assert "Same entities beside blank texts, in 2 processes, unpickled" in " ".join(checked.split())  # wasabi wraps at 80
    assert "nerkit_token_ner from: en_ner_smoke.nerkit_components.token_ner" in checked
    assert "nerkit_token_ner from: nerkit.components.token_ner" in checked
    # int8: quantize → score → package → fresh venv, the same entities as the int8 pipeline, a smaller wheel
    project_run(project_copy, "int8", overrides=overrides(config=config, name="ner_smoke", check_text=text))
    output = capfd.readouterr().out
    int8_wheel = project_copy / "packages/en_ner_smoke_int8-0.1.0/dist/en_ner_smoke_int8-0.1.0-py3-none-any.whl"
    assert int8_wheel.stat().st_size < 0.5 * (dist / "en_ner_smoke-0.1.0-py3-none-any.whl").stat().st_size
    int8_report = srsly.read_json(project_copy / f"metrics/ner_smoke-{config}-int8.json")
    assert srsly.read_json(int8_wheel.parents[1] / "meta.json")["performance"]["ents_f"] == pytest.approx(
        int8_report["entity"]["micro"]["f1"])
    checked = output[output.index("Loaded in a fresh environment, offline, without nerkit"):]
    assert "Same entities as the trained pipeline" in checked and "(none)" not in checked


def train_own_data(project: Path, tiny_bert: Path, shape: str, commands: Tuple[str, ...]) -> str:
    """Run the commands (convert → train for 2 epochs, sized from the data →
    evaluate → package) on a corpus of the shape (tests/shapes.py) with the tiny
    BERT, by vars only; returns the package name."""
    files = write_corpus(project / "mydata", shape)
    name = f"ner_{shape.replace('-', '_')}"
    values = overrides(train_file=str(files["train"]), dev_file=str(files["dev"]), test_file=str(files["test"]),
                       name=name, config=smoke_config(project, model=tiny_bert), n_sents=5, epochs=2)
    for command in commands:
        project_run(project, command, overrides=values)
    return name


def check_own_data(project: Path, name: str, shape: str) -> None:
    """Outputs under the name's folders, documents of n_sents sentences, the
    schedule of 2 epochs, the corpus's labels in the trained pipeline."""
    labels = sorted(SHAPES[shape].labels)
    stats = srsly.read_json(project / f"corpus/converted/{name}/train.stats.json")
    assert sorted(stats["entities"]) == labels and stats["scheme"] == SHAPES[shape].scheme
    assert stats["docs"] == (1 if SHAPES[shape].docstart else 12)  # 60 sentences, n_sents 5
    model = project / f"training/{name}/tiny/model-best"
    training = load_config(model / "config.cfg")["training"]
    assert training["max_steps"] == 2 * training["eval_frequency"]  # 2 epochs, evaluated once an epoch
    assert sorted(srsly.read_json(model / "meta.json")["labels"]["ner"]) == labels
    n_test_docs = 1 if SHAPES[shape].docstart else 4  # 20 sentences
    assert srsly.read_json(project / f"metrics/{name}-tiny.json")["meta"]["n_docs"] == n_test_docs


def test_own_data_by_vars(project_copy, tiny_bert, capfd):
    """A corpus in every shape at once (two tab-separated columns, tab-only
    separator lines, no -DOCSTART-, lower-case labels with hyphens, BIOES),
    trained and scored by setting vars, with the schedule and the time per
    evaluation printed. Packaging: test_own_data_packaged."""
    name = train_own_data(project_copy, tiny_bert, "social", ("convert", "train", "evaluate"))
    check_own_data(project_copy, name, "social")
    output = capfd.readouterr().out
    assert "steps an epoch" in output and "since the last evaluation" in output


@pytest.mark.slow
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_own_data_packaged(project_copy, tiny_bert, shape):
    """Each shape through convert → train → evaluate → package; the package lists the corpus's labels."""
    name = train_own_data(project_copy, tiny_bert, shape, ("convert", "train", "evaluate", "package"))
    check_own_data(project_copy, name, shape)
    package = project_copy / f"packages/en_{name}-0.1.0"
    assert (package / f"dist/en_{name}-0.1.0-py3-none-any.whl").is_file()
    assert sorted(srsly.read_json(package / "meta.json")["labels"]["ner"]) == sorted(SHAPES[shape].labels)


def test_search_command_on_the_sample(project_copy, tiny_bert):
    """`spacy project run search` on the converted sample with the shipped space
    file, on the tiny BERT: 2 trials of 2 steps (resuming: tests/search)."""
    pytest.importorskip("optuna")
    tiny_search_config(tiny_bert, project_copy / "configs" / "tiny.cfg")
    project_run(project_copy, "convert", capture=True)
    values = overrides(config="tiny", search_trials=2, search_steps=2, search_eval_frequency=2)
    project_run(project_copy, "search", overrides=values, capture=True)
    output = project_copy / f"training/search/{VARS['name']}-tiny"
    data = srsly.read_json(output / "results.json")
    assert [row["trial"] for row in data["trials"]] == [0, 1] and data["best"] is not None
    assert data["settings"]["train"] == f"corpus/converted/{VARS['name']}/train.spacy"
    best = load_config(output / "best.cfg")
    assert best["training"]["dropout"] == data["best"]["params"]["training.dropout"]
    assert (output / "plot.png").is_file() and (output / "results.md").is_file()
