"""nerkit annotate (nerkit.annotate + nerkit/cli): every input and output
format, input order kept through the length sort, fields kept, character
offsets, bad input (FILE:LINE, exit 1, no output), texts over max_length,
--skip-invalid, the output never the input, the output written only when
complete (errors, SIGINT, SIGTERM), CoNLL tokens kept (tokens-only CoNLL too),
the installed console script. Pipelines are spacy.blank("en") + entity_ruler:
cheap, nothing trained."""
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import spacy
from spacy.language import Language
from spacy.tokens import DocBin
from typer.testing import CliRunner

from nerkit.annotate import AnnotateError, AnnotateOptions, annotate
from nerkit.conll.docs import conll_lines
from nerkit.cli import app
from nerkit.conll import ConllError, read_conll_text

PATTERNS = [
    {"label": "PER", "pattern": "Peter"},
    {"label": "GPE", "pattern": "Paris"},
    {"label": "GPE", "pattern": [{"LOWER": "new"}, {"LOWER": "york"}]},
    {"label": "ORG", "pattern": [{"ORTH": "York-based"}]},
]
SEEN = []  # lengths of the texts the recording component saw, in order


@Language.component("nerkit_test_record")
def record_component(doc):
    SEEN.append(len(doc.text))
    return doc


@Language.component("nerkit_test_boom")
def boom_component(doc):
    if "BOOM" in doc.text:
        raise RuntimeError("boom")
    if "STOP" in doc.text:
        raise KeyboardInterrupt
    return doc


def make_nlp(*extra):
    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns(PATTERNS)
    for name in extra:
        nlp.add_pipe(name)
    return nlp


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ruler") / "model"
    make_nlp().to_disk(path)
    return path


