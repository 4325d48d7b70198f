"""The ``nerkit`` console command (a Typer app; ``[project.scripts]`` in
pyproject.toml). Subcommands are thin: the logic lives in the library
modules (``nerkit annotate`` -> ``nerkit.annotate``, ``nerkit search`` ->
``nerkit.search``, ``nerkit serve`` -> ``nerkit.serve``, ``nerkit quantize`` ->
``nerkit.components.quantized``)."""
import typer

from .annotate import annotate_command
from .quantize import quantize_command
from .search import CONTEXT, search_command
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
app.command("quantize", short_help="Save an int8 copy of a transformer pipeline (smaller, faster on CPU)")(
    quantize_command
)
app.command("search", short_help="Hyperparameter search of a training config with Optuna (resumable)", context_settings=CONTEXT)(
    search_command
)

__all__ = ["app"]
