"""The spaCy systems: `python -m spacy train` as a child process (stopped at
--max-minutes with SIGINT; spaCy keeps the model-best of its last dev
improvement), the per-evaluation log from benchmarks/train_logger.py, then
evaluation of model-best on dev and test with nerkit.scoring."""
import json
import re
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Dict, List

from . import data
from .measure import dir_size_mb, run_child

ROOT = Path(__file__).resolve().parent.parent
LOGGER_CODE = Path(__file__).resolve().parent / "train_logger.py"

CONFIGS = {
    "spacy_ner": "configs/minilm.cfg",
    "spacy_tokner": "configs/minilm_tokner.cfg",
    "spacy_case": "configs/minilm_case.cfg",
    "spacy_tokner_case": "configs/minilm_tokner_case.cfg",
    "cnn": "configs/cnn.cfg",
    "default": "configs/minilm_tokner_case_goldtok.cfg",
}
DESCRIPTIONS = {
    "spacy_ner": "all-MiniLM-L6-v2 + spaCy's transition-based ner (configs/minilm.cfg, our default)",
    "spacy_tokner": "all-MiniLM-L6-v2 + token-classification head nerkit_token_ner (configs/minilm_tokner.cfg)",
    "spacy_case": "all-MiniLM-L6-v2 + case-aware features + spaCy ner (configs/minilm_case.cfg)",
    "spacy_tokner_case": "all-MiniLM-L6-v2 + case-aware features + token head (configs/minilm_tokner_case.cfg)",
    "cnn": "spaCy CNN tok2vec + ner, no transformer (configs/cnn.cfg)",
    "default": "the default recipe as `make conll03` trains it: configs/minilm_tokner_case_goldtok.cfg with its own "
               "schedule, corpora and callbacks",
}
DEFAULT = "default"  # the shipped recipe: always its config's own corpora (gold tokens), never renamed _goldtok


GOLD_TOKENS_SUFFIX = "_goldtok"
TRAIN_PLUS_DEV_SUFFIX = "_traindev"


def variant_name(system: str, gold_tokens: bool, tag: str = "", train_plus_dev: bool = False) -> str:
    """The part and work-dir name of a spaCy system run: `<system>_goldtok`
    when trained on the gold tokens, then `_<tag>` for a tagged variant run
    (other --set or --max-steps, e.g. `spacy_tokner_case_lr2e-4`), then
    `_traindev` for a final model trained on train + dev."""
    return (system + (GOLD_TOKENS_SUFFIX if gold_tokens and system != DEFAULT else "") + (f"_{tag}" if tag else "")
            + (TRAIN_PLUS_DEV_SUFFIX if train_plus_dev else ""))


# set by other options of run.py, so not through --set
RESERVED_OVERRIDES = ("paths.train", "paths.dev", "training.max_steps", "training.eval_frequency", "training.patience",
                      "components.transformer.model.name")


def _is_function(value: str) -> bool:
    """Whether `value` is a JSON object naming a registered function ({"@layers": ...})."""
    try:
        obj = json.loads(value)
    except ValueError:
        return False
    return isinstance(obj, dict) and any(k.startswith("@") for k in obj)


def parse_overrides(items: List[str], systems: List[str]) -> Dict[str, str]:
    """`["training.batcher.size=2000", ...]` as {dotted key: value}, each key
    checked against the config of every system (it must exist there, as a
    value, or as a section replaced by a registered function given as JSON);
    RAISES ValueError naming the item and the problem."""
    from thinc.api import Config

    configs = {system: Config().from_disk(ROOT / CONFIGS[system], interpolate=False) for system in systems} if items else {}
    overrides: Dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip().removeprefix("--")
        if not sep or not key or not value.strip():
            raise ValueError(f"--set {item!r}: expected SECTION.KEY=VALUE, e.g. training.batcher.size=2000")
        if key in RESERVED_OVERRIDES:
            raise ValueError(f"--set {item!r}: {key} has its own option in run.py")
        for system, node in configs.items():
            for part in key.split("."):
                if not isinstance(node, dict) or part not in node:
                    raise ValueError(f"--set {item!r}: {CONFIGS[system]} has no setting {key}")
                node = node[part]
            if isinstance(node, dict) and not _is_function(value):
                raise ValueError(f"--set {item!r}: {key} is a section in {CONFIGS[system]}: replace it by a "
                                 'registered function as JSON, e.g. {"@layers":"reduce_first.v1"}')
        overrides[key] = value.strip()
    return overrides


