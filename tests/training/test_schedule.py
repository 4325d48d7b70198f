"""The schedule sized from the data: steps an epoch with the config's batcher,
max_steps / eval_frequency / patience from epochs unless given."""
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin
from spacy.util import registry

from nerkit.conll import read_conll
from nerkit.training.schedule import (
    Schedule, config_batcher, count_steps_per_epoch, docbin_lengths, plan_schedule,
)

ROOT = Path(__file__).resolve().parents[2]


def padded(size: int):
    return registry.resolve({"b": {"@batchers": "spacy.batch_by_padded.v1", "size": size, "buffer": 256,
                                   "discard_oversize": False}})["b"]


def test_steps_per_epoch_follow_the_batcher():
    assert count_steps_per_epoch([100] * 20, padded(1000)) == 2  # 10 docs of 100 padded tokens a batch
    assert count_steps_per_epoch([100] * 20, padded(500)) == 4
    assert count_steps_per_epoch([3000], padded(1000)) == 1  # an oversize doc is a batch of its own
    assert count_steps_per_epoch([], padded(1000)) == 1


def test_default_config_batcher_on_the_sample():
    batcher = config_batcher(ROOT / "configs" / "minilm_tokner_case_goldtok.cfg")
    sample = read_conll(ROOT / "corpus" / "sample" / "train.conll")
    lengths = [sum(len(sent.tokens) for sent in doc.sentences) for doc in sample.documents]
    assert (len(lengths), sum(lengths)) == (60, 8259)
    assert count_steps_per_epoch(lengths, batcher) == 10


def test_plan_from_epochs():
    assert plan_schedule(290, epochs=10) == Schedule(290, 2900, 290, 0)
    assert plan_schedule(10, epochs=10, patience_epochs=3) == Schedule(10, 100, 10, 30)
    assert plan_schedule(290, epochs=10).epochs == 10


def test_overrides_win():
    schedule = plan_schedule(290, epochs=10, max_steps=1200, eval_frequency=300)
    assert schedule == Schedule(290, 1200, 300, 0)
    assert schedule.overrides() == {"training.max_steps": 1200, "training.eval_frequency": 300,
                                    "training.patience": 0}
    assert plan_schedule(290, epochs=0, max_steps=50).eval_frequency == 50  # never past the end


@pytest.mark.parametrize("kwargs", [dict(epochs=0), dict(epochs=-1, max_steps=5), dict(epochs=1, patience_epochs=-1)])
def test_bad_values(kwargs):
    with pytest.raises(ValueError):
        plan_schedule(10, **kwargs)


def test_docbin_lengths(tmp_path):
    nlp = spacy.blank("en")
    path = tmp_path / "train.spacy"
    DocBin(docs=[nlp("one two three"), nlp("four")]).to_disk(path)
    assert docbin_lengths(path) == [3, 1]
