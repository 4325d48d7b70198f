"""The nerkit_token_ner pipe: learns, decodes validly, serialises, loads
without importing nerkit, and works in `spacy train` / `spacy evaluate`."""
import json
import subprocess
import sys
from pathlib import Path
from typing import List

import numpy
import pytest
import spacy
from spacy.language import Language
from spacy.scorer import get_ner_prf
from spacy.tokens import Doc, DocBin
from spacy.training import Example
from spacy.util import load_config, load_model_from_config
from thinc.api import Adam, Config, fix_random_seed

from nerkit.components import TokenNER, build_token_tagger, is_valid
from nerkit.conll import read_conll_docs

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"
SAMPLE = ROOT / "corpus" / "sample"

CNN_TOK2VEC = {
    "@architectures": "spacy.HashEmbedCNN.v2", "pretrained_vectors": None, "width": 64, "depth": 2,
    "embed_size": 1000, "window_size": 1, "maxout_pieces": 3, "subword_features": True,
}


def sample_examples(nlp: Language, n: int = 4, split: str = "train", max_tokens: int = 60) -> List[Example]:
    """The first `n` docs of the sample corpus, cut to their first sentences
    (at most about `max_tokens` tokens), as Examples."""
    examples = []
    for doc in read_conll_docs(SAMPLE / f"{split}.conll", nlp.vocab)[:n]:
        end = len(doc)
        for sent in doc.sents:
            if sent.end > max_tokens and sent.start > 0:
                end = sent.start
                break
        ref = doc[:end].as_doc()
        examples.append(Example(nlp.make_doc(ref.text), ref))
    return examples


def config_with_tiny_bert(name: str, tiny_bert: Path) -> Config:
    """A config from configs/ with the transformer swapped for the tiny BERT."""
    config = load_config(CONFIGS / name, interpolate=True)
    config["components"]["transformer"]["model"]["name"] = str(tiny_bert)
    config["initialize"]["before_init"] = None
    if config["initialize"].get("after_init"):  # the allocator setting is process-wide: not in the test process
        config["initialize"]["after_init"]["mmap_threshold"] = 0
    return config


def train(nlp: Language, examples: List[Example], steps: int, drop: float = 0.0, lr: float = 0.001) -> List[float]:
    """Initialize and update on all examples `steps` times with Adam at a
    constant rate (the configs' warmup would start at 0); the ner losses."""
    fix_random_seed(0)
    nlp.initialize(lambda: examples)
    optimizer = Adam(lr)
    losses = []
    for _ in range(steps):
        losses.append(nlp.update(examples, sgd=optimizer, drop=drop)["ner"])
    return losses


def ents(docs) -> List[list]:
    return [[(e.start, e.end, e.label_) for e in doc.ents] for doc in docs]


def ents_f(nlp: Language, examples: List[Example]) -> float:
    predicted = [Example(nlp(eg.x.text), eg.y) for eg in examples]
    return get_ner_prf(predicted)["ents_f"]


@pytest.fixture(scope="module")
def cnn_nlp():
    """A token head on a small CNN, overfit on four sample snippets."""
    fix_random_seed(0)
    nlp = spacy.blank("en")
    nlp.add_pipe("nerkit_token_ner", name="ner", config={"model": {"tok2vec": CNN_TOK2VEC}})
    examples = sample_examples(nlp)
    losses = train(nlp, examples, steps=40)
    return nlp, examples, losses


def test_cnn_overfits_the_training_examples(cnn_nlp):
    nlp, examples, losses = cnn_nlp
    assert nlp.get_pipe("ner").labels == ("LOC", "MISC", "ORG", "PER")
    assert losses[-1] < losses[0] * 0.05
    assert ents_f(nlp, examples) >= 0.9
    scores = nlp.evaluate(examples)
    assert scores["ents_f"] >= 0.9 and "ents_per_type" in scores


def test_predictions_are_valid_biluo(cnn_nlp):
    nlp, _, _ = cnn_nlp
    pipe = nlp.get_pipe("ner")
    docs = [nlp.make_doc(text) for text in ("", "Thomas Kowalski visited Microsoft in Paris .", "a")]
    for doc, (path, _) in zip(docs, pipe.predict(docs)):
        assert len(path) == len(doc)
        assert is_valid([pipe.tags[i] for i in path])
    assert nlp("").ents == ()


