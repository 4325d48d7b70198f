"""Machine description, library versions, peak memory, sizes on disk, timers,
and a child-process runner that reports the child's own peak RSS."""
import argparse
import datetime
import os
import platform
import re
import signal
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

VERSION_PACKAGES = ("spacy", "spacy-transformers", "transformers", "torch", "thinc", "nerkit", "onnxruntime")


def now() -> str:
    """Local time with offset, to the second (part files' started/finished)."""
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


CPU_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


def cpu_flags() -> List[str]:
    """The CPU's flags that change torch's speed (speed differs about 2x between them)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                present = set(line.split(":", 1)[1].split())
                return [flag for flag in CPU_FLAGS if flag in present]
    except OSError:
        pass
    return []


def machine_info() -> Dict[str, Any]:
    """CPU model and its relevant flags, cores (all and usable by this process), memory and GPU."""
    info: Dict[str, Any] = {
        "cpu_model": cpu_model(),
        "cpu_flags": cpu_flags(),
        "cpu_cores": os.cpu_count(),
        "cpu_cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "platform": platform.platform(),
        "memory_gb": None,
        "gpu": None,
    }
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["memory_gb"] = round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    try:
        import torch

        if torch.cuda.is_available():
            info["gpu"] = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    return info


def versions() -> Dict[str, Optional[str]]:
    """python + the libraries that matter, as installed."""
    out: Dict[str, Optional[str]] = {"python": platform.python_version()}
    for name in VERSION_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def dir_size_mb(path: Union[str, Path]) -> Optional[float]:
    """Total size of the files under `path` in MB (10^6 bytes); None if absent."""
    path = Path(path)
    if not path.exists():
        return None
    if path.is_file():
        return path.stat().st_size / 1e6
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def self_peak_rss_mb() -> float:
    """Max RSS of this process so far, MB (Linux reports ru_maxrss in KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Timer:
    """`with Timer() as t: ...; t.seconds` (perf_counter)."""

    def __enter__(self) -> "Timer":
        self.start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: Any) -> None:
        self.seconds = time.perf_counter() - self.start


def run_child(
    cmd: Sequence[str],
    *,
    log_path: Union[str, Path],
    max_seconds: Optional[float] = None,
    grace_seconds: float = 120.0,
    env: Optional[Dict[str, str]] = None,
) -> Dict[str, Any]:
    """Run `cmd` with stdout+stderr to `log_path`; past `max_seconds` send
    SIGINT, then SIGTERM after `grace_seconds`, then SIGKILL. Reaped with
    os.wait4, so `peak_rss_mb` is this child's own max RSS (children of the
    child not included).

    RETURNS (Dict[str, Any]): returncode, seconds, peak_rss_mb, stopped
        (True if the time limit was hit), signals sent.
    """
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    sent: List[str] = []
    with log_path.open("w", encoding="utf8") as log:
        log.write("$ " + " ".join(cmd) + "\n")
        log.flush()
        proc = subprocess.Popen(list(cmd), stdout=log, stderr=subprocess.STDOUT, env=env)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            elapsed = time.perf_counter() - start
            if max_seconds is not None and elapsed > max_seconds:
                over = elapsed - max_seconds
                if not sent:
                    proc.send_signal(signal.SIGINT)
                    sent.append(f"SIGINT at {elapsed:.0f}s")
                elif len(sent) == 1 and over > grace_seconds:
                    proc.terminate()
                    sent.append(f"SIGTERM at {elapsed:.0f}s")
                elif len(sent) == 2 and over > grace_seconds + 30:
                    proc.kill()
                    sent.append(f"SIGKILL at {elapsed:.0f}s")
            time.sleep(0.2)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "returncode": proc.returncode,
        "seconds": time.perf_counter() - start,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "stopped": bool(sent),
        "signals": sent,
    }


def python() -> str:
    return sys.executable


REPO = Path(__file__).resolve().parent.parent
# Absolute paths that results must not carry, matched at the start of a path:
# the checkout (-> relative to it) and its parent (where ../shared lives).
_ABSOLUTE = re.compile(
    r"(?<![\w./-])(?:(?P<repo>{repo})(?P<sep>/|(?![\w.-]))|(?P<parent>{parent})/)".format(
        repo=re.escape(str(REPO)), parent=re.escape(str(REPO.parent)))
)


