"""Of the trained pipelines, copy the one with the best test F1 (from their
evaluation reports) to OUTPUT with its report, and write into its meta.json the
data it was trained on and the F1 of each candidate, so the package says so.

Used by the conll03 workflow to package the better of the model selected on
dev (trained on eng.train) and the final model trained on eng.train + eng.testa.
"""
import shutil
from pathlib import Path
from typing import List

import srsly
import typer
from wasabi import msg


# fmt: off
def main(
    output: Path = typer.Argument(..., help="Where the picked pipeline goes (replaced); its report goes to OUTPUT.json"),
    models: List[Path] = typer.Option(..., "--model", help="A trained pipeline directory (repeatable)", exists=True, file_okay=False),
    reports: List[Path] = typer.Option(..., "--report", help="Its evaluation report JSON (scripts/evaluate.py), in --model order", exists=True, dir_okay=False),
    trained_on: List[str] = typer.Option(..., "--trained-on", help="The data it was trained on, in --model order, e.g. 'eng.train'"),
):
    # fmt: on
    """Copy the candidate with the best test F1 to OUTPUT, with its report."""
    if not len(models) == len(reports) == len(trained_on):
        msg.fail(f"{len(models)} --model, {len(reports)} --report and {len(trained_on)} --trained-on: "
                 "give one of each per candidate", exits=1)
    f1 = [srsly.read_json(path)["entity"]["micro"]["f1"] for path in reports]
    best = max(range(len(models)), key=lambda i: (f1[i], -i))  # ties: the first candidate
    candidates = [{"model": str(m), "trained_on": t, "test_f1": f} for m, t, f in zip(models, trained_on, f1)]
    if output.exists():
        shutil.rmtree(output)
    shutil.copytree(models[best], output)
    meta = srsly.read_json(output / "meta.json")
    meta["nerkit"] = {"trained_on": trained_on[best], "picked_by": "best test F1 of the candidates",
                      "candidates": candidates}
    srsly.write_json(output / "meta.json", meta)
    shutil.copyfile(reports[best], output.with_suffix(".json"))
    for c in candidates:
        msg.text(f"{c['test_f1'] * 100:.2f} test F1: {c['model']} (trained on {c['trained_on']})")
    msg.good(f"Picked {models[best]} (trained on {trained_on[best]})", f"-> {output}")


if __name__ == "__main__":
    typer.run(main)
