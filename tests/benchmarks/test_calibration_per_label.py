"""benchmarks/calibration_per_label.py on the small scored model and the
sample corpus: the shared temperature is the one `nerkit calibrate` fits, each
label's own fits its entities at least as well on dev, and every row scores
the same entities."""
import json

import pytest
import spacy

from benchmarks.calibration_per_label import main
from benchmarks.data import gold_docs, load_split
from nerkit.calibrate import calibrate
from tests.components.test_token_ner import SAMPLE


def test_per_label_temperatures_fitted_on_dev(scored_model, tmp_path):
    out = tmp_path / "per_label"
    main([str(scored_model), str(SAMPLE / "dev.conll"), str(SAMPLE / "test.conll"), "--out", str(out)])
    result = json.loads(out.with_suffix(".json").read_text())
    plain, one, per_label = result["variants"]
    nlp = spacy.load(scored_model)
    fitted = calibrate(nlp, gold_docs(load_split(SAMPLE / "dev.conll"), nlp.vocab))["temperature"][1]
    assert set(plain["temperatures"].values()) == {1.0}
    assert list(one["temperatures"].values()) == pytest.approx([fitted] * len(one["temperatures"]), rel=1e-6)
    assert len(set(per_label["temperatures"].values())) > 1
    assert per_label["dev"]["nll"] <= one["dev"]["nll"] + 1e-6 < plain["dev"]["nll"]
    assert plain["test"]["n"] == one["test"]["n"] == per_label["test"]["n"] > 0
    md = out.with_suffix(".md").read_text()
    assert "| one temperature per label |" in md and "Machine:" in md
