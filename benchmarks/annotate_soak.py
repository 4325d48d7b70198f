"""Soak test of `nerkit annotate`: memory over a long run, and what a killed
run leaves behind.

    python benchmarks/annotate_soak.py --lines 1000000 \
        --out benchmarks/results/annotate_soak --note "nothing else running"

A generated JSONL of --lines lines (every line with tokens of its own, so the
strings of each chunk must be freed) is annotated by `python -m nerkit.cli
annotate` in a child process, with a cheap pipeline (spacy.blank("en") + an
entity_ruler, or --model). From the moment its temp output file exists (the
pipeline loaded), every --interval seconds the child's RSS (/proc/PID/status
VmRSS) and the lines written so far (counted in that file) are sampled: the
result has the start, peak and end RSS and the
slope after the warm-up (the first --warmup of the lines), in MB per 100k
lines, by least squares. Then the kill check: a run sent SIGKILL (and one sent
SIGTERM) once --kill-at of the lines are written must leave the input as it
was (SHA-256 before and after) and no output under the final name. SIGTERM
removes its temp file (exit code 143); SIGKILL cannot, so the one it leaves is
reported (named `.OUTPUT.XXXXXXXX.tmp` by `nerkit.conll.docs.atomic_file`) and
then deleted. Writes OUT.json and OUT.md.
"""
import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, BinaryIO, Dict, List, Optional, Sequence, Tuple

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.measure import now, run_lines, run_record, write_results  # noqa: E402

PATTERNS = [
    {"label": "PER", "pattern": "Peter"},
    {"label": "GPE", "pattern": "Paris"},
    {"label": "GPE", "pattern": [{"LOWER": "new"}, {"LOWER": "york"}]},
]
SIGNALS = {"KILL": signal.SIGKILL, "TERM": signal.SIGTERM, "INT": signal.SIGINT}
Sample = Tuple[float, int, float]  # seconds since start, lines written, RSS in MB


def ruler_model(path: Path) -> Path:
    """spacy.blank("en") + an entity_ruler, saved to `path`."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns(PATTERNS)
    nlp.to_disk(path)
    return path


def write_input(path: Path, n_lines: int) -> Path:
    """`n_lines` JSON lines {"id", "text"}, each text with a token of its own."""
    with path.open("w", encoding="utf8") as file_:
        for i in range(n_lines):
            text = f"Peter met client-{i:07d} in Paris on day {i % 365}, then flew to New York."
            file_.write(json.dumps({"id": i, "text": text}) + "\n")
    return path


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file_:
        for block in iter(lambda: file_.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def rss_mb(pid: int) -> Optional[float]:
    """VmRSS of process `pid` in MB (2^20 bytes); None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return None


def temp_files(output: Path) -> List[Path]:
    """The temp files `atomic_file` makes for `output`: .NAME.XXXXXXXX.tmp next to it."""
    return sorted(output.parent.glob(f".{output.name}.*.tmp"))


class LineCounter:
    """Lines written so far to `output`'s temp file (read as it grows)."""

    def __init__(self, output: Path) -> None:
        self.output = output
        self.file: Optional[BinaryIO] = None
        self.lines = 0

    def count(self) -> Optional[int]:
        """The lines so far; None before the temp file exists."""
        if self.file is None:
            found = temp_files(self.output)
            if not found:
                return None
            self.file = found[0].open("rb")
        self.lines += self.file.read().count(b"\n")
        return self.lines

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


def start(model: str, source: Path, output: Path, log: BinaryIO, chunk_size: int) -> subprocess.Popen:
    """`python -m nerkit.cli annotate` in a child process, SIGINT at its default."""
    cmd = [sys.executable, "-m", "nerkit.cli", "annotate", model, str(source), str(output),
           "--chunk-size", str(chunk_size)]
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def count_lines(path: Path) -> int:
    """Lines in `path` (0 if it does not exist)."""
    if not path.exists():
        return 0
    with path.open("rb") as file_:
        return sum(block.count(b"\n") for block in iter(lambda: file_.read(1 << 20), b""))


