"""A bounded soak and fault run of `nerkit serve` on 127.0.0.1 (issue #21):
starts the real command (`nerkit serve MODEL --workers 2 --api-key ...`, a
subprocess), stops by itself, and writes OUT.json and OUT.md.

    python benchmarks/serve_soak.py MODEL --minutes 10 --out benchmarks/results/serve_soak \
        --note "nothing else running"

1. Soak: --clients keep-alive clients send a fixed mix for --minutes (valid
   texts, an empty list, an empty text, too many texts, a text too long,
   invalid JSON, wrong types, no key, /health), each answer checked against the
   status it should get; 5xx on valid requests (must be 0), p50/p95/p99 latency
   of the valid ones, and the RSS of the server's processes (the uvicorn parent
   and its children, from /proc/PID/status; psutil is not needed) every
   --sample-seconds, with its least-squares slope after the warm-up in MB/hour.
2. Hostile probes, each with the server's RSS before, at its peak (sampled
   every 50 ms) and after, and /health's latency meanwhile: a chunked body of
   --chunked-mb MB (with the key), a chunked body of --unauth-mb MB without
   the key, a request of --items invalid items (`{"texts": [1, 1, ...]}`).
3. Faults: clients that disconnect mid-request (half a body, headers only, a
   full request closed before the answer), then the server must serve on; one
   worker killed (SIGKILL) under load: uvicorn (>= 0.30) replaces it, requests
   in flight answer or fail with a connection error (none hangs, none 5xx),
   later ones succeed; SIGTERM to the server under load: the requests sent
   before it all complete (graceful shutdown), the lost ones counted.

Exit status 0 when every check holds (the deterministic ones: see `checks`).
Timings and RSS are reported, never asserted.
"""
import argparse
import contextlib
import http.client
import json
import os
import re
import select
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.measure import now, run_lines, run_record, write_results  # noqa: E402
from benchmarks.serve_load import _percentile, start_server  # noqa: E402

SENTENCES = [
    "Peter flew to Paris to see the European Commission.",
    "The European Commission met in Brussels on Monday.",
    "Angela Merkel spoke with Emmanuel Macron in Berlin.",
    "Apple opened a new office in London last year.",
    "Nothing to see here.",
]
VALID_KINDS = ("valid", "empty_list", "empty_text", "health")
HOST = "127.0.0.1"


@dataclass
class Outcome:
    """One request's fate: ``status`` None when no answer came (``error`` says why)."""

    kind: str
    expected: int
    status: Optional[int]
    started: float  # time.monotonic()
    seconds: float
    size: int = 0
    error: Optional[str] = None
    sent_at: Optional[float] = None  # when the whole request had been sent


@dataclass(frozen=True)
class Call:
    """A request of the mix and the status it should get."""

    kind: str
    method: str
    path: str
    body: Optional[bytes]
    headers: Dict[str, str]
    expected: int


class Client:
    """One keep-alive HTTP connection to the server, reopened after an error or a close.

    port (int): The server's port on 127.0.0.1.
    timeout (float): Seconds without a byte before a request counts as hung.
    """

    def __init__(self, port: int, timeout: float = 60.0) -> None:
        self.port, self.timeout = port, timeout
        self.conn: Optional[http.client.HTTPConnection] = None

    def call(self, call: Call, close: bool = False) -> Outcome:
        start = time.monotonic()
        sent_at = None
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
            headers = {**call.headers, **({"Connection": "close"} if close else {})}
            self.conn.request(call.method, call.path, body=call.body, headers=headers)
            sent_at = time.monotonic()
            response = self.conn.getresponse()
            data = response.read()
            if close or response.will_close:
                self.close()
            return Outcome(call.kind, call.expected, response.status, start, time.monotonic() - start, len(data),
                           sent_at=sent_at)
        except (OSError, http.client.HTTPException) as err:
            self.close()
            return Outcome(call.kind, call.expected, None, start, time.monotonic() - start, error=type(err).__name__,
                           sent_at=sent_at)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


# The server's processes, from /proc (Linux)


