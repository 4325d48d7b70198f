"""Calibration of the entity scores (ent._.score) on held-out data, and what
the scores cost, in one run.

- The model selected on dev (trained on train only): its temperature is
  fitted on dev (`nerkit calibrate`'s `nerkit.calibrate.calibrate`), and the
  test set (never fitted on) is scored before and after: expected calibration
  error (10 bins), the precision of the entities with score >= 0.9 and the
  share of entities that reach it, and the precision/recall table by threshold.
- The final model (trained on train + dev, --final): dev is in its training
  data, so it is not fitted on; by rule it takes the selected model's
  temperature (the same recipe), and test is scored before and after.
- Cost: `nlp.pipe` words/s on test with scores on and off (the factory's
  `scores` flag), alternating passes after a warm-up, median of --repeats.

    python benchmarks/calibration.py --selected benchmarks/work/default/output/model-best \
        --final benchmarks/work/default_traindev/output/model-last \
        --dev ../shared/data/conll2003/eng.testa --test ../shared/data/conll2003/eng.testb \
        --out benchmarks/results/calibration --note "nothing else running"

Writes OUT.json and OUT.md (machine with its CPU flags, versions, command),
and OUT.<model>.test.calibration.png (the report's charts, after calibration).
"""
import argparse
import statistics
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.measure import now, run_lines, run_record, write_results  # noqa: E402

THRESHOLD = 0.9  # the operating point: precision of entities with score >= 0.9


def at_threshold(cal: Dict[str, Any], n_pred: int, threshold: float = THRESHOLD) -> Dict[str, Any]:
    """Precision and recall of the entities kept at `threshold`, and their share."""
    row = next(r for r in cal["thresholds"] if r["threshold"] == threshold)
    return {"threshold": threshold, "precision": row["precision"], "recall": row["recall"],
            "share_kept": row["n_kept"] / n_pred if n_pred else 0.0}


def scored_split(nlp, gold: Sequence, name: str, png: Optional[Path] = None) -> Dict[str, Any]:
    """ECE, F1 and the figures at THRESHOLD of `nlp` on `gold`."""
    from nerkit.scoring import evaluate
    from nerkit.scoring.calibration_plot import write_calibration_png

    report, _ = evaluate(nlp, gold, n_bootstrap=0, test_data=name)
    cal = report["calibration"]
    if cal is None:
        raise SystemExit(f"{name}: the pipeline gave no entity a score (no nerkit_token_ner with scores on)")
    n_pred = report["meta"]["n_pred_ents"]
    if png is not None:
        write_calibration_png(cal, png)
    return {"f1": report["entity"]["micro"]["f1"], "n_pred_ents": n_pred, "n_scored": cal["n_scored"],
            "ece": cal["ece"], "at_threshold": at_threshold(cal, n_pred), "bins": cal["bins"],
            "thresholds": cal["thresholds"]}


