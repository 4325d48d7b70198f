"""Calibration figures: ECE over 10 bins and precision/recall by threshold on
known numbers, and the report's calibration section (null without scores)."""
from xml.etree import ElementTree

import pytest
import spacy
from spacy.tokens import Doc, Span

from nerkit.scoring import build_report, render_markdown, write_report
from nerkit.scoring.calibration import reliability, scored_outcomes, threshold_table
from nerkit.scoring.calibration_plot import calibration_svg, reliability_points, threshold_curves


def test_ece_on_known_bins():
    # bin [0.9, 1.0]: scores 0.95, 1.0, right 1 of 2 -> |0.5 - 0.975|; bin [0.2, 0.3): 0.25, wrong -> 0.25
    ece, bins = reliability([0.95, 1.0, 0.25], [True, False, False])
    assert ece == pytest.approx(2 / 3 * 0.475 + 1 / 3 * 0.25)
    assert [b["n"] for b in bins] == [0, 0, 1, 0, 0, 0, 0, 0, 0, 2]
    assert bins[9]["accuracy"] == 0.5 and bins[0]["mean_score"] is None
    assert reliability([0.05, 0.55], [False, True])[0] == pytest.approx(0.5 * 0.05 + 0.5 * 0.45)
    assert reliability([], [])[0] == 0.0


def test_threshold_table():
    rows = threshold_table([0.9, 0.6, 0.3, None], [True, True, False, True], n_gold=5, thresholds=(0.0, 0.5, 0.95))
    assert [(r["n_kept"], r["precision"], r["recall"]) for r in rows] == [(4, 0.75, 0.6), (3, 1.0, 0.6), (1, 1.0, 0.2)]


def _doc(nlp, ents):
    return Doc(nlp.vocab, words=["Peter", "met", "Anna", "in", "Rome"], ents=ents)


def test_report_section(scored_model):
    nlp = spacy.blank("en")
    gold = [_doc(nlp, ["B-PER", "O", "B-PER", "O", "B-LOC"])]
    pred = [_doc(nlp, ["B-PER", "O", "O", "O", "B-ORG"])]
    assert scored_outcomes(gold, pred) == ([None, None], [True, False], 3)
    report = build_report(gold, pred, n_bootstrap=10)
    assert report["calibration"] is None and "Calibration" not in render_markdown(report)
    scored = spacy.load(scored_model)
    text = "Thomas Kowalski visited Microsoft in Paris ."
    pred = [scored(text)]
    gold = [Doc(scored.vocab, words=[t.text for t in pred[0]])]
    gold[0].ents = [Span(gold[0], e.start, e.end, label=e.label_) for e in pred[0].ents]  # all correct
    report = build_report(gold, pred, n_bootstrap=10)
    cal = report["calibration"]
    assert cal["n_scored"] == len(pred[0].ents) > 0 and cal["n_unscored"] == 0
    assert cal["thresholds"][0]["precision"] == 1.0 == cal["thresholds"][0]["recall"]
    scores = [e._.score for e in pred[0].ents]
    assert cal["ece"] == pytest.approx(sum(1 - s for s in scores) / len(scores))  # all correct
    markdown = render_markdown(report)
    assert "## Calibration (entity scores)" in markdown and "## Precision and recall by score threshold" in markdown


def _section():
    scores, outcomes = [0.95, 0.92, 0.35, 0.3], [True, True, False, True]
    ece, bins = reliability(scores, outcomes)
    return {"n_scored": 4, "n_unscored": 0, "ece": ece, "n_bins": 10, "bins": bins,
            "thresholds": threshold_table(scores, outcomes, n_gold=4, thresholds=(0.0, 0.5, 0.9))}


def test_charts_plot_the_section():
    cal = _section()
    assert reliability_points(cal) == [(pytest.approx(0.325), 0.5, 2), (pytest.approx(0.935), 1.0, 2)]
    assert threshold_curves(cal) == {"precision": [(0.0, 0.75), (0.5, 1.0), (0.9, 1.0)],
                                     "recall": [(0.0, 0.75), (0.5, 0.5), (0.9, 0.5)]}
    svg = calibration_svg(cal)
    assert svg.count("<circle") == 2 and f"ECE {cal['ece'] * 100:.2f}%" in svg
    ElementTree.fromstring(svg)  # well-formed, so a browser draws it


def test_report_files_carry_the_charts(tmp_path):
    nlp = spacy.blank("en")
    gold = [_doc(nlp, ["B-PER", "O", "B-PER", "O", "B-LOC"])]
    report = build_report(gold, [_doc(nlp, ["B-PER", "O", "O", "O", "B-ORG"])], n_bootstrap=10)
    report["calibration"] = _section()
    paths = write_report(report, tmp_path / "report")
    assert "<h2>Calibration charts</h2>" in paths["html"].read_text(encoding="utf8")
    pytest.importorskip("matplotlib")
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report["calibration"] = None
    assert "png" not in write_report(report, tmp_path / "unscored")
