"""``nerkit evaluate PIPELINE TEST_DATA OUTPUT_PREFIX``: score an NER pipeline on
a test set (.spacy DocBin or CoNLL file) with ``nerkit.scoring.evaluate_pipeline``.

Writes OUTPUT_PREFIX.json (the source of truth, layout in
nerkit/scoring/README.md), OUTPUT_PREFIX.md and OUTPUT_PREFIX.html. Entity
scores are conlleval-exact on the gold tokenization; spaCy's scorer is shown
beside them. Where the entities have probabilities (ent._.score, the token
head), the report adds their expected calibration error and precision/recall
by score threshold.
"""
from pathlib import Path
from typing import Optional

import typer
from wasabi import msg


def evaluate_command(
    # fmt: off
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
    # fmt: on
) -> None:
    """Score PIPELINE on TEST_DATA and write the JSON, Markdown and HTML report."""
    from nerkit.scoring import evaluate_pipeline, headline_markdown

    if conlleval and predictions is None:
        msg.fail("--conlleval needs --predictions: conlleval reads the predictions file", exits=1)
    report, paths = evaluate_pipeline(
        pipeline, test_data, output_prefix, predictions=predictions, conlleval=conlleval, gpu_id=gpu_id,
        batch_size=batch_size, raw_text=raw_text, sentence_starts=sentence_starts, n_examples=n_examples,
        n_bootstrap=n_bootstrap, seed=seed, log=msg.info,
    )
    if not report["spacy_scorer"]["agrees"]:
        msg.warn(report["spacy_scorer"]["note"])
    wps = report["speed"]["words_per_second"]
    msg.good(f"Wrote {', '.join(str(p) for p in paths.values())}" + (f" ({wps:,.0f} words/s)" if wps else ""))
    print(headline_markdown(report))
    if report["calibration"]:
        cal = report["calibration"]
        msg.info(f"Entity scores: ECE {cal['ece']:.4f} over {cal['n_scored']:,} entities (10 bins); "
                 "precision and recall by threshold in the report")
    if conlleval:
        check = report["conlleval"]
        if check["mismatches"]:
            msg.fail(f"conlleval disagrees with the report: {'; '.join(check['mismatches'])}", exits=1)
        msg.good(f"conlleval ({check['command']}) gives the report's numbers")
