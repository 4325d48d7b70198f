"""Where training memory goes: RSS over the steps of a short `spacy train`,
training batches apart from dev evaluations, for variants of the allocator
settings and config, one child process each, in one run.

    python benchmarks/train_memory.py configs/minilm_tokner_case_goldtok.cfg \
        corpus/converted/conll03/train.spacy corpus/converted/conll03/dev.spacy \
        --steps 100 --eval-frequency 100 --out benchmarks/results/train_memory --note "..."

Each child runs with `--code benchmarks/train_memory.py`: its
`[training.before_update]` callback (nerkit_bench.rss_probe.v1) starts a thread
that samples the process's RSS every 0.2 s, tagged with the current step and
phase ("train", or "eval" while `nlp.evaluate` runs), and writes the samples as
JSON lines; peak RSS per phase and the step of the training peak come from
them. With --eval-memory it also measures evaluation alone, in a fresh process
per pipeline: RSS before and after `nlp.evaluate` on the whole dev set of the
config's pipeline, initialized on 20 dev docs (untrained: the memory is the
same), as the config has it and without its doc_cleaner.
Writes OUT.json and OUT.md.
"""
import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from spacy.util import registry  # noqa: E402

SAMPLE_SECONDS = 0.2


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


@registry.callbacks("nerkit_bench.rss_probe.v1")
def rss_probe(output_file: str) -> Callable[[Any, Dict[str, Any]], None]:
    """before_update callback: RSS samples (time, step, phase, MB) to output_file,
    as JSON lines: every SAMPLE_SECONDS from a thread, at every step, and at the
    start and end of each evaluation (so that even a short run has its samples)."""
    state: Dict[str, Any] = {"step": 0, "phase": "init"}
    lock = threading.Lock()

    def record() -> None:
        with lock:
            state["stream"].write(json.dumps({"t": time.time(), "step": state["step"], "phase": state["phase"],
                                              "rss_mb": round(rss_mb(), 1)}) + "\n")
            state["stream"].flush()

    def sample() -> None:
        while True:
            record()
            time.sleep(SAMPLE_SECONDS)

    def before_update(nlp, info: Dict[str, Any]) -> None:
        state.update(step=info["step"], phase="train")
        if "thread" not in state:
            evaluate = nlp.evaluate

            def evaluate_tagged(*args, **kwargs):
                state["phase"] = "eval"
                record()
                try:
                    return evaluate(*args, **kwargs)
                finally:
                    record()
                    state["phase"] = "train"

            nlp.evaluate = evaluate_tagged
            state["stream"] = open(output_file, "w", encoding="utf8")
            state["thread"] = threading.Thread(target=sample, daemon=True)
            state["thread"].start()
        record()

    return before_update


class Variant(NamedTuple):
    name: str
    env: Dict[str, str] = {}
    overrides: Dict[str, str] = {}


LEAN = "nerkit.training_memory.v1"


def _lean(**settings) -> Dict[str, str]:
    """The config override that sets [initialize.after_init] to LEAN with `settings`."""
    return {"initialize.after_init": json.dumps({"@callbacks": LEAN, **settings})}


VARIANTS = {
    "default": Variant("the config as it is"),
    "arena2": Variant("MALLOC_ARENA_MAX=2", env={"MALLOC_ARENA_MAX": "2"}),
    "batch500": Variant("batch_by_padded size 500", overrides={"training.batcher.size": "500"}),
    "plain": Variant(f"no {LEAN}: no gradient checkpointing, glibc's malloc defaults", overrides={"initialize.after_init": "null"}),
    "mmap": Variant(f"{LEAN}: mmap threshold fixed at 128 KiB only", overrides=_lean(gradient_checkpointing=False)),
    "checkpointing": Variant(f"{LEAN}: gradient checkpointing only", overrides=_lean(mmap_threshold=0)),
    "lean": Variant(f"{LEAN}: gradient checkpointing + mmap threshold 128 KiB", overrides=_lean()),
}


