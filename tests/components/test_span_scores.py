"""Entity probabilities: forward-backward against brute-force enumeration of
all valid tag sequences, spans and O summing to 1 at each token, and the
token head's `ent._.score` on the tiny BERT: in [0, 1], the same after
to_disk/from_disk, DocBin, pickle, n_process=2 and re-set `doc.ents`, off
with `scores = false`."""
import itertools
import json
import math
import pickle
import subprocess
import sys

import numpy
import pytest
import spacy
from spacy.tokens import Doc, DocBin, Span

from nerkit.components.marginals import forward_backward, lattice_loss, span_probs, tag_marginals
from nerkit.components.token_ner import SCORES_KEY
from nerkit.components.viterbi import is_valid, log_softmax, make_tags, tags_to_spans, transition_mask, viterbi

from .test_downstream import nlp  # noqa: F401 - a fixture: the float model, loaded
from .test_quantized import texts

LABELS = ["A", "B"]
TAGS = make_tags(LABELS)
MASK = transition_mask(TAGS)


def random_scores(n: int, seed: int, blank=()) -> numpy.ndarray:
    scores = log_softmax(numpy.random.default_rng(seed).normal(0, 2, size=(n, len(TAGS))))
    scores[list(blank), 1:] = -numpy.inf
    return scores


def brute_force(scores: numpy.ndarray, starts=()):
    """Z and P(span, label) by enumerating every tag sequence valid in each segment."""
    n = len(scores)
    cuts = [0, *sorted(s for s in starts if 0 < s < n), n]
    weights, spans = [], []
    for path in itertools.product(range(len(TAGS)), repeat=n):
        if not all(is_valid([TAGS[k] for k in path[a:b]]) for a, b in zip(cuts, cuts[1:])):
            continue
        weights.append(math.exp(sum(scores[t, k] for t, k in enumerate(path))))
        spans.append(set(s for a, b in zip(cuts, cuts[1:]) for s in
                         [(i + a, j + a, label) for i, j, label in tags_to_spans(path[a:b], TAGS)]))
    total = sum(weights)
    probs = {}
    for weight, found in zip(weights, spans):
        for span in found:
            probs[span] = probs.get(span, 0.0) + weight / total
    return total, probs


def gold_log_likelihood(scores: numpy.ndarray, gold, starts=()) -> float:
    """log of the summed probability of the valid sequences that agree with every known gold tag."""
    n = len(scores)
    cuts = [0, *sorted(s for s in starts if 0 < s < n), n]
    total, agree = 0.0, 0.0
    for path in itertools.product(range(len(TAGS)), repeat=n):
        if not all(is_valid([TAGS[k] for k in path[a:b]]) for a, b in zip(cuts, cuts[1:])):
            continue
        weight = math.exp(sum(scores[t, k] for t, k in enumerate(path)))
        total += weight
        agree += weight if all(g < 0 or g == k for g, k in zip(gold, path)) else 0.0
    return math.log(agree) - math.log(total)


@pytest.mark.parametrize("gold,starts", [
    (["B-A", "L-A", "O", "U-B"], ()),  # all known
    (["B-A", None, "O", None], ()),  # unknown tokens marginalised
    (["U-A", "O", "B-B", "L-B"], (2,)),  # two sentences
])
def test_lattice_loss_is_the_gold_sequences_negative_log_likelihood(gold, starts):
    scores = random_scores(len(gold), seed=7)
    index = numpy.asarray([-1 if tag is None else TAGS.index(tag) for tag in gold])
    loss, grad = lattice_loss(scores, MASK, index, starts)
    assert loss == pytest.approx(-gold_log_likelihood(scores, index, starts), rel=1e-9)
    numpy.testing.assert_allclose(grad.sum(axis=1), 0.0, atol=1e-12)  # so it is the logits' gradient too
    eps = 1e-6  # the gradient by central differences, every entry
    for t, k in itertools.product(range(len(gold)), range(len(TAGS))):
        up, down = scores.copy(), scores.copy()
        up[t, k] += eps
        down[t, k] -= eps
        numeric = (lattice_loss(up, MASK, index, starts)[0] - lattice_loss(down, MASK, index, starts)[0]) / (2 * eps)
        assert grad[t, k] == pytest.approx(numeric, abs=1e-6)
    if None not in gold:  # all known: the tag marginals minus the one-hot gold
        expected = tag_marginals(scores, MASK, starts)
        expected[numpy.arange(len(gold)), index] -= 1.0
        numpy.testing.assert_allclose(grad, expected, atol=1e-12)


