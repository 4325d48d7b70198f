"""Reader: input variants, document/sentence grouping, structural errors."""
from pathlib import Path

import pytest

from nerkit.conll import ConllError, read_conll, read_conll_text, summarize
from nerkit.conll.reader import stream_conll

FOUR_COL = """-DOCSTART- -X- -X- O

Siemens NNP B-NP I-ORG
hires VBZ B-VP O
Swedish JJ B-NP I-MISC

Maria NNP B-NP I-PER
Rossi NNP I-NP I-PER

-DOCSTART- -X- O O

LISBON NNP B-NP I-LOC
"""


def write(tmp_path: Path, content, name: str = "data.conll") -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode("utf8")
    path.write_bytes(content)
    return path


def shape(conll_file):
    """(tokens, spans) per sentence, per document."""
    return [[(s.tokens, s.spans) for s in doc.sentences] for doc in conll_file.documents]


EXPECTED = [
    [
        (["Siemens", "hires", "Swedish"], [(0, 1, "ORG"), (2, 3, "MISC")]),
        (["Maria", "Rossi"], [(0, 2, "PER")]),
    ],
    [(["LISBON"], [(0, 1, "LOC")])],
]


def test_four_columns_docstart_variants(tmp_path):
    cf = read_conll(write(tmp_path, FOUR_COL))
    assert shape(cf) == EXPECTED
    assert cf.scheme == "iob1"
    assert [d.line_no for d in cf.documents] == [1, 10]
    sent = cf.documents[0].sentences[1]
    assert sent.line_no == 7 and sent.line_nos == [7, 8] and sent.pos == ["NNP", "NNP"]
    assert not cf.repairs


@pytest.mark.parametrize(
    "transform",
    [
        pytest.param(lambda t: t, id="plain"),
        pytest.param(lambda t: t.replace(" ", "\t"), id="tabs"),
        pytest.param(lambda t: t.replace(" ", " \t  "), id="mixed-spaces-tabs"),
        pytest.param(lambda t: t.replace("\n", "\r\n"), id="crlf"),
        pytest.param(lambda t: "\ufeff" + t, id="bom"),
        pytest.param(lambda t: "\ufeff" + t.replace("\n", "\r\n"), id="bom-crlf"),
        pytest.param(lambda t: t.rstrip("\n"), id="no-trailing-newline"),
        pytest.param(lambda t: t + "\n\n\n", id="trailing-blanks"),
        pytest.param(lambda t: t.replace("\n\n", "\n  \t \n\n \n"), id="whitespace-only-and-multiple-blanks"),
        pytest.param(lambda t: t.replace("\n\n-DOCSTART", "\n-DOCSTART"), id="no-blank-before-docstart"),
    ],
)
def test_input_variants(tmp_path, transform):
    cf = read_conll(write(tmp_path, transform(FOUR_COL)))
    assert shape(cf) == EXPECTED


def test_bom_file_bytes(tmp_path):
    path = write(tmp_path, b"\xef\xbb\xbfKoln B-LOC\r\n\r\nx O\r\n")
    cf = read_conll(path, n_sents=1)
    assert [s.tokens for s in cf.sentences] == [["Koln"], ["x"]]
    assert cf.sentences[0].spans == [(0, 1, "LOC")]


def test_two_columns_no_docstart_groups_n_sents():
    text = "\n\n".join(f"w{i} B-PER\nx{i} O" for i in range(7)) + "\n"
    cf = read_conll_text(text, n_sents=3)
    assert [len(d.sentences) for d in cf.documents] == [3, 3, 1]
    assert [d.line_no for d in cf.documents] == [1, 10, 19]
    assert cf.sentences[0].pos is None
    assert cf.scheme == "iob2"
    assert read_conll_text(text).documents[0].sentences == cf.sentences[:7]
    with pytest.raises(ValueError):
        read_conll_text(text, n_sents=0)