@pytest.fixture(scope="module")
def boom_model(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("boom") / "model"
    make_nlp("nerkit_test_boom").to_disk(path)
    return path


def invoke(*args):
    return CliRunner().invoke(app, ["annotate", *[str(a) for a in args]])


def read_jsonl(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf8").splitlines()]


def check_offsets(records, key="text"):
    for record in records:
        for ent in record["ents"]:
            assert record[key][ent["start"] : ent["end"]] == ent["text"]


def ents(record):
    return [(e["text"], e["label"]) for e in record["ents"]]


CONLL = (
    "-DOCSTART- -X- -X- O\n\n"
    "Peter NNP B-PER\nvisited VBD O\nNew NNP B-LOC\n\n"
    "York-based JJ O\nfirms NNS O\n\n"
    "-DOCSTART- -X- -X- O\n\n"
    "Paris NNP I-LOC\n"
)


# --- formats -------------------------------------------------------------------


def test_txt_to_jsonl_offsets_and_blank_texts(model, tmp_path):
    lines = ["Peter flew from Paris to New York.", "", "   ", "\t", "no entities here", "Ünïcödé Peter in Paris"]
    (tmp_path / "in.txt").write_text("\n".join(lines) + "\n", encoding="utf8")
    result = invoke(model, tmp_path / "in.txt", tmp_path / "out.jsonl")
    assert result.exit_code == 0, result.output
    records = read_jsonl(tmp_path / "out.jsonl")
    assert [r["text"] for r in records] == lines
    assert [list(r) for r in records] == [["text", "ents"]] * len(lines)
    assert ents(records[0]) == [("Peter", "PER"), ("Paris", "GPE"), ("New York", "GPE")]
    assert records[0]["ents"][0] == {"start": 0, "end": 5, "label": "PER", "text": "Peter"}
    assert [r["ents"] for r in records[1:5]] == [[], [], [], []]
    assert ents(records[5]) == [("Peter", "PER"), ("Paris", "GPE")]
    check_offsets(records)
    for row in ("Texts", "Words", "Entities", "GPE", "PER", "Seconds"):
        assert row in result.stdout
    assert re.search(r"Texts\s+6\b", result.stdout) and re.search(r"GPE\s+3\b", result.stdout)


def test_jsonl_fields_kept_text_key_blank_lines(model, tmp_path):
    rows = [
        {"id": 1, "body": "Peter lives in Paris.", "meta": {"tags": ["a", "b"], "score": 0.5}, "ok": True},
        {"body": "", "id": 2, "none": None},
        {"id": 3, "body": "Ünïcödé text about New York"},
    ]
    text = f"{json.dumps(rows[0])}\n\n{json.dumps(rows[1], ensure_ascii=False)}\n  \n{json.dumps(rows[2])}\n"
    (tmp_path / "in.jsonl").write_text(text, encoding="utf8")
    result = invoke(model, tmp_path / "in.jsonl", tmp_path / "out.jsonl", "--text-key", "body")
    assert result.exit_code == 0, result.output
    records = read_jsonl(tmp_path / "out.jsonl")  # blank lines hold no record
    assert [{k: v for k, v in r.items() if k != "ents"} for r in records] == rows
    assert [list(r) for r in records] == [[*row, "ents"] for row in rows]  # field order kept, ents last
    assert ents(records[0]) == [("Peter", "PER"), ("Paris", "GPE")] and records[1]["ents"] == []
    assert ents(records[2]) == [("New York", "GPE")]
    check_offsets(records, "body")
    assert "Ünïcödé" in (tmp_path / "out.jsonl").read_text(encoding="utf8")  # not \u-escaped


def test_order_kept_through_length_sort_and_chunks(tmp_path):
    # lengths very different and not sorted; 50 texts in chunks of 7 (the last one short)
    texts = [("Peter " * ((i * 37) % 23) + f"text {i} in Paris").strip() for i in range(50)]
    texts[10] = "Paris " * 400
    (tmp_path / "in.txt").write_text("\n".join(texts) + "\n")
    SEEN.clear()
    summary = annotate(make_nlp("nerkit_test_record"), tmp_path / "in.txt", tmp_path / "out.jsonl",
                       AnnotateOptions(chunk_size=7, batch_size=3))
    records = read_jsonl(tmp_path / "out.jsonl")
    assert [r["text"] for r in records] == texts
    assert [r["ents"][-1]["text"] for r in records] == ["Paris"] * 50
    check_offsets(records)
    assert summary.texts == 50 and summary.entities["GPE"] == 449
    # the pipeline saw each chunk sorted by length
    chunks = [SEEN[k : k + 7] for k in range(0, 50, 7)]
    assert [sorted(c) for c in chunks] == chunks
    assert [sorted(c) for c in chunks] == [sorted(len(t) for t in texts[k : k + 7]) for k in range(0, 50, 7)]


def test_memory_zone_frees_strings_and_output_is_complete(tmp_path):
    nlp = make_nlp()
    assert hasattr(nlp, "memory_zone")
    texts = [f"Peter saw zqxword{i} in Paris" for i in range(30)]
    (tmp_path / "in.txt").write_text("\n".join(texts) + "\n")
    annotate(nlp, tmp_path / "in.txt", tmp_path / "out.conll", AnnotateOptions(chunk_size=4))
    lines = (tmp_path / "out.conll").read_text().splitlines()
    assert [line for line in lines if line.startswith("zqxword")] == [f"zqxword{i} O" for i in range(30)]
    assert "zqxword7" not in nlp.vocab.strings  # the chunk's strings were freed with its zone


@pytest.mark.parametrize("bad, message", [
    ({"chunk_size": 0}, "chunk_size must be at least 1, got 0"),
    ({"batch_size": 0}, "batch_size must be at least 1, got 0"),
    ({"n_sents": -1}, "n_sents must be at least 1, got -1"),
    ({"scheme": "bio3"}, "Unknown tag scheme 'bio3'"),
])
def test_annotate_options_refuse_bad_values(bad, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        AnnotateOptions(**bad)


def test_annotate_options_resolve_scheme_and_formats(tmp_path):
    options = AnnotateOptions(scheme="IOBES", output_format="conll")
    assert options.scheme == "bioes"
    assert options.formats(tmp_path / "in.txt", tmp_path / "out.jsonl") == ("txt", "conll")
    with pytest.raises(ValueError, match="is the input file"):
        options.formats(tmp_path / "in.txt", tmp_path / "in.txt")
    (tmp_path / "in.txt").write_text("Peter saw Paris\n")
    annotate(make_nlp(), tmp_path / "in.txt", tmp_path / "out.jsonl", options)
    assert (tmp_path / "out.jsonl").read_text() == "-DOCSTART- -X- -X- O\n\nPeter S-PER\nsaw O\nParis S-GPE\n\n"


def test_txt_to_conll_iob2_and_bioes(model, tmp_path):
    lines = ["Peter  flew to New York.", "", "Paris\tand Peter"]
    (tmp_path / "in.txt").write_text("\n".join(lines) + "\n")
    result = invoke(model, tmp_path / "in.txt", tmp_path / "out.conll")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out.conll").read_text() == (
        "-DOCSTART- -X- -X- O\n\n"
        "Peter B-PER\nflew O\nto O\nNew B-GPE\nYork I-GPE\n. O\n\n"  # the "  " token is left out
        "-DOCSTART- -X- -X- O\n\n"  # the empty text: a document without tokens
        "-DOCSTART- -X- -X- O\n\n"
        "Paris B-GPE\nand O\nPeter B-PER\n\n"
    )
    result = invoke(model, tmp_path / "in.txt", tmp_path / "out.bioes.conll", "--scheme", "bioes")
    assert result.exit_code == 0, result.output
    parsed = read_conll_text((tmp_path / "out.bioes.conll").read_text(), scheme="bioes")
    assert parsed.empty_docs == 1
    assert [s.tags for s in parsed.sentences] == [
        ["S-PER", "O", "O", "B-GPE", "E-GPE", "O"], ["S-GPE", "O", "S-PER"],
    ]


def test_conll_lines_whitespace_tokens_and_sentence_cuts():
    words = ["New", " ", "York", "is", "\n", "big", "City", "X Y"]
    # an entity over a whitespace token; one across the sentence start at 5; a label with a space
    lines = conll_lines(words, [0, 5], [(0, 3, "GPE"), (3, 7, "MISC"), (7, 8, "A B")], "bioes")
    assert lines == [
        "-DOCSTART- -X- -X- O", "",
        "New B-GPE", "York E-GPE", "is S-MISC", "",
        "big B-MISC", "City E-MISC", "X_Y S-A_B", "",
    ]
    assert conll_lines([" "], [0], [], "iob2") == ["-DOCSTART- -X- -X- O", ""]


def test_conll_in_keeps_tokens_and_sentences(model, tmp_path):
    assert len(spacy.blank("en").make_doc("York-based")) > 1  # spaCy's tokenizer would split it
    (tmp_path / "in.conll").write_text(CONLL)
    result = invoke(model, tmp_path / "in.conll", tmp_path / "out.conll", "--scheme", "bioes")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out.conll").read_text() == (
        "-DOCSTART- -X- -X- O\n\n"
        "Peter S-PER\nvisited O\nNew O\n\n"  # no "New York" across the sentence start
        "York-based S-ORG\nfirms O\n\n"
        "-DOCSTART- -X- -X- O\n\n"
        "Paris S-GPE\n\n"
    )
    assert re.search(r"Texts\s+2\b", result.stdout) and re.search(r"Words\s+6\b", result.stdout)


def test_conll_in_jsonl_and_docbin_out(model, tmp_path):
    (tmp_path / "in.conll").write_text(CONLL)
    assert invoke(model, tmp_path / "in.conll", tmp_path / "out.jsonl").exit_code == 0
    records = read_jsonl(tmp_path / "out.jsonl")
    assert [r["text"] for r in records] == ["Peter visited New York-based firms", "Paris"]
    assert [ents(r) for r in records] == [[("Peter", "PER"), ("York-based", "ORG")], [("Paris", "GPE")]]
    check_offsets(records)
    result = invoke(model, tmp_path / "in.conll", tmp_path / "out.spacy")
    assert result.exit_code == 0, result.output
    docs = list(DocBin().from_disk(tmp_path / "out.spacy").get_docs(spacy.blank("en").vocab))
    assert [[t.text for t in doc] for doc in docs] == [["Peter", "visited", "New", "York-based", "firms"], ["Paris"]]
    assert [t.is_sent_start for t in docs[0]] == [True, False, False, True, False]
    assert [[(e.text, e.label_) for e in doc.ents] for doc in docs] == [
        [("Peter", "PER"), ("York-based", "ORG")], [("Paris", "GPE")],
    ]


def test_conll_without_docstart_groups_n_sents(model, tmp_path):
    (tmp_path / "in.iob").write_text("".join(f"Peter O\nw{i} O\n\n" for i in range(5)))
    result = invoke(model, tmp_path / "in.iob", tmp_path / "out.jsonl", "--format", "conll", "--n-sents", "2")
    assert result.exit_code == 0, result.output
    assert [r["text"] for r in read_jsonl(tmp_path / "out.jsonl")] == [
        "Peter w0 Peter w1", "Peter w2 Peter w3", "Peter w4",
    ]


def test_txt_to_docbin_and_format_options_bom_crlf(model, tmp_path):
    (tmp_path / "in.data").write_bytes("\ufeffPeter in Paris\r\n\r\n".encode("utf8"))
    result = invoke(model, tmp_path / "in.data", tmp_path / "out.bin", "--format", "txt", "--output-format", "spacy")
    assert result.exit_code == 0, result.output
    docs = list(DocBin().from_disk(tmp_path / "out.bin").get_docs(spacy.blank("en").vocab))
    assert [doc.text for doc in docs] == ["Peter in Paris", ""]
    assert [(e.text, e.label_) for e in docs[0].ents] == [("Peter", "PER"), ("Paris", "GPE")]


def test_unknown_suffix_is_a_usage_error(model, tmp_path):
    (tmp_path / "in.data").write_text("Peter\n")
    result = invoke(model, tmp_path / "in.data", tmp_path / "out.jsonl")
    assert result.exit_code == 2 and "--format" in result.output
    result = invoke(model, tmp_path / "in.data", tmp_path / "out.csv", "--format", "txt")
    assert result.exit_code == 2 and "--output-format" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.data"]


def test_conll_tokens_only_and_mixed_documents(model, tmp_path):
    # one column (what users annotate); a tagged document and a tokens-only one in one file
    (tmp_path / "in.conll").write_text("Peter\nvisited\nNew\nYork\n\nParis\n")
    result = invoke(model, tmp_path / "in.conll", tmp_path / "out.conll")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out.conll").read_text() == (
        "-DOCSTART- -X- -X- O\n\nPeter B-PER\nvisited O\nNew B-GPE\nYork I-GPE\n\nParis B-GPE\n\n"
    )
    (tmp_path / "mixed.conll").write_text(CONLL + "\n-DOCSTART-\n\nPeter\nin\nParis\n")
    result = invoke(model, tmp_path / "mixed.conll", tmp_path / "mixed.jsonl")
    assert result.exit_code == 0, result.output
    assert [ents(r) for r in read_jsonl(tmp_path / "mixed.jsonl")][1:] == [
        [("Paris", "GPE")], [("Peter", "PER"), ("Paris", "GPE")],
    ]
    # within a document the column count stays fixed
    (tmp_path / "bad.conll").write_text("Peter\nParis B-LOC\n")
    result = invoke(model, tmp_path / "bad.conll", tmp_path / "bad.jsonl")
    assert result.exit_code == 1
    assert f"{tmp_path / 'bad.conll'}:2: expected 1 column (as on line 1), found 2: 'Paris B-LOC'" in result.stderr
    # training data (the converter's reader) still needs a tag
    with pytest.raises(ConllError, match="expected at least 2 columns"):
        read_conll_text("Peter\n")


