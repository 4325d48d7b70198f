"""The training schedule sized from the data: the steps of one epoch are counted
with the config's own batcher over the training documents, and ``max_steps``,
``eval_frequency`` and ``patience`` follow from them unless given.

On CoNLL-2003 (203,621 tokens in 946 documents) the default batcher makes about
290 steps an epoch; the shipped sample (8,259 tokens) makes 10.
"""
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Sized, Tuple, Union

from spacy.tokens import DocBin
from spacy.util import load_config, registry
from spacy.vocab import Vocab


@dataclass(frozen=True)
class Schedule:
    """How long to train, in steps (batches), and when to evaluate on dev.

    steps_per_epoch (int): Batches in one pass over the training data.
    max_steps (int): Steps to train (the learning-rate schedule ends there).
    eval_frequency (int): Steps between evaluations on dev.
    patience (int): Steps without a better dev score before stopping (0: never).
    """

    steps_per_epoch: int
    max_steps: int
    eval_frequency: int
    patience: int

    @property
    def epochs(self) -> float:
        return self.max_steps / self.steps_per_epoch

    def overrides(self) -> Dict[str, int]:
        """The schedule as ``spacy train`` config overrides."""
        return {
            "training.max_steps": self.max_steps,
            "training.eval_frequency": self.eval_frequency,
            "training.patience": self.patience,
        }


def count_steps_per_epoch(lengths: Iterable[int], batcher: Callable[[List[Sized]], Iterable], seed: int = 0) -> int:
    """Count the batches of one shuffled pass over documents of these lengths,
    as spaCy's training loop makes them (it shuffles, then calls the batcher).

    lengths (Iterable[int]): Tokens per training document.
    batcher (Callable): The resolved ``[training.batcher]`` of a config.
    seed (int): Seed of the shuffle (buffered batchers sort within a buffer).
    RETURNS (int): The number of batches, at least 1.
    """
    items: List[Sized] = [range(n) for n in lengths]  # the batchers only ask len(item)
    random.Random(seed).shuffle(items)
    return max(1, sum(1 for _ in batcher(items)))


def plan_schedule(
    steps_per_epoch: int, *, epochs: int, max_steps: int = 0, eval_frequency: int = 0, patience_epochs: int = 0
) -> Schedule:
    """Size the schedule: ``max_steps`` 0 means ``epochs`` passes over the data,
    ``eval_frequency`` 0 one evaluation an epoch, and ``patience_epochs`` epochs
    without a better dev score stop training (0: never stop early).

    RETURNS (Schedule): The schedule.
    RAISES ValueError: On a negative value, or epochs < 1 with max_steps 0.
    """
    values = dict(epochs=epochs, max_steps=max_steps, eval_frequency=eval_frequency, patience_epochs=patience_epochs)
    negative = [f"{name}={value}" for name, value in values.items() if value < 0]
    if negative:
        raise ValueError(f"Schedule values must not be negative: {', '.join(negative)}")
    if not max_steps and epochs < 1:
        raise ValueError("Set epochs to 1 or more, or max_steps to a number of steps")
    max_steps = max_steps or epochs * steps_per_epoch
    return Schedule(
        steps_per_epoch=steps_per_epoch,
        max_steps=max_steps,
        eval_frequency=min(eval_frequency or steps_per_epoch, max_steps),
        patience=patience_epochs * steps_per_epoch,
    )


def docbin_lengths(path: Union[str, Path]) -> List[int]:
    """Tokens per document of a ``.spacy`` file.

    path (Union[str, Path]): The DocBin.
    RETURNS (List[int]): One length per document.
    """
    return [len(doc) for doc in DocBin().from_disk(path).get_docs(Vocab())]


def config_batcher(config_path: Union[str, Path]) -> Callable:
    """The resolved ``[training.batcher]`` of a config file."""
    config = load_config(config_path, interpolate=True)
    return registry.resolve({"batcher": config["training"]["batcher"]})["batcher"]


def schedule_for_data(
    config_path: Union[str, Path],
    train_path: Union[str, Path],
    *,
    epochs: int,
    max_steps: int = 0,
    eval_frequency: int = 0,
    patience_epochs: int = 0,
) -> Tuple[Schedule, List[int]]:
    """The schedule for training a config on a DocBin (``nerkit train``): the
    steps of an epoch counted with the config's batcher over TRAIN's documents,
    then ``plan_schedule``.

    RETURNS (Tuple[Schedule, List[int]]): The schedule and the tokens per training document.
    RAISES ValueError: As ``plan_schedule``.
    """
    lengths = docbin_lengths(train_path)
    per_epoch = count_steps_per_epoch(lengths, config_batcher(config_path))
    schedule = plan_schedule(per_epoch, epochs=epochs, max_steps=max_steps, eval_frequency=eval_frequency,
                             patience_epochs=patience_epochs)
    return schedule, lengths
