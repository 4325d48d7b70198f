"""benchmarks/serve_soak.py, short, against the ruler pipeline: `nerkit serve
--workers 2` under the soak mix, the hostile probes and the faults. Asserts
the deterministic targets only (no timings): no 5xx on valid requests, probes
refused with 401/413 and small answers before the body was read, the server
serving on after disconnects, a killed worker replaced, SIGTERM losing nothing."""
import json

from benchmarks.serve_soak import main
from tests.serve.live import free_port


def test_short_soak_and_faults(ruler_model, tmp_path):
    out = tmp_path / "soak"
    code = main([
        str(ruler_model), "--minutes", "0.1", "--clients", "2", "--port", str(free_port()), "--max-texts", "16",
        "--max-chars", "1000", "--chunked-mb", "30", "--unauth-mb", "30", "--items", "100000", "--fault-seconds", "2",
        "--sample-seconds", "1", "--server-log", str(tmp_path / "server.log"), "--out", str(out), "--note", "test",
    ])
    result = json.loads(out.with_suffix(".json").read_text())
    assert code == 0, [name for name, ok in result["checks"].items() if not ok]
    soak, probes, faults = result["soak"], result["probes"], result["faults"]
    assert soak["valid_5xx"] == 0 and soak["unexpected"] == 0
    assert soak["by_kind"]["valid"]["answers"]["200"] > 0 and set(soak["by_kind"]["no_key"]["answers"]) == {"401"}
    assert soak["rss_mb"]["samples"] >= 3 and soak["latency_ms"]["p50"] is not None
    assert [probes[name]["status"] for name in ("chunked", "unauthenticated", "many_items")] == [413, 401, 413]
    assert probes["chunked"]["sent_mb"] < 30 and probes["unauthenticated"]["sent_mb"] < 30
    assert all(probe["response_bytes"] < 10_000 for probe in probes.values())
    assert faults["disconnects"]["after_ok"] == faults["disconnects"]["after_total"]
    assert faults["kill_worker"]["replaced"] and faults["kill_worker"]["during"]["5xx"] == 0
    assert faults["kill_worker"]["after_ok"] == faults["kill_worker"]["after_total"]
    assert faults["sigterm"]["lost"] == 0 and faults["sigterm"]["sent_before"] > 0
    assert result["server_log"]["tracebacks"] == 0 and result["server_log"]["request_log_lines"] > 0
    assert "## Checks" in out.with_suffix(".md").read_text()