def _ppids() -> Dict[int, int]:
    """pid -> parent pid of every process (/proc/PID/task/*/children is not on every kernel)."""
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                out[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    return out


def process_tree(pid: int) -> List[int]:
    """``pid`` and all its descendants."""
    ppids = _ppids()
    tree, frontier = [pid], [pid]
    while frontier:
        frontier = [child for child, parent in ppids.items() if parent in frontier]
        tree += frontier
    return tree


def worker_pids(parent: int) -> List[int]:
    """The uvicorn worker processes of ``parent`` (multiprocessing spawn children, not its resource tracker)."""
    pids = []
    for pid in process_tree(parent)[1:]:
        with contextlib.suppress(OSError):
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                pids.append(pid)
    return sorted(pids)


def status_mb(pid: int, field: str = "VmRSS") -> Optional[float]:
    """A memory field of /proc/PID/status in MB; None once the process is gone."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return None


def tree_rss(parent: int) -> Dict[int, float]:
    """RSS in MB of each process of the server."""
    return {pid: mb for pid in process_tree(parent) if (mb := status_mb(pid)) is not None}


class Sampler(threading.Thread):
    """The server's RSS every ``every`` seconds until ``stop()``: (seconds since start, {pid: MB})."""

    def __init__(self, parent: int, every: float) -> None:
        super().__init__(daemon=True)
        self.parent, self.every = parent, every
        self.samples: List[Tuple[float, Dict[int, float]]] = []
        self.start_time = time.monotonic()
        self._stop_event = threading.Event()

    def run(self) -> None:
        while True:
            self.samples.append((time.monotonic() - self.start_time, tree_rss(self.parent)))
            if self._stop_event.wait(self.every):
                return

    def stop(self) -> List[Tuple[float, Dict[int, float]]]:
        self._stop_event.set()
        self.join()
        return self.samples


def slope_mb_per_hour(points: Sequence[Tuple[float, float]]) -> Optional[float]:
    """Least-squares slope of (seconds, MB) points in MB/hour; None under 3 points."""
    if len(points) < 3 or len({t for t, _ in points}) < 2:
        return None
    seconds, mb = zip(*points)
    return round(statistics.linear_regression(seconds, mb).slope * 3600, 2)


# The request mix


def ents_body(texts: Sequence[Any]) -> bytes:
    return json.dumps({"texts": list(texts)}).encode("utf8")


def request_mix(key: str, max_texts: int, max_chars: int) -> List[Call]:
    """The soak's fixed mix: valid requests most often, every kind of refusal once per round."""
    auth = {"Content-Type": "application/json", "X-API-Key": key}
    valid = [Call("valid", "POST", "/ents", ents_body(SENTENCES[i:i + n]), auth, 200)
             for i, n in ((0, 1), (1, 2), (2, 3), (0, 4), (3, 1), (1, 1))]
    return valid + [
        Call("empty_list", "POST", "/ents", ents_body([]), auth, 200),
        Call("empty_text", "POST", "/ents", ents_body([""]), auth, 200),
        Call("health", "GET", "/health", None, {}, 200),
        Call("too_many_texts", "POST", "/ents", ents_body(["Paris"] * (max_texts + 1)), auth, 413),
        Call("text_too_long", "POST", "/ents", ents_body(["x" * (max_chars + 1)]), auth, 413),
        Call("invalid_json", "POST", "/ents", b'{"texts": ["Peter"', auth, 422),
        Call("wrong_types", "POST", "/ents", ents_body([1, None]), auth, 422),
        Call("no_key", "POST", "/ents", ents_body(SENTENCES[:1]), {"Content-Type": "application/json"}, 401),
    ]


def heavy_call(key: str, max_texts: int, max_chars: int) -> Call:
    """A valid request that keeps a worker busy a while (for the faults)."""
    text = " ".join(SENTENCES * 40)[:min(max_chars, 1000)]
    return Call("valid", "POST", "/ents", ents_body([text] * min(max_texts, 32)),
                {"Content-Type": "application/json", "X-API-Key": key}, 200)


def run_clients(port: int, calls: Sequence[Call], clients: int, keep_going: Callable[[], bool],
                close: bool = False) -> Tuple[List[Outcome], List[threading.Thread]]:
    """``clients`` threads cycling through ``calls`` (each from its own offset) while ``keep_going()``;
    returns the list they fill and the threads (join them)."""
    outcomes: List[Outcome] = []

    def loop(offset: int) -> None:
        client = Client(port)
        i = offset
        while keep_going():
            outcomes.append(client.call(calls[i % len(calls)], close=close))
            i += 1
        client.close()

    threads = [threading.Thread(target=loop, args=(c * 3,), daemon=True) for c in range(clients)]
    for thread in threads:
        thread.start()
    return outcomes, threads


def summarize(outcomes: Sequence[Outcome]) -> Dict[str, Any]:
    """Counts per kind and status, 5xx and unexpected answers, latency of the valid ones."""
    kinds: Dict[str, Counter] = {}
    for o in outcomes:
        kinds.setdefault(o.kind, Counter())[str(o.status or o.error)] += 1
    valid = [o for o in outcomes if o.kind in VALID_KINDS]
    ms = sorted(1000 * o.seconds for o in valid if o.status == 200)
    return {
        "requests": len(outcomes),
        "by_kind": {kind: {"expected": next(o.expected for o in outcomes if o.kind == kind), "answers": dict(c)}
                    for kind, c in sorted(kinds.items())},
        "valid_5xx": sum(1 for o in valid if o.status and o.status >= 500),
        "unexpected": sum(1 for o in outcomes if o.status != o.expected),
        "no_answer": sum(1 for o in outcomes if o.status is None),
        "hung": sum(1 for o in outcomes if o.error == "TimeoutError"),
        "latency_ms": {"p50": _percentile(ms, 50), "p95": _percentile(ms, 95), "p99": _percentile(ms, 99),
                       "max": round(ms[-1], 2) if ms else None},
    }


def soak(parent: int, port: int, mix: Sequence[Call], clients: int, seconds: float, every: float,
         warmup: float) -> Dict[str, Any]:
    """The mix for ``seconds`` with the RSS sampled; the slope after ``warmup`` seconds."""
    sampler = Sampler(parent, every)
    sampler.start()
    until = time.monotonic() + seconds
    outcomes, threads = run_clients(port, mix, clients, lambda: time.monotonic() < until)
    for thread in threads:
        thread.join()
    samples = sampler.stop()
    after = [(t, sum(by_pid.values())) for t, by_pid in samples if t >= warmup]
    pids = sorted({pid for _, by_pid in samples for pid in by_pid})
    return {
        "seconds": seconds, "clients": clients, "warmup_seconds": warmup, "sample_seconds": every,
        **summarize(outcomes),
        "requests_per_second": round(len(outcomes) / seconds, 1),
        "rss_mb": {"start": round(sum(samples[0][1].values()), 1), "end": round(sum(samples[-1][1].values()), 1),
                   "samples": len(samples), "slope_mb_per_hour": slope_mb_per_hour(after),
                   "per_process": {str(pid): {
                       "start": round(next(s[pid] for _, s in samples if pid in s), 1),
                       "end": round(next(s[pid] for _, s in reversed(samples) if pid in s), 1),
                       "slope_mb_per_hour": slope_mb_per_hour([(t, s[pid]) for t, s in samples
                                                               if t >= warmup and pid in s])}
                       for pid in pids}},
    }


# Hostile probes


def send_chunked(port: int, total_mb: float, key: Optional[str], chunk: int = 1 << 20,
                 timeout: float = 60.0) -> Dict[str, Any]:
    """POST /ents with a chunked body of ``total_mb`` MB, sent until the server
    answers or closes; what it answered and how much of the body it took."""
    total = int(total_mb * 1e6)
    head = {"Host": f"{HOST}:{port}", "Content-Type": "application/json", "Transfer-Encoding": "chunked",
            **({"X-API-Key": key} if key else {})}
    piece = f"{chunk:x}\r\n".encode() + b"x" * chunk + b"\r\n"
    opening = b'{"texts": ["'
    sent, start = 0, time.monotonic()
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        try:
            sock.sendall(("POST /ents HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in head.items())
                          + "\r\n").encode() + f"{len(opening):x}\r\n".encode() + opening + b"\r\n")
            while sent < total and not select.select([sock], [], [], 0)[0]:  # stop once the server answers
                sock.sendall(piece)
                sent += chunk
            if sent >= total:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        status, size, error = _read_answer(sock)
    return {"status": status, "response_bytes": size, "error": error, "body_mb": total_mb,
            "sent_mb": round(sent / 1e6, 1), "seconds": round(time.monotonic() - start, 3)}


def _read_answer(sock: socket.socket) -> Tuple[Optional[int], int, Optional[str]]:
    try:
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, len(response.read()), None
    except (OSError, http.client.HTTPException) as err:
        return None, 0, type(err).__name__


def many_items(port: int, items: int, key: str) -> Dict[str, Any]:
    """``{"texts": [1, 1, ...]}`` with ``items`` items (2 bytes each)."""
    body = b'{"texts": [' + b",".join([b"1"] * items) + b"]}"
    call = Call("items", "POST", "/ents", body, {"Content-Type": "application/json", "X-API-Key": key}, 413)
    outcome = Client(port).call(call, close=True)
    return {"status": outcome.status, "response_bytes": outcome.size, "error": outcome.error, "items": items,
            "body_mb": round(len(body) / 1e6, 1), "seconds": round(outcome.seconds, 3)}


def watched(parent: int, port: int, probe: Callable[[], Dict[str, Any]]) -> Dict[str, Any]:
    """``probe()`` with the server's RSS before, at its sampled peak and 0.5 s
    after, and the latency of /health polled meanwhile."""
    before = sum(tree_rss(parent).values())
    sampler = Sampler(parent, 0.05)
    health_ms: List[float] = []
    done = threading.Event()

    def poll() -> None:
        client = Client(port, timeout=30)
        call = Call("health", "GET", "/health", None, {}, 200)
        while not done.is_set():
            outcome = client.call(call)
            health_ms.append(1000 * outcome.seconds)
            done.wait(0.1)

    poller = threading.Thread(target=poll, daemon=True)
    sampler.start()
    poller.start()
    try:
        result = probe()
    finally:
        done.set()
        poller.join()
        samples = sampler.stop()
    time.sleep(0.5)
    after = sum(tree_rss(parent).values())
    peak = max(sum(by_pid.values()) for _, by_pid in samples)
    return {**result, "rss_before_mb": round(before, 1), "rss_peak_delta_mb": round(peak - before, 1),
            "rss_after_delta_mb": round(after - before, 1),
            "health_max_ms": round(max(health_ms), 1) if health_ms else None}


# Faults


def disconnects(port: int, key: str, repeat: int, valid: Call) -> Dict[str, Any]:
    """Clients that leave mid-request; then the server must still answer."""
    head = f"POST /ents HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\nX-API-Key: {key}\r\n"
    body = valid.body or b""
    kinds = {
        "half_body": (head + f"Content-Length: {2 * len(body)}\r\n\r\n").encode() + body,
        "headers_only": (head + "Content-Length: 1000\r\n\r\n").encode(),
        "full_then_close": (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body,
    }
    for _ in range(repeat):
        for data in kinds.values():
            with socket.create_connection((HOST, port), timeout=10) as sock:
                sock.sendall(data)
    time.sleep(0.5)
    after = [Client(port).call(valid, close=True) for _ in range(5)]
    return {"disconnects": repeat * len(kinds), "kinds": list(kinds),
            "after_ok": sum(o.status == 200 for o in after), "after_total": len(after)}


def _startups(log: Path) -> int:
    return log.read_text(encoding="utf8", errors="replace").count("Application startup complete")


def kill_worker(parent: int, port: int, call: Call, clients: int, seconds: float, log: Path,
                ready_timeout: float = 180.0) -> Dict[str, Any]:
    """SIGKILL one worker a third into ``seconds`` of load; wait for uvicorn's replacement to start serving."""
    before = worker_pids(parent)
    startups = _startups(log)
    until = time.monotonic() + seconds
    outcomes, threads = run_clients(port, [call], clients, lambda: time.monotonic() < until)
    time.sleep(seconds / 3)
    victim = before[0]
    os.kill(victim, signal.SIGKILL)
    killed_at = time.monotonic()
    replaced_s = ready_s = None
    while time.monotonic() - killed_at < ready_timeout and ready_s is None:
        pids = worker_pids(parent)
        if replaced_s is None and victim not in pids and len(pids) == len(before):
            replaced_s = time.monotonic() - killed_at
        if replaced_s is not None and _startups(log) > startups:
            ready_s = time.monotonic() - killed_at
        time.sleep(0.1)
    for thread in threads:
        thread.join()
    after = [Client(port).call(call, close=True) for _ in range(10)]
    during = summarize(outcomes)
    return {
        "workers_before": len(before), "workers_after": len(worker_pids(parent)),
        "replaced": replaced_s is not None, "replaced_after_s": _round(replaced_s),
        "replacement_serving_after_s": _round(ready_s),
        "during": {"requests": during["requests"], "ok": sum(o.status == 200 for o in outcomes),
                   "failed": dict(Counter(o.error for o in outcomes if o.status is None)),
                   "5xx": sum(1 for o in outcomes if o.status and o.status >= 500), "hung": during["hung"]},
        "after_ok": sum(o.status == 200 for o in after), "after_total": len(after),
    }


def sigterm(process: subprocess.Popen, port: int, call: Call, clients: int, load_seconds: float,
            exit_timeout: float = 120.0) -> Dict[str, Any]:
    """SIGTERM to the server under load (one connection per request, none
    started after the signal): did every request sent before it complete?"""
    stop = threading.Event()
    outcomes, threads = run_clients(port, [call], clients, lambda: not stop.is_set(), close=True)
    time.sleep(load_seconds)
    signalled = time.monotonic()
    process.send_signal(signal.SIGTERM)
    stop.set()
    try:
        returncode: Optional[int] = process.wait(exit_timeout)
    except subprocess.TimeoutExpired:
        returncode = None
    exit_s = time.monotonic() - signalled
    for thread in threads:
        thread.join()
    before = [o for o in outcomes if o.sent_at is not None and o.sent_at < signalled]
    in_flight = [o for o in before if o.started + o.seconds > signalled]
    lost = [o for o in before if o.status != 200]
    late = [o for o in outcomes if o not in before]
    return {
        "sent_before": len(before), "in_flight_at_signal": len(in_flight),
        "in_flight_ok": sum(o.status == 200 for o in in_flight), "lost": len(lost),
        "lost_errors": dict(Counter(str(o.status or o.error) for o in lost)),
        "started_after_signal": len(late), "server_exit_code": returncode, "server_exit_s": _round(exit_s),
    }


def _round(value: Optional[float]) -> Optional[float]:
    return None if value is None else round(value, 2)


def log_summary(log: Path) -> Dict[str, int]:
    """What the server's own output says."""
    text = log.read_text(encoding="utf8", errors="replace")
    return {"request_log_lines": len(re.findall(r"POST /ents: \d+ texts", text)),
            "tracebacks": text.count("Traceback (most recent call last)"),
            "exception_in_asgi": text.count("Exception in ASGI application"),
            "workers_died": len(re.findall(r"Child process \[\d+\] died", text))}


def checks_of(result: Dict[str, Any]) -> Dict[str, bool]:
    """The deterministic targets (no timing): each must hold."""
    probes, faults, soak_ = result["probes"], result["faults"], result["soak"]
    return {
        "soak: no 5xx on valid requests": soak_["valid_5xx"] == 0,
        "soak: every answer as expected": soak_["unexpected"] == 0,
        "probe: chunked body 413, rest unread": probes["chunked"]["status"] == 413
        and probes["chunked"]["sent_mb"] < probes["chunked"]["body_mb"],
        "probe: unauthenticated body 401, rest unread": probes["unauthenticated"]["status"] == 401
        and probes["unauthenticated"]["sent_mb"] < probes["unauthenticated"]["body_mb"],
        "probe: many items 413": probes["many_items"]["status"] == 413,
        "probe: answers under 10 kB": all(p["response_bytes"] < 10_000 for p in probes.values()),
        "disconnects: server serves on": faults["disconnects"]["after_ok"] == faults["disconnects"]["after_total"],
        "kill: worker replaced": faults["kill_worker"]["replaced"]
        and faults["kill_worker"]["replacement_serving_after_s"] is not None,
        "kill: no 5xx, none hung": faults["kill_worker"]["during"]["5xx"] == 0
        and faults["kill_worker"]["during"]["hung"] == 0,
        "kill: later requests succeed": faults["kill_worker"]["after_ok"] == faults["kill_worker"]["after_total"],
        "sigterm: nothing lost": faults["sigterm"]["lost"] == 0 and faults["sigterm"]["server_exit_code"] is not None,
        "log: no tracebacks": result["server_log"]["tracebacks"] == 0,
    }


def to_markdown(result: Dict[str, Any]) -> str:
    soak_, probes, faults = result["soak"], result["probes"], result["faults"]
    lat, rss = soak_["latency_ms"], soak_["rss_mb"]
    lines = [
        "# `nerkit serve`: soak and faults", "",
        f"`{result['server_command']}` on 127.0.0.1: {soak_['clients']} keep-alive clients sending a fixed mix for "
        f"{soak_['seconds'] / 60:g} min, then hostile probes, clients that disconnect, a worker killed and SIGTERM "
        "under load (`benchmarks/serve_soak.py`).", "",
        *run_lines(result), "",
        "## Checks", "",
        *[f"- {'pass' if ok else '**FAIL**'}: {name}" for name, ok in result["checks"].items()], "",
        "## Soak", "",
        f"{soak_['requests']:,} requests ({soak_['requests_per_second']}/s), 5xx on valid ones: "
        f"{soak_['valid_5xx']}, unexpected answers: {soak_['unexpected']}; valid requests' latency p50 "
        f"{lat['p50']} ms, p95 {lat['p95']} ms, p99 {lat['p99']} ms, max {lat['max']} ms.", "",
        "| kind | expected | answers |", "|---|---:|---|",
        *[f"| {kind} | {row['expected']} | " + ", ".join(f"{k}: {v:,}" for k, v in row["answers"].items()) + " |"
          for kind, row in soak_["by_kind"].items()], "",
        f"Server RSS (all its processes): {rss['start']} MB at the start, {rss['end']} MB at the end, "
        f"{rss['samples']} samples every {soak_['sample_seconds']} s; slope after the {soak_['warmup_seconds']:g} s "
        f"warm-up: **{rss['slope_mb_per_hour']} MB/hour** (least squares).", "",
        "| process | start MB | end MB | slope MB/hour |", "|---|---:|---:|---:|",
        *[f"| {pid} | {row['start']} | {row['end']} | {row['slope_mb_per_hour']} |"
          for pid, row in rss["per_process"].items()], "",
        "## Hostile probes", "",
        "RSS of all the server's processes: peak sampled every 50 ms during the probe, after: 0.5 s after it; "
        "target < 10 MB for the two bodies, the many-items answer in < 1 s and < 10 kB.", "",
        "| probe | body | status | answer bytes | body sent | seconds | RSS peak +MB | RSS after +MB | /health max ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        *[f"| {name} | {p['body_mb']} MB | {p['status'] or p['error']} | {p['response_bytes']:,} | "
          f"{p.get('sent_mb', p['body_mb'])} MB | {p['seconds']} | {p['rss_peak_delta_mb']} | "
          f"{p['rss_after_delta_mb']} | {p['health_max_ms']} |" for name, p in probes.items()], "",
        "## Faults", "",
    ]
    d, k, t = faults["disconnects"], faults["kill_worker"], faults["sigterm"]
    lines += [
        f"- Disconnects: {d['disconnects']} clients left mid-request ({', '.join(d['kinds'])}); then "
        f"{d['after_ok']}/{d['after_total']} valid requests answered 200.",
        f"- SIGKILL of one of {k['workers_before']} workers under load: replaced: {k['replaced']} (new process after "
        f"{k['replaced_after_s']} s, serving after {k['replacement_serving_after_s']} s); during: "
        f"{k['during']['requests']} requests, {k['during']['ok']} ok, failed cleanly: {k['during']['failed'] or 0}, "
        f"5xx: {k['during']['5xx']}, hung: {k['during']['hung']}; after: {k['after_ok']}/{k['after_total']} ok.",
        f"- SIGTERM under load: {t['sent_before']} requests sent before it, {t['in_flight_at_signal']} of them in "
        f"flight ({t['in_flight_ok']} answered 200), lost: **{t['lost']}** {t['lost_errors'] or ''}; server exited "
        f"with {t['server_exit_code']} after {t['server_exit_s']} s.",
        f"- Server log: {result['server_log']['request_log_lines']:,} request log lines, "
        f"{result['server_log']['tracebacks']} tracebacks, {result['server_log']['workers_died']} worker deaths seen "
        "by uvicorn.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="pipeline directory or package name")
    parser.add_argument("--minutes", type=float, default=10.0, help="soak duration")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients in the soak and the faults")
    parser.add_argument("--workers", type=int, default=2, help="nerkit serve --workers (the kill fault needs 2+)")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--api-key", default="soak-key", help="the server's key (the unauthenticated probe needs one)")
    parser.add_argument("--max-texts", type=int, default=128, help="nerkit serve --max-texts")
    parser.add_argument("--max-chars", type=int, default=100_000, help="nerkit serve --max-chars")
    parser.add_argument("--sample-seconds", type=float, default=5.0, help="RSS sampling interval in the soak")
    parser.add_argument("--warmup-minutes", type=float, default=1.0,
                        help="RSS samples left out of the slope (at most a quarter of the soak)")
    parser.add_argument("--chunked-mb", type=float, default=300.0, help="chunked body of the first probe")
    parser.add_argument("--unauth-mb", type=float, default=100.0, help="chunked body sent without the key")
    parser.add_argument("--items", type=int, default=1_000_000, help="invalid items of the many-items probe")
    parser.add_argument("--fault-seconds", type=float, default=10.0, help="load around the kill and before SIGTERM")
    parser.add_argument("--server-log", default=None, help="keep the server's output here (default: a temp file)")
    parser.add_argument("--out", default="benchmarks/results/serve_soak", help="writes OUT.json and OUT.md")
    parser.add_argument("--note", default="", help="what else ran on the machine")
    args = parser.parse_args(argv)
    if args.workers < 2:
        parser.error("--workers must be 2 or more: one of them is killed")
    started = now()
    server_args = ["--max-texts", str(args.max_texts), "--max-chars", str(args.max_chars)]
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(args.server_log or Path(tmp) / "server.log")
        log.parent.mkdir(parents=True, exist_ok=True)
        process = start_server(args.model, args.port, args.workers, args.api_key, args=server_args, log=str(log))
        try:
            result = _run(process, args, log)
        finally:
            _stop(process)
        result["server_log"] = log_summary(log)
    result = {
        "server_command": f"nerkit serve {args.model} --workers {args.workers} --api-key *** " + " ".join(server_args),
        **result,
        **run_record("serve_soak.py", argv, args.note or "not stated", started),
    }
    result["checks"] = checks_of(result)
    result = write_results(args.out, result, to_markdown, "serve_soak")
    failed = [name for name, ok in result["checks"].items() if not ok]
    print(f"[serve_soak] {len(result['checks']) - len(failed)}/{len(result['checks'])} checks hold"
          + (f"; failed: {failed}" if failed else ""))
    return 1 if failed else 0


def _run(process: subprocess.Popen, args: argparse.Namespace, log: Path) -> Dict[str, Any]:
    """The phases against the running server, in order; SIGTERM ends it."""
    port, key = args.port, args.api_key
    mix = request_mix(key, args.max_texts, args.max_chars)
    heavy = heavy_call(key, args.max_texts, args.max_chars)
    for call in mix:  # warm-up: every kind once
        Client(port).call(call, close=True)
    seconds = args.minutes * 60
    result: Dict[str, Any] = {"soak": soak(process.pid, port, mix, args.clients, seconds, args.sample_seconds,
                                           min(args.warmup_minutes * 60, seconds / 4))}
    result["probes"] = {
        "chunked": watched(process.pid, port, lambda: send_chunked(port, args.chunked_mb, key)),
        "unauthenticated": watched(process.pid, port, lambda: send_chunked(port, args.unauth_mb, None)),
        "many_items": watched(process.pid, port, lambda: many_items(port, args.items, key)),
    }
    result["faults"] = {"disconnects": disconnects(port, key, 5, mix[0])}
    result["faults"]["kill_worker"] = kill_worker(process.pid, port, heavy, args.clients, args.fault_seconds, log)
    result["faults"]["sigterm"] = sigterm(process, port, heavy, args.clients, min(args.fault_seconds, 3.0))
    return result


def _stop(process: subprocess.Popen) -> None:
    """End the server if a phase failed before SIGTERM did: SIGTERM, then
    SIGKILL to its processes (by id) if it is still up after 30 s."""
    if process.poll() is not None:
        return
    pids = process_tree(process.pid)
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        process.wait(10)


if __name__ == "__main__":
    sys.exit(main())