def eval_memory(config_path: str, dev_path: str, without: Optional[str]) -> Dict[str, Any]:
    """RSS around `nlp.evaluate` on all of dev (this process), the pipe `without` left out."""
    import resource

    import spacy
    from spacy.tokens import DocBin
    from spacy.training import Example
    from spacy.util import load_config

    config = load_config(config_path, interpolate=True)
    if without:
        config["nlp"]["pipeline"] = [name for name in config["nlp"]["pipeline"] if name != without]
    nlp = spacy.util.load_model_from_config(config, auto_fill=True)
    examples = [Example(nlp.make_doc(doc.text), doc) for doc in DocBin().from_disk(dev_path).get_docs(nlp.vocab)]
    nlp.initialize(lambda: examples[:20])
    before = rss_mb()
    nlp.evaluate(examples)
    return {"pipeline": nlp.pipe_names, "rss_before_mb": before, "rss_after_mb": rss_mb(),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_eval_memory(args) -> List[Dict[str, Any]]:
    import subprocess

    rows = []
    for without in ("", "doc_cleaner"):
        out = subprocess.run([sys.executable, __file__, "--eval-child", without or "-", args.config, args.train, args.dev],
                             capture_output=True, text=True, check=True).stdout
        rows.append({"without": without or None, **json.loads(out.strip().splitlines()[-1])})
        print(f"[memory] evaluation, pipeline {rows[-1]['pipeline']}: RSS {rows[-1]['rss_before_mb']:,.0f} -> "
              f"{rows[-1]['rss_after_mb']:,.0f} MB", flush=True)
    return rows


def summarize(samples: List[Dict[str, Any]]) -> Dict[str, Any]:
    train = [s for s in samples if s["phase"] == "train"]
    evals = [s for s in samples if s["phase"] == "eval"]
    peak = max(train, key=lambda s: s["rss_mb"]) if train else None
    by_step: Dict[int, float] = {}
    for s in train:
        by_step[s["step"]] = max(by_step.get(s["step"], 0.0), s["rss_mb"])
    return {
        "peak_train_mb": peak["rss_mb"] if peak else None,
        "peak_train_step": peak["step"] if peak else None,
        "peak_eval_mb": max((s["rss_mb"] for s in evals), default=None),
        "rss_after_first_step_mb": by_step.get(1),
        "rss_by_step_mb": by_step,
    }


def run_variant(key: str, variant: Variant, args, work: Path) -> Dict[str, Any]:
    from benchmarks.measure import run_child

    samples_path = work / f"{key}.jsonl"
    cmd = [sys.executable, "-m", "spacy", "train", args.config, "--paths.train", args.train, "--paths.dev", args.dev,
           "--code", __file__, "--training.max_steps", str(args.steps),
           "--training.eval_frequency", str(args.eval_frequency), "--training.patience", "0",
           "--training.before_update", json.dumps({"@callbacks": "nerkit_bench.rss_probe.v1", "output_file": str(samples_path)})]
    for key, value in variant.overrides.items():
        cmd += [f"--{key}", value]
    child = run_child(cmd, log_path=work / f"{samples_path.stem}.log", env={**os.environ, **variant.env})
    samples = [json.loads(line) for line in samples_path.read_text(encoding="utf8").splitlines() if line.strip()]
    summary = summarize(samples)
    print(f"[memory] {variant.name}: peak RSS {child['peak_rss_mb']:,.0f} MB (train {summary['peak_train_mb']}, "
          f"eval {summary['peak_eval_mb']}), rc {child['returncode']}", flush=True)
    return {"variant": variant.name, "env": variant.env, "overrides": variant.overrides,
            "peak_rss_mb": child["peak_rss_mb"], "seconds": child["seconds"], "returncode": child["returncode"], **summary}


def to_markdown(result: Dict[str, Any]) -> str:
    from benchmarks.measure import run_lines

    lines = ["# Training memory: RSS over a short `spacy train`", "",
             f"Config `{result['config']}`, {result['steps']} steps, dev evaluation every {result['eval_frequency']} steps "
             "(and at step 0). RSS sampled in-process every 0.2 s; peak RSS: the child's max RSS (wait4).", "",
             *run_lines(result), ""]
    if result["variants"]:
        lines += ["| variant | peak RSS MB | peak in training MB | at step | peak in evaluation MB | after step 1 MB | seconds |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
    for r in result["variants"]:
        lines.append(f"| {r['variant']} | {r['peak_rss_mb']:,.0f} | {r['peak_train_mb'] or 0:,.0f} | {r['peak_train_step']} "
                     f"| {r['peak_eval_mb'] or 0:,.0f} | {r['rss_after_first_step_mb'] or 0:,.0f} | {r['seconds']:.0f} |")
    if result.get("evaluation"):
        lines += ["", "Evaluation alone (`nlp.evaluate` on all of dev, fresh process each):", "",
                  "| pipeline | RSS before MB | RSS after MB | added MB |", "|---|---:|---:|---:|"]
        lines += [f"| {', '.join(r['pipeline'])} | {r['rss_before_mb']:,.0f} | {r['rss_after_mb']:,.0f} "
                  f"| {r['rss_after_mb'] - r['rss_before_mb']:,.0f} |" for r in result["evaluation"]]
    return "\n".join(lines) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> int:
    from benchmarks.measure import now, run_record, write_results

    if argv is None and sys.argv[1:2] == ["--eval-child"]:  # a child of run_eval_memory
        without, config, _, dev = sys.argv[2:6]
        print(json.dumps(eval_memory(config, dev, None if without == "-" else without)))
        return 0
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("config")
    p.add_argument("train")
    p.add_argument("dev")
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--eval-frequency", type=int, default=100)
    p.add_argument("--variants", default="default,arena2", help=f"comma-separated, of: {', '.join(VARIANTS)}")
    p.add_argument("--eval-memory", action="store_true", help="also measure dev evaluation alone, with and without doc_cleaner")
    p.add_argument("--work", default="benchmarks/work/train_memory")
    p.add_argument("--out", default="benchmarks/results/train_memory")
    p.add_argument("--note", default="not stated", help="what else ran on the machine")
    args = p.parse_args(argv)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    started = now()
    rows = [run_variant(name, VARIANTS[name], args, work) for name in args.variants.split(",") if name]
    evaluation = run_eval_memory(args) if args.eval_memory else []
    result = {"config": args.config, "train": args.train, "dev": args.dev, "steps": args.steps,
              "eval_frequency": args.eval_frequency, "variants": rows, "evaluation": evaluation,
              **run_record("train_memory.py", argv, args.note, started)}
    write_results(args.out, result, to_markdown, "memory")
    return 0


if __name__ == "__main__":
    sys.exit(main())
