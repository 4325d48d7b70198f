"""The training logger ``nerkit.OptunaLogger.v1``: it runs the config's own
logger and hands each dev evaluation to the search's active trial, which
reports it to Optuna and stops the run (``optuna.TrialPruned``) when the
pruner says so.

`nerkit search` wraps a trial's ``[training.logger]`` in it:

    [training.logger]
    @loggers = "nerkit.OptunaLogger.v1"

    [training.logger.logger]
    @loggers = "spacy.ConsoleLogger.v1"
    progress_bar = false

Outside a search (no active trial) it only runs the wrapped logger, so a
trial's saved config trains like any other.
"""
import sys
from contextlib import contextmanager
from typing import IO, Any, Callable, Dict, Iterator, Optional, Tuple

from spacy.language import Language
from spacy.util import registry

LogStep = Callable[[Optional[Dict[str, Any]]], None]
SetupLogger = Callable[[Language, IO, IO], Tuple[LogStep, Callable[[], None]]]


class TrialReporter:
    """Reports each evaluation's `metric` to an Optuna trial at its training
    step, remembers the scores, and raises optuna.TrialPruned when the trial
    should stop. An evaluation at `last_step` (the trial's max_steps) is not
    put to the pruner: the trial has run its whole schedule, and pruning it
    then would save nothing and drop its score."""

    def __init__(self, trial: Any, metric: str = "ents_f", last_step: Optional[int] = None):
        self.trial = trial
        self.metric = metric
        self.last_step = last_step
        self.scores: Dict[int, float] = {}  # step -> dev score

    def __call__(self, info: Dict[str, Any]) -> None:
        other = info.get("other_scores") or {}
        if self.metric not in other:
            known = ", ".join(k for k, v in other.items() if isinstance(v, (int, float)))
            raise ValueError(f"The dev scores have no {self.metric!r} to search on (they have: {known})")
        step, value = int(info["step"]), float(other[self.metric] or 0.0)
        self.scores[step] = value
        self.trial.report(value, step)
        if (self.last_step is None or step < self.last_step) and self.trial.should_prune():
            from optuna import TrialPruned

            raise TrialPruned(f"pruned at step {step}: dev {self.metric} {value:.4f}")

    @property
    def best(self) -> Tuple[int, float]:
        """(step, score) of the best evaluation, the earliest of equal ones (as model-best)."""
        step = max(self.scores, key=lambda s: (self.scores[s], -s))
        return step, self.scores[step]


_ACTIVE: Optional[TrialReporter] = None


@contextmanager
def reporting_to(reporter: TrialReporter) -> Iterator[TrialReporter]:
    """Make `reporter` receive the evaluations of the training run inside the block."""
    global _ACTIVE
    previous, _ACTIVE = _ACTIVE, reporter
    try:
        yield reporter
    finally:
        _ACTIVE = previous


@registry.loggers("nerkit.OptunaLogger.v1")
def optuna_logger(logger: Optional[SetupLogger] = None) -> SetupLogger:
    """Run `logger` (default: none) and report every dev evaluation to the
    active search trial, if any.

    logger (Optional[Callable]): The logger to wrap, e.g. spacy.ConsoleLogger.v1.
    RETURNS (Callable): A spaCy logger setup function.
    """

    def setup(nlp: Language, stdout: IO = sys.stdout, stderr: IO = sys.stderr) -> Tuple[LogStep, Callable[[], None]]:
        log_step, finalize = logger(nlp, stdout, stderr) if logger is not None else (lambda info: None, lambda: None)
        reporter = _ACTIVE

        def step(info: Optional[Dict[str, Any]]) -> None:
            log_step(info)
            if info is not None and reporter is not None:
                reporter(info)

        return step, finalize

    return setup
