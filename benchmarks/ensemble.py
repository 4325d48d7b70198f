"""How much an ensemble of our own pipelines gains (issue: the levers toward 91 F1):
the upper bound that self-distillation into one model could reach.

Each pipeline (token head, same labels) tags the gold-tokenized docs of a CoNLL
file; the ensemble averages their tag probabilities token by token and decodes
the mean with the head's constrained Viterbi (sentence starts kept, blank
tokens "O"). Chosen on dev, reported on test; nothing is retrained.

    python benchmarks/ensemble.py benchmarks/work/default/output/model-best \
        benchmarks/work/default_averages/output/model-best \
        --dev ../shared/data/conll2003/eng.testa --test ../shared/data/conll2003/eng.testb \
        --out benchmarks/results/ensemble_dev --note "nothing else running"

Writes OUT.json and OUT.md (machine with its CPU flags, versions, command).
"""
import argparse
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.measure import add_dev_test_args, run_lines, score_dev_test  # noqa: E402


def tag_probs(model: str, gold: Sequence, batch_size: int = 64):
    """The pipeline's predicted docs and, per doc, its (n_tokens, n_tags) tag
    probabilities as its decoder sees them (temperature 1, blank tokens "O")."""
    import spacy

    from nerkit.scoring import predict

    nlp = spacy.load(model)
    ner = nlp.get_pipe("ner")
    seen: List[numpy.ndarray] = []
    logits = ner.logits
    ner.logits = lambda docs: seen.extend(logits(docs)) or seen[-len(docs):]
    docs, _ = predict(nlp, gold, batch_size=batch_size)
    return nlp, docs, [numpy.exp(ner.log_probs(doc, x)) for doc, x in zip(docs, seen)]


def score_file(models: Sequence[str], path: str) -> List[Dict[str, Any]]:
    """Each pipeline's and the ensemble's conlleval-exact scores on one CoNLL file."""
    import spacy

    from nerkit.conll import conll_to_docs, read_conll
    from nerkit.scoring import build_report
    from nerkit.scoring.predict import cut_ents_at_sentences

    gold = conll_to_docs(read_conll(path), spacy.blank("en").vocab)
    rows, probs, tags = [], [], None
    for model in models:
        nlp, docs, p = tag_probs(model, gold)
        ner = nlp.get_pipe("ner")
        if tags not in (None, ner.tags):
            raise ValueError(f"{model}: tags {ner.tags} differ from {tags}")
        tags = ner.tags
        micro = build_report(gold, docs, n_bootstrap=0, n_examples=0)["entity"]["micro"]
        rows.append({"system": model, "seed": nlp.config["system"]["seed"],
                     **{k: micro[k] for k in ("precision", "recall", "f1")}})
        print(f"[ensemble] {path}: {model}: F1 {100 * micro['f1']:.2f}", flush=True)
        probs.append(p)
    decoded = [ner.decode(doc, numpy.log(numpy.mean(per_doc, axis=0) + 1e-30), scores=False)
               for doc, *per_doc in zip(docs, *probs)]
    ner.set_annotations(docs, decoded)
    for doc in docs:
        cut_ents_at_sentences(doc)
    micro = build_report(gold, docs, n_bootstrap=0, n_examples=0)["entity"]["micro"]
    rows.append({"system": f"mean of the {len(models)} tag distributions", **{k: micro[k] for k in ("precision", "recall", "f1")}})
    print(f"[ensemble] {path}: ensemble: F1 {100 * micro['f1']:.2f}", flush=True)
    return rows


def to_markdown(result: Dict[str, Any]) -> str:
    dev, test = result["dev"], result["test"]
    best = max(dev[:-1], key=lambda row: row["f1"])
    lines = [
        "# An ensemble of our own pipelines (the ceiling for self-distillation)",
        "",
        f"Dev `{result['dev_file']}`, test `{result['test_file']}`; gold tokens and sentence starts; "
        f"conlleval-exact F1 in %. The ensemble averages the pipelines' tag probabilities and decodes "
        f"the mean with the same constrained Viterbi. Δ: against the best single pipeline on dev (`{best['system']}`).",
        "",
        "| system | dev F1 | Δ dev | test F1 | Δ test | test P | test R |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    ref = dev.index(best)
    for d, t in zip(dev, test):
        lines.append(f"| `{d['system']}` | {100 * d['f1']:.2f} | {100 * (d['f1'] - dev[ref]['f1']):+.2f} | "
                     f"{100 * t['f1']:.2f} | {100 * (t['f1'] - test[ref]['f1']):+.2f} | "
                     f"{100 * t['precision']:.2f} | {100 * t['recall']:.2f} |")
    seeds = [row["seed"] for row in dev if "seed" in row]
    if seeds:
        lines += ["", f"Training seeds: {', '.join(map(str, seeds))}. Pipelines that share a seed share their "
                  "initialisation and batch order, so they disagree less than pipelines of different seeds would."]
    return "\n".join([*lines, "", *run_lines(result)]) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", help="trained pipelines with a token head (trained on train only)")
    add_dev_test_args(parser, "benchmarks/results/ensemble_dev")
    args = parser.parse_args(argv)
    if len(args.models) < 2:
        parser.error("an ensemble needs two pipelines or more")
    return score_dev_test("ensemble.py", argv, args, {"models": args.models},
                          lambda path: score_file(args.models, path), to_markdown)


if __name__ == "__main__":
    main()
