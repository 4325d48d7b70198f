"""The registered training logger ``nerkit.ConsoleLogger.v1``: spaCy's console
table with a progress bar, and after each evaluation a line with the time since
the previous one and the time left at that pace, so an hour-long run shows
signs of life.

    [training.logger]
    @loggers = "nerkit.ConsoleLogger.v1"
    progress_bar = "train"
"""
import sys
import time
from pathlib import Path
from typing import IO, Any, Callable, Dict, Optional, Tuple, Union

import spacy
import tqdm
from spacy.language import Language
from spacy.training.loggers import console_logger_v3


def format_minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def timing_line(step: int, max_steps: int, seconds: float, steps: int, words: int) -> str:
    """One evaluation's timing: the time since the previous evaluation (its
    steps and this evaluation), per step and in words a second, and the time left
    to ``max_steps`` at that pace (patience may stop training earlier).

    step (int): The step just evaluated.
    max_steps (int): The last step.
    seconds (float): Seconds since the previous evaluation (or the start).
    steps (int): Steps since then.
    words (int): Training words since then.
    RETURNS (str): The line.
    """
    if not steps:
        return f"step {step:,}/{max_steps:,}: evaluation took {format_minutes(seconds)}"
    per_step = seconds / steps
    left = format_minutes(per_step * max(0, max_steps - step))
    return (
        f"step {step:,}/{max_steps:,}: {format_minutes(seconds)} since the last evaluation "
        f"({per_step:.2f} s a step, {words / max(seconds, 1e-6):,.0f} words/s), at most {left} left"
    )


@spacy.registry.loggers("nerkit.ConsoleLogger.v1")
def console_logger(
    progress_bar: Optional[str] = "train",
    console_output: bool = True,
    output_file: Optional[Union[str, Path]] = None,
) -> Callable[..., Tuple[Callable[[Optional[Dict[str, Any]]], None], Callable[[], None]]]:
    """spaCy's ``ConsoleLogger.v3`` plus a timing line after each evaluation
    (see ``timing_line``).

    progress_bar (Optional[str]): "train" (steps to max_steps, with the time
        left), "eval" (steps to the next evaluation) or None. Shown on a terminal only.
    console_output (bool): Print the table and the timing lines.
    output_file (Optional[Union[str, Path]]): Also write the scores as JSONL.
    """
    console = console_logger_v3(progress_bar=progress_bar, console_output=console_output, output_file=output_file)

    def setup_printer(nlp: Language, stdout: IO = sys.stdout, stderr: IO = sys.stderr):
        log_step, finalize = console(nlp, stdout, stderr)
        max_steps = nlp.config["training"]["max_steps"]
        last = {"time": time.perf_counter(), "step": 0, "words": 0}

        def step(info: Optional[Dict[str, Any]]) -> None:
            log_step(info)
            if info is None or not console_output:
                return
            now = time.perf_counter()
            line = timing_line(info["step"], max_steps, now - last["time"], info["step"] - last["step"],
                               info["words"] - last["words"])
            tqdm.tqdm.write(f"  {line}", file=stdout)  # above the progress bar
            last.update(time=now, step=info["step"], words=info["words"])

        return step, finalize

    return setup_printer
