"""nerkit.ConsoleLogger.v1: spaCy's table plus a timing line after each evaluation."""
import io
import subprocess
import sys

import spacy

from nerkit.training.logger import timing_line


def test_timing_line():
    assert timing_line(0, 2900, 12.4, 0, 900) == "step 0/2,900: evaluation took 12 s"
    line = timing_line(300, 2900, 420.0, 300, 210_000)
    assert line == "step 300/2,900: 7.0 min since the last evaluation (1.40 s a step, 500 words/s), at most 60.7 min left"
    assert timing_line(2900, 2900, 60, 100, 1000).endswith("at most 0 s left")


def test_logger_prints_the_table_and_the_timing():
    nlp = spacy.blank("en")
    nlp.config["training"].update(max_steps=100, eval_frequency=10, score_weights={"ents_f": 1.0})
    setup = spacy.registry.loggers.get("nerkit.ConsoleLogger.v1")(progress_bar="train")
    out = io.StringIO()
    log_step, finalize = setup(nlp, stdout=out, stderr=io.StringIO())
    info = {"epoch": 0, "step": 0, "score": 0.5, "other_scores": {"ents_f": 0.5}, "losses": {}, "words": 90}
    log_step(info)
    log_step(None)  # a step without an evaluation prints nothing
    log_step({**info, "step": 10, "words": 990})
    finalize()
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["E", "#", "ENTS_F", "SCORE"]
    assert lines[2].split() == ["0", "0", "50.00", "0.50"]
    assert lines[3].startswith("  step 0/100: evaluation took")
    assert lines[5].startswith("  step 10/100: ") and "s a step" in lines[5] and "at most" in lines[5]


def test_resolves_without_importing_nerkit():
    code = "import sys, spacy; spacy.registry.loggers.get('nerkit.ConsoleLogger.v1'); print('ok')"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr
