"""nerkit calibrate: the fitted temperature lowers the dev NLL, is saved with
the pipeline, changes the scores and never the entities; refused without a
token head. Golden-section search on a known function."""
import math

import pytest
import spacy
from spacy.tokens import DocBin
from typer.testing import CliRunner

from nerkit.calibrate import calibrate, golden_section, nll
from nerkit.cli import app

from ..components.test_token_ner import sample_examples
from ..annotate.test_annotate import model  # noqa: F401 - a fixture (a ruler pipeline)


@pytest.fixture(scope="module")
def dev_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("dev") / "dev.spacy"
    nlp = spacy.blank("en")
    examples = sample_examples(nlp, n=6, split="dev", max_tokens=60) + sample_examples(nlp, n=4, max_tokens=60)
    DocBin(docs=[eg.reference for eg in examples]).to_disk(path)
    return path


def entities(nlp, docs):
    return [[(e.start, e.end, e.label_, e._.score) for e in doc.ents] for doc in nlp.pipe(docs)]


def test_golden_section_and_nll():
    assert golden_section(lambda x: (x - 1.3) ** 2, -5, 5) == pytest.approx(1.3, abs=1e-3)
    assert nll([0.5, 0.5], [True, False]) == pytest.approx(math.log(2))


def test_calibrate_command(scored_model, dev_path, tmp_path):
    result = CliRunner().invoke(app, ["calibrate", str(scored_model), str(dev_path), str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "temperature" in result.stdout and "ECE (10 bins)" in result.stdout
    before, after = spacy.load(scored_model), spacy.load(tmp_path / "out")
    t = after.get_pipe("ner").temperature
    assert t != 1.0 and 0.05 <= t <= 20
    gold = list(DocBin().from_disk(dev_path).get_docs(before.vocab))
    texts = [doc.text for doc in gold]
    old, new = entities(before, texts), entities(after, texts)
    assert [[e[:3] for e in doc] for doc in old] == [[e[:3] for e in doc] for doc in new]
    assert [[e[3] for e in doc] for doc in old] != [[e[3] for e in doc] for doc in new]
    again = calibrate(spacy.load(scored_model), gold)
    (t0, t1), (nll0, nll1) = again["temperature"], again["nll"]
    assert t0 == 1.0 and t1 == pytest.approx(t) and nll1 < nll0
    assert 0 < again["n_correct"] < again["n_entities"]


def test_calibrate_needs_a_token_head(model, dev_path, tmp_path):  # noqa: F811
    result = CliRunner().invoke(app, ["calibrate", str(model), str(dev_path), str(tmp_path / "out")])
    assert result.exit_code == 1 and "no nerkit_token_ner" in result.output
    assert not (tmp_path / "out").exists()
