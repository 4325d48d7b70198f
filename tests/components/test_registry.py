"""Registered names resolve (also through entry points, in a fresh process
without importing nerkit) and every config in configs/ builds a pipeline."""
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import spacy
from spacy.util import load_config, load_model_from_config

import nerkit.components  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / "configs").glob("*.cfg"))
ARCHITECTURES = ["nerkit.TokenTagger.v1", "nerkit.CaseAwareListener.v1"]
FACTORIES = ["nerkit_token_ner"]


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_architecture_resolves(name):
    assert callable(spacy.registry.architectures.get(name))


@pytest.mark.parametrize("name", FACTORIES)
def test_factory_resolves(name):
    assert callable(spacy.registry.factories.get(name))
    meta = spacy.Language.get_factory_meta(name)
    assert "doc.ents" in meta.assigns
    assert meta.default_score_weights["ents_f"] == 1.0


def test_entry_points_declared():
    factories = {ep.name: ep.value for ep in entry_points(group="spacy_factories")}
    assert factories.get("nerkit_token_ner") == "nerkit.components.token_ner:make_token_ner"
    archs = {ep.name: ep.value for ep in entry_points(group="spacy_architectures")}
    for name in ARCHITECTURES:
        assert archs.get(name, "").startswith("nerkit.components.models:"), name


def test_names_resolve_without_importing_nerkit():
    code = (
        "import sys, spacy\n"
        "assert not any(m.startswith('nerkit') for m in sys.modules)\n"
        f"for name in {ARCHITECTURES!r}: spacy.registry.architectures.get(name)\n"
        "nlp = spacy.blank('en'); nlp.add_pipe('nerkit_token_ner')\n"
        "print(nlp.pipe_names)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert result.returncode == 0, result.stderr
    assert "nerkit_token_ner" in result.stdout


def test_configs_exist():
    names = {path.name for path in CONFIGS}
    assert {"minilm.cfg", "minilm_tokner.cfg", "minilm_case.cfg", "minilm_tokner_case.cfg", "cnn.cfg"} <= names


@pytest.mark.parametrize("path", CONFIGS, ids=[path.stem for path in CONFIGS])
def test_config_builds(path, tiny_bert):
    config = load_config(path)
    assert config["paths"]["train"] is None and config["paths"]["dev"] is None
    if "transformer" in config["components"]:
        config["components"]["transformer"]["model"]["name"] = str(tiny_bert)
    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    assert nlp.pipe_names == config["nlp"]["pipeline"]
    assert "ner" in nlp.pipe_names
    assert nlp.get_pipe_meta("ner").default_score_weights.get("ents_f") == 1.0


def test_variant_configs_differ_from_minilm_only_in_ner():
    """The fair-comparison promise: outside [components.ner] (and the header
    comment) the minilm_* configs are minilm.cfg."""
    base = load_config(ROOT / "configs" / "minilm.cfg", interpolate=False)
    for name in ("minilm_tokner", "minilm_case", "minilm_tokner_case"):
        other = load_config(ROOT / "configs" / f"{name}.cfg", interpolate=False)
        assert {k: v for k, v in other.items() if k != "components"} == {
            k: v for k, v in base.items() if k != "components"
        }, name
        assert other["components"]["transformer"] == base["components"]["transformer"], name
        assert other["components"]["ner"] != base["components"]["ner"], name
    cnn = load_config(ROOT / "configs" / "cnn.cfg", interpolate=False)
    assert cnn["training"].keys() == base["training"].keys()
    assert cnn["initialize"].get("before_init") is None


def declared_entry_points():
    """(group, name, "module:function") of every spaCy entry point pyproject.toml declares."""
    import tomllib

    groups = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf8"))["project"]["entry-points"]
    return [(group, name, value) for group, points in groups.items() if group.startswith("spacy_")
            for name, value in points.items()]


def test_every_declared_entry_point_is_installed_and_resolves_in_spacy():
    """Each entry point in pyproject.toml is in the installed metadata (no stale install) and spaCy's
    registry of its group gives the declared function, in a fresh process that does not import nerkit."""
    declared = declared_entry_points()
    assert len(declared) >= 13 and {g for g, _, _ in declared} >= {"spacy_factories", "spacy_architectures",
                                                                    "spacy_callbacks", "spacy_loggers",
                                                                    "spacy_readers"}
    for group, name, value in declared:
        assert {ep.name: ep.value for ep in entry_points(group=group)}.get(name) == value, (group, name)
    code = (
        "import importlib, json, sys, spacy\n"
        "assert not any(m.startswith('nerkit') for m in sys.modules)\n"
        "spacy.blank('en')  # a Language loads the factories' entry points\n"
        "bad = []\n"
        f"for group, name, value in {declared!r}:\n"
        "    module, attr = value.split(':')\n"
        "    found = getattr(spacy.registry, group[len('spacy_'):]).get(name)\n"
        "    if found is not getattr(importlib.import_module(module), attr): bad.append((group, name))\n"
        "print(json.dumps(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
