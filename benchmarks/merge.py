"""Merge the part files (results/parts/<system>.json) into results/conll03.json
and results/conll03.md, with the targets computed from whatever parts exist.

    python benchmarks/merge.py [--results benchmarks/results]
"""
import argparse
import json
import re
import statistics
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.measure import now, repo_relative, write_json  # noqa: E402

SEED = "hf_seed"
DEFAULT = "default"  # benchmarks/run.py --systems default: today's default config, selected on dev
DEFAULT_FINAL = "default_traindev"  # ... and its final model on train + dev: what conll03 packages
HF_SYSTEMS = ("hf_seed", "hf_seed_lr1e-4", "hf_doc")
ORDER = ("hf_seed", "hf_seed_lr1e-4", "hf_doc", "default", "spacy_ner", "spacy_tokner", "spacy_case", "spacy_tokner_case", "cnn")
F1_TARGET = 0.910
SELECTED_F1_TARGET = 0.905  # the mean of the models selected on dev (train only)
RAW_TEXT_GAP = 0.002  # raw text (the default tokenizer) within 0.2 F1 of the gold-token mean
F1_OVER_HF = 0.015
INFER_WPS = 2000.0
INFER_OVER_PIPELINE = 2.0
TRAIN_WPS = 600.0
TRAIN_OVER_SEED = 1.5
MINUTES_TO_BEST = 60.0


def load_parts(parts_dir: Path) -> Dict[str, Dict[str, Any]]:
    parts = {}
    for path in sorted(Path(parts_dir).glob("*.json")):
        part = repo_relative(json.loads(path.read_text(encoding="utf8")))
        parts[part.get("system", path.stem)] = part
    return dict(sorted(parts.items(), key=lambda kv: _order(kv[0])))


def _order(system: str) -> tuple:
    """ORDER; a variant such as `spacy_ner_goldtok` right after its system;
    unknown names last."""
    if system in ORDER:
        return (ORDER.index(system), 0, system)
    base = max((b for b in ORDER if system.startswith(b + "_")), key=len, default=None)
    return (ORDER.index(base), 1, system) if base else (len(ORDER), 1, system)


def _get(part: Optional[Dict[str, Any]], *keys: str) -> Any:
    for key in keys:
        if not isinstance(part, dict):
            return None
        part = part.get(key)
    return part


def _measured(part: Optional[Dict[str, Any]]) -> bool:
    return bool(part) and not str(part.get("status", "")).startswith("failed") and _get(part, "test", "f1") is not None


def best_ours(parts: Dict[str, Dict[str, Any]]) -> Optional[str]:
    """Our best offline pipeline: the spaCy system (not hf_*) with the highest
    dev F1 (test F1 breaks ties): selected on dev, like the checkpoints. A final
    model trained on train + dev is left out: its dev F1 is on its own training data."""
    ours = [s for s, p in parts.items()
            if s not in HF_SYSTEMS and _measured(p) and _get(p, "settings", "train_data") != "train + dev"]
    if not ours:
        return None
    return max(ours, key=lambda s: (_get(parts[s], "dev", "f1") or 0.0, _get(parts[s], "test", "f1") or 0.0))


