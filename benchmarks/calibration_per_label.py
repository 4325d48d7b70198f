"""Lever for the entity scores: one temperature per label against one for all.

Each temperature is fitted on dev (eng.testa) by the model trained on train
only (`nerkit.calibrate`'s objective: the NLL of each predicted entity being
right, golden-section search in log space), then test (never fitted on) is
scored with the entities' scores at their label's temperature: expected
calibration error (10 bins), NLL, and the precision of the entities with
score >= 0.9 and their share. Decoding never changes, so the entities and F1
are the same in every row.

    python benchmarks/calibration_per_label.py MODEL ../shared/data/conll2003/eng.testa \
        ../shared/data/conll2003/eng.testb --out benchmarks/results/calibration_per_label --note "..."

A lever, measured here and kept out of `nerkit/` until it wins.
"""
import argparse
import math
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.measure import now, run_lines, run_record, write_results  # noqa: E402

THRESHOLD = 0.9


def scores_at(pipe, items: Sequence, temperatures: Dict[str, float]) -> Dict[str, numpy.ndarray]:
    """Every predicted entity's score, each at its label's temperature, with
    its label and outcome, in corpus order."""
    labels = list(pipe.labels)
    scores: List[float] = []
    names: List[str] = []
    outcomes: List[bool] = []
    for item in items:
        if not item.spans:
            continue
        row_scores = [0.0] * len(item.spans)
        for temperature in set(temperatures[label] for _, _, label in item.spans):
            probs = pipe.span_probs(item.doc, item.logits, [(s, e) for s, e, _ in item.spans], temperature)
            for k, ((_, _, label), row) in enumerate(zip(item.spans, probs)):
                if temperatures[label] == temperature:
                    row_scores[k] = float(row[labels.index(label)])
        scores += row_scores
        names += [label for _, _, label in item.spans]
        outcomes += item.correct
    return {"score": numpy.asarray(scores), "label": numpy.asarray(names), "correct": numpy.asarray(outcomes, bool)}


def fit(pipe, items: Sequence, labels: Sequence[str], only: Optional[str] = None) -> float:
    """The temperature minimising the NLL of the dev entities (of label `only`, or all)."""
    from nerkit.calibrate import BOUNDS, golden_section, nll

    def objective(log_t: float) -> float:
        s = scores_at(pipe, items, {label: math.exp(log_t) for label in labels})
        keep = numpy.ones(len(s["score"]), bool) if only is None else s["label"] == only
        return nll(s["score"][keep], s["correct"][keep])

    return math.exp(golden_section(objective, math.log(BOUNDS[0]), math.log(BOUNDS[1])))


def figures(s: Dict[str, numpy.ndarray]) -> Dict[str, Any]:
    from nerkit.calibrate import nll
    from nerkit.scoring.calibration import reliability

    kept = s["score"] >= THRESHOLD
    out = {"n": int(len(s["score"])), "ece": reliability(list(s["score"]), list(s["correct"]))[0],
           "nll": nll(s["score"], s["correct"]),
           "precision_at": float(s["correct"][kept].mean()) if kept.any() else None,
           "share_at": float(kept.mean()) if len(kept) else 0.0}
    out["ece_by_label"] = {str(label): reliability(list(s["score"][s["label"] == label]),
                                                   list(s["correct"][s["label"] == label]))[0]
                           for label in sorted(set(s["label"]))}
    return out


def measure(model: str, dev_path: str, test_path: str) -> List[Dict[str, Any]]:
    import spacy

    from benchmarks.data import gold_docs, load_split
    from nerkit.calibrate import collect, scoring_head

    nlp = spacy.load(model)
    head = scoring_head(nlp)
    pipe = nlp.get_pipe(head)
    labels = list(pipe.labels)
    dev, test = (collect(nlp, gold_docs(load_split(p), nlp.vocab), head) for p in (dev_path, test_path))
    one = fit(pipe, dev, labels)
    variants = {"none (T = 1)": {label: 1.0 for label in labels},
                "one temperature": {label: one for label in labels},
                "one temperature per label": {label: fit(pipe, dev, labels, only=label) for label in labels}}
    return [{"variant": name, "temperatures": temps, "dev": figures(scores_at(pipe, dev, temps)),
             "test": figures(scores_at(pipe, test, temps))} for name, temps in variants.items()]


def to_markdown(result: Dict[str, Any]) -> str:
    def pct(x: Optional[float]) -> str:
        return "–" if x is None else f"{100 * x:.2f}"

    rows = result["variants"]
    labels = sorted(rows[0]["temperatures"])
    lines = ["# Entity scores: one temperature per label against one for all", "",
             f"Model `{result['model']}` (trained on train), temperatures fitted on `{result['dev']}`, scored on "
             f"`{result['test']}` (never fitted on). ECE: 10 bins; P@0.9: precision of the entities with score "
             ">= 0.9, kept: their share. The entities are the same in every row.", "", *run_lines(result), "",
             "| variant | temperatures | dev ECE | test ECE | test NLL | test P@0.9 | test kept | "
             + " | ".join(f"test ECE {label}" for label in labels) + " |",
             "|---|---|---:|---:|---:|---:|---:|" + "---:|" * len(labels)]
    for row in rows:
        temps = ", ".join(f"{label} {row['temperatures'][label]:.3f}" for label in labels)
        t = row["test"]
        lines.append(f"| {row['variant']} | {temps} | {pct(row['dev']['ece'])} | {pct(t['ece'])} | {t['nll']:.4f} | "
                     f"{pct(t['precision_at'])} | {pct(t['share_at'])} | "
                     + " | ".join(pct(t["ece_by_label"].get(label)) for label in labels) + " |")
    return "\n".join(lines) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="pipeline with a nerkit_token_ner, trained on train only")
    p.add_argument("dev", help="CoNLL dev file (the temperatures are fitted here)")
    p.add_argument("test", help="CoNLL test file (scored only)")
    p.add_argument("--out", default="benchmarks/results/calibration_per_label", help="OUT.json and OUT.md")
    p.add_argument("--note", default="not stated", help="what else ran on the machine")
    args = p.parse_args(argv)
    started = now()
    result = {"model": args.model, "dev": args.dev, "test": args.test,
              "variants": measure(args.model, args.dev, args.test),
              **run_record("calibration_per_label.py", argv, args.note, started)}
    write_results(args.out, result, to_markdown, "calibration")
    return 0


if __name__ == "__main__":
    sys.exit(main())
