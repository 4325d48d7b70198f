"""A pipeline with nerkit's token head, packaged and installed into a fresh
virtual environment: spacy.load works there, offline, with the same entities."""
import subprocess
import sys

import spacy
import srsly
from spacy.tokens import DocBin

from .components.test_token_ner import config_with_tiny_bert, sample_examples, train
from .conftest import ROOT

TEXT = "Peter Blackburn said on Friday that Siemens would cut 300 jobs in Germany ."


def run_script(name: str, *args) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / name), *map(str, args)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_token_head_wheel_loads_in_a_fresh_venv(tiny_bert, tmp_path):
    nlp = spacy.util.load_model_from_config(config_with_tiny_bert("minilm_tokner.cfg", tiny_bert), auto_fill=True)
    examples = sample_examples(nlp, n=3, max_tokens=40)
    train(nlp, examples, steps=3)
    model, test_set = tmp_path / "model", tmp_path / "test.spacy"
    nlp.to_disk(model)
    DocBin(docs=[eg.reference for eg in examples]).to_disk(test_set)
    run_script("evaluate.py", model, test_set, tmp_path / "metrics" / "tiny", "--bootstrap", "10")
    run_script("package.py", model, tmp_path / "metrics" / "tiny.json", tmp_path / "packages",
               "--name", "tokner_tiny", "--version", "0.0.1")
    dist = tmp_path / "packages" / "en_tokner_tiny-0.0.1" / "dist"
    assert any(req.startswith("nerkit") for req in srsly.read_json(dist.parent / "meta.json")["requirements"])
    assert sorted(p.name.split("-")[0] for p in dist.glob("*.whl")) == ["en_tokner_tiny", "nerkit"]
    result = run_script("check_package.py", dist, "en_tokner_tiny", tmp_path / "venv",
                        "--reference", model, "--text", TEXT)
    assert "Same entities as the trained pipeline" in result.stdout
    # the fresh environment has nerkit from the wheel, not this checkout
    where = subprocess.run([tmp_path / "venv" / "bin" / "python", "-c", "import nerkit; print(nerkit.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, check=True)
    assert str(tmp_path / "venv") in where.stdout
