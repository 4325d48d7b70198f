"""Where inference time goes: one `nlp.pipe` pass over a test file's documents
(gold tokens) under cProfile, each function's own time (tottime) summed into
buckets by the code it belongs to:

- transformer forward: torch and the HF model (transformers/, not its tokenizers)
- word-piece tokenization: HF tokenizers (transformers/tokenization*, tokenizers/)
- spacy-transformers glue: span getting, alignment, batching (spacy_transformers/)
- thinc layers: the listener's pooling, the case features, the head's layers (thinc/)
- nerkit: the token head's decoding (constrained Viterbi) and features (nerkit/)
- spaCy: Doc creation, `nlp.pipe` machinery (spacy/)
- numpy and the rest

    python benchmarks/profile_inference.py MODEL ../shared/data/conll2003/eng.testb \
        --out benchmarks/results/profile_inference --note "nothing else running"

Writes OUT.json and OUT.md (the buckets and the top functions by own time).
"""
import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.measure import now, run_lines, run_record, write_results  # noqa: E402

# (bucket, path fragments): the first bucket with a fragment in the function's file wins
BUCKETS: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
    ("word-piece tokenization (HF tokenizers)", ("/tokenizers/", "/transformers/tokenization", "'tokenizers.")),
    ("transformer forward (torch, HF model)", ("/torch/", "/transformers/", "method torch.", "'torch.")),
    ("spacy-transformers glue (spans, alignment, batching)", ("/spacy_transformers/",)),
    ("thinc layers (listener pooling, case features, head)", ("/thinc/", "numpy_ops.pyx")),
    ("nerkit (token head decoding, Viterbi)", ("/nerkit/",)),
    ("spaCy (Doc creation, pipe machinery)", ("/spacy/", ".pyx:", ".pxd:")),  # Cython files come without their path
    ("numpy", ("/numpy/", "numpy.", "'numpy.")),
)
OTHER = "other (Python, builtins)"


def bucket_of(filename: str, name: str) -> str:
    where = f"{filename}:{name}"
    for bucket, fragments in BUCKETS:
        if any(fragment in where for fragment in fragments):
            return bucket
    return OTHER


def profile(model: str, test_path: str, batch_size: int = 64) -> Dict[str, Any]:
    import spacy

    from nerkit.conll import read_conll
    from nerkit.scoring import predict

    from benchmarks.data import gold_docs

    nlp = spacy.load(model)
    gold = gold_docs(read_conll(test_path), nlp.vocab)
    predict(nlp, gold[:8], batch_size=batch_size)  # warm-up
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    _, seconds = predict(nlp, gold, batch_size=batch_size)
    profiler.disable()
    wall = time.perf_counter() - start  # a clock of its own, to check the buckets against (they should add up to it)
    stats = pstats.Stats(profiler)
    buckets: Dict[str, float] = {}
    functions: List[Tuple[float, str]] = []
    for (filename, line, name), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        bucket = bucket_of(filename, name)
        buckets[bucket] = buckets.get(bucket, 0.0) + tottime
        functions.append((tottime, f"{Path(filename).name}:{line}({name})"))
    total = sum(buckets.values())
    return {
        "model": model, "n_docs": len(gold), "n_words": sum(len(d) for d in gold), "seconds_profiled": seconds,
        "wall_seconds": wall, "bucket_seconds": total,
        "buckets": [{"bucket": b, "seconds": t, "share": t / total} for b, t in sorted(buckets.items(), key=lambda x: -x[1])],
        "top_functions": [{"function": f, "seconds": t} for t, f in sorted(functions, reverse=True)[:15]],
    }


def to_markdown(result: Dict[str, Any]) -> str:
    p = result["profile"]
    lines = ["# Where inference time goes", "",
             f"`nlp.pipe` over `{result['test']}` ({p['n_docs']} documents, {p['n_words']:,} words, gold tokens) "
             f"with pipeline `{p['model']}` under cProfile: {p['seconds_profiled']:.1f} s (cProfile adds overhead; "
             "the shares are what count). Own time (tottime) per function, summed by the code it belongs to.", "",
             *run_lines(result), "", "| bucket | seconds | share |", "|---|---:|---:|"]
    lines += [f"| {b['bucket']} | {b['seconds']:.2f} | {100 * b['share']:.1f}% |" for b in p["buckets"]]
    lines += ["", "Top functions by own time:", "", "| function | seconds |", "|---|---:|"]
    lines += [f"| `{f['function']}` | {f['seconds']:.2f} |" for f in p["top_functions"]]
    return "\n".join(lines) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="trained spaCy pipeline")
    p.add_argument("test", help="CoNLL test file (gold tokens, documents)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--out", default="benchmarks/results/profile_inference", help="OUT.json and OUT.md")
    p.add_argument("--note", default="not stated", help="what else ran on the machine")
    args = p.parse_args(argv)
    started = now()
    result = {"test": args.test, "profile": profile(args.model, args.test, args.batch_size),
              **run_record("profile_inference.py", argv, args.note, started)}
    write_results(args.out, result, to_markdown, "profile")
    return 0


if __name__ == "__main__":
    sys.exit(main())
