"""nerkit.OptunaLogger.v1: runs the wrapped logger, reports each evaluation to
the active trial, stops a trial the pruner gives up, and resolves by name
without importing nerkit (entry point)."""
import subprocess
import sys

import pytest
import spacy

from nerkit.search import TrialReporter, optuna_logger, reporting_to

optuna = pytest.importorskip("optuna")


class FakeTrial:
    def __init__(self, prune_at=None):
        self.reports, self.prune_at = [], prune_at

    def report(self, value, step):
        self.reports.append((step, value))

    def should_prune(self):
        return self.reports[-1][0] == self.prune_at


def info(step, f):
    return {"step": step, "epoch": 0, "score": f, "other_scores": {"ents_f": f, "ents_p": f}, "losses": {}}


def wrapped_logger(seen):
    def setup(nlp, stdout, stderr):
        return seen.append, lambda: seen.append("closed")

    return setup


def run(setup, infos):
    step, close = setup(spacy.blank("en"), sys.stdout, sys.stderr)
    try:
        for item in infos:
            step(item)
    finally:
        close()


def test_reports_every_evaluation_and_runs_the_wrapped_logger():
    seen, trial = [], FakeTrial()
    reporter = TrialReporter(trial)
    with reporting_to(reporter):
        setup = optuna_logger(wrapped_logger(seen))
        run(setup, [info(0, 0.1), None, info(200, 0.7), info(400, 0.7)])
    assert trial.reports == [(0, 0.1), (200, 0.7), (400, 0.7)]
    assert reporter.best == (200, 0.7)  # the earliest of equal scores, as model-best
    assert len(seen) == 5 and seen[1] is None and seen[-1] == "closed"


def test_raises_trial_pruned_when_the_pruner_says_so():
    seen, trial = [], FakeTrial(prune_at=200)
    with reporting_to(TrialReporter(trial)), pytest.raises(optuna.TrialPruned, match="step 200: dev ents_f 0.2000"):
        run(optuna_logger(wrapped_logger(seen)), [info(0, 0.1), info(200, 0.2), info(400, 0.9)])
    assert trial.reports == [(0, 0.1), (200, 0.2)] and seen[-1] == "closed"


def test_unknown_metric_names_the_scores_there_are():
    with reporting_to(TrialReporter(FakeTrial(), metric="ents_x")), pytest.raises(ValueError, match="ents_f, ents_p"):
        run(optuna_logger(None), [info(0, 0.1)])


def test_without_a_trial_it_only_logs():
    seen = []
    run(optuna_logger(wrapped_logger(seen)), [info(0, 0.1)])
    assert seen[0]["step"] == 0 and seen[-1] == "closed"


def test_resolves_by_name_through_the_entry_point():
    code = (
        "import sys, spacy\n"
        "setup = spacy.registry.loggers.get('nerkit.OptunaLogger.v1')(None)\n"
        "print(sorted(m for m in sys.modules if m.startswith('nerkit'))[:1], callable(setup))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert result.returncode == 0, result.stderr
    assert "['nerkit'] True" in result.stdout  # loaded through the spacy_loggers entry point
