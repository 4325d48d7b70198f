"""Docs <-> CoNLL: DocBin -> writer (every scheme) -> reader keeps tokens,
sentence and document boundaries and entities; the corpus reader."""
import tempfile
from pathlib import Path

import pytest
import spacy
from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.tokens import Doc, DocBin, Span
from spacy.training import Example
from spacy.vocab import Vocab

from nerkit.conll import SCHEMES, conll_to_docs, create_conll_corpus, read_conll, read_conll_docs, write_conll

VOCAB = Vocab()
LABELS = st.sampled_from(["PER", "LOC", "creative-work", "Disease", "I-X", "b"])
TOKENS = st.text(
    st.characters(blacklist_categories=("Zs", "Zl", "Zp", "Cc", "Cs")), min_size=1, max_size=6
).filter(lambda t: t != "-DOCSTART-" and not any(c.isspace() for c in t))


@st.composite
def sentence(draw):
    """(words, spans) for one sentence with random well-formed entities."""
    words = draw(st.lists(TOKENS, min_size=1, max_size=8))
    spans, pos = [], 0
    while pos < len(words):
        step = draw(st.integers(0, 3))
        if step == 0:
            end = draw(st.integers(pos + 1, min(len(words), pos + 3)))
            spans.append((pos, end, draw(LABELS)))
            pos = end
        else:
            pos += step
    return words, spans


def make_doc(sentences) -> Doc:
    words, starts, ents = [], [], []
    for sent_words, spans in sentences:
        ents.extend((len(words) + s, len(words) + e, label) for s, e, label in spans)
        starts.extend([True] + [False] * (len(sent_words) - 1))
        words.extend(sent_words)
    doc = Doc(VOCAB, words=words, sent_starts=starts)
    doc.set_ents([Span(doc, s, e, label=label) for s, e, label in ents], default="outside")
    return doc


def signature(doc: Doc):
    return (
        [t.text for t in doc],
        [bool(t.is_sent_start) for t in doc],
        [(e.start, e.end, e.label_) for e in doc.ents],
        [t.ent_iob_ for t in doc],
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(sentence(), min_size=1, max_size=4), min_size=1, max_size=3), st.sampled_from(SCHEMES))
def test_docbin_conll_round_trip(doc_specs, scheme):
    docs = [make_doc(spec) for spec in doc_specs]
    docs = list(DocBin(docs=docs).from_bytes(DocBin(docs=docs).to_bytes()).get_docs(VOCAB))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "out" / "rt.conll"
        write_conll(docs, path, scheme=scheme)
        for read_scheme in ("auto", scheme):
            back = read_conll_docs(path, VOCAB, scheme=read_scheme)
            assert [signature(d) for d in back] == [signature(d) for d in docs]
        conll_file = read_conll(path)
        if any(d.ents for d in docs) and conll_file.scheme != scheme:
            assert {conll_file.scheme, scheme} == {"iob1", "iob2"}  # same reading
        assert not conll_file.repairs


def test_writer_format_and_pos(tmp_path):
    text = "-DOCSTART- -X- O O\n\nEU NNP I-NP I-ORG\nsays VBZ I-VP O\n\nHi UH O O\n"
    (tmp_path / "in.conll").write_text(text)
    docs = read_conll_docs(tmp_path / "in.conll", VOCAB, keep_pos=True)
    assert [t.tag_ for t in docs[0]] == ["NNP", "VBZ", "UH"]
    assert [t.is_sent_start for t in docs[0]] == [True, False, True]
    assert read_conll_docs(tmp_path / "in.conll", VOCAB)[0][0].tag_ == ""  # keep_pos off by default
    write_conll(docs, tmp_path / "out.conll", scheme="bioes")
    assert (tmp_path / "out.conll").read_text() == (
        "-DOCSTART- -X- -X- O\n\nEU NNP S-ORG\nsays VBZ O\n\nHi UH O\n\n"
    )
    write_conll(docs, tmp_path / "out2.conll", pos=False)
    assert (tmp_path / "out2.conll").read_text().splitlines()[2] == "EU B-ORG"


def test_writer_doc_without_sentences_and_cross_sentence_entity(tmp_path):
    doc = Doc(VOCAB, words=["New", "York", "City"])
    doc.ents = [Span(doc, 0, 3, label="LOC")]
    write_conll([doc], tmp_path / "a.conll")
    assert read_conll(tmp_path / "a.conll").sentences[0].spans == [(0, 3, "LOC")]
    doc = Doc(VOCAB, words=["New", "York", "City"], sent_starts=[True, False, True])
    doc.ents = [Span(doc, 0, 3, label="LOC")]
    write_conll([doc], tmp_path / "b.conll")  # split at the sentence boundary
    assert [s.spans for s in read_conll(tmp_path / "b.conll").sentences] == [[(0, 2, "LOC")], [(0, 1, "LOC")]]


@pytest.mark.parametrize("words", [["a b"], ["-DOCSTART-"], ["\n"]])
def test_writer_rejects_unwritable_tokens(tmp_path, words):
    with pytest.raises(ValueError, match="cannot be written"):
        write_conll([Doc(VOCAB, words=words)], tmp_path / "x.conll")
    assert not (tmp_path / "x.conll").exists()


def test_corpus_reader(tmp_path):
    path = tmp_path / "train.conll"
    path.write_text("-DOCSTART- -X- -X- O\n\nEU NNP B-ORG\nsays VBZ O\n\n-DOCSTART- O\n\nPeter NNP B-PER\n")
    nlp = spacy.blank("en")
    corpus = spacy.registry.readers.get("nerkit.ConllCorpus.v1")(path=str(path), scheme="iob2", keep_pos=True)
    examples = list(corpus(nlp))
    assert len(examples) == 2 and all(isinstance(eg, Example) for eg in examples)
    eg = examples[0]
    assert [t.text for t in eg.predicted] == ["EU", "says"] and not eg.predicted.ents
    assert [(e.text, e.label_) for e in eg.reference.ents] == [("EU", "ORG")]
    assert eg.reference[0].tag_ == "NNP" and eg.reference[1].is_sent_start is False
    assert len(list(corpus(nlp))) == 2  # callable again (one per epoch)
    # from a config, and the pipeline can initialize and train on it
    config = spacy.util.load_config_from_str(
        f'[corpus]\n@readers = "nerkit.ConllCorpus.v1"\npath = "{path}"\nlenient = true\n'
    )
    corpus = spacy.registry.resolve(config)["corpus"]
    nlp.add_pipe("ner")
    nlp.initialize(lambda: corpus(nlp))
    assert set(nlp.get_pipe("ner").labels) == {"ORG", "PER"}
    nlp.update(list(corpus(nlp)))


def test_corpus_reader_error(tmp_path):
    path = tmp_path / "bad.conll"
    path.write_text("a O\nb I-PER\n")
    corpus = create_conll_corpus(path, scheme="iob2")
    with pytest.raises(ValueError, match=r"bad.conll:2: I-PER after O"):
        list(corpus(spacy.blank("en")))


def test_conll_to_docs_accepts_language():
    from nerkit.conll import read_conll_text

    docs = conll_to_docs(read_conll_text("a B-X\n\nb O\n"), spacy.blank("en"))
    assert [e.label_ for e in docs[0].ents] == ["X"]
    assert [t.is_sent_start for t in docs[0]] == [True, True]
