"""Inference levers on one trained spaCy pipeline, side by side in one run:
transformer window/stride and max_batch_items, `nlp.pipe` batch size, torch threads and the unit
of prediction (whole documents or one Doc per sentence, as the HF loop does),
each with its test F1 (conlleval-exact, nerkit.scoring) and words/s on the same
gold-tokenized documents. Settings change through `spacy.load(config=...)`,
the way a user would change them; nothing is retrained.

    python benchmarks/inference_levers.py benchmarks/work/spacy_ner/output/model-best \
        ../shared/data/conll2003/eng.testb --out benchmarks/results/inference_levers --note "..."

Writes OUT.json and OUT.md (machine, versions, command, one row per variant).
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.measure import now, run_lines, run_record, write_results  # noqa: E402


class Variant(NamedTuple):
    name: str
    window_stride: Optional[Tuple[int, int]] = None  # None: as trained
    batch_size: int = 64  # nlp.pipe
    threads: Optional[int] = None  # torch threads; None: the default
    disable: Tuple[str, ...] = ()  # pipes left out (timing only, no F1)
    max_batch_items: Optional[int] = None  # transformer's padded batch size; None: as trained
    per_sentence: bool = False  # one Doc per sentence: no document context
    sort_by_length: bool = False  # Docs sorted by length (less padding per batch)
    length_group_pieces: Optional[int] = None  # the transformer's forward in length groups; None: as saved


VARIANTS = (
    Variant("as trained (window 128, stride 96), batch 64"),
    Variant("window 128, stride 128 (no overlap)", (128, 128)),
    Variant("window 256, stride 192", (256, 192)),
    Variant("window 256, stride 256 (no overlap)", (256, 256)),
    Variant("as trained, batch 16", batch_size=16),
    Variant("as trained, batch 256", batch_size=256),
    Variant("as trained, 1 torch thread", threads=1),
    Variant("transformer max_batch_items 1024", max_batch_items=1024),
    Variant("transformer max_batch_items 16384", max_batch_items=16384),
    Variant("transformer only (ner disabled; timing only)", disable=("ner",)),
    Variant("one Doc per sentence (no document context)", per_sentence=True),
    Variant("one Doc per sentence, sorted by length", per_sentence=True, sort_by_length=True),
)
# The transformer's windows for the default (trained on 256/192), to choose on dev (--set windows)
WINDOWS = (
    Variant("as trained (window 256, stride 192)"),
    Variant("window 256, stride 224", (256, 224)),
    Variant("window 256, stride 256 (no overlap)", (256, 256)),
    Variant("window 192, stride 192 (no overlap)", (192, 192)),
    Variant("window 384, stride 320", (384, 320)),
    Variant("window 384, stride 384 (no overlap)", (384, 384)),
)
# Shorter windows at inference than the default's 256/192, to choose on dev (--set short)
SHORT_WINDOWS = (
    Variant("as trained (window 256, stride 192)"),
    Variant("window 128, stride 96", (128, 96)),
    Variant("window 128, stride 128 (no overlap)", (128, 128)),
    Variant("window 96, stride 96 (no overlap)", (96, 96)),
    Variant("window 64, stride 64 (no overlap)", (64, 64)),
    Variant("window 48, stride 48 (no overlap)", (48, 48)),
    Variant("window 32, stride 32 (no overlap)", (32, 32)),
)
# The transformer's forward in length groups (nerkit.components.length_groups), to choose on dev (--set groups)
GROUPS = (
    Variant("as trained (one forward a batch)"),
    Variant("length groups of 512 pieces", length_group_pieces=512),
    Variant("length groups of 1024 pieces", length_group_pieces=1024),
    Variant("length groups of 2048 pieces", length_group_pieces=2048),
    Variant("window 256, stride 256 (no overlap)", (256, 256)),
    Variant("window 256, stride 256, length groups of 1024 pieces", (256, 256), length_group_pieces=1024),
)
# The transformer's max_batch_items (padded pieces a forward) at inference, to choose on dev (--set batch)
BATCH_ITEMS = (
    Variant("as trained (max_batch_items as saved)"),
    Variant("transformer max_batch_items 2048", max_batch_items=2048),
    Variant("transformer max_batch_items 4096", max_batch_items=4096),
    Variant("transformer max_batch_items 8192", max_batch_items=8192),
    Variant("transformer max_batch_items 16384", max_batch_items=16384),
)
SETS = {"all": VARIANTS, "windows": WINDOWS, "short": SHORT_WINDOWS, "groups": GROUPS, "batch": BATCH_ITEMS}


def prediction_units(conll, vocab, per_sentence: bool, sort_by_length: bool) -> list:
    """The gold Docs to predict: one per document, or one per sentence (the
    same tokens and entities: CoNLL entities never cross a sentence)."""
    from dataclasses import replace

    from nerkit.conll import ConllDocument, conll_to_docs

    if per_sentence:
        conll = replace(conll, documents=[ConllDocument([sent], sent.line_no) for sent in conll.sentences])
    docs = conll_to_docs(conll, vocab)
    return sorted(docs, key=len) if sort_by_length else docs


def load(model: str, window_stride: Optional[Sequence[int]] = None, disable: Sequence[str] = (),
         max_batch_items: Optional[int] = None, length_group_pieces: Optional[int] = None):
    """The pipeline, with the transformer's strided span getter and its
    forward's length groups (nerkit.inference_precision.v1) overridden through
    the config, and its `max_batch_items` (the padded size, in tokens, of the
    doc batches `pipe` cuts `nlp.pipe`'s batch into) set on the component: the
    value saved with the model would win over a config one."""
    import spacy

    config: Dict[str, Any] = {}
    if window_stride is not None:
        window, stride = window_stride
        getter = {"@span_getters": "spacy-transformers.strided_spans.v1", "window": window, "stride": stride}
        config["components"] = {"transformer": {"model": {"get_spans": getter}}}
    if length_group_pieces is not None:
        config["nlp"] = {"after_pipeline_creation": {"length_group_pieces": length_group_pieces}}
    nlp = spacy.load(model, disable=list(disable), config=config)
    if max_batch_items is not None:
        nlp.get_pipe("transformer").cfg["max_batch_items"] = max_batch_items
    return nlp


Probe = Callable[[Any], Callable[[int], Dict[str, Any]]]


def measure(model: str, test_path: str, variants=VARIANTS, warmup_docs: int = 8, repeats: int = 3,
            probe: Optional[Probe] = None, rounds: bool = False) -> List[Dict[str, Any]]:
    """Score and time every variant on the same documents: each variant loaded,
    warmed up by `nlp.pipe` on the first `warmup_docs` documents and scored on all
    of them (its first timed pass), then its other `repeats` - 1 passes (words/s
    from the median pass). With `rounds`, those passes run in rounds, one pass of
    every variant a round, so that a slow spell of the machine falls on all
    variants alike, but the loaded pipelines share the process (and its oneDNN
    kernel cache) as one user's would not. `probe(nlp)`, if given,
    is called after the warm-up and returns a function that is called with the
    number of timed passes after them; its dict goes into the row."""
    import torch

    from nerkit.conll import read_conll
    from nerkit.scoring import evaluate, predict

    default_threads = torch.get_num_threads()
    conll = read_conll(test_path)
    runs = []
    for v in variants:
        torch.set_num_threads(v.threads or default_threads)
        nlp = load(model, v.window_stride, v.disable, v.max_batch_items, v.length_group_pieces)
        gold = prediction_units(conll, nlp.vocab, v.per_sentence, v.sort_by_length)
        evaluate(nlp, gold[:warmup_docs], batch_size=v.batch_size, n_bootstrap=0)
        finish = probe(nlp) if probe else None
        report, _ = evaluate(nlp, gold, batch_size=v.batch_size, n_bootstrap=0)
        passes = [report["speed"]["seconds"]]
        if not rounds:
            passes += [predict(nlp, gold, batch_size=v.batch_size)[1] for _ in range(repeats - 1)]
        runs.append((v, nlp, gold, finish, report, passes))
    for _ in range(repeats - 1 if rounds else 0):
        for v, nlp, gold, _, _, passes in runs:
            torch.set_num_threads(v.threads or default_threads)
            passes.append(predict(nlp, gold, batch_size=v.batch_size)[1])
    rows = []
    for v, nlp, gold, finish, report, passes in runs:
        seconds = statistics.median(passes)
        micro = report["entity"]["micro"]
        scored = not v.disable
        rows.append({
            "variant": v.name,
            "window_stride": list(v.window_stride) if v.window_stride else None,
            "batch_size": v.batch_size,
            "max_batch_items": nlp.get_pipe("transformer").cfg["max_batch_items"],
            "torch_threads": v.threads or default_threads,
            "disabled": list(v.disable),
            "unit": "sentence" if v.per_sentence else "document",
            "sorted_by_length": v.sort_by_length,
            "length_group_pieces": v.length_group_pieces,
            "n_docs": len(gold),
            "f1": micro["f1"] if scored else None,
            "precision": micro["precision"] if scored else None,
            "recall": micro["recall"] if scored else None,
            "words_per_second": report["speed"]["n_words"] / seconds,
            "seconds": seconds,
            "pass_seconds": passes,
            "n_words": report["speed"]["n_words"],
            **(finish(len(passes)) if finish else {}),
        })
        f1 = f"F1 {100 * micro['f1']:.2f}" if scored else "no F1"
        print(f"[levers] {v.name}: {f1}, {rows[-1]['words_per_second']:,.0f} words/s "
              f"(passes: {', '.join(f'{t:.1f}' for t in passes)} s)", flush=True)
    torch.set_num_threads(default_threads)
    return rows


def measure_in_processes(model: str, test_path: str, set_name: str, indices: Sequence[int], processes: int,
                         repeats: int) -> List[Dict[str, Any]]:
    """The variants at `indices` of SETS[set_name], each in `processes` fresh processes of its own, as
    users load one pipeline (no kernel cache shared with another variant): one process a variant a round,
    the order reversed every other round, so that a slow spell of the machine falls on all alike. Each
    process runs `measure` on its variant alone; words/s from the median of all its processes' passes."""
    runs: Dict[int, List[Dict[str, Any]]] = {i: [] for i in indices}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(processes):
            for i in indices if round_ % 2 == 0 else indices[::-1]:
                out = Path(tmp) / f"{i}-{round_}"
                subprocess.run([sys.executable, __file__, model, test_path, "--set", set_name, "--only", str(i),
                                "--repeats", str(repeats), "--out", str(out), "--note", "a child"], check=True)
                runs[i].append(json.loads(out.with_suffix(".json").read_text())["variants"][0])
    rows = []
    for i in indices:
        passes = [s for run in runs[i] for s in run["pass_seconds"]]
        row = dict(runs[i][0], pass_seconds=passes, seconds=statistics.median(passes),
                   process_words_per_second=[run["words_per_second"] for run in runs[i]])
        row["words_per_second"] = row["n_words"] / row["seconds"]
        rows.append(row)
    return rows


def to_markdown(result: Dict[str, Any]) -> str:
    rows = result["variants"]
    base = rows[0]
    processes = result.get("processes")
    lines = [
        "# Inference levers (no retraining)",
        "",
        f"Pipeline `{result['model']}`, scored on `{result['test']}`; every variant runs "
        "`nlp.pipe` on the same gold-tokenized documents after a warm-up, in one run; words/s from the median "
        f"of {result.get('repeats', 1)} timed pass(es)" + how_timed(result),
        "",
        *run_lines(result),
        "",
        "| variant | F1 | Δ F1 | words/s | × first row |" + (" words/s per process |" if processes else ""),
        "|---|---:|---:|---:|---:|" + ("---|" if processes else ""),
    ]
    for r in rows:
        f1 = ("–", "–") if r["f1"] is None else (f"{100 * r['f1']:.2f}", f"{100 * (r['f1'] - base['f1']):+.2f}")
        lines.append(
            f"| {r['variant']} | {f1[0]} | {f1[1]} | "
            f"{r['words_per_second']:,.0f} | {r['words_per_second'] / base['words_per_second']:.2f} |"
            + (" " + ", ".join(f"{w:,.0f}" for w in r["process_words_per_second"]) + " |" if processes else "")
        )
    return "\n".join(lines) + "\n"


def how_timed(result: Dict[str, Any]) -> str:
    if result.get("processes"):
        return (f" per process, each variant in {result['processes']} fresh processes of its own (one a variant a "
                "round, the order reversed every other round), from the median of all their passes.")
    if result.get("rounds"):
        return ", the passes after the first in rounds (one of each variant a round)."
    return "."


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="trained spaCy pipeline with a 'transformer' component")
    p.add_argument("test", help="CoNLL test file (gold tokens, documents)")
    p.add_argument("--out", default="benchmarks/results/inference_levers", help="OUT.json and OUT.md")
    p.add_argument("--repeats", type=int, default=3, help="timed passes per variant (words/s from the median)")
    p.add_argument("--note", default="not stated", help="what else ran on the machine")
    p.add_argument("--set", default="all", choices=sorted(SETS),
                   help="the variants: all levers, or the default's transformer windows, shorter windows, length "
                        "groups or max_batch_items (to choose on dev)")
    p.add_argument("--rounds", action="store_true",
                   help="time the passes after the first in rounds, one of each variant a round")
    p.add_argument("--processes", type=int, default=0,
                   help="run each variant in this many fresh processes of its own, alternated (0: all in this one)")
    p.add_argument("--only", help="run only the variants at these indices of --set, e.g. 0,2 (default: all)")
    args = p.parse_args(argv)
    variants = SETS[args.set]
    try:
        indices = list(range(len(variants))) if args.only is None else [int(i) for i in args.only.split(",")]
    except ValueError:
        p.error(f"--only takes indices separated by commas, not {args.only!r}")
    if not all(0 <= i < len(variants) for i in indices) or len(set(indices)) != len(indices):
        p.error(f"--only: each index once, from 0 to {len(variants) - 1} (--set {args.set})")
    if args.repeats < 1:
        p.error("--repeats must be at least 1")
    if args.processes < 0 or (args.processes and args.rounds):
        p.error("--processes must be 0 or more, and goes without --rounds")
    started = now()
    if args.processes:
        rows = measure_in_processes(args.model, args.test, args.set, indices, args.processes, args.repeats)
    else:
        rows = measure(args.model, args.test, [variants[i] for i in indices], repeats=args.repeats,
                       rounds=args.rounds)
    result = {"model": args.model, "test": args.test, "repeats": args.repeats, "rounds": args.rounds,
              "processes": args.processes, "set": args.set, "variants": rows,
              **run_record("inference_levers.py", argv, args.note, started)}
    write_results(args.out, result, to_markdown, "levers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
