"""The ``nerkit`` console command (a Typer app; ``[project.scripts]`` in
pyproject.toml). Subcommands are thin: the logic lives in the library
modules (``nerkit annotate`` -> ``nerkit.annotate``)."""
import typer

from .annotate import annotate_command
from .serve import serve_command

app = typer.Typer(
    name="nerkit", help="nerkit: CoNLL NER with spaCy pipelines.", no_args_is_help=True, add_completion=False
)


@app.callback()
def main() -> None:
    """nerkit: CoNLL NER with spaCy pipelines."""


app.command("annotate", short_help="Annotate a file (txt, jsonl, conll) with a pipeline's entities, streaming")(
    annotate_command
)
app.command("serve", short_help="Serve a pipeline over HTTP (FastAPI): POST /ents, /meta, /health, a page at /")(
    serve_command
)

__all__ = ["app"]
