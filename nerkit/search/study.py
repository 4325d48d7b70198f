"""The search: an Optuna study stored in a journal file in the output folder,
one `spacy train` per trial, reports rewritten after every trial.

Rerunning the same search continues it: `n_trials` counts the trials that
finished (complete or pruned) over all runs, and a trial that an interruption
cut short is run again with the same parameters."""
import hashlib
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from thinc.api import Config

from ._compat import require_search_libs
from .logger import TrialReporter
from .report import write_reports
from .settings import SearchError, SearchSettings
from .space import SearchSpace
from .trial import remove_models, train_trial

STUDY_FILE = "study.journal"
STUDY_NAME = "nerkit-search"
PRUNERS = ("median", "halving", "none")


def make_pruner(name: str, eval_frequency: int, startup_trials: int = 3) -> Any:
    """median: stop a trial below the median of earlier trials at the same step
    (after `startup_trials` finished trials, never at step 0); halving:
    successive halving with rungs at eval_frequency × 3^k steps; none."""
    import optuna

    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=startup_trials, n_warmup_steps=1)
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=max(1, eval_frequency), reduction_factor=3)
    if name == "none":
        return optuna.pruners.NopPruner()
    raise SearchError(f"Unknown pruner {name!r} (expected one of {', '.join(PRUNERS)})")


def open_study(output_dir: Path, settings: SearchSettings, pruner: Any, seed: int) -> Any:
    """Create the study in `output_dir`/study.journal, or load it and check
    that it was made with the same settings."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    output_dir.mkdir(parents=True, exist_ok=True)
    storage = JournalStorage(JournalFileBackend(str(output_dir / STUDY_FILE)))
    study = optuna.create_study(
        storage=storage, study_name=STUDY_NAME, direction="maximize", pruner=pruner, load_if_exists=True
    )
    # A new seed per run: a resumed run must not draw the first run's parameters again.
    study.sampler = optuna.samplers.TPESampler(seed=seed + len(study.get_trials(deepcopy=False)))
    stored = study.user_attrs.get("settings")
    current = asdict(settings)
    if stored is None:
        study.set_user_attr("settings", current)
    elif stored != current:
        changed = [f"{key}: {stored.get(key)!r} -> {current[key]!r}" for key in current if stored.get(key) != current[key]]
        raise SearchError(
            f"{output_dir / STUDY_FILE} holds a search with other settings ({'; '.join(changed)}). "
            "Use another output folder to start a new search."
        )
    return study


def requeue_interrupted(study: Any) -> List[int]:
    """Mark trials left running by a killed run as failed, and queue every
    failed trial's parameters once more. RETURNS the numbers requeued."""
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    retried = {t.user_attrs.get("retry_of") for t in trials}
    requeued = []
    for t in trials:
        if t.state == TrialState.RUNNING:
            study.tell(t.number, state=TrialState.FAIL)
        elif t.state != TrialState.FAIL:
            continue
        if t.number not in retried and t.params:
            study.enqueue_trial(t.params, user_attrs={"retry_of": t.number})
            requeued.append(t.number)
    return requeued


def finished(study: Any) -> int:
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))


def run_search(
    space: SearchSpace,
    settings: SearchSettings,
    output_dir: Path,
    n_trials: int,
    *,
    pruner: Any = "median",
    startup_trials: int = 3,
    seed: int = 0,
    use_gpu: int = -1,
    log: Callable[[str], None] = print,
) -> Any:
    """Run (or continue) the search until `n_trials` trials have finished.
    Each trial trains into `output_dir`/trials/trial-NNN (model-best kept for
    complete trials, nothing for pruned ones); the table, plot and best.cfg
    are rewritten after every trial. RETURNS the optuna Study."""
    require_search_libs()
    if use_gpu >= 0:
        import spacy

        spacy.require_gpu(use_gpu)
    raw = Path(settings.config).read_bytes()  # the trials' config, whatever the file becomes during the search
    if hashlib.sha256(raw).hexdigest() != settings.config_sha256:
        raise SearchError(f"{settings.config} changed after the search's settings were made")
    config_text = raw.decode("utf8")
    training = Config().from_str(config_text)["training"]
    if isinstance(pruner, str):
        pruner = make_pruner(pruner, settings.eval_frequency or training["eval_frequency"], startup_trials)
    max_steps = settings.steps or training.get("max_steps")
    last_step = max_steps if isinstance(max_steps, int) and max_steps > 0 else None  # 0: no step limit
    study = open_study(output_dir, settings, pruner, seed)
    for number in requeue_interrupted(study):
        log(f"Trial {number} was interrupted: it runs again with the same parameters")
    done = finished(study)
    if done:
        log(f"Resuming {output_dir / STUDY_FILE}: {done} of {n_trials} trials finished")

    def objective(trial: Any) -> float:
        return _run_one(trial, space, settings, config_text, last_step, output_dir, use_gpu, log)

    def after_trial(study: Any, trial: Any) -> None:
        write_reports(study, space, settings, config_text, output_dir)

    if n_trials > done:
        study.optimize(objective, n_trials=n_trials - done, callbacks=[after_trial])
    write_reports(study, space, settings, config_text, output_dir)
    return study


def _run_one(trial: Any, space: SearchSpace, settings: SearchSettings, config_text: str, last_step: Optional[int],
             output_dir: Path, use_gpu: int, log: Callable[[str], None]) -> float:
    from optuna import TrialPruned

    overrides = space.sample(trial)
    trial_dir = output_dir / "trials" / f"trial-{trial.number:03d}"
    trial.set_user_attr("output", str(trial_dir))
    log(f"Trial {trial.number}: " + ", ".join(f"{k}={v!r}" for k, v in trial.params.items()))
    reporter = TrialReporter(trial, settings.metric, last_step)
    start = time.perf_counter()
    try:
        train_trial(config_text, {**settings.fixed_overrides(), **overrides}, trial_dir, reporter, use_gpu=use_gpu)
    except TrialPruned:
        remove_models(trial_dir, keep_best=False)
        raise
    finally:
        trial.set_user_attr("seconds", round(time.perf_counter() - start, 1))
    if not reporter.scores:
        raise SearchError(f"Trial {trial.number} ran no dev evaluation: set eval_frequency to at most steps")
    remove_models(trial_dir, keep_best=True)
    best_step, best = reporter.best
    trial.set_user_attr("best_step", best_step)
    return best
