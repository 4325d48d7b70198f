"""``nerkit annotate --engine ray``: the same annotation on Ray Data, for
corpora beyond one machine (the ``ray`` extra).

The input file is read by Ray tasks, in blocks of lines (raw bytes and line
numbers, so a bad line is still reported as ``FILE:LINE: reason``); a pool of
actors (``map_batches`` with an actor class) each loads the pipeline once
(``nlp`` is never pickled), parses, annotates and serializes its batches
exactly as the local engine does (the same functions of ``nerkit.annotate.run``);
the driver streams the annotated lines in input order into the output file,
written under a temporary name and renamed when complete.

Formats: txt and jsonl in, jsonl out (CoNLL and DocBin stay with the local
engine, which keeps documents whole).
"""
import io
import logging
import math
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Union

try:
    import pyarrow
    import ray
    import ray.data
    from ray.data.datasource import FileBasedDatasource
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError("nerkit annotate --engine ray needs Ray Data: pip install 'nerkit[ray]'") from err

from ..conll.docs import atomic_file
from ..ents import check_min_score
from .inputs import AnnotateError, Item, decode_line, jsonl_item, txt_item, within_max_length
from .options import AnnotateOptions
from .outputs import JsonlWriter
from .run import Summary, annotate_chunk, memory_zone, word_count

LINES_PER_BLOCK = 10_000  # rows per block the readers emit
READ_BYTES = 1 << 20


class LineDatasource(FileBasedDatasource):
    """The lines of text files as rows ``{"path", "line_no", "raw"}`` (raw
    bytes with their line ending), read in blocks: a file of any size streams."""

    def _read_stream(self, f: "pyarrow.NativeFile", path: str) -> Iterator["pyarrow.Table"]:
        rows: List[bytes] = []
        first = 1  # line number of rows[0]
        pending = b""
        while True:
            data = f.read(READ_BYTES)
            if not data:
                break
            lines = (pending + data).split(b"\n")
            pending = lines.pop()
            rows.extend(line + b"\n" for line in lines)
            if len(rows) >= LINES_PER_BLOCK:
                yield _block(path, first, rows)
                first, rows = first + len(rows), []
        if pending:
            rows.append(pending)
        if rows:
            yield _block(path, first, rows)


def _block(path: str, first: int, rows: List[bytes]) -> "pyarrow.Table":
    return pyarrow.table({
        "path": [path] * len(rows),
        "line_no": list(range(first, first + len(rows))),
        "raw": pyarrow.array(rows, pyarrow.binary()),
    })


class Annotator:
    """A Ray actor: loads the pipeline once, then annotates batches of lines.
    Each output row holds the annotated JSON line (``b""`` for a blank jsonl
    line), or the reason the line is invalid, its words, labels and the
    entities dropped under ``min_score``."""

    def __init__(self, model: str, fmt: str, options: AnnotateOptions, torch_threads: int,
                 max_length: Optional[int] = None) -> None:
        import spacy
        import torch

        torch.set_num_threads(torch_threads)
        self.nlp = spacy.load(model)
        self.nlp.max_length = max_length or self.nlp.max_length
        self.fmt, self.options = fmt, options

    def __call__(self, batch: Dict[str, Any]) -> Dict[str, list]:
        n = len(batch["raw"])
        out: Dict[str, list] = {"path": list(batch["path"]), "line_no": [int(i) for i in batch["line_no"]],
                                "out": [b""] * n, "error": [""] * n, "words": [0] * n, "labels": [""] * n,
                                "dropped": [0] * n}
        items: List[Item] = []
        rows: List[int] = []
        for row, (line_no, raw) in enumerate(zip(out["line_no"], batch["raw"])):
            raw = bytes(raw)
            text, reason = decode_line(line_no, raw)
            if self.fmt == "txt":
                item = txt_item(line_no, len(raw), text, reason)
            else:
                item = jsonl_item(line_no, len(raw), text, reason, self.options.text_key)
            if item is None:  # a blank jsonl line
                continue
            item = within_max_length(self.nlp, item)
            if isinstance(item, Item):
                items.append(item)
                rows.append(row)
            else:
                out["error"][row] = item.reason
        buffer = io.BytesIO()
        writer = JsonlWriter(buffer)
        dropped = {}  # id(item) -> entities dropped

        def count(item: Item, doc: Any, n_dropped: int) -> None:
            dropped[id(item)] = n_dropped

        with memory_zone(self.nlp):
            docs = annotate_chunk(self.nlp, items, self.options.batch_size, count, self.options.min_score)
            for row, item, doc in zip(rows, items, docs):
                buffer.seek(0)
                buffer.truncate()
                writer.write(item, doc)
                out["out"][row] = buffer.getvalue()
                out["words"][row] = word_count(item, doc)
                out["labels"][row] = "\t".join(ent.label_ for ent in doc.ents)
                out["dropped"][row] = dropped[id(item)]
        return out


