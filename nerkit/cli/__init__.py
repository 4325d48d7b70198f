"""The ``nerkit`` console command (a Typer app; ``[project.scripts]`` in
pyproject.toml; ``python -m nerkit.cli`` where the script is not on PATH, as
project.yml calls it). One file a verb; subcommands are thin, the logic lives
in the library modules:

- from data to a package: ``convert`` -> ``nerkit.conll.convert``, ``train`` ->
  ``nerkit.training.schedule`` (then ``spacy train``), ``evaluate`` ->
  ``nerkit.scoring.evaluate_pipeline``, ``final-model`` ->
  ``nerkit.packaging.final_model``, ``package`` -> ``nerkit.packaging.wheel``,
  ``check-package`` -> ``nerkit.packaging.check``, ``check-data`` (a data
  folder holds the expected files, naming the project var to set);
- tuning and after training: ``search`` -> ``nerkit.search``, ``quantize`` ->
  ``nerkit.components.quantized``, ``onnx`` -> ``nerkit.components.onnx_runtime``,
  ``calibrate`` -> ``nerkit.calibrate``;
- using a pipeline: ``annotate`` -> ``nerkit.annotate``, ``serve`` -> ``nerkit.serve``.
"""
import sys

import typer
from wasabi import msg

from .annotate import annotate_command
from .calibrate import calibrate_command
from .check_data import check_data_command
from .check_package import check_package_command
from .convert import convert_command
from .evaluate import evaluate_command
from .final_model import final_model_command
from .onnx_runtime import onnx_command
from .package import package_command
from .quantize import quantize_command
from .search import CONTEXT, search_command
from .serve import serve_command
from .train import train_command

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


app.command("convert", short_help="Convert CoNLL column files to a spaCy DocBin (.spacy), documents, sentences and entities kept")(
    convert_command
)
app.command("train", short_help="Train a config on DocBins for a schedule sized from the data (epochs), then spacy train")(
    train_command
)
app.command("evaluate", short_help="Score a pipeline on a test set, conlleval-exact: JSON, Markdown and HTML report")(
    evaluate_command
)
app.command("final-model", short_help="Copy the final train+dev model to package, by rule, with both models' test F1 in its meta")(
    final_model_command
)
app.command("package", short_help="Build a pip-installable wheel of a pipeline, test scores in meta.json, nerkit's components inside")(
    package_command
)
app.command("check-package", short_help="Install a wheel alone into a fresh venv and spacy.load it offline, without nerkit")(
    check_package_command
)
app.command("check-data", short_help="Fail, naming the project var to set, when a data folder lacks the expected files")(
    check_data_command
)
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
