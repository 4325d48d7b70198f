"""The ``nerkit`` command itself: --version, help texts shown as written,
no colour codes when its output is not a terminal."""
import subprocess
import sys

import nerkit


def nerkit_command(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nerkit.cli", *args], capture_output=True, text=True)


def test_version():
    result = nerkit_command("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"nerkit {nerkit.__version__}"


def test_help_keeps_brackets():
    result = nerkit_command("annotate", "--help")
    assert result.returncode == 0
    assert "'nerkit[ray]'" in " ".join(result.stdout.split())  # Rich markup would eat "[ray]"


def test_no_colour_codes_in_a_pipe(tmp_path):
    result = nerkit_command("serve", str(tmp_path / "no-such-model"))
    assert result.returncode == 1 and "Cannot load the pipeline" in result.stdout
    assert "\x1b[" not in result.stdout + result.stderr
