"""A pipeline with nerkit's token head, packaged and installed into a fresh
virtual environment with `pip install torch==2.13.0 <wheel>` alone: spacy.load
works there, offline and without nerkit, with the same (non-empty) entities,
and beside an installed nerkit too."""
import os
import subprocess
import sys

import spacy
import srsly
from spacy.tokens import DocBin

from .components.test_token_ner import config_with_tiny_bert, sample_examples, train


def nerkit_command(verb: str, *args) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "nerkit.cli", verb, *map(str, args)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_token_head_wheel_loads_in_a_fresh_venv(tiny_bert, tmp_path):
    nlp = spacy.util.load_model_from_config(config_with_tiny_bert("minilm_tokner.cfg", tiny_bert), auto_fill=True)
    examples = sample_examples(nlp, n=3, max_tokens=40)
    train(nlp, examples, steps=30, lr=0.01)  # enough to find the entities of a text it was trained on
    text = examples[1].x.text
    expected = [(e.text, e.label_) for e in nlp(text).ents]
    assert expected, "the trained pipeline should predict entities on its training text"
    model, test_set = tmp_path / "model", tmp_path / "test.spacy"
    nlp.to_disk(model)
    DocBin(docs=[eg.reference for eg in examples]).to_disk(test_set)
    nerkit_command("evaluate", model, test_set, tmp_path / "metrics" / "tiny", "--bootstrap", "10")
    nerkit_command("package", model, tmp_path / "metrics" / "tiny.json", tmp_path / "packages",
               "--name", "tokner_tiny", "--version", "0.0.1")
    dist = tmp_path / "packages" / "en_tokner_tiny-0.0.1" / "dist"
    # nerkit's components travel inside the package, so nerkit is no requirement
    assert not any(req.startswith("nerkit") for req in srsly.read_json(dist.parent / "meta.json")["requirements"])
    assert [p.name for p in dist.iterdir()] == ["en_tokner_tiny-0.0.1-py3-none-any.whl"]
    result = nerkit_command("check-package", dist, "en_tokner_tiny", tmp_path / "venv",
                        "--reference", model, "--text", text)
    assert "Same entities as the trained pipeline" in result.stdout
    assert "(none)" not in result.stdout
    assert all(ent in result.stdout for ent, _ in expected)
    # the fresh environment used the package's copy; beside nerkit, nerkit's own registrations
    assert "nerkit_token_ner from: en_tokner_tiny.nerkit_components.token_ner" in result.stdout
    assert "nerkit_token_ner from: nerkit.components.token_ner" in result.stdout
    outside = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}  # the venv alone
    where = subprocess.run([tmp_path / "venv" / "bin" / "python", "-c", "import nerkit"],
                           capture_output=True, text=True, cwd=tmp_path, env=outside)
    assert where.returncode != 0 and "No module named 'nerkit'" in where.stderr
