"""A pipeline for the serve tests: spacy.blank("en") + entity_ruler (cheap,
nothing trained, its entities known), saved with a meta that has scores."""
from pathlib import Path

import pytest
import spacy
from spacy.language import Language

PATTERNS = [
    {"label": "PER", "pattern": "Peter"},
    {"label": "GPE", "pattern": "Paris"},
    {"label": "ORG", "pattern": [{"LOWER": "european"}, {"LOWER": "commission"}]},
]


def make_nlp() -> Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns(PATTERNS)
    nlp.meta.update(name="ruler", version="1.2.3", performance={"ents_f": 0.9})
    return nlp


@pytest.fixture(scope="session")
def ruler_model(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("serve") / "ruler"
    make_nlp().to_disk(path)
    return path
