"""The seed's recipe, reproduced as a reference: Hugging Face
AutoModelForTokenClassification (softmax head) fine-tuned with a plain PyTorch
loop. AdamW (weight decay 0, HF Trainer's default). The seed names AdamW 2e-5
and no schedule, i.e. a constant rate; this loop decays the rate linearly to 0
with NO warmup, as HF's Trainer does by default, and every hf_* part so far
was measured so. Gradient clipping at 1.0 (Trainer's default), batch 16 sentences,
5 epochs, dev F1 after each epoch with early stopping (patience 1 epoch, the
best state kept), IOB2 labels on the first word piece of each word (-100 on
the other pieces and on special tokens), at most 128 pieces per sentence:
longer sentences are truncated for training, and at prediction the words past
the truncation get O (counted). Tags -> spans with
nerkit.conll.tags_to_spans(tags, "iob2", lenient=True): an I- after O starts
an entity, as in conlleval. Scores via nerkit.scoring.build_report.

Run as a child process by benchmarks/run.py (so that its peak RSS is its own):
    python -m benchmarks.hf_seed --train F --dev F --test F --out result.json ...
"""
import argparse
import copy
import json
import math
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

MAX_LENGTH = 128
IGNORE = -100


def label_list(labels: Sequence[str]) -> List[str]:
    """IOB2 tag set: O, then B-X, I-X per label (sorted)."""
    return ["O"] + [f"{p}-{lab}" for lab in sorted(set(labels)) for p in ("B", "I")]


def spans_to_iob2(spans: Sequence[Tuple[int, int, str]], n: int) -> List[str]:
    from nerkit.conll import spans_to_tags

    return spans_to_tags(spans, n, "iob2")


def align_labels(word_ids: Sequence[Optional[int]], word_labels: Sequence[int]) -> List[int]:
    """First-word-piece labelling: the first piece of word i gets word_labels[i],
    the other pieces of the word and special tokens (word id None) get -100."""
    out, prev = [], None
    for wid in word_ids:
        if wid is None:
            out.append(IGNORE)
        elif wid != prev:
            out.append(word_labels[wid])
        else:
            out.append(IGNORE)
        prev = wid
    return out


def encode(tokenizer, words: List[List[str]], tags: Optional[List[List[str]]], label2id: Dict[str, int]):
    """Tokenize pre-split sentences (truncated at MAX_LENGTH pieces); with tags,
    add first-piece labels. RETURNS a list of feature dicts (python lists) with
    "word_ids" kept for decoding."""
    enc = tokenizer(words, is_split_into_words=True, truncation=True, max_length=MAX_LENGTH)
    feats = []
    for i in range(len(words)):
        word_ids = enc.word_ids(i)
        feat = {"input_ids": enc["input_ids"][i], "attention_mask": enc["attention_mask"][i], "word_ids": word_ids}
        if "token_type_ids" in enc:
            feat["token_type_ids"] = enc["token_type_ids"][i]
        if tags is not None:
            feat["labels"] = align_labels(word_ids, [label2id[t] for t in tags[i]])
        feats.append(feat)
    return feats


def collate(feats: Sequence[Dict[str, Any]], pad_id: int):
    """Pad a batch to its longest member: tensors for the model."""
    import torch

    width = max(len(f["input_ids"]) for f in feats)
    batch = {}
    for key, pad in (("input_ids", pad_id), ("attention_mask", 0), ("token_type_ids", 0), ("labels", IGNORE)):
        if key in feats[0]:
            batch[key] = torch.tensor([f[key] + [pad] * (width - len(f[key])) for f in feats])
    return batch


def predict_tags(model, tokenizer, words: List[List[str]], id2label: Dict[int, str], batch_size: int = 64):
    """Tags per sentence from our batched forward loop (inference_mode,
    sentences sorted by length so that batches pad little; output in input
    order). A word's tag is its first piece's argmax; words past the
    truncation (or without any piece) get O.
    RETURNS (tags per sentence, number of words that got O for lack of a piece)."""
    import torch

    model.eval()
    feats = encode(tokenizer, words, None, {})
    order = sorted(range(len(words)), key=lambda i: len(feats[i]["input_ids"]))
    out: List[List[str]] = [[] for _ in words]
    missing = 0
    with torch.inference_mode():
        for b in range(0, len(order), batch_size):
            idx = order[b : b + batch_size]
            batch = collate([feats[i] for i in idx], tokenizer.pad_token_id)
            pred = model(**batch).logits.argmax(-1).tolist()
            for row, i in zip(pred, idx):
                tags = ["O"] * len(words[i])
                seen = set()
                for pos, wid in enumerate(feats[i]["word_ids"]):
                    if wid is not None and wid not in seen:
                        seen.add(wid)
                        tags[wid] = id2label[row[pos]]
                missing += len(words[i]) - len(seen)
                out[i] = tags
    return out, missing


