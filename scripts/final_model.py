"""The model to package, by rule: the final model, trained on train + dev for
the config's whole schedule (the length the selection run was given on dev),
copied to OUTPUT with its report. The test F1 of the final model and of the
model selected on dev are written into its meta.json side by side: reported,
never used to choose (a choice by test score would make the test score a
maximum over candidates, not an estimate).

Used by the conll03 workflow: eng.train + eng.testa is packaged, the model
trained on eng.train alone and selected on eng.testa is its reference.
"""
import shutil
from pathlib import Path

import srsly
import typer
from wasabi import msg

RULE = ("the final model, trained on train + dev for the config's whole schedule; "
        "test F1 of both reported, not used to choose")


def test_f1(report: Path) -> float:
    return srsly.read_json(report)["entity"]["micro"]["f1"]


# fmt: off
def main(
    output: Path = typer.Argument(..., help="Where the packaged pipeline goes (replaced); its report goes to OUTPUT.json"),
    final: Path = typer.Option(..., "--final", help="The final pipeline (trained on train + dev, model-last)", exists=True, file_okay=False),
    final_report: Path = typer.Option(..., "--final-report", help="Its evaluation report on test (scripts/evaluate.py)", exists=True, dir_okay=False),
    final_data: str = typer.Option(..., "--final-data", help="What it was trained on, e.g. 'eng.train + eng.testa'"),
    selected: Path = typer.Option(..., "--selected", help="The pipeline selected on dev (trained on train, model-best)", exists=True, file_okay=False),
    selected_report: Path = typer.Option(..., "--selected-report", help="Its evaluation report on test", exists=True, dir_okay=False),
    selected_data: str = typer.Option(..., "--selected-data", help="What it was trained on, e.g. 'eng.train'"),
):
    # fmt: on
    """Copy FINAL to OUTPUT with its report; its meta says the rule and both test scores."""
    models = [{"model": str(final), "trained_on": final_data, "test_f1": test_f1(final_report), "packaged": True},
              {"model": str(selected), "trained_on": selected_data, "test_f1": test_f1(selected_report),
               "packaged": False}]
    if output.exists():
        shutil.rmtree(output)
    shutil.copytree(final, output)
    meta = srsly.read_json(output / "meta.json")
    meta["nerkit"] = {"trained_on": final_data, "chosen_by": RULE, "models": models}
    srsly.write_json(output / "meta.json", meta)
    shutil.copyfile(final_report, output.with_suffix(".json"))
    for m in models:
        msg.text(f"{m['test_f1'] * 100:.2f} test F1: {m['model']} (trained on {m['trained_on']})")
    msg.good(f"Packaging {final} (trained on {final_data}) by rule", f"-> {output}")


if __name__ == "__main__":
    typer.run(main)
