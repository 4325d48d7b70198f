"""A bounded load test of `nerkit serve` on 127.0.0.1: starts the real
command (a subprocess), sends a fixed number of POST /ents requests from a
few concurrent clients, stops by itself, and reports p50/p95 latency,
requests/s, words/s and errors.

    python benchmarks/serve_load.py packages/.../model-best corpus/sample/test.conll \
        --requests 200 --clients 4 --out benchmarks/results/serve_load --note "nothing else running"

Texts are the test file's sentences (tokens joined by spaces), one per
request unless --texts-per-request says more. Writes OUT.json and OUT.md.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.measure import now, repo_relative, run_lines, run_record, write_json  # noqa: E402
from nerkit.conll import read_conll  # noqa: E402


def sentences(path: str) -> List[str]:
    """The sentences of a CoNLL file as texts."""
    return [" ".join(sent.tokens) for doc in read_conll(path).documents for sent in doc.sentences]


def post(url: str, texts: Sequence[str], api_key: Optional[str], timeout: float) -> float:
    """One POST /ents; its latency in seconds. Raises on any non-200."""
    request = urllib.request.Request(
        url + "/ents", data=json.dumps({"texts": list(texts)}).encode("utf8"),
        headers={"Content-Type": "application/json", **({"X-API-Key": api_key} if api_key else {})},
    )
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=timeout) as response:
        body = json.load(response)
    elapsed = time.perf_counter() - start
    if len(body["docs"]) != len(texts):
        raise ValueError(f"{len(body['docs'])} docs for {len(texts)} texts")
    return elapsed


def load_test(
    url: str, texts: Sequence[str], *, requests: int, clients: int, per_request: int = 1,
    api_key: Optional[str] = None, timeout: float = 60.0,
) -> Dict[str, Any]:
    """``requests`` requests of ``per_request`` texts (cycling through
    ``texts``) from ``clients`` threads; latency percentiles in ms."""
    batches = [[texts[(i * per_request + j) % len(texts)] for j in range(per_request)] for i in range(requests)]
    errors: List[str] = []

    def one(batch: Sequence[str]) -> Optional[float]:
        try:
            return post(url, batch, api_key, timeout)
        except (OSError, ValueError, urllib.error.URLError) as err:
            errors.append(f"{type(err).__name__}: {err}")
            return None

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        latencies = [s for s in pool.map(one, batches) if s is not None]
    seconds = time.perf_counter() - start
    ms = sorted(1000 * s for s in latencies)
    words = sum(len(text.split()) for batch in batches for text in batch)
    return {
        "requests": requests, "clients": clients, "texts_per_request": per_request, "errors": len(errors),
        "error_examples": errors[:3], "seconds": round(seconds, 3),
        "requests_per_second": round(len(latencies) / seconds, 2), "words_per_second": round(words / seconds, 1),
        "latency_ms": {
            "p50": _percentile(ms, 50), "p95": _percentile(ms, 95), "p99": _percentile(ms, 99),
            "mean": round(statistics.fmean(ms), 2) if ms else None, "max": round(ms[-1], 2) if ms else None,
        },
    }


def _percentile(sorted_values: Sequence[float], pct: float) -> Optional[float]:
    """Nearest-rank percentile."""
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * pct // 100))
    return round(sorted_values[int(rank) - 1], 2)


def start_server(model: str, port: int, workers: int, api_key: Optional[str], timeout: float = 120.0, *,
                 args: Sequence[str] = (), log: Optional[str] = None) -> subprocess.Popen:
    """``nerkit serve`` as a user runs it, with ``args`` (more options) and its
    output (uvicorn's log, the request log) to the file ``log`` (default: a
    temporary file; a pipe that nobody reads would fill and stall the server);
    returns the process once /health answers."""
    env = {**os.environ, "NERKIT_API_KEY": api_key or ""}
    command = [sys.executable, "-m", "nerkit.cli", "serve", model, "--port", str(port), "--workers", str(workers),
               *args]
    if log:
        path = Path(log)
    else:
        fd, name = tempfile.mkstemp(prefix="nerkit-serve-", suffix=".log")
        os.close(fd)
        path = Path(name)
    with path.open("w", encoding="utf8") as output:  # the child keeps its own descriptor
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"nerkit serve exited with {process.returncode}: "
                                   f"{path.read_text(encoding='utf8')[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                    return process
            except OSError:
                time.sleep(0.2)
        process.kill()
        raise RuntimeError(f"nerkit serve did not answer /health within {timeout:.0f} s")
    finally:
        if not log:
            path.unlink()  # the server writes on into the unlinked file


def to_markdown(result: Dict[str, Any]) -> str:
    lines = [
        "# `nerkit serve` under load", "",
        f"`nerkit serve {result['model']} --workers {result['workers']}` on 127.0.0.1; texts: the sentences of "
        f"`{result['texts']}`, {result['n_texts']:,} of them, cycled; each row a fixed number of POST /ents "
        "requests from concurrent clients, after a warm-up.", "",
        *run_lines(result), "",
        "| clients | texts/request | requests | errors | p50 ms | p95 ms | p99 ms | requests/s | words/s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["rows"]:
        lat = row["latency_ms"]
        lines.append(
            f"| {row['clients']} | {row['texts_per_request']} | {row['requests']} | {row['errors']} | {lat['p50']} "
            f"| {lat['p95']} | {lat['p99']} | {row['requests_per_second']} | {row['words_per_second']} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="pipeline directory or package name")
    parser.add_argument("texts", help="CoNLL file whose sentences are the texts")
    parser.add_argument("--requests", type=int, default=200, help="requests per row")
    parser.add_argument("--clients", default="1,4", help="comma-separated concurrent clients, one row each")
    parser.add_argument("--texts-per-request", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1, help="nerkit serve --workers")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--out", default="benchmarks/results/serve_load", help="writes OUT.json and OUT.md")
    parser.add_argument("--note", default="", help="what else ran on the machine")
    args = parser.parse_args(argv)
    texts = sentences(args.texts)
    started = now()
    process = start_server(args.model, args.port, args.workers, args.api_key)
    try:
        url = f"http://127.0.0.1:{args.port}"
        load_test(url, texts, requests=min(20, args.requests), clients=1, api_key=args.api_key)  # warm-up
        rows = [
            load_test(url, texts, requests=args.requests, clients=int(c), per_request=args.texts_per_request,
                      api_key=args.api_key)
            for c in args.clients.split(",")
        ]
    finally:
        process.terminate()
        process.wait(30)
    result = repo_relative({
        "model": args.model, "texts": args.texts, "n_texts": len(texts), "workers": args.workers, "rows": rows,
        **run_record("serve_load.py", argv, args.note or "not stated", started),
    })
    write_json(args.out + ".json", result)
    Path(args.out + ".md").write_text(to_markdown(result), encoding="utf8")
    print(to_markdown(result))
    return 1 if any(row["errors"] for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