def tags_to_doc_spans(sents, tags_per_sent, n_docs: int):
    """Sentence tags -> (start, end, label) spans per document (doc token offsets)."""
    from nerkit.conll import tags_to_spans

    per_doc: List[List[Tuple[int, int, str]]] = [[] for _ in range(n_docs)]
    offsets = [0] * n_docs
    for (d, tokens, _), tags in zip(sents, tags_per_sent):
        per_doc[d].extend((offsets[d] + s, offsets[d] + e, lab) for s, e, lab in tags_to_spans(tags, "iob2", lenient=True))
        offsets[d] += len(tokens)
    return per_doc


def quick_f1(sents, tags_per_sent) -> float:
    """Exact-match entity F1 over sentences (conlleval's definition), for
    model selection during training."""
    from nerkit.conll import tags_to_spans
    from nerkit.scoring import prf

    tp = fp = fn = 0
    for (_, _, gold), tags in zip(sents, tags_per_sent):
        g, p = set(gold), set(tags_to_spans(tags, "iob2", lenient=True))
        tp, fp, fn = tp + len(g & p), fp + len(p - g), fn + len(g - p)
    return prf(tp, fp, fn)["f1"]


def pipeline_speed(model, tokenizer, words: List[List[str]], batch_size: int) -> Dict[str, Any]:
    """Words/s of transformers' pipeline("token-classification",
    aggregation_strategy="first") on the same sentences (joined by spaces)."""
    from transformers import pipeline

    pipe = pipeline("token-classification", model=model, tokenizer=tokenizer, aggregation_strategy="first", device=-1)
    texts = [" ".join(w) for w in words]
    n_words = sum(len(w) for w in words)
    start = time.perf_counter()
    n_ents = sum(len(r) for r in pipe(texts, batch_size=batch_size))
    seconds = time.perf_counter() - start
    return {"words_per_second": n_words / seconds if seconds else None, "seconds": seconds,
            "n_words": n_words, "batch_size": batch_size, "n_entities": n_ents,
            "aggregation_strategy": "first"}


