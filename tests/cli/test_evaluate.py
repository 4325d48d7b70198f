"""nerkit evaluate end to end on a tiny entity_ruler pipeline: the report
files, the predictions file, --conlleval (the scoring itself:
tests/scoring/test_evaluate.py)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from spacy.tokens import DocBin

from tests.scoring.test_evaluate import EXPECTED_PREDICTIONS, REQUIRED, lookup, make_docs, make_nlp

ROOT = Path(__file__).resolve().parents[2]
EVALUATE = [sys.executable, "-m", "nerkit.cli", "evaluate"]


@pytest.fixture
def assets(tmp_path):
    nlp = make_nlp()
    nlp.to_disk(tmp_path / "model")
    DocBin(docs=make_docs(nlp.vocab)).to_disk(tmp_path / "test.spacy")
    return tmp_path


def test_cli_end_to_end(assets):
    out = assets / "metrics" / "sample"
    cmd = [*EVALUATE, str(assets / "model"), str(assets / "test.spacy"),
           str(out), "--predictions", str(assets / "pred.conll"), "--bootstrap", "200",
           "--n-examples", "5", "--batch-size", "2"]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    paths = [out.with_name(f"sample.{ext}") for ext in ("json", "md", "html")]
    assert all(p.exists() for p in paths)
    report = json.loads(paths[0].read_text(encoding="utf8"))
    for key in REQUIRED:
        lookup(report, key)
    micro = report["entity"]["micro"]
    assert (micro["precision"], micro["recall"], micro["f1"]) == pytest.approx((2 / 3, 1 / 2, 4 / 7))
    assert report["meta"]["n_docs"] == 3 and report["meta"]["n_words"] == 15
    assert report["spacy_scorer"]["agrees"]
    assert report["spacy_scorer"]["ents_f"] == pytest.approx(4 / 7)
    assert report["bootstrap"]["n_samples"] == 200 and report["speed"]["batch_size"] == 2
    assert report["speed"]["words_per_second"] > 0
    low, high = report["bootstrap"]["f1_ci95"]
    assert low <= micro["f1"] <= high
    # doc 1 ("York" LOC → ORG: fp + fn) has the most errors, then "Mary" (fn)
    assert [(e["doc"], e["n_errors"]) for e in report["examples"]] == [(1, 2), (0, 1)]
    md = paths[1].read_text(encoding="utf8")
    assert "| **micro** | 66.67 | 50.00 | 57.14 | 4 |" in md
    assert "Token level" in md and "not 97% entity F1" in md
    html = paths[2].read_text(encoding="utf8")
    assert 'class="entities"' in html and "<mark" in html and "words/s" in html
    assert "| **micro** | 66.67 | 50.00 | 57.14 | 4 |" in result.stdout
    assert (assets / "pred.conll").read_text(encoding="utf8") == EXPECTED_PREDICTIONS


def test_cli_requires_existing_test_data(assets):
    cmd = [*EVALUATE, str(assets / "model"), str(assets / "nope.spacy"), str(assets / "x")]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert result.returncode != 0
    assert not (assets / "x.json").exists()


def test_cli_checks_conlleval(assets):
    conlleval = f"{sys.executable} -m conlleval /dev/stdin"
    cmd = [*EVALUATE, str(assets / "model"), str(assets / "test.spacy"), str(assets / "r"),
           "--predictions", str(assets / "p.conll"), "--conlleval", conlleval, "--bootstrap", "0"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    check = json.loads((assets / "r.json").read_text(encoding="utf8"))["conlleval"]
    assert check["agrees"] and check["correct"] == 2 and check["found"] == 3 and check["gold"] == 4
    no_predictions = cmd[:7] + cmd[9:]
    proc = subprocess.run(no_predictions, capture_output=True, text=True)
    assert proc.returncode == 1 and "needs --predictions" in proc.stdout + proc.stderr