def derived_config(config_path: Path, log_path: Path, out_path: Path, gold_tokens: bool = False) -> Dict[str, Any]:
    """Write the config with [training.logger] replaced by the JSONL logger
    and, with `gold_tokens`, [corpora.train] and [corpora.dev] read by
    nerkit.ConllCorpus.v1 from CoNLL files (whole documents on the gold
    tokens) instead of spacy.Corpus.v1 (which re-tokenizes the text);
    RETURNS facts about it (has a transformer, its name, patience, ...)."""
    from thinc.api import Config

    config = Config().from_disk(config_path, interpolate=False)
    config["training"]["logger"] = {"@loggers": "nerkit_bench.JsonlLogger.v1", "output_file": str(log_path)}
    if gold_tokens:
        for split in ("train", "dev"):
            config["corpora"][split] = {"@readers": "nerkit.ConllCorpus.v1", "path": f"${{paths.{split}}}"}
    out_path.parent.mkdir(parents=True, exist_ok=True)
    config.to_disk(out_path)
    trf = config["components"].get("transformer")
    return {
        "has_transformer": trf is not None,
        "transformer_name": trf["model"].get("name") if trf else None,
        "patience": config["training"].get("patience"),
        "max_steps": config["training"].get("max_steps"),
        "eval_frequency": config["training"].get("eval_frequency"),
        "train_reader": config["corpora"]["train"].get("@readers"),
    }


def read_log(path: Path) -> Dict[str, Any]:
    """The setup time and the eval records of a train_logger JSONL file."""
    setup, evals = None, []
    if path.exists():
        for line in path.read_text(encoding="utf8").splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:  # a line cut by the stop
                continue
            if rec.get("event") == "setup":
                setup = rec["time"]
            elif rec.get("event") == "eval":
                evals.append(rec)
    return {"setup_time": setup, "evals": evals}


def training_summary(log: Dict[str, Any], dev_words: int, start_time: float) -> Dict[str, Any]:
    """Words/s, the best evaluation (spaCy's rule: max score, later step on
    ties) and its time from the start of the `spacy train` process."""
    evals = log["evals"]
    if not evals:
        return {"evals": 0}
    last = evals[-1]
    best = max(evals, key=lambda r: (r["score"], r["step"]))
    # dev evaluation time, from the speed spaCy measured on dev (words/s)
    eval_seconds = sum(dev_words / r["scores"]["speed"] for r in evals if r["scores"].get("speed"))
    loop = last["elapsed"]
    train_seconds = max(loop - eval_seconds, 1e-9)
    return {
        "evals": len(evals),
        "words": last["words"],
        "steps": last["step"],
        "epochs_started": last["epoch"] + 1,
        "train_loop_seconds": loop,
        "dev_eval_seconds_estimate": eval_seconds,
        "words_per_second": last["words"] / train_seconds if last["words"] else None,
        "words_per_second_incl_eval": last["words"] / loop if loop else None,
        "init_seconds": (log["setup_time"] - start_time) if log["setup_time"] else None,
        "best_epoch": best["epoch"] + 1,  # 1-based, like the HF systems
        "best_step": best["step"],
        "best_dev_score": best["score"],
        "seconds_to_best": best["time"] - start_time,
        "log": [
            {k: r[k] for k in ("epoch", "step", "words", "seconds", "elapsed", "score")}
            for r in evals
        ],
    }