def test_tokens_before_first_docstart_form_a_document():
    cf = read_conll_text("a O\n\n-DOCSTART- O\n\nb O\n-DOCSTART- -X- -X- O\n\n")
    assert [[s.tokens for s in d.sentences] for d in cf.documents] == [[["a"]], [["b"]]]
    assert [d.line_no for d in cf.documents] == [1, 3]


def test_sentences_before_the_first_docstart_are_grouped_by_n_sents():
    text = "a O\n\nb O\n\nc O\n-DOCSTART- O\n\nd O\n\ne O\n\nf O\n"
    cf = read_conll_text(text, n_sents=2)
    assert [[s.tokens[0] for s in d.sentences] for d in cf.documents] == [["a", "b"], ["c"], ["d", "e", "f"]]
    assert [d.line_no for d in cf.documents] == [1, 5, 6]


@pytest.mark.parametrize("text", [
    "a O\n\nb O\n\nc O\n-DOCSTART- O\n\nd O\n\ne O\n\nf O\n",
    "\n\n-DOCSTART- O\n-DOCSTART- O\n\na B-PER\nb I-PER\n\n\nc O\n-DOCSTART- O\n\n",
    "\n\n".join(f"w{i} O" for i in range(7)) + "\n",
    "x O\n-DOCSTART- O\ny O\n\n\n\nz O\n",
])
def test_whole_file_and_stream_split_documents_alike(text):
    whole = read_conll_text(text, n_sents=2)
    lines = [(i, len(line) + 1, line, "") for i, line in enumerate(text.split("\n"), 1)]
    streamed = [part.document for part in stream_conll(lines, "<text>", n_sents=2)]
    assert [[s.tokens for s in d.sentences] for d in streamed] == [[s.tokens for s in d.sentences] for d in whole.documents]
    assert [d.line_no for d in streamed] == [d.line_no for d in whole.documents]
    assert whole.documents and all(d.sentences for d in whole.documents)


def test_empty_documents_are_counted_not_silently_dropped():
    # three markers: the 2nd document holds no token (a marker follows a marker), the last too
    cf = read_conll_text("-DOCSTART- O\n\na O\n\n-DOCSTART- O\n\n-DOCSTART- O\n\nb O\n\n-DOCSTART- O\n")
    assert [[s.tokens for s in d.sentences] for d in cf.documents] == [[["a"]], [["b"]]]
    assert cf.empty_docs == 2
    assert summarize(cf)["empty_docs"] == 2


def test_tag_column_and_unicode_tokens():
    text = "Zoë NNP I-PER x\nnon\u00a0breaking NN O x\n"
    cf = read_conll_text(text, tag_column=2)
    assert cf.sentences[0].tokens == ["Zoë", "non\u00a0breaking"]
    assert cf.sentences[0].spans == [(0, 1, "PER")]
    with pytest.raises(ConllError, match="tag_column 0"):
        read_conll_text(text, tag_column=0)
    with pytest.raises(ConllError, match="tag_column 4"):
        read_conll_text(text, tag_column=4)


def test_sentence_boundary_splits_entities():
    # IOB1 over the whole document would merge these into one entity
    cf = read_conll_text("New I-LOC\nYork I-LOC\n\nCity I-LOC\nhall O\n")
    assert [s.spans for s in cf.sentences] == [[(0, 2, "LOC")], [(0, 1, "LOC")]]


def expect_error(tmp_path, content, line_no, reason, **opts):
    path = write(tmp_path, content)
    with pytest.raises(ConllError) as info:
        read_conll(path, **opts)
    err = info.value
    assert err.path == str(path) and err.line_no == line_no
    assert reason in err.reason
    assert str(err).startswith(f"{path}:{line_no}: ")
    return err


def test_error_column_count(tmp_path):
    err = expect_error(tmp_path, "a NN O\nb NN O\n\nc O\n", 4, "expected 3 columns (as on line 1), found 2")
    assert err.line == "c O"
    assert str(err).endswith(": 'c O'")


def test_error_single_column(tmp_path):
    expect_error(tmp_path, "a\n", 1, "at least 2 columns")


def test_error_empty_token(tmp_path):
    expect_error(tmp_path, "a\tNN\tO\n\tNN\tO\n", 2, "empty token")