def train(args) -> Dict[str, Any]:
    import spacy
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer, get_linear_schedule_with_warmup

    from benchmarks import data

    torch.manual_seed(args.seed)
    splits = {s: data.load_split(getattr(args, s), args.limit_sents) for s in data.SPLITS}
    sents = {s: data.sentences(c) for s, c in splits.items()}
    labels = label_list([lab for _, _, spans in sents["train"] for _, _, lab in spans])
    label2id = {t: i for i, t in enumerate(labels)}
    id2label = dict(enumerate(labels))
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForTokenClassification.from_pretrained(
        args.model, num_labels=len(labels), id2label=id2label, label2id=label2id
    )
    train_words = [t for _, t, _ in sents["train"]]
    train_tags = [spans_to_iob2(sp, len(t)) for _, t, sp in sents["train"]]
    feats = encode(tokenizer, train_words, train_tags, label2id)
    n_truncated_train = sum(1 for f, w in zip(feats, train_words) if len({i for i in f["word_ids"] if i is not None}) < len(w))
    steps_per_epoch = math.ceil(len(feats) / args.batch_size)
    total = args.epochs * steps_per_epoch
    if args.max_steps:
        total = min(total, args.max_steps)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    schedule = get_linear_schedule_with_warmup(optimizer, num_warmup_steps=0, num_training_steps=total)
    dev_words = [t for _, t, _ in sents["dev"]]
    log: List[Dict[str, Any]] = []
    best = {"f1": -1.0, "state": None, "epoch": None, "step": None, "elapsed": None, "time": None}
    gen = torch.Generator().manual_seed(args.seed)
    start = time.perf_counter()
    train_seconds = eval_seconds = 0.0
    step, words_seen, bad_epochs, status = 0, 0, 0, "complete"

    def dev_eval(epoch: float) -> float:
        nonlocal eval_seconds
        t0 = time.perf_counter()
        tags, _ = predict_tags(model, tokenizer, dev_words, id2label, args.infer_batch_size)
        f1 = quick_f1(sents["dev"], tags)
        eval_seconds += time.perf_counter() - t0
        elapsed = time.perf_counter() - start
        log.append({"epoch": epoch, "step": step, "words": words_seen, "dev_f1": f1,
                    "elapsed_seconds": elapsed, "train_seconds": train_seconds})
        print(json.dumps(log[-1]), flush=True)
        if f1 > best["f1"]:
            best.update(f1=f1, state=copy.deepcopy(model.state_dict()), epoch=epoch, step=step, elapsed=elapsed, time=time.time())
            return True
        return False

    stop = None
    for epoch in range(1, args.epochs + 1):
        model.train()
        perm = torch.randperm(len(feats), generator=gen).tolist()
        for b in range(0, len(perm), args.batch_size):
            if args.max_seconds and time.perf_counter() - start > args.max_seconds:
                stop = "stopped at max-minutes"
                break
            if args.max_steps and step >= args.max_steps:
                stop = "max-steps"
                break
            t0 = time.perf_counter()
            idx = perm[b : b + args.batch_size]
            loss = model(**collate([feats[i] for i in idx], tokenizer.pad_token_id)).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            words_seen += sum(len(train_words[i]) for i in idx)
            train_seconds += time.perf_counter() - t0
        if stop:
            if not log or log[-1]["step"] != step:
                dev_eval(round(epoch - 1 + (b / len(perm)), 3))
            break
        if dev_eval(epoch):
            bad_epochs = 0
        else:
            bad_epochs += 1
            if bad_epochs >= args.patience:
                stop = f"early stopping (no dev improvement for {bad_epochs} epoch)"
                break
    if stop == "stopped at max-minutes":
        status = stop
    wall = time.perf_counter() - start
    model.load_state_dict(best["state"])
    result: Dict[str, Any] = {
        "status": status,
        "stop_reason": stop or f"{args.epochs} epochs",
        "labels": labels,
        "training": {
            "wall_seconds": wall,
            "train_loop_seconds": train_seconds,
            "dev_eval_seconds": eval_seconds,
            "words": words_seen,
            "words_per_second": words_seen / train_seconds if train_seconds else None,
            "words_per_second_incl_eval": words_seen / wall if wall else None,
            "steps": step,
            "steps_per_epoch": steps_per_epoch,
            "best_epoch": best["epoch"],
            "best_step": best["step"],
            "seconds_to_best": best["elapsed"],
            "best_time": best["time"],
            "best_dev_f1_during_training": best["f1"],
            "truncated_train_sentences": n_truncated_train,
            "log": log,
        },
    }
    if args.model_dir:
        model.save_pretrained(args.model_dir)
        tokenizer.save_pretrained(args.model_dir)
    # final evaluation of the best state: dev, test (timed), HF pipeline on test
    from nerkit.scoring import build_report

    vocab = spacy.blank("en").vocab
    for split in ("dev", "test"):
        words = [t for _, t, _ in sents[split]]
        t0 = time.perf_counter()
        tags, missing = predict_tags(model, tokenizer, words, id2label, args.infer_batch_size)
        seconds = time.perf_counter() - t0
        gold = data.gold_docs(splits[split], vocab)
        pred = data.ents_to_docs(gold, tags_to_doc_spans(sents[split], tags, len(gold)), vocab)
        report = build_report(gold, pred, pipeline=f"hf:{args.model}", test_data=str(getattr(args, split)),
                              seconds=seconds, batch_size=args.infer_batch_size)
        result[split] = data.summarize(report, per_type=split == "test")
        result[split]["words_past_truncation_set_to_O"] = missing
        if split == "test":
            result["inference"] = {
                "words_per_second": report["speed"]["words_per_second"], "seconds": seconds,
                "n_words": report["meta"]["n_words"], "batch_size": args.infer_batch_size,
                "method": "our batched forward loop, torch.inference_mode(), sentences sorted by length",
                "torch_threads": torch.get_num_threads(),
            }
            if args.pipeline_batch_size > 0:
                result["inference"]["hf_pipeline"] = pipeline_speed(model, tokenizer, words, args.pipeline_batch_size)
    return result


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="The seed's HF token-classification recipe (see module docstring).")
    p.add_argument("--train", required=True)
    p.add_argument("--dev", required=True)
    p.add_argument("--test", required=True)
    p.add_argument("--model", required=True, help="from_pretrained path or name")
    p.add_argument("--out", required=True, help="result JSON")
    p.add_argument("--model-dir", default=None, help="save the best model here")
    p.add_argument("--lr", type=float, default=2e-5)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--patience", type=int, default=1, help="epochs without dev improvement")
    p.add_argument("--max-steps", type=int, default=0)
    p.add_argument("--max-seconds", type=float, default=0)
    p.add_argument("--limit-sents", type=int, default=0)
    p.add_argument("--infer-batch-size", type=int, default=64)
    p.add_argument("--pipeline-batch-size", type=int, default=16, help="0: skip the HF pipeline timing")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    result = train(args)
    from benchmarks.measure import self_peak_rss_mb

    result["peak_rss_mb_self"] = self_peak_rss_mb()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2), encoding="utf8")


if __name__ == "__main__":
    sys.exit(main())
