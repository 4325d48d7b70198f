"""plot.png: dev score over the trials (with the best so far), then the
score against each searched parameter. matplotlib's object API with the Agg
canvas, so no display and no global backend are touched."""
import math
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from .space import Param, SearchSpace

PANEL = (4.2, 3.2)  # inches per panel


def write_plot(rows: List[Dict[str, Any]], space: SearchSpace, metric: str, path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    panels = 1 + len(space.params)
    cols = min(3, panels)
    n_rows = math.ceil(panels / cols)
    figure = Figure(figsize=(PANEL[0] * cols, PANEL[1] * n_rows), layout="constrained")
    axes = figure.subplots(n_rows, cols, squeeze=False).ravel()
    points = [(row, score) for row in rows if (score := _score(row)) is not None]
    _over_trials(axes[0], points, metric)
    for ax, param in zip(axes[1:], space.params):
        _against(ax, param, points, metric)
    for ax in axes[panels:]:
        ax.set_visible(False)
    FigureCanvasAgg(figure).print_png(str(path))


def _score(row: Dict[str, Any]) -> Optional[float]:
    """A complete trial's value, a pruned trial's last reported score, in %."""
    value = row["value"] if row["state"] == "complete" else row["last_score"] if row["state"] == "pruned" else None
    return None if value is None else value * 100


def _scatter(ax: Any, xs: List[Any], points: List[Tuple[Dict[str, Any], float]]) -> None:
    for state, marker in (("complete", "o"), ("pruned", "x")):
        chosen = [(x, score) for x, (row, score) in zip(xs, points) if row["state"] == state]
        if chosen:
            ax.scatter(*zip(*chosen), marker=marker, label=state)


def _over_trials(ax: Any, points: List[Tuple[Dict[str, Any], float]], metric: str) -> None:
    _scatter(ax, [row["trial"] for row, _ in points], points)
    best, line = -math.inf, []
    for row, score in points:
        if row["state"] == "complete":
            best = max(best, score)
            line.append((row["trial"], best))
    if line:
        ax.step(*zip(*line), where="post", color="gray", label="best so far")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set(xlabel="trial", ylabel=f"dev {metric} (%)", title=f"dev {metric} over trials")
    if points:
        ax.legend(fontsize="small")


def _against(ax: Any, param: Param, points: List[Tuple[Dict[str, Any], float]], metric: str) -> None:
    values = [row["params"].get(param.name) for row, _ in points]
    if param.kind == "categorical":
        labels = [str(choice) for choice in param.choices]
        _scatter(ax, [labels.index(str(value)) if str(value) in labels else -1 for value in values], points)
        ax.set_xticks(range(len(labels)), labels, rotation=30 if len(labels) > 3 else 0, fontsize="small")
        ax.set_xlim(-0.5, len(labels) - 0.5)
    else:
        _scatter(ax, values, points)
        if param.log:
            ax.set_xscale("log")
    ax.set(xlabel=param.name.rsplit(".", 1)[-1], ylabel=f"dev {metric} (%)", title=param.name)
    ax.title.set_fontsize("small")
