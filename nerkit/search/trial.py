"""One trial: `spacy train` in this process on a config (its text, read once
when the search starts, so that editing the file does not change later trials)
with overrides, its
evaluations reported to the trial (nerkit.OptunaLogger.v1), its output in its
own folder. Training in-process lets the pruner stop a run between two
evaluations; the memory is freed before the next trial."""
import gc
import shutil
import sys
from pathlib import Path
from typing import IO, Any, Dict

from spacy.training.initialize import init_nlp
from spacy.training.loop import train
from thinc.api import Config

from .logger import TrialReporter, reporting_to

LOGGER = "nerkit.OptunaLogger.v1"


def trial_config(config_text: str, overrides: Dict[str, Any]) -> Config:
    """The config with `overrides` applied (not interpolated, as `spacy train`
    loads it) and its logger wrapped to report to the active trial."""
    config = Config().from_str(config_text, overrides=overrides, interpolate=False)
    config["training"]["logger"] = {"@loggers": LOGGER, "logger": config["training"]["logger"]}
    return config


def train_trial(
    config_text: str,
    overrides: Dict[str, Any],
    output_dir: Path,
    reporter: TrialReporter,
    *,
    use_gpu: int = -1,
    stdout: IO = sys.stdout,
) -> None:
    """Train the config `config_text` with `overrides` into `output_dir` (model-best,
    model-last), reporting each dev evaluation to `reporter`.

    RAISES optuna.TrialPruned: when the pruner stops the trial.
    """
    config = trial_config(config_text, overrides)
    output_dir.mkdir(parents=True, exist_ok=True)
    nlp = init_nlp(config, use_gpu=use_gpu)
    try:
        with reporting_to(reporter):
            train(nlp, output_dir, use_gpu=use_gpu, stdout=stdout, stderr=sys.stderr)
    finally:
        del nlp
        free_memory()


def free_memory() -> None:
    """Drop the finished trial's pipeline and the GPU memory torch caches for it."""
    gc.collect()
    try:
        import torch
    except ImportError:
        return
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def remove_models(output_dir: Path, keep_best: bool) -> None:
    """Remove model-last (and model-best unless `keep_best`) of a finished trial."""
    for name in ("model-last",) if keep_best else ("model-last", "model-best"):
        shutil.rmtree(output_dir / name, ignore_errors=True)
