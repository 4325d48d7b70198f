"""Pictures of the report's "calibration" section (nerkit.scoring.calibration):
the reliability diagram (per score bin, the share of its entities that are
correct against the bin's mean score) and precision / recall by threshold.

`calibration_svg` draws both as inline SVG for the HTML report (no
dependency); `write_calibration_png` draws them with matplotlib where it is
installed (the `search` extra has it) and RETURNS None where it is not.
"""
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

SIZE, PAD = 260, 36  # plot square and margin, in SVG pixels
Points = Sequence[Tuple[float, float]]


def reliability_points(cal: Dict[str, Any]) -> List[Tuple[float, float, int]]:
    """(mean score, share correct, entities) of each non-empty bin."""
    return [(b["mean_score"], b["accuracy"], b["n"]) for b in cal["bins"] if b["n"]]


def threshold_curves(cal: Dict[str, Any]) -> Dict[str, List[Tuple[float, float]]]:
    """Precision and recall against the threshold, one point per table row."""
    rows = cal["thresholds"]
    return {"precision": [(r["threshold"], r["precision"]) for r in rows],
            "recall": [(r["threshold"], r["recall"]) for r in rows]}


def _pt(x: float, y: float) -> Tuple[float, float]:
    """Data coordinates in [0, 1] to SVG pixels (y grows downwards)."""
    return PAD + x * SIZE, PAD + (1 - y) * SIZE


def _xy(x: float, y: float) -> str:
    return "{:.1f},{:.1f}".format(*_pt(x, y))


def _frame(title: str, xlabel: str, ylabel: str) -> List[str]:
    ticks = []
    for t in (0.0, 0.5, 1.0):
        ticks += [f"<text x='{PAD + t * SIZE:.0f}' y='{PAD + SIZE + 14}' text-anchor='middle'>{t:g}</text>",
                  f"<text x='{PAD - 4}' y='{PAD + (1 - t) * SIZE + 4:.0f}' text-anchor='end'>{t:g}</text>"]
    return [f"<text x='{PAD + SIZE / 2:.0f}' y='{PAD - 14}' text-anchor='middle' font-weight='bold'>{title}</text>",
            f"<rect x='{PAD}' y='{PAD}' width='{SIZE}' height='{SIZE}' fill='none' stroke='#999'/>",
            f"<text x='{PAD + SIZE / 2:.0f}' y='{PAD + SIZE + 30}' text-anchor='middle'>{xlabel}</text>",
            f"<text x='10' y='{PAD + SIZE / 2:.0f}' text-anchor='middle' "
            f"transform='rotate(-90 10 {PAD + SIZE / 2:.0f})'>{ylabel}</text>"] + ticks


def _line(points: Points, color: str, dash: str = "") -> str:
    path = " ".join(_xy(x, y) for x, y in points)
    return f"<polyline points='{path}' fill='none' stroke='{color}' stroke-width='2' {dash}/>"


def calibration_svg(cal: Dict[str, Any]) -> str:
    """Both charts side by side as one inline SVG element."""
    width = 2 * (SIZE + 2 * PAD)
    diagonal = _line([(0, 0), (1, 1)], "#bbb", "stroke-dasharray='4 3'")
    points = reliability_points(cal)
    dots = "".join("<circle cx='{:.1f}' cy='{:.1f}' r='4' fill='#1f77b4'>".format(*_pt(m, a))
                   + f"<title>mean score {m:.3f}, correct {a:.3f}, {n} entities</title></circle>"
                   for m, a, n in points)
    left = _frame(f"Reliability (ECE {cal['ece'] * 100:.2f}%)", "mean score of the bin", "share correct")
    left += [diagonal, _line([(m, a) for m, a, _ in points], "#1f77b4"), dots]
    curves = threshold_curves(cal)
    right = _frame("By min score", "min score", "precision / recall")
    right += [_line(curves["precision"], "#d62728"), _line(curves["recall"], "#2ca02c", "stroke-dasharray='6 3'"),
              f"<text x='{PAD + 6}' y='{PAD + SIZE - 22}' fill='#d62728'>precision</text>",
              f"<text x='{PAD + 6}' y='{PAD + SIZE - 8}' fill='#2ca02c'>recall</text>"]
    shift = SIZE + 2 * PAD
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{SIZE + 2 * PAD + 10}' "
            f"font-family='sans-serif' font-size='11' role='img' aria-label='calibration charts'>"
            f"<g>{''.join(left)}</g><g transform='translate({shift} 0)'>{''.join(right)}</g></svg>")


def write_calibration_png(cal: Dict[str, Any], path: Path) -> Optional[Path]:
    """The same two charts as a PNG at `path`; None where matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot
    except ImportError:
        return None
    fig, (rel, thr) = pyplot.subplots(1, 2, figsize=(9, 4.2))
    points = reliability_points(cal)
    rel.plot([0, 1], [0, 1], linestyle="--", color="#bbb")
    rel.plot([m for m, _, _ in points], [a for _, a, _ in points], marker="o")
    rel.set(title=f"Reliability (ECE {cal['ece'] * 100:.2f}%)", xlabel="mean score of the bin",
            ylabel="share correct", xlim=(0, 1), ylim=(0, 1))
    curves = threshold_curves(cal)
    for name, style in (("precision", "-"), ("recall", "--")):
        thr.plot(*zip(*curves[name]), style, marker=".", label=name)
    thr.set(title="By min score", xlabel="min score", ylabel="precision / recall", xlim=(0, 1), ylim=(0, 1))
    thr.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    pyplot.close(fig)
    return path