def seed_groups(parts: Dict[str, Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Runs of one recipe that differ only in their seed: spaCy parts of one
    system whose tags are the same once a `seedN` suffix is dropped, on the same
    training data. Each group with two or more scored runs: its seeds, test F1s,
    mean and spread."""
    groups: Dict[tuple, Dict[int, str]] = {}
    for system, part in parts.items():
        if system in HF_SYSTEMS or not _measured(part):
            continue
        tag = _get(part, "run_settings", "tag") or ""
        data = _get(part, "settings", "train_data") or "train"
        base = system.removesuffix("_traindev" if data == "train + dev" else "").removesuffix(f"_{tag}" if tag else "")
        seed = int((_get(part, "settings", "overrides") or {}).get("system.seed", 0))
        recipe = "_".join(x for x in (base, re.sub(r"_?seed\d+$", "", tag)) if x)
        groups.setdefault((recipe, data), {})[seed] = system
    out = []
    for (recipe, data), by_seed in groups.items():
        if len(by_seed) < 2:
            continue
        runs = [(seed, by_seed[seed]) for seed in sorted(by_seed)]
        f1s = [parts[s]["test"]["f1"] for _, s in runs]
        # raw text with the tokenizer the default config ships (hyphenated words kept whole) where measured
        raw = [_get(parts[s], "test_raw_text_keep_hyphens", "f1") or _get(parts[s], "test_raw_text", "f1") for _, s in runs]
        out.append({"recipe": recipe, "train_data": data, "seeds": [seed for seed, _ in runs],
                    "systems": [s for _, s in runs], "test_f1": f1s, "mean": statistics.fmean(f1s),
                    "stdev": statistics.stdev(f1s), "min": min(f1s), "max": max(f1s),
                    "raw_text_f1": raw, "raw_text_mean": statistics.fmean(raw) if None not in raw else None})
    return out


def levers(parts: Dict[str, Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Each one-change run of the default recipe (trained on train, seed 0)
    beside the run it changed: a tagged `default…_<tag>` part beside the part
    without the tag, or a part with `lever_of` (a lever that became the default)
    beside that part. What it changed, dev and test F1 and the differences.
    Chosen on dev: a lever wins only by a higher dev F1."""
    out = []
    for system, part in parts.items():
        tag = _get(part, "run_settings", "tag")
        base_name = part.get("lever_of") or (system.removesuffix(f"_{tag}") if tag else None)
        base = parts.get(base_name) if base_name else None
        overrides = dict(_get(part, "settings", "overrides") or {})
        if (not system.startswith(DEFAULT) or not _measured(base) or not _measured(part)
                or _get(part, "settings", "train_data") != "train" or overrides.get("system.seed", "0") != "0"):
            continue
        change = [f"{k} = {v}" for k, v in overrides.items()]
        if _get(part, "settings", "max_steps") != _get(base, "settings", "max_steps"):
            change.append(f"{_get(part, 'settings', 'max_steps')} steps")
        dev, test = part["dev"]["f1"], part["test"]["f1"]
        out.append({"system": system, "base": base_name, "change": "; ".join(change) or part.get("description", "–"),
                    "dev_f1": dev, "test_f1": test, "dev_delta": dev - base["dev"]["f1"],
                    "test_delta": test - base["test"]["f1"], "wins_on_dev": dev > base["dev"]["f1"]})
    return out


def strongest_hf(parts: Dict[str, Dict[str, Any]]) -> Optional[str]:
    """The HF system with the best dev F1 (selected on dev, as ours): the one
    our F1 target is measured against."""
    hf = [s for s in HF_SYSTEMS if _measured(parts.get(s))]
    return max(hf, key=lambda s: parts[s]["dev"]["f1"] or 0.0) if hf else None


def _verdict(value: float, needs: float, *, at_most: bool = False) -> str:
    return "met" if (value <= needs if at_most else value >= needs) else "missed"


def _target(name: str, value: Optional[float], needs: Optional[float], unit: str, *, at_most: bool = False,
            missing: str = "", system: Optional[str] = None) -> Dict[str, Any]:
    row: Dict[str, Any] = {"target": name, "system": system, "value": value, "needs": needs}
    if value is None or needs is None:
        row.update(status="not yet measured", text=f"not yet measured ({missing})" if missing else "not yet measured")
        return row
    status = _verdict(value, needs, at_most=at_most)
    margin = abs(value - needs)
    sign = "≤" if at_most else "≥"
    if unit == "F1":
        text = f"{status} by {margin * 100:.2f} (needs {sign} {needs * 100:.2f}; has {value * 100:.2f})"
    elif unit == "words/s":
        text = f"{status} by {margin:,.0f} words/s (needs {sign} {needs:,.0f}; has {value:,.0f})"
    else:
        text = f"{status} by {margin:.1f} min (needs {sign} {needs:.0f}; has {value:.1f})"
    row.update(status=status, margin=margin, text=text)
    return row


def targets(parts: Dict[str, Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The issue's targets for today's default config only, each with
    met/missed and the margin, or "not yet measured": test F1 and inference
    of the model it packages (DEFAULT_FINAL, trained on train + dev), training
    speed and time to best dev of its selection run (DEFAULT)."""
    selection = parts.get(DEFAULT) if _measured(parts.get(DEFAULT)) else None
    final = parts.get(DEFAULT_FINAL) if _measured(parts.get(DEFAULT_FINAL)) else None
    seed = parts.get(SEED) if _measured(parts.get(SEED)) else None
    no_final = f"{DEFAULT_FINAL} not measured yet"
    no_ours = f"{DEFAULT} not measured yet"
    test_f1 = _get(final, "test", "f1")
    infer = _get(final, "inference", "words_per_second")
    train = _get(selection, "training", "words_per_second")
    to_best = _get(selection, "training", "seconds_to_best")
    hf = strongest_hf(parts)
    hf_f1 = _get(parts.get(hf), "test", "f1") if hf else None
    pipe = _get(seed, "inference", "hf_pipeline", "words_per_second")
    hf_train = _get(parts.get(hf), "training", "words_per_second") if hf else None

    groups = {g["train_data"]: g for g in seed_groups(parts) if g["recipe"] == DEFAULT}
    final_seeds, selected_seeds = groups.get("train + dev"), groups.get("train")

    def miss(*pairs):
        return "; ".join(msg for ok, msg in pairs if not ok)

    def mean(group, key="mean"):
        return group[key] if group else None

    rows = [
        _target("test F1 ≥ 91.0", test_f1, F1_TARGET, "F1", system=DEFAULT_FINAL, missing=no_final),
        _target("mean test F1 over seeds ≥ 91.0 (the final model, train + dev)", mean(final_seeds), F1_TARGET, "F1",
                system=DEFAULT_FINAL, missing=f"needs ≥ 2 seeds of {DEFAULT_FINAL}"),
        _target("its raw-text mean within 0.2 of that mean", mean(final_seeds, "raw_text_mean"),
                final_seeds["mean"] - RAW_TEXT_GAP if final_seeds else None, "F1", system=DEFAULT_FINAL,
                missing=f"needs ≥ 2 seeds of {DEFAULT_FINAL}"),
        _target("mean test F1 over seeds ≥ 90.5 (the model selected on dev, train only)", mean(selected_seeds),
                SELECTED_F1_TARGET, "F1", system=DEFAULT, missing=f"needs ≥ 2 seeds of {DEFAULT}"),
        _target(f"test F1 ≥ the strongest HF system's ({hf or 'none yet'}) test F1 + 1.5", test_f1,
                hf_f1 + F1_OVER_HF if hf_f1 is not None else None, "F1", system=DEFAULT_FINAL,
                missing=miss((final, no_final), (hf, "no HF system measured yet"))),
        _target("inference ≥ 2,000 words/s", infer, INFER_WPS, "words/s", system=DEFAULT_FINAL, missing=no_final),
        _target("inference ≥ 2× the HF pipeline", infer, pipe * INFER_OVER_PIPELINE if pipe else None, "words/s",
                system=DEFAULT_FINAL, missing=miss((final, no_final), (pipe, f"{SEED} HF pipeline speed not measured yet"))),
        _target("training ≥ 600 words/s", train, TRAIN_WPS, "words/s", system=DEFAULT, missing=no_ours),
        _target(f"training ≥ 1.5× the strongest HF system's ({hf or 'none yet'}) train words/s", train,
                hf_train * TRAIN_OVER_SEED if hf_train else None, "words/s", system=DEFAULT,
                missing=miss((selection, no_ours), (hf_train, "no HF system measured yet"))),
        _target("full run to best dev within 60 minutes", to_best / 60 if to_best is not None else None,
                MINUTES_TO_BEST, "min", at_most=True, system=DEFAULT, missing=no_ours),
    ]
    if selection and selection.get("status") != "complete" and rows[-1]["status"] == "met":
        rows[-1]["text"] += f"; the run was {selection.get('status')}, a longer run might find a later best"
    return rows


def _fmt(value: Any, spec: str, scale: float = 1.0) -> str:
    return "–" if value is None else format(value * scale, spec)


def _best_at(part: Dict[str, Any]) -> str:
    ep, st = _get(part, "training", "best_epoch"), _get(part, "training", "best_step")
    return "–" if st is None else f"{ep} / {st}"


def render_markdown(merged: Dict[str, Any]) -> str:
    parts = merged["systems"]
    lines = ["# CoNLL-2003 benchmark, side by side", "",
             f"Merged {merged['generated']} from {len(parts)} part file(s). Dev = eng.testa (model selection), "
             "test = eng.testb (reported). Entity F1 is conlleval-exact (nerkit.scoring), in %.", ""]
    tiny = [s for s, p in parts.items() if _get(p, "run_settings", "limit_sents")]
    if tiny:
        lines += [f"> **Tiny run**: {', '.join(tiny)} used `--limit-sents`; these are not CoNLL-2003 figures.", ""]
    lines += ["| system | dev F1 | test F1 | raw-text test F1 | test P | test R | train min | train words/s "
              "| best at epoch / step | infer words/s (ours) | HF pipeline words/s | peak RSS MB | size MB | status |",
              "|---|" + "---:|" * 12 + "---|"]
    for s, p in parts.items():
        old_scorer = "" if s in HF_SYSTEMS or _get(p, "test", "scorer") else " †"
        lines.append("| " + " | ".join([
            f"`{s}`", _fmt(_get(p, "dev", "f1"), ".2f", 100) + old_scorer, _fmt(_get(p, "test", "f1"), ".2f", 100) + old_scorer,
            _fmt(_get(p, "test_raw_text", "f1"), ".2f", 100) + (
                f" ({_get(p, 'test_raw_text_keep_hyphens', 'f1') * 100:.2f})"
                if _get(p, "test_raw_text_keep_hyphens", "f1") not in (None, _get(p, "test_raw_text", "f1")) else ""),
            _fmt(_get(p, "test", "precision"), ".2f", 100), _fmt(_get(p, "test", "recall"), ".2f", 100),
            _fmt(_get(p, "training", "wall_seconds"), ".1f", 1 / 60), _fmt(_get(p, "training", "words_per_second"), ",.0f"),
            _best_at(p), _fmt(_get(p, "inference", "words_per_second"), ",.0f"),
            _fmt(_get(p, "inference", "hf_pipeline", "words_per_second"), ",.0f"),
            _fmt(p.get("peak_rss_mb"), ",.0f"), _fmt(p.get("size_mb"), ",.1f"), str(p.get("status", "?")),
        ]) + " |")
    lines += ["", "Dev and test F1: the pipeline gets the gold tokens and the gold sentence starts; a predicted "
              "entity over a sentence break counts as its pieces, as conlleval counts it on the predictions file "
              "(`nerkit.scoring`, scorer v2). **†**: scored before that fix (v1: predicted on bare documents, an "
              "entity over a sentence break counted as one wrong entity); those models were not kept, so they were "
              "not re-scored, and v1 undercounts (on one model, 84.85 v1 against conlleval's 85.46). Raw-text test F1: "
              "`nlp.pipe` on each test document's text, as users call `nlp(text)` (spaCy's tokenizer, no sentence "
              "starts); an entity off the gold token boundaries is an error; in brackets, with the tokenizer keeping "
              "hyphenated words whole as CoNLL does (`nerkit.keep_hyphenated_words.v1`, in the default config). "
              "`hf_seed*` predict sentence by sentence, "
              "`hf_doc` on document windows (each word's tag from one window, then cut into the gold sentences).",
              "", "Train words/s: training words / training-loop seconds without the dev evaluations "
              "(spaCy: its loop time minus dev words / the dev speed it measured; HF: the time spent in the "
              "training batches). Train min: the whole training process (start-up and evaluations included). "
              "Best at: epoch (1-based) / step of the best dev score. Infer words/s: test set on CPU, batched "
              "(spaCy: `nlp.pipe`; HF: our forward loop under `torch.inference_mode()`); HF pipeline: "
              "`pipeline(\"token-classification\", aggregation_strategy=\"first\")` on the same test sentences. "
              "Peak RSS: max RSS of the training process. Size: the saved model directory.", ""]
    seeds = merged.get("seeds") or []
    if seeds:
        lines += ["## Seeds", "", "One recipe, several seeds (test F1; spread = max − min; stdev is the sample's; "
                  "raw text with the default config's tokenizer, hyphenated words kept whole):", "",
                  "| recipe | trained on | seeds | test F1 per seed | mean | spread | stdev | raw-text mean |",
                  "|---|---|---|---|---:|---:|---:|---:|"]
        lines += [f"| `{g['recipe']}` | {g['train_data']} | {', '.join(map(str, g['seeds']))} | "
                  + ", ".join(f"{f * 100:.2f}" for f in g["test_f1"])
                  + f" | {g['mean'] * 100:.2f} | {(g['max'] - g['min']) * 100:.2f} | {g['stdev'] * 100:.2f} | "
                  + f"{_fmt(g['raw_text_mean'], '.2f', 100)} |" for g in seeds]
        lines.append("")
    if merged.get("levers"):
        lines += ["## Levers of the default recipe", "",
                  "One change each to a default recipe (trained on train, seed 0, selected on dev); Δ against the run "
                  "it changed. A lever is adopted only if it wins on dev; test is reported, never used to choose.", "",
                  "| run | against | change | dev F1 | Δ dev | test F1 | Δ test | on dev |",
                  "|---|---|---|---:|---:|---:|---:|---|"]
        lines += [f"| `{r['system']}` | `{r['base']}` | {r['change']} | {r['dev_f1'] * 100:.2f} | {r['dev_delta'] * 100:+.2f} | "
                  f"{r['test_f1'] * 100:.2f} | {r['test_delta'] * 100:+.2f} | {'wins' if r['wins_on_dev'] else 'loses'} |"
                  for r in merged["levers"]]
        lines.append("")
    lines += ["## Systems", ""] + [f"- `{s}`: {p.get('description', '–')}" for s, p in parts.items()] + [""]
    if merged.get("inference_levers"):
        lines += ["Inference settings (window/stride, batch size, threads, document context), each file on one "
                  "trained pipeline: " + ", ".join(f"[{name}]({name})" for name in merged["inference_levers"]) + ".", ""]
    labels = sorted({lab for p in parts.values() for lab in (_get(p, "test", "per_type") or {})})
    if labels:
        lines += ["## Test F1 per type", "", "| system | " + " | ".join(labels) + " |", "|---|" + "---:|" * len(labels)]
        for s, p in parts.items():
            row = _get(p, "test", "per_type") or {}
            lines.append(f"| `{s}` | " + " | ".join(_fmt(_get(row, lab, "f1"), ".2f", 100) for lab in labels) + " |")
        lines.append("")
    lines += ["## Targets", "", f"For today's default config only: test F1 and inference of the model the "
              f"conll03 workflow packages (`{DEFAULT_FINAL}`), training of its selection run (`{DEFAULT}`). "
              f"The other rows above are older configs and variants." + (
                  f" Best dev F1 of all spaCy rows: `{merged['best_ours']}`." if merged["best_ours"] else ""), "",
              "| target | result |", "|---|---|"]
    lines += [f"| {t['target']} | {t['text']} |" for t in merged["targets"]]
    hf = {s: p for s, p in parts.items() if s in HF_SYSTEMS and _measured(p)}
    if hf:
        lines += ["", "## HF systems: truncation", ""]
        for s, p in hf.items():
            windows = _get(p, "training", "train_windows")
            cut = (f"{_get(windows, 'windows')} training windows, {_get(windows, 'shrunk_for_piece_limit')} shrunk and "
                   f"{_get(windows, 'truncated')} truncated for the {_get(p, 'training', 'inputs', 'max_length_pieces')}-piece "
                   "limit; words without a piece set to O" if windows else
                   f"{_get(p, 'training', 'truncated_train_sentences')} training sentences truncated at 128 "
                   "pieces; words past the truncation set to O")
            lines.append(f"- `{s}`: {cut}: dev {_get(p, 'dev', 'words_past_truncation_set_to_O')}, "
                         f"test {_get(p, 'test', 'words_past_truncation_set_to_O')}; stop: {_get(p, 'training', 'stop_reason')}.")
    speed = {s: _get(p, "inference", "spacy_benchmark_speed") for s, p in parts.items()}
    speed = {s: v for s, v in speed.items() if v}
    if speed:
        lines += ["", "## `spacy benchmark speed`", ""]
        lines += ["`python -m spacy benchmark speed MODEL test.spacy` (its own batching, shuffling and warm-up):", ""]
        lines += [f"- `{s}`: " + ("; ".join(x.strip() for x in (v.get("output") or "").splitlines())
                                 or f"exit {v.get('returncode')}") for s, v in speed.items()]
    lines += ["", "## Machine and versions", ""]
    for m in merged["machines"]:
        lines.append(f"- {m.get('cpu_model')}, {m.get('cpu_cores')} cores ({m.get('cpu_cores_usable')} usable), "
                     f"{m.get('memory_gb')} GB RAM, GPU: {m.get('gpu') or 'none'}; torch threads {m.get('torch_threads')}")
    for v in merged["versions"]:
        lines.append("- " + ", ".join(f"{k} {val}" for k, val in v.items()))
    lines += ["", "## Commands and load per part", ""]
    for s, p in parts.items():
        lines.append(f"- `{s}` ({p.get('started')} → {p.get('finished')}; load: {p.get('concurrent_load')}): "
                     f"`{p.get('command')}`")
        if p.get("child_command"):
            lines.append(f"  - child: `{p['child_command']}`")
        for key in ("renamed", "note_on_failure"):
            if p.get(key):
                lines.append(f"  - {key.replace('_', ' ')}: {p[key]}")
    return "\n".join(lines) + "\n"


def _distinct(items: Sequence[Any]) -> List[Any]:
    out: List[Any] = []
    for item in items:
        if item is not None and item not in out:
            out.append(item)
    return out


def merge(parts_dir: Path, results: Path) -> Dict[str, Any]:
    """Read all parts, write conll03.json and conll03.md; RETURNS the merged dict."""
    parts = load_parts(parts_dir)
    merged = {
        "generated": now(),
        "machines": _distinct([p.get("machine") for p in parts.values()]),
        "versions": _distinct([p.get("versions") for p in parts.values()]),
        "best_ours": best_ours(parts),
        "inference_levers": sorted(path.name for path in Path(results).glob("inference_levers*.md")),
        "targets": targets(parts),
        "seeds": seed_groups(parts),
        "levers": levers(parts),
        "systems": parts,
    }
    results = Path(results)
    results.mkdir(parents=True, exist_ok=True)
    write_json(results / "conll03.json", merged)
    (results / "conll03.md").write_text(render_markdown(merged), encoding="utf8")
    return merged


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--results", type=Path, default=Path("benchmarks/results"))
    p.add_argument("--parts", type=Path, default=None, help="default: RESULTS/parts")
    args = p.parse_args(argv)
    merge(args.parts or args.results / "parts", args.results)
    print(f"wrote {args.results / 'conll03.json'} and {args.results / 'conll03.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
