"""What a search writes to its output folder after every trial: the trials
table (results.json, results.md), the plot (plot.png) and the best trial's
config (best.cfg)."""
import json
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any, Dict, List, Optional

from thinc.api import Config

from .plot import write_plot
from .settings import SearchSettings
from .space import SearchSpace

RESULTS_JSON, RESULTS_MD, PLOT, BEST_CONFIG = "results.json", "results.md", "plot.png", "best.cfg"


def trial_rows(study: Any) -> List[Dict[str, Any]]:
    """One row per trial: number, state, value (complete trials), the step of
    the best evaluation, the last step reported and its score, seconds, params."""
    rows = []
    for trial in study.get_trials(deepcopy=False):
        steps = sorted(trial.intermediate_values)
        model = Path(trial.user_attrs.get("output", "")) / "model-best"
        rows.append({
            "trial": trial.number,
            "state": trial.state.name.lower(),
            "value": trial.value if trial.state.name == "COMPLETE" else None,  # optuna gives pruned ones their last
            "best_step": trial.user_attrs.get("best_step"),
            "last_step": steps[-1] if steps else None,
            "last_score": trial.intermediate_values[steps[-1]] if steps else None,
            "seconds": trial.user_attrs.get("seconds"),
            "params": dict(trial.params),
            "model": str(model) if trial.user_attrs.get("output") and model.is_dir() else None,
            "retry_of": trial.user_attrs.get("retry_of"),
        })
    return rows


def best_row(rows: List[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    """The complete trial with the highest value (the earliest of equal ones)."""
    complete = [row for row in rows if row["state"] == "complete"]
    return max(complete, key=lambda row: (row["value"], -row["trial"])) if complete else None


def write_reports(study: Any, space: SearchSpace, settings: SearchSettings, config_text: str,
                  output_dir: Path) -> Dict[str, Any]:
    """Write results.json, results.md, plot.png and (once a trial completed)
    best.cfg, from the trials' config `config_text`, into `output_dir`.
    RETURNS the JSON data."""
    rows = trial_rows(study)
    best = best_row(rows)
    data = {
        "metric": settings.metric,
        "settings": asdict(settings),
        "counts": dict(Counter(row["state"] for row in rows)),
        "best": None,
        "trials": rows,
    }
    if best is not None:
        (output_dir / BEST_CONFIG).write_text(best_config_text(space, settings, config_text, best), encoding="utf8")
        data["best"] = {
            "trial": best["trial"], "value": best["value"], "step": best["best_step"], "params": best["params"],
            "overrides": space.overrides(best["params"]), "config": str(output_dir / BEST_CONFIG),
        }
    # the standard library keeps every digit (srsly rounds floats)
    (output_dir / RESULTS_JSON).write_text(json.dumps(data, indent=2) + "\n", encoding="utf8")
    (output_dir / RESULTS_MD).write_text(markdown(data, space), encoding="utf8")
    write_plot(rows, space, settings.metric, output_dir / PLOT)
    return data


def best_config_text(space: SearchSpace, settings: SearchSettings, config_text: str, best: Dict[str, Any]) -> str:
    """The searched config (`config_text`) with the best trial's parameters and the search's
    extra overrides, but the config's own paths (null) and schedule: a config
    for `spacy train` and project.yml's `train` command."""
    searched = space.overrides(best["params"])
    extra = {k: v for k, v in settings.overrides.items() if not k.startswith("paths.")}
    config = Config().from_str(config_text, overrides={**extra, **searched}, interpolate=False)
    steps = f"{settings.steps}-step trials" if settings.steps else "trials"
    header = [
        f"Best trial of a hyperparameter search (nerkit search): trial {best['trial']},",
        f"dev {settings.metric} {best['value']:.4f} at step {best['best_step']} of {steps}",
        f"on {settings.train} / {settings.dev}. {settings.config} with:",
        *(f"  {key} = {value!r}" for key, value in {**extra, **searched}.items()),
        "The paths and the schedule (training.max_steps) are the config's own, not the trials'.",
    ]
    return "".join(f"# {line}\n" for line in header) + "\n" + config.to_str()


def markdown(data: Dict[str, Any], space: SearchSpace) -> str:
    settings, metric, rows, best = data["settings"], data["metric"], data["trials"], data["best"]
    names = short_names([param.name for param in space.params])
    counts = ", ".join(f"{n} {state}" for state, n in sorted(data["counts"].items()))
    steps = f"{settings['steps']} steps each" if settings["steps"] else "the config's steps"
    lines = [
        f"# Hyperparameter search: {settings['config']}",
        "",
        f"{len(rows)} trials ({counts or 'none yet'}) on {settings['train']} / {settings['dev']}, {steps}; "
        f"dev {metric} in %, the best evaluation of each complete trial (pruned: the last one).",
        "",
    ]
    if best is not None:
        lines += [f"Best: trial {best['trial']}, {best['value'] * 100:.2f} at step {best['step']}: {best['config']}", ""]
    header = ["trial", "state", f"dev {metric}", "at step", "steps run", "seconds", *names.values()]
    lines += ["| " + " | ".join(header) + " |", "|" + "|".join(" ---: " if i != 1 else " --- " for i in range(len(header))) + "|"]
    for row in rows:
        score, step = {"complete": (row["value"], row["best_step"]), "pruned": (row["last_score"], row["last_step"])}.get(
            row["state"], (None, None))
        cells = [
            str(row["trial"]) + ("*" if best and row["trial"] == best["trial"] else ""),
            row["state"] + (f" (again: {row['retry_of']})" if row["retry_of"] is not None else ""),
            "" if score is None else f"{score * 100:.2f}",
            _cell(step), _cell(row["last_step"]), _cell(row["seconds"]),
            *(_cell(row["params"].get(name)) for name in names),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def short_names(names: List[str]) -> Dict[str, str]:
    """Parameter name -> column title: the key's last part, unless two params share it."""
    last = Counter(name.rsplit(".", 1)[-1] for name in names)
    return {name: name.rsplit(".", 1)[-1] if last[name.rsplit(".", 1)[-1]] == 1 else name for name in names}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:.3g}" if isinstance(value, float) else str(value)
