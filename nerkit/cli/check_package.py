"""``nerkit check-package DIST NAME VENV``: install a packaged pipeline alone
into a fresh virtual environment, load it offline without nerkit, and once
more beside this Python's nerkit (``nerkit.packaging.check``)."""
from pathlib import Path
from typing import Optional

import typer
from wasabi import msg


def check_package_command(
    # fmt: off
    dist: Path = typer.Argument(..., help="The package's dist/ folder", exists=True, file_okay=False),
    name: str = typer.Argument(..., help="Package name to spacy.load, e.g. en_ner_minilm"),
    venv_dir: Path = typer.Argument(..., help="Where to create the fresh virtual environment (replaced)"),
    text: str = typer.Option("Peter Blackburn works for the European Commission in Brussels .", "--text", help="Sentence to run"),
    reference: Optional[Path] = typer.Option(None, "--reference", help="The trained pipeline; its entities on --text must match", exists=True, file_okay=False),
    # fmt: on
) -> None:
    """Install DIST's wheel into a fresh venv, spacy.load(NAME) offline, print doc.ents."""
    from nerkit.packaging import PackagingError
    from nerkit.packaging.check import check_reference, find_wheel, load_beside_nerkit, load_in_fresh_venv

    try:
        wheel = find_wheel(dist, name)
        msg.info(f"Creating a fresh virtual environment in {venv_dir}")
        fresh = load_in_fresh_venv(wheel, name, text, venv_dir)
        ents = fresh["ents"]
        msg.good("Loaded in a fresh environment, offline, without nerkit",
                 f"nerkit_token_ner from: {fresh['factory_module']}")
        msg.good("Same entities beside blank texts, in 2 processes, unpickled")
        if fresh["scored"] and fresh["scores"]:
            msg.good("Every entity has its probability (ent._.score)", ", ".join(f"{s:.3f}" for s in fresh["scores"]))
        print(text)
        msg.table([(e[0], e[1]) for e in ents] or [("(none)", "")], header=("entity", "label"))
        if reference is not None:
            check_reference(ents, reference, text)
            msg.good("Same entities as the trained pipeline", str(reference))
        beside = load_beside_nerkit(wheel, name, text, ents)
    except PackagingError as err:
        msg.fail(err.title, err.detail, exits=1)
    if beside is None:
        msg.info("nerkit is not installed here: skipped loading the package beside it")
    else:
        msg.good("Loaded beside an installed nerkit too (no duplicate registration)",
                 f"nerkit_token_ner from: {beside['factory_module']}")
