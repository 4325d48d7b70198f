"""The default pipeline (tiny BERT) as downstream spaCy apps use it: empty and
blank texts anywhere in a batch, no entity on a blank token, pickle,
``nlp.pipe(n_process=2)``, bytes round trips and sourcing into another pipeline.
Each compares against a known, non-empty set of entities."""
import json
import pickle
import subprocess
import sys

import numpy
import pytest
import spacy

from nerkit.components.token_ner import is_blank

from .test_quantized import texts
from .test_token_ner import CNN_TOK2VEC, ents, sample_examples, train

# blank texts: whitespace, a paragraph separator, a BOM, a soft hyphen, NUL, a zero-width space
BLANKS = ["", " ", "\n", "\u2029", "\ufeff", "\u00ad", "\x00", "\u200b", "\t\n \u3000"]


@pytest.fixture(scope="module")
def nlp(float_model):
    return spacy.load(float_model)


@pytest.fixture(scope="module")
def expected(nlp):
    found = ents(nlp.pipe(texts()))
    assert sum(map(len, found)) >= 10, found  # the model must predict entities for the comparisons to mean anything
    return found


def test_empty_and_blank_texts_anywhere_in_a_batch(nlp, expected):
    mixed, where = [], []
    for i, text in enumerate(texts()):
        blank = BLANKS[i % len(BLANKS)]
        mixed += [blank, text] if i % 2 else [text, blank]
        where.append(len(mixed) - 1 if i % 2 else len(mixed) - 2)
    docs = list(nlp.pipe(mixed, batch_size=4))
    assert [ents([docs[k]])[0] for k in where] == expected
    assert all(not doc.ents for k, doc in enumerate(docs) if k not in where)
    assert all(not doc.ents for doc in nlp.pipe(BLANKS))  # a batch of blanks only


def test_case_aware_listener_gives_empty_docs_their_width(nlp):
    listener = nlp.get_pipe("ner").model.get_ref("tok2vec")
    docs = list(nlp.get_pipe("transformer").pipe([nlp.make_doc(t) for t in ("Paris", "", "Peter Smith")]))
    shapes = [out.shape for out in listener.predict(docs)]
    width = listener.get_dim("nO")
    assert shapes == [(1, width), (0, width), (2, width)]


def test_training_batch_with_an_empty_doc(float_model):
    nlp = spacy.load(float_model, config={"nlp": {"after_pipeline_creation": {"dtype": "float32"}}})
    examples = sample_examples(nlp, n=2, max_tokens=30)
    empty = spacy.training.Example(nlp.make_doc(""), nlp.make_doc(""))
    losses = nlp.update([examples[0], empty, examples[1]], sgd=None)
    assert losses["ner"] > 0


@pytest.mark.parametrize("text,blank", [("\n", True), ("\u2029", True), ("\ufeff", True), ("\u00ad", True),
                                        ("\x00", True), ("\u200b\u200b", True), ("Paris", False), ("-", False),
                                        ("a\u00ad", False), ("", True)])
def test_is_blank(text, blank):
    assert is_blank(text) is blank


def test_blank_tokens_are_never_entities():
    """A head whose bias says U-LOC for every token: every visible token is a
    LOC, no blank one is (and no entity runs over one)."""
    nlp = spacy.blank("en")
    nlp.add_pipe("nerkit_token_ner", name="ner", config={"model": {"tok2vec": CNN_TOK2VEC}})
    train(nlp, sample_examples(nlp, n=1), steps=1)
    pipe = nlp.get_pipe("ner")
    output = pipe.model.get_ref("output_layer")
    bias = numpy.zeros(output.get_param("b").shape, dtype="float32")
    bias[pipe.tags.index("U-LOC")] = 1e4
    output.set_param("b", bias)
    doc = nlp("Paris \n\n London \u2029 \ufeff Rome \u00ad \x00 Oslo")
    visible = [t.text for t in doc if not (t.is_space or is_blank(t.text))]
    assert [e.text for e in doc.ents] == visible == ["Paris", "London", "Rome", "Oslo"]
    assert all(e.label_ == "LOC" for e in doc.ents)


def test_pickle(nlp, expected):
    again = pickle.loads(pickle.dumps(nlp))
    assert ents(again.pipe(texts())) == expected


def test_to_bytes_from_bytes(nlp, float_model, expected):
    other = spacy.load(float_model)
    other.from_bytes(nlp.to_bytes())
    assert ents(other.pipe(texts())) == expected


def test_sourcing_the_transformer_and_ner(nlp, expected):
    other = spacy.blank("en")
    other.tokenizer = nlp.tokenizer  # the pipeline's own tokenizer (it keeps hyphenated words)
    for name in ("transformer", "ner"):
        other.add_pipe(name, source=nlp)
    assert ents(other.pipe(texts())) == expected


N_PROCESS = """
import json, sys, spacy
nlp = spacy.load(sys.argv[1])
texts = json.loads(sys.argv[2])
one = [[[e.start, e.end, e.label_] for e in d.ents] for d in nlp.pipe(texts)]  # torch's threads used first
two = [[[e.start, e.end, e.label_] for e in d.ents] for d in nlp.pipe(texts, n_process=2, batch_size=4)]
print(json.dumps([one, two]))
"""


def test_n_process_2_finishes_with_the_same_entities(float_model, expected):
    # a subprocess with a timeout: before the fork hook, this hung for good
    run = subprocess.run([sys.executable, "-c", N_PROCESS, str(float_model), json.dumps(texts())],
                         capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr[-2000:]
    one, two = json.loads(run.stdout.splitlines()[-1])
    assert one == two
    assert [[tuple(e) for e in doc] for doc in two] == expected
    assert "TOKENIZERS_PARALLELISM" not in run.stderr  # the tokenizers' fork warning


def test_service_answers_a_batch_with_an_empty_text(nlp, expected):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from nerkit.serve import ServeSettings, create_app

    client = TestClient(create_app(nlp, ServeSettings(max_chars=10_000)), raise_server_exceptions=False)
    response = client.post("/ents", json={"texts": [texts(1)[0], "", "\n"]})
    assert response.status_code == 200, response.text  # was a 500 from the case-aware listener
    docs = response.json()["docs"]
    assert [len(doc["ents"]) for doc in docs] == [len(expected[0]), 0, 0] and expected[0]
