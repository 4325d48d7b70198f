"""``nerkit final-model OUTPUT --final ... --selected ...``: the model to
package, by rule: the final (train + dev) model, with both models' test F1 in
its meta.json (``nerkit.packaging.final_model``)."""
from pathlib import Path

import typer
from wasabi import msg


def final_model_command(
    # fmt: off
    output: Path = typer.Argument(..., help="Where the packaged pipeline goes (replaced); its report goes to OUTPUT.json"),
    final: Path = typer.Option(..., "--final", help="The final pipeline (trained on train + dev, model-last)", exists=True, file_okay=False),
    final_report: Path = typer.Option(..., "--final-report", help="Its evaluation report on test (nerkit evaluate)", exists=True, dir_okay=False),
    final_data: str = typer.Option(..., "--final-data", help="What it was trained on, e.g. 'eng.train + eng.testa'"),
    selected: Path = typer.Option(..., "--selected", help="The pipeline selected on dev (trained on train, model-best)", exists=True, file_okay=False),
    selected_report: Path = typer.Option(..., "--selected-report", help="Its evaluation report on test", exists=True, dir_okay=False),
    selected_data: str = typer.Option(..., "--selected-data", help="What it was trained on, e.g. 'eng.train'"),
    # fmt: on
) -> None:
    """Copy FINAL to OUTPUT with its report; its meta says the rule and both test scores."""
    from nerkit.packaging.final_model import copy_final_model

    models = copy_final_model(output, final=final, final_report=final_report, final_data=final_data,
                              selected=selected, selected_report=selected_report, selected_data=selected_data)
    for m in models:
        msg.text(f"{m['test_f1'] * 100:.2f} test F1: {m['model']} (trained on {m['trained_on']})")
    msg.good(f"Packaging {final} (trained on {final_data}) by rule", f"-> {output}")
