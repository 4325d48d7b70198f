"""`nerkit serve` as users run it (a subprocess on 127.0.0.1), under the
bounded load test of benchmarks/serve_load.py: every request answered, no
errors, the figures written; plus the command's own errors."""
import json
import subprocess
import sys

from typer.testing import CliRunner

from benchmarks.serve_load import load_test, main as load_main, start_server
from nerkit.cli import app
from tests.serve.live import free_port

CONLL = """-DOCSTART- -X- -X- O

Peter NNP B-NP B-PER
flew VBD B-VP O
to TO B-PP O
Paris NNP B-NP B-LOC
. . O O

The DT B-NP O
European NNP I-NP B-ORG
Commission NNP I-NP I-ORG
met VBD B-VP O
. . O O
"""


def test_serve_under_load_with_key(ruler_model, tmp_path):
    port = free_port()
    process = start_server(str(ruler_model), port, workers=2, api_key="k3y")
    try:
        url = f"http://127.0.0.1:{port}"
        texts = ["Peter flew to Paris .", "The European Commission met ."]
        result = load_test(url, texts, requests=40, clients=4, per_request=2, api_key="k3y")
        assert result["errors"] == 0 and result["requests"] == 40
        assert 0 < result["latency_ms"]["p50"] <= result["latency_ms"]["p95"] <= result["latency_ms"]["max"]
        denied = load_test(url, texts, requests=3, clients=1)  # no key: every request refused
        assert denied["errors"] == 3 and "401" in denied["error_examples"][0]
    finally:
        process.terminate()
        process.wait(30)


def test_load_script_writes_results(ruler_model, tmp_path):
    conll = tmp_path / "test.conll"
    conll.write_text(CONLL, encoding="utf8")
    out = tmp_path / "load"
    code = load_main([str(ruler_model), str(conll), "--requests", "10", "--clients", "1,2", "--port", str(free_port()),
                      "--out", str(out)])
    assert code == 0
    result = json.loads(out.with_suffix(".json").read_text())
    assert [row["clients"] for row in result["rows"]] == [1, 2]
    assert all(row["errors"] == 0 for row in result["rows"])
    assert "| 2 | 1 | 10 | 0 |" in out.with_suffix(".md").read_text()


def test_serve_fails_clearly_on_missing_model(tmp_path):
    result = CliRunner().invoke(app, ["serve", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "Cannot load the pipeline" in result.output


def test_console_script_help():
    result = subprocess.run([sys.executable, "-m", "nerkit.cli", "serve", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    assert "--api-key" in result.stdout and "127.0.0.1" in result.stdout
    assert "--max-queue" in result.stdout and "--timeout" in result.stdout
