"""Evaluate an NER pipeline on a test set (.spacy DocBin or CoNLL file).

Writes OUTPUT_PREFIX.json (the source of truth, layout in
nerkit/scoring/README.md), OUTPUT_PREFIX.md and OUTPUT_PREFIX.html. Entity
scores are conlleval-exact on the gold tokenization; spaCy's scorer is shown
beside them. Where the entities have probabilities (ent._.score, the token
head), the report adds their expected calibration error and precision/recall
by score threshold.
"""
from pathlib import Path
from typing import Optional

import spacy
import typer
from wasabi import msg

from nerkit.scoring import (
    compare,
    evaluate,
    headline_markdown,
    load_docs,
    run_conlleval,
    write_predictions,
    write_report,
)


# fmt: off
def main(
    pipeline: str = typer.Argument(..., help="Pipeline directory or installed package name (spacy.load)"),
    test_data: Path = typer.Argument(..., help="Test set: a .spacy DocBin, or a CoNLL file (any other suffix)", exists=True, dir_okay=False),
    output_prefix: Path = typer.Argument(..., help="Output path prefix: writes PREFIX.json, PREFIX.md and PREFIX.html"),
    predictions: Optional[Path] = typer.Option(None, "--predictions", help="Also write the predictions as CoNLL columns 'token gold predicted' (IOB2), for conlleval"),
    conlleval: Optional[str] = typer.Option(None, "--conlleval", help="Run this conlleval command on the predictions file (e.g. 'conlleval.pl' or 'python -m conlleval /dev/stdin'), record its numbers in the report and exit 1 if they differ from the report's"),
    gpu_id: int = typer.Option(-1, "--gpu-id", help="GPU id, or -1 for CPU"),
    batch_size: int = typer.Option(64, "--batch-size", help="Batch size for nlp.pipe"),
    raw_text: bool = typer.Option(False, "--raw-text", help="Run the pipeline on each document's text as users call nlp(text) (its own tokenizer, no sentence starts); entities off the gold token boundaries count as errors"),
    sentence_starts: bool = typer.Option(True, "--sentence-starts/--no-sentence-starts", help="Give the pipeline the gold sentence starts (no entity crosses one) or bare documents"),
    n_examples: int = typer.Option(10, "--n-examples", help="Number of sentences with the most errors shown in the HTML report"),
    n_bootstrap: int = typer.Option(1000, "--bootstrap", help="Number of bootstrap samples (of documents) for the F1 interval"),
    seed: int = typer.Option(0, "--seed", help="Seed for the bootstrap"),
):
    # fmt: on
    """Score PIPELINE on TEST_DATA and write the JSON, Markdown and HTML report."""
    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
    nlp = spacy.load(pipeline)
    gold_docs = load_docs(test_data, nlp.vocab)
    msg.info(f"Evaluating {pipeline} on {len(gold_docs)} docs from {test_data}")
    report, pred_docs = evaluate(
        nlp,
        gold_docs,
        batch_size=batch_size,
        sentence_starts=sentence_starts,
        raw_text=raw_text,
        pipeline=pipeline,
        test_data=str(test_data),
        n_examples=n_examples,
        n_bootstrap=n_bootstrap,
        seed=seed,
    )
    if conlleval and predictions is None:
        msg.fail("--conlleval needs --predictions: conlleval reads the predictions file", exits=1)
    if predictions is not None:
        write_predictions(predictions, gold_docs, pred_docs)
        msg.info(f"Predictions: {predictions}")
    mismatches = []
    if conlleval:
        result = run_conlleval(predictions, conlleval)
        mismatches = compare(report, result)
        report["conlleval"] = {"command": result["command"], "agrees": not mismatches, "mismatches": mismatches,
                               **{k: result[k] for k in ("tokens", "gold", "found", "correct", "per_type")}}
    paths = write_report(report, output_prefix)
    sp = report["spacy_scorer"]
    if not sp["agrees"]:
        msg.warn(sp["note"])
    wps = report["speed"]["words_per_second"]
    msg.good(
        f"Wrote {', '.join(str(p) for p in paths.values())}"
        + (f" ({wps:,.0f} words/s)" if wps else "")
    )
    print(headline_markdown(report))
    if report["calibration"]:
        cal = report["calibration"]
        msg.info(f"Entity scores: ECE {cal['ece']:.4f} over {cal['n_scored']:,} entities (10 bins); "
                 "precision and recall by threshold in the report")
    if conlleval:
        if mismatches:
            msg.fail(f"conlleval disagrees with the report: {'; '.join(mismatches)}", exits=1)
        msg.good(f"conlleval ({report['conlleval']['command']}) gives the report's numbers")


if __name__ == "__main__":
    typer.run(main)
