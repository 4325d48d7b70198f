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

With --context doc (the `hf_doc` system, a strong HF baseline) the inputs are
DOCUMENT windows instead of sentences, as our spaCy pipelines see them: each
document's words are cut into windows of up to --window-words words starting
every --stride-words words (128/96 like the spaCy transformer's strided spans,
which count spaCy tokens = CoNLL words here), at most --max-length pieces
(512, the model's limit) with the special tokens; a window whose pieces exceed
the limit is shrunk word by word from the right (a word's pieces are never
split over two windows). Each word is labelled in ONE window, the one it is
predicted from: where it has the most context on both sides (the most words
before and after it inside the window, a document edge counting as unlimited
context; ties: the earlier window); in the other windows that hold it, it is
context only (-100), so every training word counts once, as in the word
budget. At prediction every word of every document gets exactly one tag, from
that window; the document's tags are then cut into its sentences and scored
through the same tags_to_doc_spans/build_report path as the sentence inputs.
--word-budget W stops training after W training words (labelled words, no
padding; epochs: as many as the budget needs, dev F1 after each and at the
end, the best state kept); --warmup-steps N warms the rate up linearly over N
steps before the linear decay to 0 at the planned last step.

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


def encode(tokenizer, words: List[List[str]], tags: Optional[List[List[str]]], label2id: Dict[str, int],
           max_length: int = MAX_LENGTH):
    """Tokenize pre-split sentences (truncated at max_length pieces); with tags,
    add first-piece labels. RETURNS a list of feature dicts (python lists) with
    "word_ids" kept for decoding."""
    enc = tokenizer(words, is_split_into_words=True, truncation=True, max_length=max_length)
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


def forward_sorted(model, feats: Sequence[Dict[str, Any]], pad_id: int, batch_size: int) -> List[Tuple[int, List[int]]]:
    """Our batched forward loop: the features sorted by length (batches pad
    little), torch.inference_mode(); RETURNS (feature index, argmax label id
    per piece) for every feature, for the caller to put back by index."""
    import torch

    model.eval()
    order = sorted(range(len(feats)), key=lambda i: len(feats[i]["input_ids"]))
    out = []
    with torch.inference_mode():
        for b in range(0, len(order), batch_size):
            idx = order[b : b + batch_size]
            pred = model(**collate([feats[i] for i in idx], pad_id)).logits.argmax(-1).tolist()
            out.extend(zip(idx, pred))
    return out


def first_piece_tags(word_ids: Sequence[Optional[int]], row: Sequence[int], id2label: Dict[int, str]) -> Dict[int, str]:
    """word id -> the tag of the word's first piece (words without a piece are absent)."""
    tags: Dict[int, str] = {}
    for pos, wid in enumerate(word_ids):
        if wid is not None and wid not in tags:
            tags[wid] = id2label[row[pos]]
    return tags


def predict_tags(model, tokenizer, words: List[List[str]], id2label: Dict[int, str], batch_size: int = 64,
                 max_length: int = MAX_LENGTH):
    """Tags per sentence from our batched forward loop (inference_mode,
    sentences sorted by length so that batches pad little; output in input
    order). A word's tag is its first piece's argmax; words past the
    truncation (or without any piece) get O.
    RETURNS (tags per sentence, number of words that got O for lack of a piece)."""
    feats = encode(tokenizer, words, None, {}, max_length)
    out: List[List[str]] = [[] for _ in words]
    missing = 0
    for i, row in forward_sorted(model, feats, tokenizer.pad_token_id, batch_size):
        first = first_piece_tags(feats[i]["word_ids"], row, id2label)
        out[i] = [first.get(j, "O") for j in range(len(words[i]))]
        missing += len(words[i]) - len(first)
    return out, missing


def piece_counts(tokenizer, words: Sequence[str]) -> List[int]:
    """Word pieces per word, without special tokens (each word tokenized as a
    pre-split word, as in a window)."""
    if not words:
        return []
    enc = tokenizer([[w] for w in words], is_split_into_words=True, add_special_tokens=False)
    return [len(ids) for ids in enc["input_ids"]]


def doc_windows(counts: Sequence[int], window: int, stride: int, max_pieces: int) -> List[Tuple[int, int]]:
    """Word windows [start, end) over one document whose words have `counts`
    pieces: up to `window` words, one starting every `stride` words, shrunk
    from the right while their pieces exceed `max_pieces` (the model's limit
    less the special tokens), so a word is never split over two windows. A
    shrunk window of L words advances stride * L // window words (the same
    share of overlap). A single word with more than max_pieces pieces makes
    a window of its own (truncated when encoded; its first piece tags it)."""
    if not 1 <= stride <= window:
        raise ValueError(f"need 1 <= stride ({stride}) <= window ({window})")
    n, out, start = len(counts), [], 0
    while start < n:
        end = min(start + window, n)
        pieces = sum(counts[start:end])
        while end - start > 1 and pieces > max_pieces:
            end -= 1
            pieces -= counts[end]
        out.append((start, end))
        if end == n:
            break
        start += max(1, stride * (end - start) // window)
    return out


def window_owners(windows: Sequence[Tuple[int, int]], n: int) -> List[int]:
    """For each of the n words, the index of the window it is labelled in and
    predicted from: the one where it has the most context on both sides,
    min(words before it in the window, words after it), a document edge
    counting as unlimited context; ties go to the earlier window. With 128/96
    windows, the 32 overlapping words are split 16/16."""
    owner, score = [-1] * n, [-1] * n
    for k, (start, end) in enumerate(windows):
        for j in range(start, end):
            margin = min(j - start if start > 0 else n, end - 1 - j if end < n else n)
            if margin > score[j]:
                owner[j], score[j] = k, margin
    return owner


def encode_docs(tokenizer, docs: List[List[str]], tags: Optional[List[List[str]]], label2id: Dict[str, int],
                window: int, stride: int, max_length: int) -> Tuple[List[Dict[str, Any]], Dict[str, int]]:
    """Tokenize each document as word windows (`doc_windows`); each feature
    also has "doc", "start", "end", "owned" (the document word indices this
    window labels and predicts, see `window_owners`) and "word_ids" as
    DOCUMENT word indices; with tags, first-piece labels on the owned words
    only (-100 on the rest). RETURNS (features, counts: windows, windows
    shrunk for the piece limit, windows truncated = one word over the limit)."""
    max_pieces = max_length - tokenizer.num_special_tokens_to_add(pair=False)
    feats: List[Dict[str, Any]] = []
    stats = {"windows": 0, "shrunk_for_piece_limit": 0, "truncated": 0}
    for d, words in enumerate(docs):
        counts = piece_counts(tokenizer, words)
        wins = doc_windows(counts, window, stride, max_pieces)
        owners = window_owners(wins, len(words))
        if not wins:
            continue
        enc = tokenizer([words[s:e] for s, e in wins], is_split_into_words=True, truncation=True, max_length=max_length)
        for k, (start, end) in enumerate(wins):
            local = enc.word_ids(k)
            feat = {"input_ids": enc["input_ids"][k], "attention_mask": enc["attention_mask"][k],
                    "word_ids": [None if w is None else start + w for w in local], "doc": d, "start": start,
                    "end": end, "owned": [j for j in range(start, end) if owners[j] == k]}
            if "token_type_ids" in enc:
                feat["token_type_ids"] = enc["token_type_ids"][k]
            if tags is not None:
                feat["labels"] = align_labels(local, [label2id[tags[d][j]] if owners[j] == k else IGNORE
                                                      for j in range(start, end)])
            feats.append(feat)
            stats["windows"] += 1
            stats["shrunk_for_piece_limit"] += end - start < window and end < len(words)
            stats["truncated"] += sum(counts[start:end]) > max_pieces
    return feats, stats


def predict_doc_tags(model, tokenizer, docs: List[List[str]], id2label: Dict[int, str], batch_size: int,
                     window: int, stride: int, max_length: int):
    """Tags per document from our batched forward loop over its windows
    (`encode_docs`, windows sorted by length): each word gets exactly one
    tag, its first piece's argmax in the window that owns it (O for a word
    without any piece). RETURNS (tags per document, number of words set to O
    for lack of a piece)."""
    feats, _ = encode_docs(tokenizer, docs, None, {}, window, stride, max_length)
    out = [["O"] * len(words) for words in docs]
    tagged = 0
    for i, row in forward_sorted(model, feats, tokenizer.pad_token_id, batch_size):
        first = first_piece_tags(feats[i]["word_ids"], row, id2label)
        for j in feats[i]["owned"]:
            if j in first:
                out[feats[i]["doc"]][j] = first[j]
                tagged += 1
    return out, sum(len(words) for words in docs) - tagged


def group_by_doc(sents, per_sent: Sequence[Sequence[str]], n_docs: int) -> List[List[str]]:
    """Per-sentence lists (words or tags) joined into per-document lists."""
    docs: List[List[str]] = [[] for _ in range(n_docs)]
    for (d, _, _), items in zip(sents, per_sent):
        docs[d].extend(items)
    return docs


def split_by_sents(sents, per_doc: Sequence[Sequence[str]]) -> List[List[str]]:
    """Per-document lists cut back into the sentences (the inverse of group_by_doc)."""
    offsets = [0] * len(per_doc)
    out = []
    for d, tokens, _ in sents:
        out.append(list(per_doc[d][offsets[d] : offsets[d] + len(tokens)]))
        offsets[d] += len(tokens)
    return out


def predict_split(model, tokenizer, sents, n_docs: int, id2label: Dict[int, str], args):
    """Tags per sentence of a split, with sentence or document-window inputs
    (args.context). RETURNS (tags per sentence, words set to O for lack of a piece)."""
    words = [t for _, t, _ in sents]
    if args.context != "doc":
        return predict_tags(model, tokenizer, words, id2label, args.infer_batch_size, args.max_length)
    tags, missing = predict_doc_tags(model, tokenizer, group_by_doc(sents, words, n_docs), id2label,
                                     args.infer_batch_size, args.window_words, args.stride_words, args.max_length)
    return split_by_sents(sents, tags), missing


def planned_steps(feat_words: Sequence[int], batch_size: int, epochs: int, word_budget: int, seed: int,
                  max_steps: int = 0) -> int:
    """How many steps the training loop takes within the word budget (and
    max_steps): it replays the loop's shuffles (same seed) and counts each
    batch's labelled words, for the schedule's last step."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    steps = words = 0
    for _ in range(epochs):
        perm = torch.randperm(len(feat_words), generator=gen).tolist()
        for b in range(0, len(perm), batch_size):
            if (max_steps and steps >= max_steps) or (word_budget and words >= word_budget):
                return steps
            words += sum(feat_words[i] for i in perm[b : b + batch_size])
            steps += 1
    return steps


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
    n_docs = {s: len(c.documents) for s, c in splits.items()}
    labels = label_list([lab for _, _, spans in sents["train"] for _, _, lab in spans])
    label2id = {t: i for i, t in enumerate(labels)}
    id2label = dict(enumerate(labels))
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForTokenClassification.from_pretrained(
        args.model, num_labels=len(labels), id2label=id2label, label2id=label2id
    )
    train_words = [t for _, t, _ in sents["train"]]
    train_tags = [spans_to_iob2(sp, len(t)) for _, t, sp in sents["train"]]
    inputs: Dict[str, Any] = {"context": args.context, "max_length_pieces": args.max_length}
    n_truncated_train = window_stats = None
    if args.context == "doc":
        feats, window_stats = encode_docs(
            tokenizer, group_by_doc(sents["train"], train_words, n_docs["train"]),
            group_by_doc(sents["train"], train_tags, n_docs["train"]), label2id,
            args.window_words, args.stride_words, args.max_length)
        feats = [f for f in feats if f["owned"]]  # a window that labels no word teaches nothing
        feat_words = [len(f["owned"]) for f in feats]
        inputs.update(window_words=args.window_words, stride_words=args.stride_words)
    else:
        feats = encode(tokenizer, train_words, train_tags, label2id, args.max_length)
        n_truncated_train = sum(1 for f, w in zip(feats, train_words) if len({i for i in f["word_ids"] if i is not None}) < len(w))
        feat_words = [len(w) for w in train_words]
    steps_per_epoch = math.ceil(len(feats) / args.batch_size)
    if args.word_budget:  # as many epochs as the budget needs; the schedule ends where the budget does
        epochs = math.ceil(args.word_budget / sum(feat_words))
        total = planned_steps(feat_words, args.batch_size, epochs, args.word_budget, args.seed, args.max_steps)
    else:
        epochs = args.epochs
        total = epochs * steps_per_epoch
        if args.max_steps:
            total = min(total, args.max_steps)
    warmup = min(args.warmup_steps, total)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    schedule = get_linear_schedule_with_warmup(optimizer, num_warmup_steps=warmup, num_training_steps=total)
    log: List[Dict[str, Any]] = []
    best = {"f1": -1.0, "state": None, "epoch": None, "step": None, "elapsed": None, "time": None}
    gen = torch.Generator().manual_seed(args.seed)
    start = time.perf_counter()
    train_seconds = eval_seconds = 0.0
    step, words_seen, bad_epochs, status = 0, 0, 0, "complete"

    def dev_eval(epoch: float) -> float:
        nonlocal eval_seconds
        t0 = time.perf_counter()
        tags, _ = predict_split(model, tokenizer, sents["dev"], n_docs["dev"], id2label, args)
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
    for epoch in range(1, epochs + 1):
        model.train()
        perm = torch.randperm(len(feats), generator=gen).tolist()
        for b in range(0, len(perm), args.batch_size):
            if args.max_seconds and time.perf_counter() - start > args.max_seconds:
                stop = "stopped at max-minutes"
                break
            if args.max_steps and step >= args.max_steps:
                stop = "max-steps"
                break
            if args.word_budget and words_seen >= args.word_budget:
                stop = f"word budget ({args.word_budget:,} words)"
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
            words_seen += sum(feat_words[i] for i in idx)
            train_seconds += time.perf_counter() - t0
        if stop:
            if not log or log[-1]["step"] != step:
                dev_eval(round(epoch - 1 + (b / len(perm)), 3))
            break
        if dev_eval(epoch):
            bad_epochs = 0
        else:
            bad_epochs += 1
            if args.patience and bad_epochs >= args.patience:
                stop = f"early stopping (no dev improvement for {bad_epochs} epoch)"
                break
    if stop is None and args.word_budget and words_seen >= args.word_budget:  # spent at an epoch's end
        stop = f"word budget ({args.word_budget:,} words)"
    if stop == "stopped at max-minutes":
        status = stop
    wall = time.perf_counter() - start
    model.load_state_dict(best["state"])
    result: Dict[str, Any] = {
        "status": status,
        "stop_reason": stop or f"{epochs} epochs",
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
            "inputs": inputs,
            "train_windows": window_stats,
            "labelled_words_per_epoch": sum(feat_words),
            "epochs_planned": epochs,
            "word_budget": args.word_budget or None,
            "schedule_steps": total,
            "warmup_steps": warmup,
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
        tags, missing = predict_split(model, tokenizer, sents[split], n_docs[split], id2label, args)
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
                "method": ("our batched forward loop, torch.inference_mode(), sentences sorted by length"
                           if args.context != "doc" else
                           f"our batched forward loop over document windows ({args.window_words} words, stride "
                           f"{args.stride_words}, <= {args.max_length} pieces), torch.inference_mode(), windows "
                           "sorted by length"),
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
    p.add_argument("--context", choices=("sentence", "doc"), default="sentence",
                   help="inputs: one sentence each (the seed) or document windows (see module docstring)")
    p.add_argument("--window-words", type=int, default=128, help="--context doc: words per window")
    p.add_argument("--stride-words", type=int, default=96, help="--context doc: words between window starts")
    p.add_argument("--max-length", type=int, default=None,
                   help="pieces per input with the special tokens (default: 128 sentence, 512 doc)")
    p.add_argument("--warmup-steps", type=int, default=0, help="linear warmup steps before the linear decay")
    p.add_argument("--word-budget", type=int, default=0,
                   help="stop after this many training words (labelled words, no padding; 0: --epochs)")
    args = p.parse_args(argv)
    if args.max_length is None:
        args.max_length = 512 if args.context == "doc" else MAX_LENGTH
    if not 1 <= args.stride_words <= args.window_words:
        p.error("need 1 <= --stride-words <= --window-words")
    return args


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    result = train(args)
    from benchmarks.measure import self_peak_rss_mb

    result["peak_rss_mb_self"] = self_peak_rss_mb()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2), encoding="utf8")


if __name__ == "__main__":
    sys.exit(main())
