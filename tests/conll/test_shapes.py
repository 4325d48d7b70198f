"""The converter on the shapes users' files come in (tests/shapes.py): every
sentence, entity and label read back, documents of n_sents sentences where the
file has no -DOCSTART- lines, the scheme detected."""
import math

import pytest

from nerkit.conll import read_conll, summarize

from ..shapes import SHAPES, make_sentences, write_corpus


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_shape_reads_back(tmp_path, name):
    shape = SHAPES[name]
    path = write_corpus(tmp_path, name)["train"]
    conll_file = read_conll(path, n_sents=7)
    expected = make_sentences(shape.labels, 60, seed=0)
    assert [(s.tokens, s.spans) for s in conll_file.sentences] == expected
    assert conll_file.scheme == shape.scheme
    assert len(conll_file.documents) == (1 if shape.docstart else math.ceil(60 / 7))
    summary = summarize(conll_file)
    assert set(summary["entities"]) == set(shape.labels)
    assert summary["repairs"] == {} and summary["empty_docs"] == 0


def test_shapes_are_what_they_say(tmp_path):
    """The fixture files have the raw shape (not only what the reader makes of it)."""
    social = write_corpus(tmp_path, "social")["train"].read_text(encoding="utf8")
    lines = social.split("\n")
    assert "\t" in lines[0] and " " not in lines[0] and "-DOCSTART-" not in social
    assert "\t" in lines and "" not in lines[:-1]  # tab-only lines between sentences
    tags = {line.split("\t")[1] for line in lines if line.strip()}
    assert {tag[:2] for tag in tags} - {"O"} == {"B-", "I-", "E-", "S-"}
    assert any(tag.endswith("-creative-work") for tag in tags)
