"""benchmarks/annotate_soak.py, short (20k lines): the facts that do not
depend on timing. The run completes with the input intact and memory flat
(a generous bound); a run killed mid-way leaves the input intact and no
output under the final name (SIGTERM: no temp file either, exit 143; SIGKILL:
a temp file named as one)."""
import json

from benchmarks.annotate_soak import main, slope_per_100k


def test_slope_per_100k():
    assert slope_per_100k([(0, 0, 100.0), (1, 50_000, 101.0), (2, 100_000, 102.0)]) == 2.0
    assert slope_per_100k([(0, 10, 100.0), (1, 10, 200.0)]) is None


def test_soak_short_run_and_kills(tmp_path):
    out = tmp_path / "soak"
    assert main(["--lines", "20000", "--interval", "0.2", "--kill-at", "0.25", "--work-dir", str(tmp_path / "work"),
                 "--out", str(out)]) == 0
    result = json.loads(out.with_suffix(".json").read_text())
    soak = result["soak"]
    assert soak["returncode"] == 0 and soak["output_complete"] and soak["input_intact"]
    assert soak["samples_after_warmup"] >= 2 and soak["rss_growth_after_warmup_mb"] < 50
    assert soak["rss_peak_mb"] >= soak["rss_start_mb"] > 0
    killed = {row["signal"]: row for row in result["kills"]}
    assert set(killed) == {"SIGKILL", "SIGTERM"}
    for row in killed.values():
        assert row["sent_at_lines"] >= 5000 and row["input_intact"] and not row["final_output_exists"]
    assert killed["SIGTERM"]["returncode"] == 143 and killed["SIGTERM"]["temp_files_left"] == []
    assert killed["SIGKILL"]["returncode"] == -9 and len(killed["SIGKILL"]["temp_files_left"]) == 1
    assert killed["SIGKILL"]["temp_named_as_temp"]
    assert not list((tmp_path / "work").glob(".*.tmp"))  # the one SIGKILL left is removed
    assert "| SIGTERM |" in out.with_suffix(".md").read_text()
