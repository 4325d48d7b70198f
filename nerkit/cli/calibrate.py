"""``nerkit calibrate MODEL DEV OUTPUT``: fit the token head's temperature on
a dev set (``nerkit.calibrate``) and save the pipeline with it."""
from pathlib import Path

import typer
from wasabi import msg


def calibrate_command(
    # fmt: off
    model: str = typer.Argument(..., metavar="MODEL", help="The trained pipeline, with a nerkit_token_ner: a directory or an installed package name"),
    dev_path: Path = typer.Argument(..., metavar="DEV", help="Dev set with gold entities: a .spacy DocBin, or a CoNLL file (any other suffix); not the test set", exists=True, dir_okay=False),
    output: Path = typer.Argument(..., metavar="OUTPUT", help="Directory for the calibrated pipeline (the same entities; only ent._.score changes)"),
    batch_size: int = typer.Option(64, "--batch-size", min=1, help="nlp.pipe batch size"),
    # fmt: on
) -> None:
    """Fit the temperature of the token head's entity scores (ent._.score) on
    DEV: the one that minimises the negative log-likelihood of each predicted
    entity being right (exact span and label), searched in [0.05, 20]. The
    entities never change. Prints the NLL and the expected calibration error
    (10 bins) before and after, on DEV."""
    import spacy

    from nerkit.calibrate import calibrate
    from nerkit.scoring import load_docs

    try:
        nlp = spacy.load(model)
    except (OSError, ValueError) as err:
        msg.fail(f"Cannot load the pipeline {model!r}", str(err), exits=1)
    gold_docs = load_docs(dev_path, nlp.vocab)
    try:
        result = calibrate(nlp, gold_docs, batch_size=batch_size)
    except ValueError as err:
        msg.fail("Cannot calibrate", str(err), exits=1)
    nlp.to_disk(output)
    (t0, t1), (nll0, nll1), (ece0, ece1) = result["temperature"], result["nll"], result["ece"]
    msg.table([("temperature", f"{t0:.3f}", f"{t1:.3f}"), ("NLL", f"{nll0:.4f}", f"{nll1:.4f}"),
               ("ECE (10 bins)", f"{ece0:.4f}", f"{ece1:.4f}")],
              header=("", "before", "after"), divider=True, aligns=("l", "r", "r"))
    msg.good(f"Calibrated on {result['n_entities']:,} predicted entities of {len(gold_docs):,} docs "
             f"({result['n_correct']:,} correct); saved to {output}")