def test_lattice_loss_falls_back_to_cross_entropy_where_gold_is_invalid():
    scores = random_scores(4, seed=8)
    index = numpy.asarray([TAGS.index(tag) for tag in ["B-A", "L-A", "O", "O"]])
    loss, grad = lattice_loss(scores, MASK, index, starts=(1,))  # the entity is cut by a sentence start
    assert loss == pytest.approx(-scores[numpy.arange(4), index].sum())
    expected = numpy.exp(scores)
    expected[numpy.arange(4), index] -= 1.0
    numpy.testing.assert_allclose(grad, expected, atol=1e-12)
    assert lattice_loss(scores[:0], MASK, index[:0])[0] == 0.0


def all_spans(n: int):
    return [(i, j) for i in range(n) for j in range(i + 1, n + 1)]


@pytest.mark.parametrize("n,seed,starts,blank", [(1, 0, (), ()), (3, 1, (), ()), (4, 2, (), ()), (5, 3, (), ()),
                                                 (4, 4, (2,), ()), (5, 5, (), (2,)), (5, 6, (1, 3), (4,))])
def test_span_probabilities_equal_brute_force(n, seed, starts, blank):
    scores = random_scores(n, seed, blank)
    total, expected = brute_force(scores, starts)
    if not starts:
        assert forward_backward(scores, MASK)[2] == pytest.approx(math.log(total))
    spans = all_spans(n)
    probs = span_probs(scores, TAGS, MASK, spans, starts)
    for (i, j), row in zip(spans, probs):
        for label, p in zip(LABELS, row):
            assert p == pytest.approx(expected.get((i, j, label), 0.0), abs=1e-12)
    assert any(p > 0.05 for p in expected.values())  # the lattice has real mass on entities
    assert all(probs[spans.index((b, b + 1))].sum() == 0 for b in blank)


def test_spans_covering_a_token_and_its_o_sum_to_one():
    n, starts = 12, (5,)
    scores = random_scores(n, 7, blank=(8,))
    spans = all_spans(n)
    probs = span_probs(scores, TAGS, MASK, spans, starts)
    o_marginal = tag_marginals(scores, MASK, starts)[:, 0]
    for t in range(n):
        covering = sum(probs[k].sum() for k, (i, j) in enumerate(spans) if i <= t < j)
        assert covering + o_marginal[t] == pytest.approx(1.0, abs=1e-9)
    numpy.testing.assert_allclose(tag_marginals(scores, MASK).sum(axis=1), 1.0)
    assert o_marginal[8] == pytest.approx(1.0)


def test_a_confident_lattice_scores_its_viterbi_path_near_one():
    scores = random_scores(6, 8)
    path = viterbi(scores * 50, MASK)  # sharp: one path takes almost all the mass
    ents = tags_to_spans(path, TAGS)
    probs = span_probs(log_softmax(scores * 50), TAGS, MASK, [(i, j) for i, j, _ in ents])
    assert ents and all(row[LABELS.index(label)] > 0.99 for (_, _, label), row in zip(ents, probs))


def test_bad_spans_and_iob2_tags():
    scores = random_scores(3, 9)
    for bad in [(0, 0), (2, 4), (-1, 1)]:
        with pytest.raises(ValueError, match="Invalid span"):
            span_probs(scores, TAGS, MASK, [bad])
    iob2 = make_tags(LABELS, "iob2")
    with pytest.raises(ValueError, match="BILUO"):
        span_probs(scores[:, :len(iob2)], iob2, transition_mask(iob2, "iob2"), [(0, 1)])


# --- the component on the tiny BERT -----------------------------------------


def scored(docs):
    return [[(e.start, e.end, e.label_, e._.score) for e in doc.ents] for doc in docs]


@pytest.fixture(scope="module")
def expected(nlp):  # noqa: F811
    found = scored(nlp.pipe(texts()))
    assert sum(map(len, found)) >= 10, found
    return found


