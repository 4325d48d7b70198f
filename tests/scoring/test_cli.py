"""scripts/evaluate.py end to end on a tiny entity_ruler pipeline, the
predictions file, headline() and the test-data loader."""
import json
import subprocess
import sys
import types
from pathlib import Path

import pytest
import spacy
from spacy.tokens import Doc, DocBin, Span

from nerkit.scoring import (
    EntSpan,
    evaluate,
    headline,
    iob_to_spans,
    load_docs,
    render_html,
    render_markdown,
    score_spans,
    write_predictions,
)

ROOT = Path(__file__).parents[2]
SCRIPT = ROOT / "scripts" / "evaluate.py"
# (words, sentence starts, gold entities)
DATA = [
    ("John lives in New York . Mary too .".split(), [0, 6], [(0, 1, "PER"), (3, 5, "LOC"), (6, 7, "PER")]),
    ("York is big .".split(), [0], [(0, 1, "LOC")]),
    ("Nothing here".split(), [0], []),
]  # fmt: skip
# the ruler finds John/PER and New York/LOC, calls the lone York an ORG, misses Mary:
# tp=2, fp=1, fn=2 → P=2/3, R=1/2, F=2·(1/3)/(7/6)=4/7
EXPECTED_PREDICTIONS = """\
John B-PER B-PER
lives O O
in O O
New B-LOC B-LOC
York I-LOC I-LOC
. O O

Mary B-PER O
too O O
. O O

York B-LOC B-ORG
is O O
big O O
. O O

Nothing O O
here O O

"""
REQUIRED = [
    "entity.micro.precision", "entity.micro.recall", "entity.micro.f1", "entity.micro.support",
    "entity.per_type.PER.f1", "entity.per_type.LOC.support", "token.per_tag", "token.averages",
    "errors", "confusion", "bootstrap.f1_ci95", "speed.words_per_second", "spacy_scorer.ents_p",
    "spacy_scorer.ents_r", "spacy_scorer.ents_f", "spacy_scorer.ents_per_type", "meta.pipeline",
    "meta.test_data", "meta.n_docs", "meta.n_words", "meta.date",
]  # fmt: skip


def make_nlp():
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([
        {"label": "PER", "pattern": "John"},
        {"label": "LOC", "pattern": [{"LOWER": "new"}, {"LOWER": "york"}]},
        {"label": "ORG", "pattern": "York"},
    ])  # fmt: skip
    return nlp


def make_docs(vocab):
    docs = []
    for words, starts, ents in DATA:
        doc = Doc(vocab, words=words, sent_starts=[i in starts for i in range(len(words))])
        doc.ents = [Span(doc, s, e, label=lab) for s, e, lab in ents]
        docs.append(doc)
    return docs


@pytest.fixture
def assets(tmp_path):
    nlp = make_nlp()
    nlp.to_disk(tmp_path / "model")
    DocBin(docs=make_docs(nlp.vocab)).to_disk(tmp_path / "test.spacy")
    return tmp_path


def lookup(report, dotted):
    node = report
    for key in dotted.split("."):
        node = node[key]
    return node


def test_cli_end_to_end(assets):
    out = assets / "metrics" / "sample"
    cmd = [sys.executable, str(SCRIPT), str(assets / "model"), str(assets / "test.spacy"),
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
    cmd = [sys.executable, str(SCRIPT), str(assets / "model"), str(assets / "nope.spacy"), str(assets / "x")]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert result.returncode != 0
    assert not (assets / "x.json").exists()


def test_evaluate_and_headline():
    nlp = make_nlp()
    report, preds = evaluate(nlp, make_docs(nlp.vocab), n_bootstrap=50)
    assert len(preds) == 3  # every doc is scored, the empty one too
    h = headline(report)
    assert h["ents_f"] == pytest.approx(4 / 7)
    assert h["ents_p"] == pytest.approx(2 / 3) and h["ents_r"] == pytest.approx(1 / 2)
    # LOC: tp=1, fn=1 → P=1, R=1/2, F=2/3; ORG: fp=1 → 0
    assert h["ents_per_type"]["LOC"] == pytest.approx({"p": 1.0, "r": 0.5, "f": 2 / 3})
    assert h["ents_per_type"]["ORG"]["f"] == 0.0
    assert report["meta"]["pipeline_name"] == "en_pipeline"
    # the renderers work from the dict alone
    assert "57.14" in render_markdown(report) and "<mark" in render_html(report)


def test_predictions_file_reads_back_like_conlleval(tmp_path):
    vocab = spacy.blank("en").vocab
    gold = make_docs(vocab)
    pred = [Doc(vocab, words=[t.text for t in d]) for d in gold]
    # a prediction crossing the sentence boundary "York . | Mary"
    pred[0].ents = [Span(pred[0], 0, 1, "PER"), Span(pred[0], 4, 7, "LOC")]
    path = write_predictions(tmp_path / "out" / "p.conll", gold, pred)
    blocks = path.read_text(encoding="utf8").split("\n\n")
    assert blocks[-1] == ""  # ends with a blank line
    sents = [[line.split(" ") for line in b.splitlines()] for b in blocks[:-1]]
    assert len(sents) == 4 and all(len(row) == 3 for s in sents for row in s)
    assert sents[0][4] == ["York", "I-LOC", "B-LOC"]
    assert sents[1][0] == ["Mary", "B-PER", "I-LOC"]
    # read as conlleval does, sentence by sentence
    gold_spans, pred_spans = [], []
    for i, s in enumerate(sents):
        gold_spans += [EntSpan(i, *x) for x in iob_to_spans([r[1] for r in s])]
        pred_spans += [EntSpan(i, *x) for x in iob_to_spans([r[2] for r in s])]
    # conlleval splits the crossing span in two: tp=1 (John), fp=2, fn=3
    micro = score_spans(gold_spans, pred_spans)["micro"]
    assert (micro["tp"], micro["fp"], micro["fn"]) == (1, 2, 3)


def test_load_docs_dispatch(tmp_path, monkeypatch):
    nlp = spacy.blank("en")
    DocBin(docs=make_docs(nlp.vocab)).to_disk(tmp_path / "t.spacy")
    assert [len(d.ents) for d in load_docs(tmp_path / "t.spacy", nlp.vocab)] == [3, 1, 0]
    # anything else goes to nerkit.conll.read_conll_docs (a stand-in here)
    calls = []
    fake = types.ModuleType("nerkit.conll")
    fake.read_conll_docs = lambda path, vocab, **kw: calls.append(path) or make_docs(vocab)
    monkeypatch.setitem(sys.modules, "nerkit.conll", fake)
    docs = load_docs(tmp_path / "test.conll", nlp.vocab)
    assert calls == [tmp_path / "test.conll"] and len(docs) == 3
