"""A spaCy training logger for the benchmark, loaded with `spacy train --code
benchmarks/train_logger.py`: spaCy's console table as usual, plus one JSON
line per dev evaluation, flushed at once (so it survives a SIGINT), with the
fields ConsoleLogger.v3's file lacks: words seen, spaCy's elapsed seconds, the
wall-clock time, and the dev evaluation speed."""
import json
import sys
import time
from pathlib import Path
from typing import IO, Any, Dict, Optional

from spacy.training.loggers import console_logger_v3
from spacy.util import registry


@registry.loggers("nerkit_bench.JsonlLogger.v1")
def jsonl_logger(output_file: str, progress_bar: Optional[bool] = None, console_output: bool = True):
    console = console_logger_v3(progress_bar=None, console_output=console_output)

    def setup(nlp, stdout: IO = sys.stdout, stderr: IO = sys.stderr):
        log_step, finalize = console(nlp, stdout, stderr)
        path = Path(output_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        stream = path.open("w", encoding="utf8")
        start = time.perf_counter()
        stream.write(json.dumps({"event": "setup", "time": time.time()}) + "\n")
        stream.flush()

        def step(info: Optional[Dict[str, Any]]) -> None:
            log_step(info)
            if info is None:
                return
            other = info.get("other_scores") or {}
            record = {
                "event": "eval",
                "epoch": info["epoch"],
                "step": info["step"],
                "words": info.get("words"),
                "seconds": info.get("seconds"),
                "elapsed": time.perf_counter() - start,
                "time": time.time(),
                "score": float(info["score"]),
                "scores": {k: float(v) for k, v in other.items() if isinstance(v, (int, float))},
                "losses": {k: float(v) for k, v in (info.get("losses") or {}).items()},
            }
            stream.write(json.dumps(record) + "\n")
            stream.flush()

        def close() -> None:
            finalize()
            stream.close()

        return step, close

    return setup
