"""The ``nerkit`` console command (a Typer app; ``[project.scripts]`` in
pyproject.toml). Subcommands are thin: the logic lives in the library
modules (``nerkit annotate`` -> ``nerkit.annotate``, ``nerkit search`` ->
``nerkit.search``, ``nerkit serve`` -> ``nerkit.serve``, ``nerkit quantize`` ->
``nerkit.components.quantized``, ``nerkit onnx`` -> ``nerkit.components.onnx_runtime``,
``nerkit calibrate`` -> ``nerkit.calibrate``)."""
import sys

import typer
from wasabi import msg

from .annotate import annotate_command
from .calibrate import calibrate_command
from .onnx_runtime import onnx_command
from .quantize import quantize_command
from .search import CONTEXT, search_command
from .serve import serve_command

# rich_markup_mode None: help texts are shown as written ("pip install 'nerkit[ray]'" keeps its brackets)
app = typer.Typer(
    name="nerkit", help="nerkit: CoNLL NER with spaCy pipelines.", no_args_is_help=True, add_completion=False,
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version  # nerkit's installed version (works from any checkout)

        typer.echo(f"nerkit {version('nerkit')}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True, help="Print nerkit's version and exit"),
) -> None:
    """nerkit: CoNLL NER with spaCy pipelines."""
    msg.show_color = msg.show_color and sys.stdout.isatty()  # no colour codes in files and pipes


app.command("annotate", short_help="Annotate a file (txt, jsonl, conll) with a pipeline's entities, streaming")(
    annotate_command
)
app.command("serve", short_help="Serve a pipeline over HTTP (FastAPI): POST /ents, /meta, /health, a page at /")(
    serve_command
)
app.command("quantize", short_help="Save an int8 copy of a transformer pipeline (smaller, faster on CPU)")(
    quantize_command
)
app.command("onnx", short_help="Save a copy of a transformer pipeline that runs it in ONNX Runtime (float32 or --int8)")(
    onnx_command
)
app.command("calibrate", short_help="Fit the temperature of the token head's entity scores on a dev set")(
    calibrate_command
)
app.command("search", short_help="Hyperparameter search of a training config with Optuna (resumable)", context_settings=CONTEXT)(
    search_command
)

__all__ = ["app"]
