"""nerkit.scoring's evaluation on a tiny entity_ruler pipeline: the report,
headline(), the predictions file and conlleval on it, the test-data loader
(the command line, nerkit evaluate: tests/cli/test_evaluate.py)."""
import os
import sys
import types

import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc, DocBin, Span

from nerkit.scoring import (
    build_report,
    compare,
    evaluate,
    evaluate_pipeline,
    headline,
    load_docs,
    render_html,
    render_markdown,
    run_conlleval,
    write_predictions,
)

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


def lookup(report, dotted):
    node = report
    for key in dotted.split("."):
        node = node[key]
    return node


def test_evaluate_pipeline_writes_the_report(tmp_path):
    """The library call behind nerkit evaluate: load, score, write the report
    files and the predictions, conlleval's numbers recorded beside the report's."""
    nlp = make_nlp()
    nlp.to_disk(tmp_path / "model")
    DocBin(docs=make_docs(nlp.vocab)).to_disk(tmp_path / "test.spacy")
    logged = []
    report, paths = evaluate_pipeline(
        tmp_path / "model", tmp_path / "test.spacy", tmp_path / "out" / "r", predictions=tmp_path / "p.conll",
        conlleval=f"{sys.executable} -m conlleval /dev/stdin", n_bootstrap=20, log=logged.append,
    )
    assert sorted(paths)[:3] == ["html", "json", "md"] and all(path.is_file() for path in paths.values())
    for key in REQUIRED:
        lookup(report, key)
    assert report["entity"]["micro"]["f1"] == pytest.approx(4 / 7)
    assert report["meta"]["test_data"] == str(tmp_path / "test.spacy")
    assert report["conlleval"]["agrees"] and report["conlleval"]["mismatches"] == []
    assert (tmp_path / "p.conll").read_text(encoding="utf8") == EXPECTED_PREDICTIONS
    assert logged[0].startswith("Evaluating") and "3 docs" in logged[0]
    with pytest.raises(ValueError, match="needs --predictions"):
        evaluate_pipeline(tmp_path / "model", tmp_path / "test.spacy", tmp_path / "x", conlleval="conlleval.pl")
    assert not (tmp_path / "x.json").exists()


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


def test_predictions_file_cuts_at_sentence_breaks(tmp_path):
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
    assert sents[1][0] == ["Mary", "B-PER", "B-LOC"]  # the second piece starts again


def crossing_case(vocab):
    """Gold docs and predictions where entities run over sentence breaks,
    like CoNLL-2003's sports tables (`Desvonde | Botes`, each a PER)."""
    words = "Desvonde Botes ( South Africa ) v Desvonde Botes .".split()
    gold = Doc(vocab, words=words, sent_starts=[True, False, False, False, False, False, False, False, True, False])
    gold.ents = [Span(gold, 0, 1, "PER"), Span(gold, 3, 5, "LOC"), Span(gold, 7, 8, "PER"), Span(gold, 8, 9, "PER")]
    pred = Doc(vocab, words=words)
    # one PER over the break (two correct pieces for conlleval), one LOC exact,
    # one ORG over the first token only
    pred.ents = [Span(pred, 0, 1, "ORG"), Span(pred, 3, 5, "LOC"), Span(pred, 7, 9, "PER")]
    return [gold, *make_docs(vocab)], [pred, *[Doc(vocab, words=[t.text for t in d]) for d in make_docs(vocab)]]


def conlleval_commands():
    """The conlleval commands to check against: the PyPI port always, and the
    original Perl script where CONLLEVAL_PL names it (not shipped here)."""
    commands = [[sys.executable, "-m", "conlleval", "/dev/stdin"]]
    script = os.environ.get("CONLLEVAL_PL")
    if script:
        commands.append(["perl", script])
    return commands


