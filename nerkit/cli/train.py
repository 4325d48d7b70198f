"""``nerkit train CONFIG OUTPUT --train TRAIN --dev DEV``: train a config on
DocBins with a schedule sized from the training data
(``nerkit.training.schedule``), saying the schedule before training starts;
then ``spacy train`` as usual, with the config's console logger (progress,
and the time each evaluation took)."""
from pathlib import Path

import typer
from wasabi import msg


def train_command(
    # fmt: off
    config_path: Path = typer.Argument(..., help="The training config (configs/NAME.cfg)", exists=True, dir_okay=False),
    output_path: Path = typer.Argument(..., help="Where model-best and model-last go"),
    train_path: Path = typer.Option(..., "--train", help="Training DocBin (.spacy)", exists=True, dir_okay=False),
    dev_path: Path = typer.Option(..., "--dev", help="Development DocBin (.spacy): model selection", exists=True, dir_okay=False),
    epochs: int = typer.Option(10, "--epochs", help="Passes over the training data, when --max-steps is 0"),
    max_steps: int = typer.Option(0, "--max-steps", help="Steps (batches) to train; 0: --epochs passes over the data"),
    eval_frequency: int = typer.Option(0, "--eval-frequency", help="Steps between evaluations on dev; 0: once an epoch"),
    patience_epochs: int = typer.Option(0, "--patience-epochs", help="Stop after this many epochs without a better dev F1; 0: never stop early"),
    gpu_id: int = typer.Option(-1, "--gpu-id", help="GPU id, -1 for CPU"),
    # fmt: on
) -> None:
    """Size the schedule from TRAIN's documents and the config's batcher, then spacy train."""
    from spacy.cli.train import train

    from nerkit.training.schedule import schedule_for_data

    try:
        schedule, lengths = schedule_for_data(config_path, train_path, epochs=epochs, max_steps=max_steps,
                                              eval_frequency=eval_frequency, patience_epochs=patience_epochs)
    except ValueError as err:
        msg.fail(str(err), exits=1)
    stop = f"or after {patience_epochs} epoch(s) without a better dev F1" if schedule.patience else "no early stop"
    msg.info(
        f"Schedule: {sum(lengths):,} tokens in {len(lengths):,} docs make {schedule.steps_per_epoch:,} steps an epoch",
        f"{schedule.max_steps:,} steps ({schedule.epochs:.1f} epochs), evaluating every "
        f"{schedule.eval_frequency:,} steps; {stop}",
    )
    overrides = {"paths.train": str(train_path), "paths.dev": str(dev_path), **schedule.overrides()}
    train(config_path, output_path, use_gpu=gpu_id, overrides=overrides)