# --- bad input -----------------------------------------------------------------

GOOD_LINE = b'{"text": "Peter in Paris"}\n'
BAD_INPUTS = {
    "not JSON": ("in.jsonl", GOOD_LINE + b'{"text": "Peter"\n', 2, "not JSON (Expecting ',' delimiter at column 17)"),
    "not an object": ("in.jsonl", GOOD_LINE * 2 + b'["Peter"]\n', 3, "not a JSON object (got an array)"),
    "missing field": ("in.jsonl", GOOD_LINE + b'{"txt": "Peter"}\n', 2, "no field 'text'"),
    "text not a string": ("in.jsonl", GOOD_LINE + b'{"text": 12}\n', 2, "field 'text' is not a string (got a number)"),
    "text null": ("in.jsonl", b'{"text": null}\n', 1, "field 'text' is not a string (got null)"),
    "lone surrogate": ("in.jsonl", GOOD_LINE + b'{"text": "a\\ud800"}\n', 2, "field 'text' holds a lone surrogate"),
    "invalid UTF-8 jsonl": ("in.jsonl", GOOD_LINE + b'{"text": "caf\xe9"}\n', 2,
                            "not valid UTF-8 (byte 0xe9 at column 14)"),
    "invalid UTF-8 txt": ("in.txt", b"Peter\nParis\n\xff\xfe bad\n", 3, "not valid UTF-8 (byte 0xff at column 1)"),
    "conll columns": ("in.conll", CONLL.encode() + b"\n-DOCSTART- -X- -X- O\n\nPeter NNP B-PER\nin O\n", 17,
                      "expected 3 columns (as on line 16), found 2: 'in O'"),
    "conll bad tag": ("in.conll", CONLL.encode() + b"\n-DOCSTART- -X- -X- O\n\nParis NNP PER\n", 16,
                      "unknown tag 'PER': expected O or a B-/I- prefix with a label: 'Paris NNP PER'"),
    "conll invalid UTF-8": ("in.conll", CONLL.encode() + b"\n-DOCSTART- -X- -X- O\n\nPar\xeds NNP B-LOC\n", 16,
                            "not valid UTF-8 (byte 0xed at column 4)"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_file_line_exit_1_no_output(model, tmp_path, case):
    name, data, line_no, reason = BAD_INPUTS[case]
    path = tmp_path / name
    path.write_bytes(data)
    result = invoke(model, path, tmp_path / "out" / "out.jsonl", "--chunk-size", "1")
    assert result.exit_code == 1, result.output
    assert f"{path}:{line_no}: {reason}" in result.stderr
    assert "no output written" in result.stdout
    assert sorted(p.name for p in tmp_path.rglob("*")) == sorted([name, "out"])  # no output, no temp file


def test_skip_invalid_counts_and_skips(model, tmp_path):
    lines = [GOOD_LINE, b"not json\n", b'{"text": 1}\n', b'{"id": 4, "text": "Peter"}\n', b"\xff\n", b'{"t": ""}\n']
    (tmp_path / "in.jsonl").write_bytes(b"".join(lines))
    result = invoke(model, tmp_path / "in.jsonl", tmp_path / "out.jsonl", "--skip-invalid", "--chunk-size", "2")
    assert result.exit_code == 0, result.output
    assert [r["text"] for r in read_jsonl(tmp_path / "out.jsonl")] == ["Peter in Paris", "Peter"]
    assert re.search(r"Skipped \(invalid\)\s+4\b", result.stdout) and "Skipped 4 invalid" in result.stdout
    assert f"{tmp_path / 'in.jsonl'}:2: not JSON" in result.stdout
    summary = annotate(make_nlp(), tmp_path / "in.jsonl", tmp_path / "out2.jsonl", AnnotateOptions(skip_invalid=True))
    assert (summary.texts, summary.skipped, len(summary.examples)) == (2, 4, 4)
    assert summary.examples[3] == f"{tmp_path / 'in.jsonl'}:6: no field 'text'"
    with pytest.raises(AnnotateError, match=r"in\.jsonl:2: not JSON"):
        annotate(make_nlp(), tmp_path / "in.jsonl", tmp_path / "out3.jsonl")


def test_skip_invalid_conll_skips_the_document(model, tmp_path):
    name, data, _, _ = BAD_INPUTS["conll columns"]
    (tmp_path / name).write_bytes(data)
    result = invoke(model, tmp_path / name, tmp_path / "out.jsonl", "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert [r["text"] for r in read_jsonl(tmp_path / "out.jsonl")] == ["Peter visited New York-based firms", "Paris"]
    assert re.search(r"Skipped \(invalid\)\s+1\b", result.stdout)


def test_text_over_max_length_is_invalid_input(model, tmp_path):
    # spaCy refuses it (E088); it is a FILE:LINE error, or skipped with --skip-invalid
    path = tmp_path / "in.txt"
    path.write_text("Peter in Paris\n" + "x" * 1_000_001 + "\n" + " " * 1_000_001 + "\nParis\n")
    result = invoke(model, path, tmp_path / "out.jsonl")
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert f"{path}:2: text of 1,000,001 characters exceeds the pipeline's max_length (1,000,000); " in result.stderr
    assert "Traceback" not in result.output and "E088" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"]
    result = invoke(model, path, tmp_path / "out.jsonl", "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert [r["text"] for r in read_jsonl(tmp_path / "out.jsonl")] == ["Peter in Paris", "Paris"]
    assert re.search(r"Skipped \(invalid\)\s+2\b", result.stdout) and f"{path}:3: text of 1,000,001" in result.stdout
    summary = annotate(make_nlp(), path, tmp_path / "out2.jsonl", AnnotateOptions(skip_invalid=True))
    assert (summary.texts, summary.skipped) == (2, 2)


def test_max_length_option_and_conll_documents(model, tmp_path):
    (tmp_path / "in.jsonl").write_text(GOOD_LINE.decode() + '{"text": "Peter in Paris, Peter in Paris"}\n')
    result = invoke(model, tmp_path / "in.jsonl", tmp_path / "out.jsonl", "--max-length", "20")
    assert result.exit_code == 1
    assert f"{tmp_path / 'in.jsonl'}:2: text of 30 characters exceeds the pipeline's max_length (20); " in result.stderr
    # a CoNLL document is a Doc of its words: spaCy's limit does not apply (no tokenizer)
    (tmp_path / "in.conll").write_text(CONLL)
    result = invoke(model, tmp_path / "in.conll", tmp_path / "out.jsonl", "--max-length", "20")
    assert result.exit_code == 0, result.output
    assert len(read_jsonl(tmp_path / "out.jsonl")[0]["text"]) == 34


def file_hash(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def link(kind, target: Path, path: Path) -> None:
    (os.symlink if kind == "symlink" else os.link)(target, path)


@pytest.mark.parametrize("case", ["same path", "same path spelled differently", "output a symlink to the input",
                                  "output a hard link of the input", "input a symlink to the output"])
def test_output_is_input_is_refused(model, tmp_path, case):
    data = GOOD_LINE + b"not json\n" + b'{"text": "New York"}\n'
    (tmp_path / "in.jsonl").write_bytes(data)
    input_path, output_path = tmp_path / "in.jsonl", tmp_path / "in.jsonl"
    if case == "same path spelled differently":
        output_path = tmp_path / "sub" / ".." / "in.jsonl"
        (tmp_path / "sub").mkdir()
    elif case.startswith("output a"):
        output_path = tmp_path / "out.jsonl"
        link(case.split()[2], input_path, output_path)
    elif case.startswith("input a"):
        input_path = tmp_path / "link.jsonl"
        link("symlink", tmp_path / "in.jsonl", input_path)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    result = invoke(model, input_path, output_path, "--skip-invalid")
    assert result.exit_code == 2 and "is the input file" in re.sub(r"[\s│]+", " ", result.output), result.output
    with pytest.raises(ValueError, match="is the input file"):
        annotate(make_nlp(), input_path, output_path, AnnotateOptions(skip_invalid=True))
    assert (tmp_path / "in.jsonl").read_bytes() == data
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written, no temp file


# --- the output appears only when complete -------------------------------------


@pytest.mark.parametrize("out_name", ["out.jsonl", "out.conll", "out.spacy"])
def test_error_mid_file_leaves_no_output(boom_model, tmp_path, out_name):
    texts = [f"Peter number {i}" for i in range(9)] + ["BOOM goes Paris"] + ["Paris"] * 5
    (tmp_path / "in.txt").write_text("\n".join(texts) + "\n")
    result = invoke(boom_model, tmp_path / "in.txt", tmp_path / out_name, "--chunk-size", "2")
    assert result.exit_code == 1 and isinstance(result.exception, RuntimeError)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"]  # neither the output nor a temp file
    # an older output stays as it was
    (tmp_path / out_name).write_text("old")
    assert invoke(boom_model, tmp_path / "in.txt", tmp_path / out_name).exit_code == 1
    assert (tmp_path / out_name).read_text() == "old" and len(list(tmp_path.iterdir())) == 2


def test_interrupt_leaves_no_output(tmp_path):
    (tmp_path / "in.txt").write_text("Peter\n" * 5 + "STOP\n" + "Paris\n" * 5)
    with pytest.raises(KeyboardInterrupt):
        annotate(make_nlp("nerkit_test_boom"), tmp_path / "in.txt", tmp_path / "out.jsonl", AnnotateOptions(chunk_size=2))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"]


def test_progress_bar_when_asked(tmp_path, capsys):
    (tmp_path / "in.txt").write_text("Peter\n" * 20)
    annotate(make_nlp(), tmp_path / "in.txt", tmp_path / "out.jsonl", AnnotateOptions(chunk_size=3), progress=True)
    assert "100%" in capsys.readouterr().err
    annotate(make_nlp(), tmp_path / "in.txt", tmp_path / "out.jsonl")
    assert capsys.readouterr().err == ""


def test_installed_console_script(model, tmp_path):
    script = Path(sys.executable).parent / "nerkit"
    (tmp_path / "in.txt").write_text("Peter in Paris\n")
    result = subprocess.run([str(script), "annotate", str(model), str(tmp_path / "in.txt"), str(tmp_path / "o.jsonl")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "Wrote 1 texts" in result.stdout and "%|" not in result.stderr  # not a terminal: no progress bar
    assert ents(read_jsonl(tmp_path / "o.jsonl")[0]) == [("Peter", "PER"), ("Paris", "GPE")]


@pytest.mark.parametrize("signum, code, said", [(signal.SIGINT, 130, "Interrupted"), (signal.SIGTERM, 143, "Terminated")])
def test_signal_mid_run_leaves_no_output(model, tmp_path, signum, code, said):
    path = tmp_path / "in.txt"
    path.write_text("Peter flew from Paris to New York.\n" * 50_000)
    before = file_hash(path)
    cmd = [sys.executable, "-m", "nerkit.cli", "annotate", str(model), str(path), str(tmp_path / "out.jsonl"),
           "--chunk-size", "100"]
    # SIGINT at its default (a shell's background job would start with it ignored)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp") and p.stat().st_size]:  # mid-run
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[0]
        time.sleep(0.01)
    proc.send_signal(signum)
    output = proc.communicate(timeout=60)[0]
    assert proc.returncode == code, output
    assert f"{said}" in output and "no output written" in output and "Traceback" not in output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"]  # no output, no temp file
    assert file_hash(path) == before