def test_every_entity_has_a_probability(nlp, expected):  # noqa: F811
    scores = [score for doc in expected for *_, score in doc]
    assert all(isinstance(s, float) and 0.0 <= s <= 1.0 for s in scores)
    assert len(set(scores)) > 1
    pipe = nlp.get_pipe("ner")
    docs = list(nlp.get_pipe("transformer").pipe(nlp.make_doc(text) for text in texts(3)))
    logits = pipe.logits(docs)
    pipe.set_annotations(docs, pipe.predict(docs))
    for doc, doc_logits in zip(docs, logits):  # the stored probabilities are the pipe's span probabilities
        probs = pipe.span_probs(doc, doc_logits, [(e.start, e.end) for e in doc.ents])
        for ent, row in zip(doc.ents, probs):
            assert ent._.score == pytest.approx(row[pipe.labels.index(ent.label_)])
            alternatives = ent._.alternatives
            assert [label for label, _ in alternatives] == sorted(set(pipe.labels) - {ent.label_},
                                                                  key=lambda l: -row[pipe.labels.index(l)])
            assert ent._.score + sum(p for _, p in alternatives) <= 1.0 + 1e-9
    ent = next(e for doc in docs for e in doc.ents)
    assert ent.doc[ent.start : ent.end + 1]._.score is None  # a span the pipe did not predict
    assert Span(ent.doc, ent.start, ent.end, label=ent.label_)._.score == ent._.score
    assert ent.doc[ent.start : ent.end]._.score is None  # no label: not the entity


def test_scores_survive_disk_docbin_pickle_and_ents_reset(nlp, float_model, tmp_path, expected):  # noqa: F811
    assert scored(spacy.load(float_model).pipe(texts())) == expected
    nlp.to_disk(tmp_path / "again")
    assert scored(spacy.load(tmp_path / "again").pipe(texts())) == expected
    docs = list(nlp.pipe(texts()))
    again = list(DocBin(docs=docs, store_user_data=True).from_bytes(
        DocBin(docs=docs, store_user_data=True).to_bytes()).get_docs(nlp.vocab))
    assert scored(again) == expected
    assert scored([Doc(nlp.vocab).from_bytes(doc.to_bytes()) for doc in docs]) == expected
    assert scored(pickle.loads(pickle.dumps(docs))) == expected
    assert scored(pickle.loads(pickle.dumps(nlp)).pipe(texts())) == expected
    for doc in docs:
        doc.ents = list(doc.ents)  # new Span objects: the scores are read from the doc
    assert scored(docs) == expected
    lost = list(DocBin(docs=docs).from_bytes(DocBin(docs=docs).to_bytes()).get_docs(nlp.vocab))
    assert all(e._.score is None for doc in lost for e in doc.ents)  # without user data, no scores


def test_scores_off_and_temperature(float_model, expected, tmp_path):
    off = spacy.load(float_model, config={"components": {"ner": {"scores": False}}})
    docs = list(off.pipe(texts()))
    assert [[e[:3] for e in doc] for doc in scored(docs)] == [[e[:3] for e in doc] for doc in expected]
    assert all(e._.score is None and e._.alternatives == [] for doc in docs for e in doc.ents)
    assert not any(SCORES_KEY in doc.user_data for doc in docs)
    hot = spacy.load(float_model)
    hot.get_pipe("ner").cfg["temperature"] = 3.0
    found = scored(hot.pipe(texts()))
    assert [[e[:3] for e in doc] for doc in found] == [[e[:3] for e in doc] for doc in expected]  # same entities
    assert [[e[3] for e in doc] for doc in found] != [[e[3] for e in doc] for doc in expected]
    hot.to_disk(tmp_path / "hot")
    assert spacy.load(tmp_path / "hot").get_pipe("ner").temperature == 3.0
    assert scored(spacy.load(tmp_path / "hot").pipe(texts())) == found


N_PROCESS = """
import json, sys, spacy
nlp = spacy.load(sys.argv[1])
texts = json.loads(sys.argv[2])
docs = nlp.pipe(texts, n_process=2, batch_size=4)
print(json.dumps([[[e.start, e.end, e.label_, e._.score] for e in d.ents] for d in docs]))
"""


def test_n_process_2_keeps_the_scores(float_model, expected):
    run = subprocess.run([sys.executable, "-c", N_PROCESS, str(float_model), json.dumps(texts())],
                         capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr[-2000:]
    found = json.loads(run.stdout.splitlines()[-1])
    assert [[tuple(e[:3]) for e in doc] for doc in found] == [[e[:3] for e in doc] for doc in expected]
    numpy.testing.assert_allclose([e[3] for doc in found for e in doc], [e[3] for doc in expected for e in doc],
                                  rtol=1e-5)

