"""benchmarks/calibration.py on the small scored model and the sample corpus:
the temperature is fitted on dev only, the final model takes it by rule, and
the cost rows time scores on and off."""
import json

import pytest

from benchmarks.calibration import at_threshold, main
from tests.components.test_token_ner import SAMPLE


def test_at_threshold_reads_the_table_row():
    cal = {"thresholds": [{"threshold": 0.5, "n_kept": 8, "precision": 0.75, "recall": 0.6},
                          {"threshold": 0.9, "n_kept": 5, "precision": 1.0, "recall": 0.5}]}
    assert at_threshold(cal, n_pred=10) == {"threshold": 0.9, "precision": 1.0, "recall": 0.5, "share_kept": 0.5}


def test_fits_on_dev_and_carries_the_temperature(scored_model, tmp_path):
    out = tmp_path / "calibration"
    main(["--selected", str(scored_model), "--final", str(scored_model), "--dev", str(SAMPLE / "dev.conll"),
          "--test", str(SAMPLE / "test.conll"), "--limit-sents", "40", "--repeats", "1", "--out", str(out)])
    result = json.loads(out.with_suffix(".json").read_text())
    selected, final = result["rows"]
    fitted = selected["fit"]["temperature"][1]
    assert selected["fit"]["temperature"][0] == 1.0 and fitted != pytest.approx(1.0)
    assert selected["fitted_on"].endswith("dev.conll") and f"{fitted:.4f}" in final["fitted_on"]
    assert final["test_after"]["ece"] == pytest.approx(selected["test_after"]["ece"])  # same model, same temperature
    for row in (selected, final):
        assert row["test_before"]["n_scored"] == row["test_before"]["n_pred_ents"] > 0
        assert row["cost"]["words_per_second_scores_on"] > 0 and row["cost"]["words_per_second_scores_off"] > 0
    md = out.with_suffix(".md").read_text()
    assert f"| selected | train | {fitted:.3f} |" in md and "| final | train + dev |" in md
    assert "Machine:" in md
