"""Token-level table over IOB2 tags (per-tag P/R/F1/support and averages).

This is *token* accuracy, not entity F1: a 5-token entity with one wrong token
is 4/5 right here and simply wrong at entity level. The "O" tag gets a row, but
the micro/macro/weighted averages are over the entity tags only (like sklearn's
`classification_report(..., labels=<entity tags>)`); `accuracy` counts every
token, "O" included.
"""
from collections import Counter
from typing import Dict, Iterable, List, Sequence, Tuple

from .entities import prf


def spans_to_tags(spans: Iterable[Tuple[int, int, str]], n_tokens: int) -> List[str]:
    """IOB2 tags for `n_tokens` tokens from (start, end, label) spans. Where
    spans overlap (only possible for misaligned predictions), later ones win.
    """
    tags = ["O"] * n_tokens
    for start, end, label in spans:
        for i in range(start, min(end, n_tokens)):
            tags[i] = ("B-" if i == start else "I-") + label
    return tags


def _tag_order(tag: str) -> Tuple[int, str, int]:
    # entity tags grouped by type (B before I), "O" last
    if tag == "O":
        return (1, "", 0)
    prefix, _, label = tag.partition("-")
    return (0, label, 0 if prefix == "B" else 1)


def score_tokens(
    gold_tags: Sequence[Sequence[str]], pred_tags: Sequence[Sequence[str]]
) -> Dict:
    """Per-tag precision/recall/F1/support over aligned tag sequences.

    gold_tags (Sequence[Sequence[str]]): Gold IOB2 tags, one list per doc.
    pred_tags (Sequence[Sequence[str]]): Predicted tags on the same tokens.
    RETURNS (Dict): {"per_tag": {tag: row}, "averages": {"micro", "macro",
        "weighted"}, "accuracy", "n_tokens", "averaged_over"}; a row has
        precision, recall, f1, support (gold tokens with that tag).
    """
    tp: Counter = Counter()
    n_pred: Counter = Counter()
    n_gold: Counter = Counter()
    n_tokens = 0
    for g_seq, p_seq in zip(gold_tags, pred_tags):
        if len(g_seq) != len(p_seq):
            raise ValueError("Gold and predicted tag sequences differ in length")
        for g, p in zip(g_seq, p_seq):
            n_tokens += 1
            n_gold[g] += 1
            n_pred[p] += 1
            if g == p:
                tp[g] += 1
    tags = sorted(set(n_gold) | set(n_pred), key=_tag_order)
    per_tag = {}
    for tag in tags:
        row = prf(tp[tag], n_pred[tag] - tp[tag], n_gold[tag] - tp[tag])
        per_tag[tag] = {**row, "support": n_gold[tag]}
    ent_tags = [t for t in tags if t != "O"]
    # micro over entity tags: pooled counts of those tags only
    s_tp = sum(tp[t] for t in ent_tags)
    micro = prf(
        s_tp,
        sum(n_pred[t] for t in ent_tags) - s_tp,
        sum(n_gold[t] for t in ent_tags) - s_tp,
    )
    support = sum(n_gold[t] for t in ent_tags)
    macro, weighted = {}, {}
    for k in ("precision", "recall", "f1"):
        vals = [per_tag[t][k] for t in ent_tags]
        macro[k] = sum(vals) / len(vals) if vals else 0.0
        weighted[k] = (
            sum(per_tag[t][k] * n_gold[t] for t in ent_tags) / support
            if support
            else 0.0
        )
    return {
        "per_tag": per_tag,
        "averages": {
            "micro": {**micro, "support": support},
            "macro": {**macro, "support": support},
            "weighted": {**weighted, "support": support},
        },
        "averaged_over": "entity tags (all tags except O)",
        "accuracy": sum(tp.values()) / n_tokens if n_tokens else 0.0,
        "n_tokens": n_tokens,
    }
