"""Every ``nerkit`` subcommand: its --help works (enumerated from the app, so a
new verb is covered without editing this file), and real calls of convert,
check-data, train (up to the schedule) and evaluate on tiny inputs."""
import pytest
import srsly
from spacy.tokens import DocBin
from spacy.vocab import Vocab
from typer.main import get_command
from typer.testing import CliRunner

from nerkit.cli import app

from ..conftest import ROOT

VERBS = sorted(get_command(app).commands)
CONLL = """-DOCSTART- -X- -X- O

EU NNP I-NP I-ORG
rejects VBZ I-VP O
German JJ I-NP I-MISC
lamb NN I-NP O
. . O O

Peter NNP I-NP I-PER
Blackburn NNP I-NP I-PER

-DOCSTART- -X- -X- O

BRUSSELS NNP I-NP I-LOC
1996-08-22 CD I-NP O
"""


def nerkit(*args):
    return CliRunner().invoke(app, [str(arg) for arg in args])


def test_the_verbs_of_the_issue_are_there():
    expected = {"convert", "train", "evaluate", "package", "final-model", "check-package", "check-data",
                "annotate", "serve", "search", "quantize", "onnx", "calibrate"}
    assert expected <= set(VERBS)


@pytest.mark.parametrize("verb", VERBS)
def test_help(verb):
    result = nerkit(verb, "--help")
    assert result.exit_code == 0, result.output
    assert f"nerkit {verb}" in result.output and "--help" in result.output


@pytest.mark.parametrize("verb", VERBS)
def test_short_help_in_the_listing(verb):
    assert get_command(app).commands[verb].get_short_help_str(limit=200), f"{verb} has no short help"


@pytest.fixture
def converted(tmp_path):
    (tmp_path / "tiny.conll").write_text(CONLL, encoding="utf8")
    out, stats = tmp_path / "out" / "tiny.spacy", tmp_path / "tiny.stats.json"
    result = nerkit("convert", tmp_path / "tiny.conll", out, "--stats", stats)
    assert result.exit_code == 0, result.output
    return out


def test_convert(converted):
    docs = list(DocBin().from_disk(converted).get_docs(Vocab()))
    assert len(docs) == 2
    assert [[(e.text, e.label_) for e in doc.ents] for doc in docs] == [
        [("EU", "ORG"), ("German", "MISC"), ("Peter Blackburn", "PER")], [("BRUSSELS", "LOC")]]
    assert sum(1 for doc in docs for token in doc if token.is_sent_start) == 3


def test_check_data(tmp_path):
    (tmp_path / "eng.train").write_text("x O\n", encoding="utf8")
    found = nerkit("check-data", "conll_dir", tmp_path, "eng.train")
    assert found.exit_code == 0, found.output
    missing = nerkit("check-data", "conll_dir", tmp_path, "eng.train", "eng.testa")
    output = " ".join(missing.output.split())  # wasabi wraps at 80
    assert missing.exit_code != 0
    assert f"not found in {tmp_path}: eng.testa" in output and "--vars.conll_dir PATH" in output


def test_train_refuses_an_empty_schedule(converted, tmp_path):
    """The schedule is sized (from the DocBin and the config's batcher) before
    any training; an impossible one stops there, saying why."""
    config = ROOT / "configs" / "minilm_tokner_case_goldtok.cfg"
    result = nerkit("train", config, tmp_path / "training", "--train", converted, "--dev", converted, "--epochs", 0)
    assert result.exit_code == 1 and "Set epochs to 1 or more" in result.output
    assert not (tmp_path / "training").exists()


def test_evaluate_a_scoring_pipeline(scored_model, converted, tmp_path):
    """The token head's entity scores add the calibration to the report."""
    result = nerkit("evaluate", scored_model, converted, tmp_path / "metrics" / "tiny", "--bootstrap", 10)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "metrics" / "tiny.json").is_file() and (tmp_path / "metrics" / "tiny.html").is_file()
    assert "| **micro** |" in result.output
    report = srsly.read_json(tmp_path / "metrics" / "tiny.json")
    assert report["meta"]["n_docs"] == 2 and report["calibration"]["n_scored"] > 0
    assert "Entity scores: ECE" in " ".join(result.output.split())
