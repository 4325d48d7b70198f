"""Document-level label consistency as a post-processing lever (issue: the levers toward 91 F1):
the same string tagged alike across a document, scored on dev (to choose) and test (to report).

Within one document a name usually keeps its type ("Jordan" the country in one
sentence is the country in the next). `consistent_ents` takes the entities a
tagger predicted in a doc and (1) relabels each mention to its string's majority
label over the document (votes weighted by `ent._.score` where given) and
(2) tags the string's other occurrences that no entity covers, inside a sentence,
with that label. Strings are compared token by token, case kept. Nothing is retrained:
one prediction pass per file, then each variant on copies of the predicted docs.

    python benchmarks/doc_consistency.py training/conll03/minilm_tokner_case_goldtok/model-best \
        --dev ../shared/data/conll2003/eng.testa --test ../shared/data/conll2003/eng.testb \
        --out benchmarks/results/doc_consistency --note "nothing else running"

Writes OUT.json and OUT.md (machine with its CPU flags, versions, command).
"""
import argparse
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from spacy.tokens import Doc, Span

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.measure import add_dev_test_args, run_lines, score_dev_test  # noqa: E402
from nerkit.ents import ent_score  # noqa: E402

Key = Tuple[str, ...]


def _key(span: Span) -> Key:
    return tuple(token.text for token in span)


def _votes(ents: Sequence[Span]) -> Dict[Key, Counter]:
    votes: Dict[Key, Counter] = defaultdict(Counter)
    for ent in ents:
        score = ent_score(ent)
        votes[_key(ent)][ent.label_] += 1.0 if score is None else score
    return votes


def _majority(counter: Counter, own: Optional[str] = None) -> str:
    """The label with the most votes; a tie keeps `own` (else the first seen)."""
    top = max(counter.values())
    tied = [label for label, votes in counter.items() if votes == top]
    return own if own in tied else tied[0]


def _occurrences(doc: Doc, key: Key) -> List[int]:
    n = len(key)
    return [i for i in range(len(doc) - n + 1)
            if doc[i].text == key[0] and all(doc[i + k].text == key[k] for k in range(1, n))]


def _in_one_sentence(doc: Doc, start: int, end: int) -> bool:
    return not doc.has_annotation("SENT_START") or not any(doc[i].is_sent_start for i in range(start + 1, end))


def consistent_ents(doc: Doc, relabel: bool = True, propagate: bool = True, min_chars: int = 2) -> List[Span]:
    """The doc's entities made consistent: each mention with its string's
    majority label (`relabel`), and each uncovered occurrence of a predicted
    string of at least `min_chars` characters, inside one sentence, added
    (`propagate`). The doc is not changed; RETURNS the new entities."""
    ents = list(doc.ents)
    votes = _votes(ents)
    out = [Span(doc, e.start, e.end, label=_majority(votes[_key(e)], e.label_)) if relabel else e for e in ents]
    if propagate:
        covered = [False] * len(doc)
        for ent in ents:
            covered[ent.start:ent.end] = [True] * len(ent)
        for key in sorted(votes, key=len, reverse=True):  # longest first: "New York Times" before "New York"
            if len(" ".join(key)) < min_chars:
                continue
            label = _majority(votes[key])
            for start in _occurrences(doc, key):
                end = start + len(key)
                if not any(covered[start:end]) and _in_one_sentence(doc, start, end):
                    out.append(Span(doc, start, end, label=label))
                    covered[start:end] = [True] * len(key)
    return sorted(out, key=lambda span: span.start)


VARIANTS: Dict[str, Optional[Dict[str, Any]]] = {
    "as predicted": None,
    "relabel to the majority": {"propagate": False},
    "propagate to uncovered occurrences": {"relabel": False},
    "relabel and propagate": {},
    "relabel and propagate, strings of 4+ characters": {"min_chars": 4},
}


def score_variants(model: str, path: str, batch_size: int = 64) -> List[Dict[str, Any]]:
    """Each variant's conlleval-exact scores on one CoNLL file (gold tokens and sentence starts)."""
    import spacy

    from nerkit.conll import conll_to_docs, read_conll
    from nerkit.scoring import build_report, predict

    nlp = spacy.load(model)
    gold = conll_to_docs(read_conll(path), nlp.vocab)
    predicted, _ = predict(nlp, gold, batch_size=batch_size)
    rows = []
    for name, options in VARIANTS.items():
        docs = predicted
        if options is not None:
            docs = [doc.copy() for doc in predicted]
            for doc, source in zip(docs, predicted):
                doc.ents = consistent_ents(source, **options)
        micro = build_report(gold, docs, n_bootstrap=0, n_examples=0)["entity"]["micro"]
        rows.append({"variant": name, "options": options, **{k: micro[k] for k in ("precision", "recall", "f1")}})
        print(f"[doc_consistency] {path}: {name}: F1 {100 * micro['f1']:.2f}", flush=True)
    return rows


def to_markdown(result: Dict[str, Any]) -> str:
    dev, test = result["dev"], result["test"]
    best = max(dev, key=lambda row: row["f1"])
    lines = [
        "# Document-level label consistency (post-processing, no retraining)",
        "",
        f"Pipeline `{result['model']}`; chosen on dev (`{result['dev_file']}`), reported on test "
        f"(`{result['test_file']}`); gold tokens and sentence starts; conlleval-exact F1 in %. "
        f"Best on dev: **{best['variant']}**" + (" (nothing changed wins)." if best is dev[0] else "."),
        "",
        "| variant | dev F1 | Δ dev | test F1 | Δ test | test P | test R |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for d, t in zip(dev, test):
        lines.append(f"| {d['variant']} | {100 * d['f1']:.2f} | {100 * (d['f1'] - dev[0]['f1']):+.2f} | "
                     f"{100 * t['f1']:.2f} | {100 * (t['f1'] - test[0]['f1']):+.2f} | "
                     f"{100 * t['precision']:.2f} | {100 * t['recall']:.2f} |")
    return "\n".join([*lines, "", *run_lines(result)]) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="trained pipeline (selected on dev)")
    add_dev_test_args(parser, "benchmarks/results/doc_consistency")
    args = parser.parse_args(argv)
    return score_dev_test("doc_consistency.py", argv, args, {"model": args.model},
                          lambda path: score_variants(args.model, path), to_markdown)


if __name__ == "__main__":
    main()