@pytest.mark.parametrize("command", conlleval_commands(), ids=lambda c: c[0].rsplit("/", 1)[-1])
def test_report_equals_conlleval_on_its_export(tmp_path, command):
    vocab = spacy.blank("en").vocab
    gold, pred = crossing_case(vocab)
    report = build_report(gold, pred, n_bootstrap=0)
    micro = report["entity"]["micro"]
    # the crossing PER is cut at the break: two correct PERs, not one wrong one
    assert (micro["tp"], micro["fp"], micro["fn"]) == (3, 1, 4 + 4 - 3)
    assert report["meta"]["n_pred_ents_crossing_sentences"] == 1
    path = write_predictions(tmp_path / "p.conll", gold, pred)
    result = run_conlleval(path, command)
    assert (result["gold"], result["found"], result["correct"]) == (8, 4, 3)
    assert compare(report, result) == []
    # and compare() does see a disagreement
    result["correct"] -= 1
    assert compare(report, result) == ["correct: report 3, conlleval 2"]


def test_evaluate_cuts_at_gold_sentence_starts():
    """The evaluator gives the pipeline the gold sentence starts and cuts
    what still crosses one (here an entity_ruler pattern over the break)."""
    nlp = spacy.blank("en")
    seen = []

    @Language.component("nerkit_test_seen_sents")
    def seen_sents(doc):
        seen.append([t.i for t in doc if t.is_sent_start])
        return doc

    nlp.add_pipe("nerkit_test_seen_sents")
    nlp.add_pipe("entity_ruler").add_patterns([{"label": "LOC", "pattern": "York . Mary"}])
    gold = make_docs(nlp.vocab)
    seen.clear()  # the ruler ran its phrase pattern through the pipeline
    report, preds = evaluate(nlp, gold, n_bootstrap=0)
    assert seen[0] == [0, 6] and report["meta"]["sentence_starts_given"] is True
    assert [(e.start, e.end) for e in preds[0].ents] == [(4, 6), (6, 7)]
    assert report["meta"]["n_pred_ents_crossing_sentences"] == 0
    seen.clear()
    report, preds = evaluate(nlp, gold, n_bootstrap=0, sentence_starts=False)
    assert seen[0] == [0] and report["meta"]["sentence_starts_given"] is False
    assert [(e.start, e.end) for e in preds[0].ents] == [(4, 7)]
    assert report["meta"]["n_pred_ents_crossing_sentences"] == 1


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


@pytest.mark.parametrize("command", conlleval_commands(), ids=lambda c: c[0].rsplit("/", 1)[-1])
def test_raw_text_mode_counts_misaligned_entities_as_errors(tmp_path, command):
    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns([
        {"label": "LOC", "pattern": [{"LOWER": "new"}, {"LOWER": "york"}]},
        {"label": "PER", "pattern": "Mary"},
        {"label": "LOC", "pattern": "AL"}, {"label": "LOC", "pattern": "AIN"},
    ])  # fmt: skip
    # CoNLL-style gold tokens that spaCy splits differently: "York-based" and "AL-AIN" are one token here
    words = "New York-based Mary met Mary in AL-AIN .".split()
    gold = Doc(nlp.vocab, words=words, sent_starts=[True] + [False] * 7)
    gold.ents = [Span(gold, 0, 2, "LOC"), Span(gold, 2, 3, "PER"), Span(gold, 4, 5, "PER"), Span(gold, 6, 7, "LOC")]
    assert [t.text for t in nlp(gold.text)][:3] == ["New", "York", "-"]
    report, preds = evaluate(nlp, [gold], raw_text=True, n_bootstrap=0)
    micro = report["entity"]["micro"]
    # "New York" ends inside the gold token "York-based": an error, though it touches the gold LOC's tokens;
    # "AL" and "AIN" both land on the gold token "AL-AIN": one misaligned entity, as conlleval will see it
    assert [e.text for e in preds[0].ents] == ["New York", "Mary", "Mary", "AL", "AIN"]
    assert (micro["tp"], micro["fp"], micro["fn"]) == (2, 2, 2)
    assert report["meta"]["n_pred_ents_misaligned"] == 2 and report["meta"]["tokenization"].startswith("raw text")
    path = write_predictions(tmp_path / "p.conll", [gold], preds)
    lines = path.read_text(encoding="utf8").splitlines()
    assert lines[0] == "New B-LOC B-LOC~misaligned" and lines[6] == "AL-AIN B-LOC B-LOC~misaligned"
    result = run_conlleval(path, command)
    assert (result["gold"], result["found"], result["correct"]) == (4, 4, 2)
    assert compare(report, result) == []
