"""`nerkit annotate` against a bare `nlp.pipe` loop on the same texts, in one
run: the local engine (median of --repeats passes each, after a warm-up) and
the Ray engine with 1 and 2 actors (one pass each, Ray's start-up and the
actors' model loading included: what a user waits for).

    python benchmarks/annotate_speed.py MODEL ../shared/data/conll2003/eng.testb \
        --out benchmarks/results/annotate_speed --note "nothing else running"

Texts: the test file's documents as plain text (tokens joined by spaces), one
JSON line each. Writes OUT.json and OUT.md.
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.measure import now, repo_relative, run_lines, run_record, write_json  # noqa: E402
from nerkit.conll import read_conll  # noqa: E402


def document_texts(path: str) -> List[str]:
    return [" ".join(t for sent in doc.sentences for t in sent.tokens) for doc in read_conll(path).documents]


def median_seconds(run: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def model_rss_mb(model: str, texts: Sequence[str]) -> float:
    """Peak RSS of a fresh process that loads the pipeline and annotates the
    first texts: the memory each Ray actor (or serve worker) needs."""
    code = ("import json, resource, sys, spacy; nlp = spacy.load(sys.argv[1]); "
            "list(nlp.pipe(json.loads(sys.stdin.read()))); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    out = subprocess.run([sys.executable, "-c", code, model], input=json.dumps(list(texts[:64])),
                         capture_output=True, text=True, check=True).stdout
    return round(float(out.strip().splitlines()[-1]), 1)


def measure(model: str, texts: List[str], repeats: int = 3, actors: Sequence[int] = (1, 2)) -> List[Dict[str, Any]]:
    import spacy

    from nerkit.annotate import annotate

    nlp = spacy.load(model)
    words = sum(len(t.split()) for t in texts)
    work = Path(tempfile.mkdtemp(prefix="annotate_speed_"))
    source = work / "in.jsonl"
    source.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf8")

    def bare() -> None:
        for doc in nlp.pipe(texts):
            [(ent.start_char, ent.end_char, ent.label_) for ent in doc.ents]

    def local() -> None:
        annotate(nlp, source, work / "local.jsonl")

    list(nlp.pipe(texts[:16]))  # warm-up
    rows = []
    for name, run in (("bare nlp.pipe loop", bare), ("nerkit annotate (local)", local)):
        seconds = median_seconds(run, repeats)
        rows.append({"engine": name, "seconds": round(seconds, 2), "words_per_second": round(words / seconds, 1),
                     "passes": repeats})
    try:
        from nerkit.annotate.ray import annotate_ray
    except ImportError:
        return rows
    import ray

    for n in actors:
        start = time.perf_counter()
        summary = annotate_ray(model, source, work / f"ray{n}.jsonl", actors=n, torch_threads=max(1, 2 // n))
        seconds = time.perf_counter() - start
        same = (work / f"ray{n}.jsonl").read_bytes() == (work / "local.jsonl").read_bytes()
        rows.append({"engine": f"nerkit annotate --engine ray --actors {n} --torch-threads {max(1, 2 // n)}",
                     "seconds": round(seconds, 2), "words_per_second": round(words / seconds, 1), "passes": 1,
                     "same_output_as_local": same, "texts": summary.texts})
        ray.shutdown()  # each row starts its own Ray: start-up is part of what a user waits for
    return rows


def to_markdown(result: Dict[str, Any]) -> str:
    base = result["rows"][0]["words_per_second"]
    lines = [
        "# `nerkit annotate` vs a bare `nlp.pipe` loop", "",
        f"Pipeline `{result['model']}`; texts: the documents of `{result['texts']}`"
        f"{' × ' + str(result['copies']) if result.get('copies', 1) > 1 else ''} as plain text "
        f"({result['n_texts']:,} texts, {result['n_words']:,} words). Local rows: median of {result['repeats']} passes after a "
        "warm-up; Ray rows: one pass, Ray's start-up and the actors' model loading included.", "",
        *run_lines(result),
        f"- Memory per model copy (each Ray actor, each serve worker): {result['model_process_peak_rss_mb']:,.0f} MB "
        "peak RSS of a fresh process that loads the pipeline and annotates 64 texts", "",
        "| engine | seconds | words/s | × bare loop |", "|---|---:|---:|---:|",
    ]
    for row in result["rows"]:
        lines.append(f"| {row['engine']} | {row['seconds']} | {row['words_per_second']:,.0f} | "
                     f"{row['words_per_second'] / base:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("texts", help="CoNLL file whose documents are the texts")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--copies", type=int, default=1, help="the documents repeated this many times (a longer input, so Ray's start-up weighs less)")
    parser.add_argument("--actors", default="1,2", help="Ray rows (empty: none)")
    parser.add_argument("--out", default="benchmarks/results/annotate_speed")
    parser.add_argument("--note", default="", help="what else ran on the machine")
    args = parser.parse_args(argv)
    texts = document_texts(args.texts) * args.copies
    started = now()
    rows = measure(args.model, texts, args.repeats, [int(a) for a in args.actors.split(",") if a])
    rss = model_rss_mb(args.model, texts)
    result = repo_relative({
        "model": args.model, "texts": args.texts, "n_texts": len(texts), "n_words": sum(len(t.split()) for t in texts),
        "repeats": args.repeats, "copies": args.copies, "model_process_peak_rss_mb": rss, "rows": rows,
        **run_record("annotate_speed.py", argv, args.note or "not stated", started),
    })
    write_json(args.out + ".json", result)
    Path(args.out + ".md").write_text(to_markdown(result), encoding="utf8")
    print(to_markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