def reap(proc: subprocess.Popen) -> Optional[Tuple[int, float]]:
    """(exit code, peak RSS in MB) once the child has ended, else None."""
    pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
    if not pid:
        return None
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss / 1024


def slope_per_100k(samples: Sequence[Sample]) -> Optional[float]:
    """Least-squares MB of RSS per 100k lines over `samples`; None under 2 distinct line counts."""
    if len({lines for _, lines, _ in samples}) < 2:
        return None
    mean_x = sum(x for _, x, _ in samples) / len(samples)
    mean_y = sum(y for _, _, y in samples) / len(samples)
    cov = sum((x - mean_x) * (y - mean_y) for _, x, y in samples)
    var = sum((x - mean_x) ** 2 for _, x, _ in samples)
    return cov / var * 100_000


def soak(model: str, source: Path, work: Path, n_lines: int, interval: float, warmup: float,
         chunk_size: int) -> Dict[str, Any]:
    """One complete run, sampled: RSS start/peak/end, slope after the warm-up, output complete, input intact."""
    before = sha256(source)
    output = work / "soak.jsonl"
    counter = LineCounter(output)
    samples: List[Sample] = []
    with (work / "soak.log").open("wb") as log:
        began = time.perf_counter()
        proc = start(model, source, output, log, chunk_size)
        while (ended := reap(proc)) is None:
            lines, rss = counter.count(), rss_mb(proc.pid)
            if lines is not None and rss is not None:
                samples.append((round(time.perf_counter() - began, 2), lines, round(rss, 1)))
            time.sleep(interval)
        seconds = time.perf_counter() - began
    counter.close()
    code, peak = ended
    after_warmup = [s for s in samples if s[1] >= warmup * n_lines]
    lines_out = count_lines(output)
    slope = slope_per_100k(after_warmup)
    return {
        "returncode": code, "seconds": round(seconds, 1), "lines_per_second": round(n_lines / seconds, 1),
        "output_lines": lines_out, "output_complete": lines_out == n_lines, "input_intact": sha256(source) == before,
        "rss_start_mb": samples[0][2] if samples else None, "rss_peak_mb": round(peak, 1),
        "rss_end_mb": samples[-1][2] if samples else None,
        "rss_at_warmup_mb": after_warmup[0][2] if after_warmup else None,
        "rss_growth_after_warmup_mb": round(after_warmup[-1][2] - after_warmup[0][2], 1) if after_warmup else None,
        "slope_mb_per_100k_lines": round(slope, 2) if slope is not None else None,
        "samples_after_warmup": len(after_warmup), "samples": samples,
    }


def kill(model: str, source: Path, work: Path, name: str, at_lines: int, chunk_size: int) -> Dict[str, Any]:
    """A run sent signal `name` once `at_lines` lines are written: input intact, no final output, temp files left."""
    before = sha256(source)
    output = work / f"killed-{name}.jsonl"
    counter = LineCounter(output)
    sent_at = None
    with (work / f"killed-{name}.log").open("wb") as log:
        proc = start(model, source, output, log, chunk_size)
        while (ended := reap(proc)) is None:
            if sent_at is None and (counter.count() or 0) >= at_lines:
                proc.send_signal(SIGNALS[name])
                sent_at = counter.lines
            time.sleep(0.02)
    counter.close()
    left = temp_files(output)
    result = {
        "signal": f"SIG{name}", "sent_at_lines": sent_at, "returncode": ended[0],
        "input_intact": sha256(source) == before, "final_output_exists": output.exists(),
        "temp_files_left": [p.name for p in left],
        "temp_named_as_temp": all(p.name.startswith(f".{output.name}.") and p.name.endswith(".tmp") for p in left),
    }
    for path in left:  # what SIGKILL leaves: reported, then removed
        path.unlink()
    return result


