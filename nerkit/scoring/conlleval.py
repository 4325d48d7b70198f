"""Check a report against conlleval, the CoNLL shared tasks' reference scorer,
run on the report's own predictions file (`write_predictions`).

conlleval is not shipped here: pass the command that runs it, e.g.
`perl conlleval.pl` or `python -m conlleval /dev/stdin` (the `conlleval`
package on PyPI, a line-by-line port of the Perl script). It reads the file
on stdin and prints its usual text, which `parse_conlleval` reads back.
"""
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Sequence, Union

from .predict import MISALIGNED_SUFFIX

_OVERALL = re.compile(r"processed (\d+) tokens with (\d+) phrases; found: (\d+) phrases; correct: (\d+)\.")
_TYPE = re.compile(r"^\s*(\S+): precision:\s*([\d.]+)%; recall:\s*([\d.]+)%; FB1:\s*([\d.]+)\s+(\d+)\s*$")
_METRICS = (("precision", "precision"), ("recall", "recall"), ("FB1", "f1"))


def conlleval_command(command: Union[str, Sequence[str]]) -> List[str]:
    """The argv for a conlleval command line; a lone `*.pl` runs with perl."""
    argv = shlex.split(command) if isinstance(command, str) else list(command)
    if len(argv) == 1 and argv[0].endswith(".pl"):
        argv = ["perl", *argv]
    return argv


def parse_conlleval(text: str) -> Dict[str, Any]:
    """conlleval's text output as numbers: tokens, gold / found / correct
    phrases, and per type the printed precision, recall, FB1 (percent, two
    decimals) and the number of phrases found.

    RAISES ValueError: If the text has no summary line.
    """
    match = _OVERALL.search(text)
    if not match:
        raise ValueError(f"not conlleval output (no 'processed ... phrases' line): {text[:200]!r}")
    tokens, gold, found, correct = (int(g) for g in match.groups())
    out: Dict[str, Any] = {"tokens": tokens, "gold": gold, "found": found, "correct": correct, "per_type": {}}
    for line in text.splitlines():
        m = _TYPE.match(line)
        if m:
            label, p, r, f, n = m.groups()
            out["per_type"][label] = {"precision": float(p), "recall": float(r), "FB1": float(f), "found": int(n)}
    return out


def run_conlleval(predictions: Union[str, Path], command: Union[str, Sequence[str]]) -> Dict[str, Any]:
    """Run conlleval on a predictions file (on stdin) and parse its output.

    RAISES RuntimeError: If the command fails.
    """
    argv = conlleval_command(command)
    with Path(predictions).open("rb") as f:
        proc = subprocess.run(argv, stdin=f, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited with {proc.returncode}: {proc.stderr.strip()[:500]}")
    return {**parse_conlleval(proc.stdout), "command": " ".join(argv), "output": proc.stdout}


def compare(report: Dict[str, Any], conlleval: Dict[str, Any]) -> List[str]:
    """Where the report and conlleval disagree: the phrase counts (exactly)
    and, per type with a prediction or a gold entity, precision, recall and
    F1 as conlleval prints them (percent, two decimals). Entities written as
    `LABEL~misaligned` (raw-text mode) count as LABEL's found phrases; that
    label's precision and F1 are then not compared (conlleval books them
    under another type). Empty = they agree."""
    entity = report["entity"]
    micro = entity["micro"]
    ours = {"gold": micro["tp"] + micro["fn"], "found": micro["tp"] + micro["fp"], "correct": micro["tp"]}
    mismatches = [f"{key}: report {ours[key]}, conlleval {conlleval[key]}" for key in ours if ours[key] != conlleval[key]]
    theirs_by_type = dict(conlleval["per_type"])
    for label in [t for t in theirs_by_type if t.endswith(MISALIGNED_SUFFIX)]:
        # misaligned predictions: false positives of their label in the report
        # (found counts add up; that label's P and F1 differ by design)
        misaligned = theirs_by_type.pop(label)
        base = theirs_by_type.setdefault(label[: -len(MISALIGNED_SUFFIX)], {"found": 0, "recall": 0.0})
        base["found"] += misaligned["found"]
        base["misaligned"] = True
    for label in sorted(set(entity["per_type"]) | set(theirs_by_type)):
        row = entity["per_type"].get(label)
        theirs = theirs_by_type.get(label)
        if row is None or theirs is None:
            mismatches.append(f"{label}: only in {'conlleval' if row is None else 'the report'}")
            continue
        if row["tp"] + row["fp"] != theirs["found"]:
            mismatches.append(f"{label} found: report {row['tp'] + row['fp']}, conlleval {theirs['found']}")
        if not theirs["found"]:  # conlleval ports differ on P with nothing found
            continue
        for name, key in _METRICS:
            if theirs.get("misaligned") and name != "recall":
                continue
            if f"{100 * row[key]:.2f}" != f"{theirs[name]:.2f}":
                mismatches.append(f"{label} {name}: report {100 * row[key]:.2f}, conlleval {theirs[name]:.2f}")
    return mismatches