def annotate_ray(
    model: str,
    input_path: Union[str, Path],
    output_path: Union[str, Path],
    options: AnnotateOptions = AnnotateOptions(),
    *,
    actors: int = 1,
    num_cpus: float = 1.0,
    num_gpus: float = 0.0,
    torch_threads: int = 1,
    rows_per_batch: int = 256,
    max_length: Optional[int] = None,
) -> Summary:
    """Annotate ``input_path`` on Ray into ``output_path`` (jsonl).

    model (str): Pipeline directory or package name, loaded by each actor.
    options (AnnotateOptions): As for ``nerkit.annotate.annotate`` (``scheme``,
        ``chunk_size`` and ``n_sents`` are the local engine's); with ``min_score``,
        the pipeline's config is read here first, to refuse one without scores.
    actors (int): Actors in the pool (``map_batches(concurrency=...)``).
    num_cpus (float): CPUs reserved per actor; num_gpus (float): GPUs per actor.
    torch_threads (int): torch threads in each actor.
    rows_per_batch (int): Lines per ``map_batches`` batch.
    max_length (Optional[int]): ``nlp.max_length`` in the actors; None: the pipeline's.
    RETURNS (Summary): Counts and seconds (Ray's start-up included).
    RAISES AnnotateError: On invalid input (without ``skip_invalid``); no output is left.
    RAISES ValueError: On a format it leaves to the local engine, or the output being the input.
    """
    fmt, out_format = options.formats(input_path, output_path)
    if fmt == "conll":
        raise ValueError("--engine ray reads txt and jsonl; annotate CoNLL files with the local engine")
    if out_format != "jsonl":
        raise ValueError("--engine ray writes jsonl; use the local engine for conll or spacy output")
    if options.min_score is not None:
        check_min_score(pipeline_config(model), options.min_score)
    start = time.perf_counter()
    summary = Summary(min_score=options.min_score)
    if not ray.is_initialized():
        # Joins the cluster at RAY_ADDRESS if set; else starts one here, with a
        # logical CPU beside the actors' for the (light) read tasks, or they would wait forever.
        local = None if os.environ.get("RAY_ADDRESS") else max(os.cpu_count() or 1, math.ceil(actors * num_cpus) + 1)
        ray.init(num_cpus=local, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # rows come back in input order
    context.enable_progress_bars = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    lines = ray.data.read_datasource(LineDatasource(str(Path(input_path).resolve())))
    annotated = lines.map_batches(
        Annotator, fn_constructor_args=(str(model), fmt, options, torch_threads, max_length),
        batch_size=rows_per_batch, compute=ray.data.ActorPoolStrategy(size=actors), num_cpus=num_cpus, num_gpus=num_gpus,
        batch_format="numpy", max_restarts=0,
    )
    labels: Counter = Counter()
    with atomic_file(output_path) as file_:
        for row in annotated.iter_rows():
            if row["error"]:
                error = AnnotateError(input_path, int(row["line_no"]), str(row["error"]))
                if not options.skip_invalid:
                    raise error
                summary.skip(error)
            elif row["out"]:
                file_.write(bytes(row["out"]))
                summary.texts += 1
                summary.words += int(row["words"])
                summary.dropped += int(row["dropped"])
                labels.update(label for label in str(row["labels"]).split("\t") if label)
    summary.entities = labels
    summary.seconds = time.perf_counter() - start
    return summary


def pipeline_config(model: Union[str, Path]) -> Any:
    """The config of a pipeline directory or installed package, read without loading it.

    RAISES ValueError: If ``model`` is neither.
    """
    import spacy.util

    if Path(model).is_dir():
        return spacy.util.load_config(Path(model) / "config.cfg")
    if spacy.util.is_package(str(model)):
        package = spacy.util.get_package_path(str(model))
        meta = spacy.util.get_model_meta(package)
        return spacy.util.load_config(package / f"{meta['lang']}_{meta['name']}-{meta['version']}" / "config.cfg")
    raise ValueError(f"Cannot load the pipeline {str(model)!r}: not a directory or an installed package")
