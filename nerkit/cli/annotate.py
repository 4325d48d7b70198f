"""``nerkit annotate MODEL INPUT OUTPUT``: the command line of ``nerkit.annotate``."""
import signal
import sys
import threading
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Iterator, Optional

import typer
from wasabi import msg


class InputFormat(str, Enum):
    txt = "txt"
    jsonl = "jsonl"
    conll = "conll"


class OutputFormat(str, Enum):
    jsonl = "jsonl"
    conll = "conll"
    spacy = "spacy"


class Engine(str, Enum):
    local = "local"
    ray = "ray"


class Scheme(str, Enum):
    iob2 = "iob2"
    bioes = "bioes"
    iob1 = "iob1"
    bilou = "bilou"


def annotate_command(
    # fmt: off
    model: str = typer.Argument(..., metavar="MODEL", help="The pipeline: a directory or an installed package name (spacy.load)"),
    input_path: Path = typer.Argument(..., metavar="INPUT", help="Input file: .txt (one text per line), .jsonl (one JSON object per line, the text in --text-key; blank lines are passed over) or .conll (one token per line, kept as it is; a tag column may follow, it is not used)", exists=True, dir_okay=False),
    output_path: Path = typer.Argument(..., metavar="OUTPUT", help="Output file: .jsonl (the input's fields plus \"ents\" with character offsets and, where the pipeline gives one, each entity's probability \"score\", replacing any \"ents\" field), .conll (token tag lines) or .spacy (DocBin); not the input. Written under a temporary name and renamed when complete", dir_okay=False),
    input_format: Optional[InputFormat] = typer.Option(None, "--format", help="Input format, if the suffix does not say"),
    output_format: Optional[OutputFormat] = typer.Option(None, "--output-format", help="Output format, if the suffix does not say"),
    text_key: str = typer.Option("text", "--text-key", help="The text field of .jsonl input; the other fields are kept"),
    scheme: Scheme = typer.Option(Scheme.iob2, "--scheme", help="Tag scheme of .conll output"),
    chunk_size: int = typer.Option(1000, "--chunk-size", min=1, help="Texts read, annotated and written at a time (memory stays constant; sorted by length within a chunk for batching, written in input order)"),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", min=1, help="nlp.pipe batch size (default: the pipeline's own)"),
    n_sents: int = typer.Option(10, "--n-sents", min=1, help="Sentences per document of .conll input without -DOCSTART- lines"),
    max_length: Optional[int] = typer.Option(None, "--max-length", min=1, help="Longest text in characters (nlp.max_length; default: the pipeline's, spaCy's 1,000,000); a longer one is invalid input"),
    min_score: Optional[float] = typer.Option(None, "--min-score", min=0.0, max=1.0, help="Drop entities whose probability (\"score\" in .jsonl output, ent._.score) is below this, in every output format, and count them in the summary. Needs a pipeline that scores its entities (nerkit_token_ner); spaCy's transition-based ner gives no scores, and is refused"),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="Skip invalid input lines (not UTF-8, not JSON, no text field, text not a string or longer than --max-length; in .conll input, the whole document) instead of failing, and count them in the summary. The output then has NO line for a skipped input line, so input and output lines no longer match one to one"),
    gpu_id: int = typer.Option(-1, "--gpu-id", help="GPU to run on (needs cupy); -1: CPU"),
    engine: Engine = typer.Option(Engine.local, "--engine", help="local: this process; ray: Ray Data actors, on this machine or the cluster at RAY_ADDRESS (txt/jsonl in, jsonl out; pip install 'nerkit[ray]')"),
    actors: int = typer.Option(1, "--actors", min=1, help="--engine ray: actors, each loading the pipeline once"),
    cpus_per_actor: float = typer.Option(1.0, "--cpus-per-actor", min=0.0, help="--engine ray: CPUs reserved per actor"),
    gpus_per_actor: float = typer.Option(0.0, "--gpus-per-actor", min=0.0, help="--engine ray: GPUs per actor"),
    torch_threads: int = typer.Option(1, "--torch-threads", min=1, help="--engine ray: torch threads per actor"),
    # fmt: on
) -> None:
    """Annotate a file of texts with a pipeline's entities, streaming.

    Constant memory on a file of any size (except .spacy output, a single
    DocBin). On invalid input it prints FILE:LINE: REASON, exits with code 1
    and writes no output (unless --skip-invalid). Interrupted (Ctrl-C, exit
    code 130) or terminated (SIGTERM, 143) it writes no output either. A
    progress bar shows on a terminal; a summary (texts, words, entities per
    label, seconds; with --min-score, the entities dropped) is printed at the end."""
    from nerkit.annotate import AnnotateError, AnnotateOptions, annotate
    from nerkit.ents import check_min_score

    try:  # fail on a bad option or suffix before loading the model
        options = AnnotateOptions(
            input_format=input_format.value if input_format else None,
            output_format=output_format.value if output_format else None, text_key=text_key,
            batch_size=batch_size, skip_invalid=skip_invalid, min_score=min_score, scheme=scheme.value,
            chunk_size=chunk_size, n_sents=n_sents,
        )
        options.formats(input_path, output_path)
    except ValueError as err:
        raise typer.BadParameter(str(err))
    try:
        with _sigterm_raises():
            if engine == Engine.ray:
                summary = _annotate_ray(
                    model, input_path, output_path, options, actors=actors, num_cpus=cpus_per_actor,
                    num_gpus=gpus_per_actor, torch_threads=torch_threads, max_length=max_length,
                )
            else:
                nlp = _load(model, gpu_id, max_length)
                try:
                    check_min_score(nlp.config, min_score)
                except ValueError as err:
                    raise typer.BadParameter(str(err), param_hint="'--min-score'")
                summary = annotate(nlp, input_path, output_path, options, progress=sys.stderr.isatty())
    except AnnotateError as err:
        msg.fail("Invalid input, no output written")
        typer.echo(str(err), err=True)  # FILE:LINE: REASON, unwrapped
        raise typer.Exit(1)
    except KeyboardInterrupt:
        msg.fail("Interrupted, no output written")
        raise typer.Exit(130)
    except Terminated:
        msg.fail("Terminated (SIGTERM), no output written")
        raise typer.Exit(143)
    msg.table(summary.rows(), header=("", str(input_path)), divider=True, aligns=("l", "r"))
    if summary.skipped:
        msg.warn(f"Skipped {summary.skipped:,} invalid input line(s) (--skip-invalid); the first:")
        for example in summary.examples:
            typer.echo(f"  {example}")
    msg.good(f"Wrote {summary.texts:,} texts to {output_path}")