def test_error_unknown_prefix(tmp_path):
    expect_error(tmp_path, "a O\nb X-PER\n", 2, "unknown tag 'X-PER'")
    expect_error(tmp_path, "a O\nb PER\n", 2, "unknown tag 'PER'")
    expect_error(tmp_path, "a O\nb U-PER\n", 2, "'U-' is not valid in IOB2", scheme="iob2")
    # structural: stays an error in lenient mode
    expect_error(tmp_path, "a O\nb X-PER\n", 2, "unknown tag", lenient=True)


def test_error_scheme_violation_names_line(tmp_path):
    text = "-DOCSTART- -X- O O\n\nPeter NNP I-NP I-PER\n"
    err = expect_error(tmp_path, text, 3, "I-PER at sentence start is invalid in IOB2", scheme="iob2")
    assert str(err) == f"{tmp_path / 'data.conll'}:3: I-PER at sentence start is invalid in IOB2: 'Peter NNP I-NP I-PER'"
    expect_error(tmp_path, "a O\nPeter I-PER\n", 2, "I-PER after O is invalid in IOB2", scheme="iob2")
    expect_error(tmp_path, "a B-LOC\nb I-PER\n", 2, "I-PER after B-LOC is invalid", scheme="iob2")
    expect_error(tmp_path, "x O\n\na B-PER\nb O\n", 3, "B-PER is not closed", scheme="bilou")
    expect_error(tmp_path, "a S-PER\nb I-PER\nc E-PER\n", 2, "I-PER after S-PER", scheme="bioes")


def test_lenient_repairs_are_counted(tmp_path):
    cf = read_conll(write(tmp_path, "a O\nb I-PER\n\nc B-LOC\nd O\n"), scheme="bioes", lenient=True)
    assert [s.spans for s in cf.sentences] == [[(1, 2, "PER")], [(0, 1, "LOC")]]
    assert cf.repairs == {"I- after O/other type starts an entity": 1, "missing E-: entity closed at last token": 2}


@pytest.mark.parametrize(
    "content,line_no,reason",
    [
        (b"", 1, "no tokens"),
        (b"\n \n\n", 1, "no tokens"),
        (b"-DOCSTART- -X- -X- O\n\n", 1, "no tokens"),
        (b"a O\nb\x00 O\n", 2, "NUL"),
        (b"a O\n\nb\xff O\n", 3, "not valid UTF-8"),
        (b"\xff\xfea\x00 \x00O\x00", 1, "NUL"),  # UTF-16
    ],
)
def test_error_empty_or_binary(tmp_path, content, line_no, reason):
    expect_error(tmp_path, content, line_no, reason)
    expect_error(tmp_path, content, line_no, reason, lenient=True)


def test_unknown_scheme_name():
    with pytest.raises(ValueError, match="Unknown tag scheme"):
        read_conll_text("a O\n", scheme="bio3")
    assert read_conll_text("a S-X\n", scheme="IOBES").scheme == "bioes"


@pytest.mark.parametrize(
    "text,scheme,spans",
    [
        ("A B-creative-work\nB E-creative-work\nC S-Disease\nD O\n", "bioes", [(0, 2, "creative-work"), (2, 3, "Disease")]),
        ("A U-person\nB B-creative-work\nC I-creative-work\nD L-creative-work\n", "bilou", [(0, 1, "person"), (1, 4, "creative-work")]),
        ("A B-creative-work\nB I-creative-work\nC B-creative-work\n", "iob2", [(0, 2, "creative-work"), (2, 3, "creative-work")]),
        ("A I-creative-work\nB B-creative-work\nC I-Disease\n", "iob1", [(0, 1, "creative-work"), (1, 2, "creative-work"), (2, 3, "Disease")]),
    ],
)
def test_schemes_detected_from_file(text, scheme, spans):
    cf = read_conll_text(text)
    assert cf.scheme == scheme and cf.sentences[0].spans == spans
    assert read_conll_text(text, scheme=scheme).sentences[0].spans == spans