def _relative(match: "re.Match[str]") -> str:
    if match.group("repo"):
        return "" if match.group("sep") else "."
    return "../"


def repo_relative(value: Any) -> Any:
    """`value` (JSON-like) with every absolute path under the checkout or its
    parent made relative to the checkout, e.g. /home/x/nerkit/.venv/bin/python
    -> .venv/bin/python and /home/x/shared/data -> ../shared/data, so that
    committed results name no machine's folders."""
    if isinstance(value, str):
        return _ABSOLUTE.sub(_relative, value)
    if isinstance(value, dict):
        return {k: repo_relative(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [repo_relative(v) for v in value]
    return value


def write_json(path: Union[str, Path], value: Any) -> Path:
    """Write a results file, paths made repo-relative (`repo_relative`)."""
    import json

    path = Path(path)
    path.write_text(json.dumps(repo_relative(value), indent=2) + "\n", encoding="utf8")
    return path


def run_record(script: str, argv: Optional[Sequence[str]], note: str, started: str) -> Dict[str, Any]:
    """The fields `run_lines` reads: the command as typed (`python benchmarks/SCRIPT ARGS`),
    the concurrent-load note, start and finish times, the machine and the versions."""
    import shlex

    args = list(argv) if argv is not None else sys.argv[1:]
    return {"command": f"python benchmarks/{script} " + " ".join(shlex.quote(a) for a in args),
            "concurrent_load": note, "started": started, "finished": now(),
            "machine": machine_info(), "versions": versions()}


def write_results(out: Union[str, Path], result: Dict[str, Any], to_markdown: Callable[[Dict[str, Any]], str],
                  tag: str) -> Dict[str, Any]:
    """OUT.json and OUT.md (from `to_markdown`), paths made repo-relative in both;
    says so on stdout as `[tag] wrote ...`. RETURNS the repo-relative result."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    result = repo_relative(result)
    write_json(out.with_suffix(".json"), result)
    out.with_suffix(".md").write_text(to_markdown(result), encoding="utf8")
    print(f"[{tag}] wrote {out.with_suffix('.json')} and {out.with_suffix('.md')}")
    return result


def add_dev_test_args(parser: "argparse.ArgumentParser", out: str) -> None:
    """--dev, --test, --out and --note of a lever chosen on dev and reported on test."""
    parser.add_argument("--dev", required=True, help="dev file (CoNLL): where a variant is chosen")
    parser.add_argument("--test", required=True, help="test file (CoNLL): reported only")
    parser.add_argument("--out", default=out)
    parser.add_argument("--note", default="not stated", help="what else ran on the machine")


def score_dev_test(script: str, argv: Optional[Sequence[str]], args: "argparse.Namespace", inputs: Dict[str, Any],
                   score: Callable[[str], Any], to_markdown: Callable[[Dict[str, Any]], str]) -> Dict[str, Any]:
    """`score` on args.dev then args.test, with `inputs` and the run record, written
    to args.out (.json, .md). RETURNS the repo-relative result."""
    started = now()
    result = {**inputs, "dev_file": args.dev, "test_file": args.test, "dev": score(args.dev), "test": score(args.test)}
    result.update(run_record(script, argv, args.note, started))
    return write_results(args.out, result, to_markdown, Path(script).stem)


def run_lines(result: Dict[str, Any]) -> List[str]:
    """The Markdown bullets saying where, with what and how a result was measured."""
    machine = result["machine"]
    return [
        f"- Machine: {machine['cpu_model']} ({', '.join(machine.get('cpu_flags') or ['flags not recorded'])}), "
        f"{machine['cpu_cores']} cores, GPU: {machine['gpu'] or 'none'}",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in result["versions"].items()),
        f"- Command: `{result['command']}`",
        f"- Concurrent load: {result['concurrent_load']}",
        f"- Run: {result['started']} to {result['finished']}",
    ]