def spacy_speed(model: Path, test_spacy: Path, log_path: Path) -> Dict[str, Any]:
    """`python -m spacy benchmark speed MODEL TEST.spacy` (its own output kept)."""
    cmd = [sys.executable, "-m", "spacy", "benchmark", "speed", str(model), str(test_spacy), "--batches", "30", "--batch-size", "16", "--warmup", "1"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    out = proc.stdout + proc.stderr
    Path(log_path).write_text(out, encoding="utf8")
    match = re.search(r"Mean:\s*([\d,.]+)\s*words/s", out)
    return {
        "command": " ".join(cmd),
        "returncode": proc.returncode,
        "mean_words_per_second": float(match.group(1).replace(",", "")) if match else None,
        "output": "\n".join(line for line in out.splitlines() if "words/s" in line or "Outliers" in line),
    }


# What the dev/test figures mean: parts without "scorer" were scored before
# predicted entities were cut at sentence breaks (and predicted without them).
SCORER = ("v2: gold sentence starts given to the pipeline; entities over a sentence break cut there, "
          "as conlleval reads the predictions file")


def user_modes(nlp, gold: List, batch_size: int) -> Dict[str, Any]:
    """Test F1 the other ways a pipeline is called: on the raw text as users
    call `nlp(text)` (its own tokens; entities off the gold token boundaries
    are errors), on whole documents with no sentence starts, and on the raw
    text with hyphenated words kept whole (`nerkit.keep_hyphenated_words.v1`,
    as the default config does; training on gold tokens never used the
    tokenizer). The last one changes `nlp`'s tokenizer, so it runs last."""
    from nerkit.components.tokenizer import create_keep_hyphenated_words
    from nerkit.scoring import evaluate

    def summary(**mode: bool) -> Dict[str, Any]:
        report, _ = evaluate(nlp, gold, batch_size=batch_size, n_bootstrap=0, **mode)
        meta = report["meta"]
        return {**data.summarize(report, per_type=False), "tokenization": meta["tokenization"],
                "n_pred_ents_misaligned": meta["n_pred_ents_misaligned"],
                "n_pred_ents_crossing_sentences": meta["n_pred_ents_crossing_sentences"],
                "words_per_second": report["speed"]["words_per_second"]}

    out = {"test_raw_text": summary(raw_text=True), "test_no_sentence_starts": summary(sentence_starts=False)}
    if len(nlp.make_doc("Jean-Luc")) > 1:  # the tokenizer splits hyphenated words
        create_keep_hyphenated_words()(nlp)
        out["test_raw_text_keep_hyphens"] = summary(raw_text=True)
    else:
        out["test_raw_text_keep_hyphens"] = out["test_raw_text"]
    return out


def evaluate_model(best: Path, docbins: Dict[str, Dict[str, Any]], batch_size: int) -> Dict[str, Any]:
    """Score a trained pipeline on dev and test (gold tokens, gold sentence
    starts), time it on test, and add the raw-text and no-sentence-starts
    test scores (`user_modes`); RETURNS the part's dev/test/inference fields."""
    import spacy

    from nerkit.scoring import evaluate, load_docs

    nlp = spacy.load(best)
    result: Dict[str, Any] = {}
    for split in ("dev", "test"):
        gold = load_docs(docbins[split]["spacy"], nlp.vocab)
        report, _ = evaluate(nlp, gold, batch_size=batch_size, pipeline=str(best), test_data=docbins[split]["source"])
        result[split] = {**data.summarize(report, per_type=split == "test"), "scorer": SCORER}
    result["inference"] = {
        "words_per_second": report["speed"]["words_per_second"],
        "seconds": report["speed"]["seconds"],
        "n_words": report["speed"]["n_words"],
        "batch_size": batch_size,
        "method": "nerkit.scoring.evaluate: nlp.pipe on the gold-tokenized test documents",
    }
    result.update(user_modes(nlp, gold, batch_size))
    return result


def run_system(system: str, opts: Dict[str, Any], docbins: Dict[str, Dict[str, Any]], work: Path) -> Dict[str, Any]:
    """Train and evaluate one spaCy system (with opts["gold_tokens"]: on the
    gold tokens, in work/<system>_goldtok); RETURNS the part's system fields."""
    gold_tokens = bool(opts.get("gold_tokens")) and system != DEFAULT  # the default reads DocBins its own way
    train_plus_dev = bool(opts.get("train_plus_dev"))
    overrides: Dict[str, str] = opts.get("overrides") or {}
    out_dir = work / variant_name(system, gold_tokens, opts.get("tag") or "", train_plus_dev)
    log_path = out_dir / "train_log.jsonl"
    if log_path.exists():
        log_path.unlink()
    facts = derived_config(ROOT / CONFIGS[system], log_path, out_dir / "config.cfg", gold_tokens)
    corpus_format = "conll" if gold_tokens else "spacy"
    max_steps = opts["max_steps"] or facts["max_steps"]
    eval_frequency = opts["eval_frequency"] or facts["eval_frequency"]
    eval_frequency = min(eval_frequency, max_steps) if max_steps else eval_frequency
    patience = opts["patience"] if opts["patience"] is not None else facts["patience"]
    if train_plus_dev:  # a final model: all max_steps steps, no selection (dev is in its training data)
        patience = 0
    train_split = "train_dev" if train_plus_dev else "train"
    cmd = [
        sys.executable, "-m", "spacy", "train", str(out_dir / "config.cfg"),
        "--output", str(out_dir / "output"), "--code", str(LOGGER_CODE),
        "--paths.train", docbins[train_split][corpus_format], "--paths.dev", docbins["dev"][corpus_format],
        "--training.max_steps", str(max_steps), "--training.eval_frequency", str(eval_frequency),
        "--training.patience", str(patience),
    ]
    if facts["has_transformer"] and opts.get("transformer"):
        cmd += ["--components.transformer.model.name", str(opts["transformer"])]
    for key, value in overrides.items():
        cmd += [f"--{key}", value]
    start_time = time.time()
    child = run_child(cmd, log_path=out_dir / "train.log", max_seconds=opts["max_seconds"] or None)
    training = training_summary(read_log(log_path), docbins["dev"]["words"], start_time)
    training["wall_seconds"] = child["seconds"]
    training["returncode"] = child["returncode"]
    training["signals"] = child["signals"]
    result: Dict[str, Any] = {
        "description": DESCRIPTIONS[system] + (
            "; trained and selected on the gold tokens, whole documents (nerkit.ConllCorpus.v1)" if gold_tokens else "") + (
            "; with " + ", ".join(f"{k} = {v}" for k, v in overrides.items()) if overrides else "") + (
            f"; {max_steps} steps (the config's: {facts['max_steps']})" if max_steps != facts["max_steps"] else "") + (
            f"; final model: trained on train + dev for {max_steps} steps, the last step kept "
            "(its dev scores are on its own training data)" if train_plus_dev else ""),
        "config": CONFIGS[system],
        "backbone": (str(opts["transformer"]) if opts.get("transformer") else facts["transformer_name"]) if facts["has_transformer"] else None,
        "settings": {"max_steps": max_steps, "eval_frequency": eval_frequency, "patience": patience,
                     "corpus": "nerkit.ConllCorpus.v1 (gold tokens)" if gold_tokens else facts["train_reader"],
                     "overrides": overrides, "train_data": "train + dev" if train_plus_dev else "train"},
        "child_command": " ".join(cmd),
        "training": training,
        "peak_rss_mb": child["peak_rss_mb"],
    }
    best = out_dir / "output" / ("model-last" if train_plus_dev else "model-best")
    if child["stopped"]:
        result["status"] = "stopped at max-minutes"
    elif child["returncode"] != 0:
        result["status"] = f"failed: spacy train exited with {child['returncode']} (see {out_dir / 'train.log'})"
    else:
        result["status"] = "complete"
    if not (best / "meta.json").exists():
        result["status"] = f"failed: no {best.name} ({result['status']}; see {out_dir / 'train.log'})"
        return result
    try:
        result.update(evaluate_model(best, docbins, opts["infer_batch_size"]))
    except Exception as e:  # the training's figures stay in the part; `run.py --rescore` can score it again
        result.update(status=f"failed at evaluation: {e!r}", traceback=traceback.format_exc())
        return result
    result["size_mb"] = dir_size_mb(best)
    if opts.get("spacy_speed"):
        result["inference"]["spacy_benchmark_speed"] = spacy_speed(best, Path(docbins["test"]["spacy"]), out_dir / "speed.log")
    return result