def test_no_entity_across_a_sentence_start(cnn_nlp):
    nlp, examples, _ = cnn_nlp
    text = "Thomas Kowalski visited Microsoft in Paris ."
    found = [e for e in nlp(text).ents if len(e) > 1]
    assert found, "the overfit model should find a multi-token entity here"
    ent = found[0]
    words = [t.text for t in nlp.make_doc(text)]
    starts = [i in (0, ent.start + 1) for i in range(len(words))]  # a start inside the entity
    doc = nlp(Doc(nlp.vocab, words=words, sent_starts=starts))
    assert not any(e.start < ent.start + 1 < e.end for e in doc.ents)
    assert all(is_valid([t.ent_iob_ + ("-" + t.ent_type_ if t.ent_type_ else "") for t in s], "iob2")
               for s in doc.sents)


def test_serialization_round_trips(cnn_nlp, tmp_path):
    nlp, examples, _ = cnn_nlp
    texts = [eg.x.text for eg in examples] + ["Elena Petrova met Microsoft people in Berlin ."]
    expected = ents(nlp.pipe(texts))
    nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    assert loaded.get_pipe("ner").labels == nlp.get_pipe("ner").labels
    assert ents(loaded.pipe(texts)) == expected
    pipe = TokenNER(nlp.vocab, build_token_tagger(spacy.registry.resolve({"t": CNN_TOK2VEC})["t"]), "ner")
    pipe.from_bytes(nlp.get_pipe("ner").to_bytes())
    assert pipe.labels == nlp.get_pipe("ner").labels
    assert ents([pipe(nlp.make_doc(t)) for t in texts]) == expected
    # in a fresh process, without importing nerkit: the entry points suffice
    code = (
        "import json, sys, spacy\n"
        f"nlp = spacy.load({str(tmp_path / 'pipeline')!r})\n"
        "assert 'nerkit' in sys.modules  # loaded through the entry point\n"
        f"texts = {texts!r}\n"
        "print(json.dumps([[[e.start, e.end, e.label_] for e in d.ents] for d in nlp.pipe(texts)]))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert result.returncode == 0, result.stderr
    assert [[tuple(e) for e in d] for d in json.loads(result.stdout)] == expected


def test_missing_gold_gets_zero_gradient(cnn_nlp):
    nlp, _, _ = cnn_nlp
    pipe = nlp.get_pipe("ner")
    ref = Doc(nlp.vocab, words=["John", "Smith", "went", "home", "."], ents=["B-PER", "I-PER", "", "", "O"])
    eg = Example(nlp.make_doc(ref.text), ref)
    scores, _ = pipe.model.begin_update([eg.predicted])
    loss, d_scores = pipe.get_loss([eg], scores)
    d = d_scores[0]
    assert loss > 0 and numpy.isfinite(loss)
    assert not d[2:4].any() and d[[0, 1, 4]].any()
    tags = pipe.tags
    assert d[0, tags.index("B-PER")] < 0 and d[1, tags.index("L-PER")] < 0
    numpy.testing.assert_allclose(d[[0, 1, 4]].sum(axis=1), 0.0, atol=1e-5)


def test_lattice_loss_trains_and_marginalises_missing_gold(cnn_nlp):
    nlp, _, _ = cnn_nlp
    fix_random_seed(0)
    lattice = spacy.blank("en")
    lattice.add_pipe("nerkit_token_ner", name="ner", config={"model": {"tok2vec": CNN_TOK2VEC}, "loss": "lattice"})
    examples = sample_examples(lattice)
    losses = train(lattice, examples, steps=40)
    assert losses[-1] < losses[0] * 0.05 and ents_f(lattice, examples) >= 0.9
    pipe = lattice.get_pipe("ner")
    ref = Doc(lattice.vocab, words=["John", "Smith", "went", "home", "."], ents=["B-PER", "I-PER", "", "", "O"])
    eg = Example(lattice.make_doc(ref.text), ref)
    scores, _ = pipe.model.begin_update([eg.predicted])
    loss, (d,) = pipe.get_loss([eg], scores)
    softmax_loss, (d_softmax,) = nlp.get_pipe("ner").get_loss([eg], scores)
    assert loss > 0 and numpy.isfinite(loss)
    assert d[2:4].any() and not d_softmax[2:4].any()  # the unknown tokens are marginalised, not skipped
    numpy.testing.assert_allclose(d.sum(axis=1), 0.0, atol=1e-5)
    with pytest.raises(ValueError, match="unknown loss 'crf'"):
        spacy.blank("en").add_pipe("nerkit_token_ner", config={"model": {"tok2vec": CNN_TOK2VEC}, "loss": "crf"})


def test_labels_and_bad_arguments():
    nlp = spacy.blank("en")
    pipe = nlp.add_pipe("nerkit_token_ner", config={"model": {"tok2vec": CNN_TOK2VEC}})
    assert pipe.add_label("PER") == 1 and pipe.add_label("PER") == 0
    with pytest.raises(ValueError):
        pipe.add_label("BAD LABEL")
    examples = sample_examples(nlp, n=1)
    nlp.initialize(lambda: examples)  # labels from the data: added to PER
    assert set(pipe.labels) >= {"PER"} and len(pipe.tags) == 1 + 4 * len(pipe.labels)
    with pytest.raises(ValueError, match="initialized"):
        pipe.add_label("NEW")
    with pytest.raises(ValueError, match="tok2vec"):
        build_token_tagger("not a model")
    with pytest.raises(ValueError, match="nO"):
        build_token_tagger(spacy.registry.resolve({"t": CNN_TOK2VEC})["t"], nO=0)
    other = spacy.blank("en")
    pipe = other.add_pipe("nerkit_token_ner", config={"model": {"tok2vec": CNN_TOK2VEC}})
    other.config["initialize"]["components"]["nerkit_token_ner"] = {"labels": ["ORG", "X"]}
    other.initialize(lambda: examples)  # labels as `spacy init labels` would give them
    assert pipe.labels == ("ORG", "X")


def test_trains_on_tiny_bert(tiny_bert):
    config = config_with_tiny_bert("minilm_tokner.cfg", tiny_bert)
    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    examples = sample_examples(nlp, n=3, max_tokens=40)
    losses = train(nlp, examples, steps=24)
    assert losses[-1] < losses[0] * 0.7, losses
    assert set(nlp.get_pipe("ner").labels) >= {"PER"}


@pytest.mark.parametrize("init_std", [0.0, 0.02])
def test_output_layer_init_and_first_gradient(tiny_bert, init_std):
    # zeros (spaCy's tagger) send no gradient to the transformer on the first
    # update; N(0, 0.02) (HF's classifier, our default) does
    config = config_with_tiny_bert("minilm_tokner.cfg", tiny_bert)
    assert config["components"]["ner"]["model"]["init_std"] == 0.02
    config["components"]["ner"]["model"]["init_std"] = init_std
    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    examples = sample_examples(nlp, n=2, max_tokens=30)
    fix_random_seed(0)
    nlp.initialize(lambda: examples)
    W = nlp.get_pipe("ner").model.get_ref("output_layer").get_param("W").copy()
    losses = nlp.update(examples, sgd=Adam(0.001))
    if init_std:
        assert 0.01 < float(W.std()) < 0.03
        assert losses["transformer"] > 0
    else:
        assert not W.any()
        assert losses["transformer"] == 0


def test_init_std_must_be_a_small_non_negative_number():
    tok2vec = spacy.registry.resolve({"t": CNN_TOK2VEC})["t"]
    for bad in (-0.1, 1.0, "0.02", True):
        with pytest.raises(ValueError, match="init_std"):
            build_token_tagger(tok2vec, init_std=bad)


def _write_docbin(path: Path, examples: List[Example]) -> Path:
    DocBin(docs=[eg.reference for eg in examples]).to_disk(path)
    return path


def test_spacy_train_and_evaluate_cli(tiny_bert, tmp_path):
    from spacy.cli.evaluate import evaluate
    from spacy.cli.train import train as spacy_train

    nlp = spacy.blank("en")
    train_path = _write_docbin(tmp_path / "train.spacy", sample_examples(nlp, n=4, max_tokens=40))
    dev_path = _write_docbin(tmp_path / "dev.spacy", sample_examples(nlp, n=2, split="dev", max_tokens=40))
    overrides = {
        "paths.train": str(train_path), "paths.dev": str(dev_path),
        "components.transformer.model.name": str(tiny_bert),
        "training.max_steps": 6, "training.eval_frequency": 3,
    }
    spacy_train(CONFIGS / "minilm_tokner.cfg", tmp_path / "out", overrides=overrides)
    best = tmp_path / "out" / "model-best"
    meta = json.loads((best / "meta.json").read_text())
    assert "ents_f" in meta["performance"]
    nlp = spacy.load(best)
    assert nlp.pipe_names == ["transformer", "ner"] and isinstance(nlp.get_pipe("ner"), TokenNER)
    scores = evaluate(best, dev_path)
    assert 0.0 <= scores["ents_f"] <= 1.0