def score_cost(nlp, head: str, gold: Sequence, repeats: int, batch_size: int) -> Dict[str, Any]:
    """words/s of nlp.pipe on `gold` with the head's scores on and off."""
    from nerkit.scoring import predict

    pipe = nlp.get_pipe(head)
    n_words = sum(len(d) for d in gold)
    predict(nlp, gold[: max(1, len(gold) // 10)], batch_size=batch_size)  # warm-up
    seconds: Dict[str, List[float]] = {"on": [], "off": []}
    for _ in range(repeats):
        for state in ("on", "off"):
            pipe.scores = state == "on"
            seconds[state].append(predict(nlp, gold, batch_size=batch_size)[1])
    pipe.scores = True
    wps = {state: n_words / statistics.median(s) for state, s in seconds.items()}
    return {"words_per_second_scores_on": wps["on"], "words_per_second_scores_off": wps["off"],
            "ratio_on_to_off": wps["on"] / wps["off"], "seconds": seconds, "n_words": n_words,
            "repeats": repeats, "batch_size": batch_size}


def model_row(nlp, test: Sequence, args: argparse.Namespace, row: Dict[str, Any],
              dev: Optional[Sequence] = None, temperature: Optional[float] = None) -> Dict[str, Any]:
    """Score `nlp` on test, calibrate it (fitted on `dev`, or set to
    `temperature`), score it again and time its scores; RETURNS `row` filled."""
    from nerkit.calibrate import calibrate, scoring_head

    out = Path(args.out)
    head = scoring_head(nlp)
    row["test_before"] = scored_split(nlp, test, args.test)
    if dev is not None:
        row["fit"] = calibrate(nlp, dev, head=head)
        temperature = row["fit"]["temperature"][1]
    nlp.get_pipe(head).cfg["temperature"] = temperature
    row["temperature"] = temperature
    row["test_after"] = scored_split(nlp, test, args.test,
                                     out.with_name(f"{out.name}.{row['model']}.test.calibration.png"))
    if args.repeats:
        row["cost"] = score_cost(nlp, head, test, args.repeats, args.batch_size)
    return row


def model_rows(args: argparse.Namespace) -> List[Dict[str, Any]]:
    import spacy

    from benchmarks.data import gold_docs, load_split

    nlp = spacy.load(args.selected)
    dev, test = (gold_docs(load_split(p, args.limit_sents), nlp.vocab) for p in (args.dev, args.test))
    selected = model_row(nlp, test, args, {"model": "selected", "path": args.selected, "trained_on": "train",
                                           "fitted_on": args.dev}, dev=dev)
    if not args.final:
        return [selected]
    temperature = selected["temperature"]
    final = {"model": "final", "path": args.final, "trained_on": "train + dev",
             "fitted_on": f"none: the selected model's temperature {temperature:.4f} (dev is in its training data)"}
    return [selected, model_row(spacy.load(args.final), test, args, final, temperature=temperature)]


def pct(x: float) -> str:
    return f"{x * 100:.2f}"


def to_markdown(result: Dict[str, Any]) -> str:
    lines = ["# Entity-score calibration on held-out data", "",
             "Temperature fitted on dev by the model trained on train; test never fitted on. "
             f"P@{THRESHOLD:g}: precision of the entities with ent._.score >= {THRESHOLD:g}, "
             "kept: their share of the predicted entities. Cost: `nlp.pipe` words/s on test with scores "
             "on / off (median of the repeats).", "",
             "| model | trained on | temperature | test F1 | ECE before | ECE after | P@0.9 before | P@0.9 after "
             "| kept after | words/s scores on / off | ratio |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in result["rows"]:
        before, after, cost = row["test_before"], row["test_after"], row.get("cost")
        speed = (f"{cost['words_per_second_scores_on']:,.0f} / {cost['words_per_second_scores_off']:,.0f} | "
                 f"{cost['ratio_on_to_off']:.3f}") if cost else "– | –"
        lines.append(f"| {row['model']} | {row['trained_on']} | {row['temperature']:.3f} | {pct(after['f1'])} | {pct(before['ece'])} "
                     f"| {pct(after['ece'])} | {pct(before['at_threshold']['precision'])} "
                     f"| {pct(after['at_threshold']['precision'])} | {pct(after['at_threshold']['share_kept'])} "
                     f"| {speed} |")
    for row in result["rows"]:
        lines += ["", f"## {row['model']}: test after calibration, by min score", "",
                  "| min score | kept | P | R | F1 |", "|---|---|---|---|---|"]
        lines += [f"| {r['threshold']:g} | {r['n_kept']} | {pct(r['precision'])} | {pct(r['recall'])} "
                  f"| {pct(r['f1'])} |" for r in row["test_after"]["thresholds"]]
    if "fit" in result["rows"][0]:
        fit = result["rows"][0]["fit"]
        lines += ["", f"Fit on dev ({fit['n_entities']} predicted entities, {fit['n_correct']} correct): "
                  f"NLL {fit['nll'][0]:.4f} -> {fit['nll'][1]:.4f}, ECE {pct(fit['ece'][0])} -> {pct(fit['ece'][1])}."]
    return "\n".join(lines + ["", "## Run", ""] + run_lines(result)) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--selected", required=True, help="pipeline trained on train, selected on dev")
    parser.add_argument("--final", help="pipeline trained on train + dev (takes the selected one's temperature)")
    parser.add_argument("--dev", required=True, help="dev file (CoNLL): the temperature is fitted here")
    parser.add_argument("--test", required=True, help="test file (CoNLL): reported, never fitted on")
    parser.add_argument("--limit-sents", type=int, default=0, help="first N sentences of each file (0: all)")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes per state for the cost (0: skip)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--out", default="benchmarks/results/calibration")
    parser.add_argument("--note", default="", help="what else ran on the machine")
    args = parser.parse_args(argv)
    started = now()
    result = {"rows": model_rows(args), "threshold": THRESHOLD}
    result.update(run_record("calibration.py", argv, args.note, started))
    return write_results(args.out, result, to_markdown, "calibration")


if __name__ == "__main__":
    main()