def _annotate_ray(model: str, *args, **kwargs):
    """``annotate_ray``, its setup errors as the command's: no Ray, a bad
    format for it, a pipeline that is neither a directory nor a package."""
    import spacy

    from nerkit.annotate import AnnotateError

    try:
        from nerkit.annotate.ray import annotate_ray
    except ImportError as err:
        msg.fail(str(err), exits=1)
    if not (Path(model).is_dir() or spacy.util.is_package(model)):
        msg.fail(f"Cannot load the pipeline {model!r}", "Not a directory or an installed package", exits=1)
    try:
        return annotate_ray(model, *args, **kwargs)
    except ValueError as err:
        if isinstance(err, AnnotateError):
            raise
        raise typer.BadParameter(str(err))


class Terminated(BaseException):
    """SIGTERM, raised like ``KeyboardInterrupt`` (not an ``Exception``: no
    ``except Exception`` swallows it) so the output's temp file is removed."""


@contextmanager
def _sigterm_raises() -> Iterator[None]:
    """Within the block SIGTERM raises ``Terminated`` (a second one is
    ignored while it unwinds); the previous handler is restored after.
    Outside the main thread, where no handler can be set, a no-op."""

    def handler(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Terminated()

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _load(model: str, gpu_id: int, max_length: Optional[int] = None):
    """The pipeline (on GPU ``gpu_id`` if >= 0), its ``max_length`` set if given."""
    import spacy

    if gpu_id >= 0:
        try:
            spacy.require_gpu(gpu_id)
        except Exception as err:  # noqa: BLE001 - cupy missing, no such GPU
            msg.fail(f"Cannot use GPU {gpu_id}: {err}", exits=1)
    try:
        nlp = spacy.load(model)
    except (OSError, ValueError) as err:
        msg.fail(f"Cannot load the pipeline {model!r}", str(err), exits=1)
    nlp.max_length = max_length or nlp.max_length
    return nlp
