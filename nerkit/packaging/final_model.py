"""The model to package, by rule (``nerkit final-model``): the final model,
trained on train + dev for the config's whole schedule (the length the
selection run was given on dev), copied to OUTPUT with its report. The test F1
of the final model and of the model selected on dev are written into its
meta.json side by side: reported, never used to choose (a choice by test score
would make the test score a maximum over candidates, not an estimate).

Used by the conll03 workflow: eng.train + eng.testa is packaged, the model
trained on eng.train alone and selected on eng.testa is its reference.
"""
import shutil
from pathlib import Path
from typing import Any, Dict, List

import srsly

RULE = ("the final model, trained on train + dev for the config's whole schedule; "
        "test F1 of both reported, not used to choose")


def report_f1(report: Path) -> float:
    """The entity micro F1 of an evaluation report (``nerkit evaluate``'s JSON)."""
    return srsly.read_json(report)["entity"]["micro"]["f1"]


def copy_final_model(
    output: Path,
    *,
    final: Path,
    final_report: Path,
    final_data: str,
    selected: Path,
    selected_report: Path,
    selected_data: str,
) -> List[Dict[str, Any]]:
    """Copy FINAL to OUTPUT (replaced) and FINAL_REPORT to OUTPUT.json; OUTPUT's
    meta.json gets ``nerkit``: what it was trained on, the rule, and both models.

    RETURNS (List[Dict[str, Any]]): The final and the selected model: ``model``,
        ``trained_on``, ``test_f1``, ``packaged``.
    """
    models = [{"model": str(final), "trained_on": final_data, "test_f1": report_f1(final_report), "packaged": True},
              {"model": str(selected), "trained_on": selected_data, "test_f1": report_f1(selected_report),
               "packaged": False}]
    if output.exists():
        shutil.rmtree(output)
    shutil.copytree(final, output)
    meta = srsly.read_json(output / "meta.json")
    meta["nerkit"] = {"trained_on": final_data, "chosen_by": RULE, "models": models}
    srsly.write_json(output / "meta.json", meta)
    shutil.copyfile(final_report, output.with_suffix(".json"))
    return models
