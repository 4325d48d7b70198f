"""nerkit convert: output, summary, --stats JSON, errors (exit 1, FILE:LINE, no output)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from spacy.tokens import DocBin
from spacy.vocab import Vocab
from typer.testing import CliRunner

from nerkit.cli import app

ROOT = Path(__file__).resolve().parents[2]
CONVERT = [sys.executable, "-m", "nerkit.cli", "convert"]
GOOD = "-DOCSTART- -X- -X- O\n\nEU NNP I-NP I-ORG\nsays VBZ I-VP O\n\nPeter NNP I-NP I-PER\n"


@pytest.fixture(scope="module")
def invoke():
    runner = CliRunner()
    return lambda *args: runner.invoke(app, ["convert", *(str(a) for a in args)])


def test_subprocess_success_with_stats(tmp_path):
    (tmp_path / "in.conll").write_text(GOOD)
    out, stats = tmp_path / "new" / "dir" / "out.spacy", tmp_path / "s" / "stats.json"
    result = subprocess.run(
        [*CONVERT, tmp_path / "in.conll", out, "--stats", stats],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert "Wrote 1 docs" in result.stdout and "iob1" in result.stdout
    docs = list(DocBin().from_disk(out).get_docs(Vocab()))
    assert [(e.text, e.label_) for e in docs[0].ents] == [("EU", "ORG"), ("Peter", "PER")]
    assert [t.is_sent_start for t in docs[0]] == [True, False, True]
    assert json.loads(stats.read_text()) == {
        "docs": 1, "sentences": 2, "tokens": 3, "entities": {"ORG": 1, "PER": 1}, "scheme": "iob1", "repairs": {},
        "empty_docs": 0,
    }


def test_subprocess_error_exit_1_no_output(tmp_path):
    path = tmp_path / "bad.conll"
    path.write_text("a O\nPeter NNP I-PER\n")
    out, stats = tmp_path / "out.spacy", tmp_path / "stats.json"
    result = subprocess.run(
        [*CONVERT, path, out, "--stats", stats], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 1
    assert f"{path}:2: expected 2 columns (as on line 1), found 3: 'Peter NNP I-PER'" in result.stderr
    assert not out.exists() and not stats.exists()
    assert list(tmp_path.iterdir()) == [path]  # no temp files left either


@pytest.mark.parametrize(
    "content,args,expected",
    [
        ("a O\nPeter I-PER\n", ["--scheme", "iob2"], "bad.conll:2: I-PER after O is invalid in IOB2: 'Peter I-PER'"),
        ("a O\nb B-PER\n", ["--scheme", "bilou"], "bad.conll:2: B-PER is not closed"),
        ("a O\nb X-PER\n", ["--lenient"], "bad.conll:2: unknown tag 'X-PER'"),
        ("a\tO\n\tO\n", [], "bad.conll:2: empty token"),
        ("", [], "bad.conll:1: no tokens found"),
        ("a NN O\n", ["--tag-column", "5"], "bad.conll:1: tag_column 5"),
        ("a O\n", ["--scheme", "bio3"], "Unknown tag scheme 'bio3'"),
    ],
)
def test_errors(invoke, tmp_path, content, args, expected):
    path = tmp_path / "bad.conll"
    path.write_text(content)
    result = invoke(path, tmp_path / "out.spacy", "--stats", tmp_path / "stats.json", *args)
    assert result.exit_code == 1
    assert expected in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.conll"]


def test_binary_input(invoke, tmp_path):
    path = tmp_path / "bad.conll"
    path.write_bytes(b"a O\n\x00\x01\x02")
    result = invoke(path, tmp_path / "out.spacy")
    assert result.exit_code == 1 and "bad.conll:2: not a text file" in result.output


def test_missing_input(invoke, tmp_path):
    result = invoke(tmp_path / "nope.conll", tmp_path / "out.spacy")
    assert result.exit_code != 0 and not (tmp_path / "out.spacy").exists()


def test_lenient_options_and_stats(invoke, tmp_path):
    text = "\n\n".join(["a\tNN\tO\nb\tNNP\tI-creative-work"] * 3 + ["c\tNN\tB-creative-work"]) + "\n"
    (tmp_path / "in.tsv").write_text(text)
    out, stats = tmp_path / "out.spacy", tmp_path / "stats.json"
    result = invoke(tmp_path / "in.tsv", out, "--scheme", "iob2", "--lenient", "--n-sents", "2",
                    "--keep-pos", "--tag-column", "-1", "--stats", stats, "--lang", "de")
    assert result.exit_code == 0, result.output
    assert "creative-work" in result.output and "I- after O/other type starts an entity" in result.output
    summary = json.loads(stats.read_text())
    assert summary == {
        "docs": 2, "sentences": 4, "tokens": 7, "entities": {"creative-work": 4}, "scheme": "iob2",
        "repairs": {"I- after O/other type starts an entity": 3}, "empty_docs": 0,
    }
    docs = list(DocBin().from_disk(out).get_docs(Vocab()))
    assert [len(d) for d in docs] == [4, 3] and docs[0][1].tag_ == "NNP"


def test_append_writes_both_files_documents(invoke, tmp_path):
    (tmp_path / "train.conll").write_text(GOOD)
    dev = "-DOCSTART- -X- -X- O\n\nParis NNP I-NP I-LOC\n\n-DOCSTART- -X- -X- O\n\nhi UH I-INTJ O\n"
    (tmp_path / "dev.conll").write_text(dev)
    out, stats = tmp_path / "train_dev.spacy", tmp_path / "stats.json"
    result = invoke(tmp_path / "train.conll", out, "--append", tmp_path / "dev.conll", "--stats", stats)
    assert result.exit_code == 0, result.output
    docs = list(DocBin().from_disk(out).get_docs(Vocab()))
    assert [[(e.text, e.label_) for e in d.ents] for d in docs] == [[("EU", "ORG"), ("Peter", "PER")], [("Paris", "LOC")], []]
    assert json.loads(stats.read_text())["entities"] == {"ORG": 1, "PER": 1, "LOC": 1}
    # an error in the appended file names that file and line, and nothing is written
    (tmp_path / "bad.conll").write_text("EU I-ORG\nsays\n")
    result = invoke(tmp_path / "train.conll", tmp_path / "no.spacy", "--append", tmp_path / "bad.conll")
    assert result.exit_code == 1 and f"{tmp_path / 'bad.conll'}:2" in result.output
    assert not (tmp_path / "no.spacy").exists()
