from pathlib import Path

import pytest
from spacy.util import load_model_from_config

from .test_token_ner import config_with_tiny_bert, sample_examples, train


@pytest.fixture(scope="session")
def float_model(tiny_bert, tmp_path_factory) -> Path:
    """The default config on the tiny BERT, trained until it finds entities, saved
    (shared by the int8 and bfloat16 tests)."""
    nlp = load_model_from_config(config_with_tiny_bert("minilm_tokner_case_goldtok.cfg", tiny_bert), auto_fill=True)
    train(nlp, sample_examples(nlp, n=4, max_tokens=60), steps=40, lr=0.003)
    path = tmp_path_factory.mktemp("float") / "model"
    nlp.to_disk(path)
    return path
