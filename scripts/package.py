"""Package a trained pipeline as a wheel, with its test scores in meta.json.

The scores come from the evaluation report (nerkit's conlleval-exact scorer on
the test set) and become meta.json's `performance`; spaCy's dev scores from
training move under `performance.dev`. If the pipeline uses nerkit's own
components, spaCy lists `nerkit` among the package's requirements, so nerkit's
wheel is built into the same dist/ folder: `pip install --find-links dist/
dist/<pipeline>.whl` then installs both.
"""
import subprocess
import sys
from pathlib import Path

import srsly
import typer
from spacy.cli.package import package
from wasabi import msg

import nerkit
from nerkit.scoring import headline

# nerkit is installed editable from this checkout: build its wheel from there
NERKIT_SOURCE = Path(nerkit.__file__).resolve().parent.parent


# fmt: off
def main(
    model_path: Path = typer.Argument(..., help="Trained pipeline directory (e.g. training/.../model-best)", exists=True, file_okay=False),
    metrics_path: Path = typer.Argument(..., help="Evaluation report JSON from scripts/evaluate.py", exists=True, dir_okay=False),
    output_dir: Path = typer.Argument(..., help="Where the package folder goes (packages/)"),
    name: str = typer.Option(..., "--name", help="Package name without the language prefix"),
    version: str = typer.Option(..., "--version", help="Package version"),
):
    # fmt: on
    """Build packages/<lang>_<name>-<version>/dist/*.whl with test scores in meta.json."""
    meta = srsly.read_json(model_path / "meta.json")
    report = srsly.read_json(metrics_path)
    # The package's headline scores are the test set's; spaCy's dev scores from training stay under "dev".
    dev = {key: value for key, value in meta.get("performance", {}).items() if key.startswith("ents_")}
    meta["performance"] = {**headline(report), "dev": dev}
    meta["description"] = (
        f"NER pipeline built with nerkit. Test set: {report['meta']['test_data']} "
        f"(entity F1 {report['entity']['micro']['f1']:.4f}, conlleval-exact)."
    )
    meta_path = model_path.parent / "meta-package.json"
    srsly.write_json(meta_path, meta)
    output_dir.mkdir(parents=True, exist_ok=True)
    package(model_path, output_dir, meta_path=meta_path, name=name, version=version,
            create_sdist=False, create_wheel=True, force=True, silent=False)
    dist = output_dir / f"{meta['lang']}_{name}-{version}" / "dist"
    requirements = srsly.read_json(dist.parent / "meta.json")["requirements"]
    if any(req.startswith("nerkit") for req in requirements):
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(NERKIT_SOURCE)],
                       check=True)
        msg.good("The pipeline uses nerkit's components: built nerkit's wheel beside it", dist)
    msg.good(f"Packaged {meta['lang']}_{name} {version}", dist)


if __name__ == "__main__":
    typer.run(main)
