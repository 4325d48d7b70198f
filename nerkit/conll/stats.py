"""The conversion summary: counts as a dict, a JSON file and a wasabi table."""
import json
from collections import Counter
from pathlib import Path
from typing import Any, Dict, Union

from .docs import atomic_write
from .reader import ConllFile


def summarize(conll_file: ConllFile) -> Dict[str, Any]:
    """Count a parsed file.

    conll_file (ConllFile): The parsed file.
    RETURNS (Dict[str, Any]): Keys ``docs``, ``sentences``, ``tokens``,
        ``entities`` (label -> count), ``scheme``, ``repairs`` (kind -> count),
        ``empty_docs`` (``-DOCSTART-`` documents without tokens: no Doc for them).
    """
    sentences = conll_file.sentences
    entities = Counter(label for sent in sentences for _, _, label in sent.spans)
    return {
        "docs": len(conll_file.documents),
        "sentences": len(sentences),
        "tokens": sum(len(sent.tokens) for sent in sentences),
        "entities": dict(sorted(entities.items())),
        "scheme": conll_file.scheme,
        "repairs": dict(sorted(conll_file.repairs.items())),
        "empty_docs": conll_file.empty_docs,
    }


def write_stats(summary: Dict[str, Any], path: Union[str, Path]) -> None:
    """Write the summary as JSON (atomically, parent directories created).

    summary (Dict[str, Any]): The output of ``summarize``.
    path (Union[str, Path]): The JSON file.
    """
    atomic_write(path, (json.dumps(summary, indent=2) + "\n").encode("utf8"))


def summary_rows(summary: Dict[str, Any]) -> list:
    """The summary as (name, value) rows for ``wasabi.table``.

    summary (Dict[str, Any]): The output of ``summarize``.
    RETURNS (list): The rows.
    """
    rows = [(key, f"{summary[key]:,}") for key in ("docs", "sentences", "tokens")]
    total = sum(summary["entities"].values())
    rows.append(("entities", f"{total:,}"))
    rows.extend((f"  {label}", f"{n:,}") for label, n in summary["entities"].items())
    rows.append(("scheme", summary["scheme"]))
    rows.append(("repairs", f"{sum(summary['repairs'].values()):,}"))
    rows.extend((f"  {kind}", f"{n:,}") for kind, n in summary["repairs"].items())
    rows.append(("empty documents (no Doc)", f"{summary['empty_docs']:,}"))
    return rows
