"""``nerkit search CONFIG SPACE OUTPUT``: the command line of ``nerkit.search``."""
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from wasabi import msg

CONTEXT = {"allow_extra_args": True, "ignore_unknown_options": True}


class Pruner(str, Enum):
    median = "median"
    halving = "halving"
    none = "none"


def search_command(
    # fmt: off
    ctx: typer.Context,
    config_path: Path = typer.Argument(..., metavar="CONFIG", help="The training config to search over (e.g. configs/minilm_tokner_case_goldtok.cfg)", exists=True, dir_okay=False),
    space_path: Path = typer.Argument(..., metavar="SPACE", help="The search space: a YAML file mapping config keys (section.key) to distributions (configs/search_space.yml)", exists=True, dir_okay=False),
    output_dir: Path = typer.Argument(..., metavar="OUTPUT", help="Folder of the study (study.journal), the trials' models (trials/), results.json, results.md, plot.png and best.cfg. Run again to resume", file_okay=False),
    train_path: Path = typer.Option(..., "--train", help="Training data (paths.train), e.g. corpus/converted/ner_minilm/train.spacy", exists=True),
    dev_path: Path = typer.Option(..., "--dev", help="Dev data (paths.dev): each evaluation's score feeds the pruner", exists=True),
    n_trials: int = typer.Option(20, "--n-trials", min=1, help="Trials to finish (complete or pruned) in all: a resumed search runs only the rest"),
    steps: Optional[int] = typer.Option(None, "--steps", min=1, help="training.max_steps of each trial (default: the config's)"),
    eval_frequency: Optional[int] = typer.Option(None, "--eval-frequency", min=1, help="training.eval_frequency of each trial: how often dev is scored and the pruner asked (default: the config's)"),
    pruner: Pruner = typer.Option(Pruner.median, "--pruner", help="Stop bad trials early: median (below the median of earlier trials at the same step), halving (successive halving) or none"),
    startup_trials: int = typer.Option(3, "--startup-trials", min=0, help="median pruner: trials that finish before any is pruned"),
    metric: str = typer.Option("ents_f", "--metric", help="The dev score to maximize (a key of spaCy's scores)"),
    seed: int = typer.Option(0, "--seed", help="Seed of the sampler (TPE)"),
    gpu_id: int = typer.Option(-1, "--gpu-id", help="GPU to train on (needs cupy); -1: CPU"),
    # fmt: on
) -> None:
    """Search hyperparameters of a training config with Optuna, offline.

    Each trial is a `spacy train` of CONFIG with the sampled values as
    overrides (more fixed overrides as in spacy train: --section.key value).
    The study lives in OUTPUT/study.journal, so running the same command again
    continues where it stopped (an interrupted trial runs again). After every
    trial OUTPUT gets results.json and results.md (the trials table),
    plot.png, and best.cfg: CONFIG with the best trial's values, for train."""
    from spacy.cli._util import parse_config_overrides

    from nerkit.search import SearchError, SpaceError, load_space, make_settings, run_search

    try:
        space = load_space(space_path)
        settings = make_settings(
            config_path, space, train_path, dev_path, steps=steps, eval_frequency=eval_frequency, metric=metric,
            overrides=parse_config_overrides(ctx.args),
        )
        study = run_search(
            space, settings, output_dir, n_trials, pruner=pruner.value, startup_trials=startup_trials, seed=seed,
            use_gpu=gpu_id, log=msg.info,
        )
    except (ImportError, SpaceError, SearchError) as err:
        msg.fail("Cannot search")
        typer.echo(str(err), err=True)  # FILE: params.NAME: REASON, unwrapped
        raise typer.Exit(1)
    _summary(study, output_dir, metric)


def _summary(study, output_dir: Path, metric: str) -> None:
    from nerkit.search.report import BEST_CONFIG, best_row, trial_rows

    rows = trial_rows(study)
    best = best_row(rows)
    states = ", ".join(f"{sum(r['state'] == s for r in rows)} {s}" for s in sorted({r["state"] for r in rows}))
    msg.good(f"{len(rows)} trials ({states}); table, plot in {output_dir}")
    if best is None:
        msg.warn("No trial completed, so no best.cfg")
    else:
        msg.good(f"Best: trial {best['trial']}, dev {metric} {best['value']:.4f}: {output_dir / BEST_CONFIG}")