def measure(model: Optional[str], n_lines: int, work: Path, *, interval: float = 1.0, warmup: float = 0.1,
            kill_at: float = 0.5, signals: Sequence[str] = ("KILL", "TERM"), chunk_size: int = 1000) -> Dict[str, Any]:
    """The soak run and the kill runs on one generated input in `work`."""
    source = write_input(work / "input.jsonl", n_lines)
    name = model or 'spacy.blank("en") + entity_ruler'
    model = model or str(ruler_model(work / "ruler"))
    return {
        "model": name, "lines": n_lines, "input_mb": round(source.stat().st_size / 1e6, 1), "chunk_size": chunk_size,
        "interval_seconds": interval, "warmup_fraction": warmup, "kill_at_fraction": kill_at,
        "soak": soak(model, source, work, n_lines, interval, warmup, chunk_size),
        "kills": [kill(model, source, work, name, max(1, int(kill_at * n_lines)), chunk_size) for name in signals],
    }


def to_markdown(result: Dict[str, Any]) -> str:
    soak_ = result["soak"]
    lines = [
        "# `nerkit annotate` soak: memory over a long run, and killed runs", "",
        f"Pipeline `{result['model']}`; a generated JSONL of {result['lines']:,} lines ({result['input_mb']} MB), "
        f"--chunk-size {result['chunk_size']}; RSS sampled every {result['interval_seconds']} s, the slope by least "
        f"squares after the first {result['warmup_fraction']:.0%} of the lines.", "",
        *run_lines(result), "",
        "| exit | seconds | lines/s | output complete | input intact | RSS start MB | peak MB | end MB "
        "| growth after warm-up MB | slope MB/100k lines |",
        "|---:|---:|---:|---|---|---:|---:|---:|---:|---:|",
        f"| {soak_['returncode']} | {soak_['seconds']} | {soak_['lines_per_second']:,.0f} | {soak_['output_complete']} "
        f"| {soak_['input_intact']} | {soak_['rss_start_mb']} | {soak_['rss_peak_mb']} | {soak_['rss_end_mb']} "
        f"| {soak_['rss_growth_after_warmup_mb']} | {soak_['slope_mb_per_100k_lines']} |", "",
        f"Killed runs (the signal sent once {result['kill_at_fraction']:.0%} of the lines were written):", "",
        "| signal | sent at line | exit | input intact | final output | temp files left |",
        "|---|---:|---:|---|---|---|",
    ]
    for row in result["kills"]:
        left = ", ".join(f"`{name}`" for name in row["temp_files_left"]) or "none"
        lines.append(f"| {row['signal']} | {row['sent_at_lines']} | {row['returncode']} | {row['input_intact']} "
                     f"| {'yes' if row['final_output_exists'] else 'none'} | {left} |")
    return "\n".join(lines) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="pipeline directory or package (default: a blank entity_ruler)")
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between RSS samples")
    parser.add_argument("--warmup", type=float, default=0.1, help="fraction of the lines before the slope is fitted")
    parser.add_argument("--kill-at", type=float, default=0.5, help="fraction of the lines written before a kill")
    parser.add_argument("--signals", default="KILL,TERM", help=f"kill runs, comma-separated: {', '.join(SIGNALS)}")
    parser.add_argument("--chunk-size", type=int, default=1000)
    parser.add_argument("--work-dir", default=None, help="input, outputs and logs (default: a temp dir, removed)")
    parser.add_argument("--out", default="benchmarks/results/annotate_soak")
    parser.add_argument("--note", default="", help="what else ran on the machine")
    args = parser.parse_args(argv)
    started = now()
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="annotate_soak_"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        result = measure(args.model, args.lines, work, interval=args.interval, warmup=args.warmup,
                         kill_at=args.kill_at, signals=[s for s in args.signals.split(",") if s],
                         chunk_size=args.chunk_size)
    finally:
        if args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    result.update(run_record("annotate_soak.py", argv, args.note or "not stated", started))
    result = write_results(args.out, result, to_markdown, "annotate_soak")
    print(to_markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
