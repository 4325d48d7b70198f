"""Benchmark data: CoNLL splits (optionally cut to their first N sentences) as
nerkit ConllFiles, gold docs and DocBins, and the compact score summary that
part files keep from a nerkit.scoring report."""
from dataclasses import replace
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from nerkit.conll import ConllFile, conll_to_docs, read_conll, write_conll, write_docbin

# split -> file name inside --conll-dir
CONLL03_NAMES = {"train": "eng.train", "dev": "eng.testa", "test": "eng.testb"}
SPLITS = ("train", "dev", "test")


def load_split(path: Union[str, Path], limit_sents: Optional[int] = None) -> ConllFile:
    """Read a CoNLL file (scheme detected: eng.* are IOB1) and keep its first
    `limit_sents` sentences (document boundaries kept; 0/None: all)."""
    conll = read_conll(path)
    if not limit_sents:
        return conll
    docs, left = [], limit_sents
    for doc in conll.documents:
        if left <= 0:
            break
        docs.append(replace(doc, sentences=doc.sentences[:left]))
        left -= len(docs[-1].sentences)
    return replace(conll, documents=docs)


def gold_docs(conll: ConllFile, vocab) -> List:
    """One spaCy Doc per document, sentence starts and gold entities set."""
    return conll_to_docs(conll, vocab)


def sentences(conll: ConllFile) -> List[Tuple[int, List[str], List[Tuple[int, int, str]]]]:
    """(document index, tokens, spans) per sentence, in corpus order."""
    return [
        (d, sent.tokens, list(sent.spans))
        for d, doc in enumerate(conll.documents)
        for sent in doc.sentences
    ]


def write_docbins(
    paths: Dict[str, Path], out_dir: Path, limit_sents: Optional[int], vocab, *, conll: bool = False,
    train_dev: bool = False,
) -> Dict[str, Dict[str, Any]]:
    """Convert each split to out_dir/<split>.spacy and, with `conll`, to
    out_dir/<split>.conll (IOB2, the same documents and sentences: for
    training on gold tokens); with `train_dev` also the split "train_dev",
    train's documents then dev's (for a final model); RETURNS counts per split
    (docs, sentences, words, entities) with the paths."""
    out: Dict[str, Dict[str, Any]] = {}
    files = {split: load_split(path, limit_sents) for split, path in paths.items()}
    if train_dev:
        files["train_dev"] = replace(files["train"], documents=files["train"].documents + files["dev"].documents)
    sources = {**{split: str(path) for split, path in paths.items()}, "train_dev": f"{paths['train']} + {paths['dev']}"}
    for split, conll_file in files.items():
        docs = gold_docs(conll_file, vocab)
        target = Path(out_dir) / f"{split}.spacy"
        write_docbin(docs, target)
        out[split] = {"source": sources[split], "spacy": str(target), **counts(conll_file)}
        if conll:
            write_conll(docs, target.with_suffix(".conll"))
            out[split]["conll"] = str(target.with_suffix(".conll"))
    return out


def counts(conll: ConllFile) -> Dict[str, int]:
    sents = conll.sentences
    return {
        "docs": len(conll.documents),
        "sentences": len(sents),
        "words": sum(len(s.tokens) for s in sents),
        "entities": sum(len(s.spans) for s in sents),
    }


def summarize(report: Dict[str, Any], *, per_type: bool = True) -> Dict[str, Any]:
    """The figures a part file keeps from a full nerkit.scoring report:
    conlleval-exact micro P/R/F1, per-type rows, counts, bootstrap interval
    and the inference speed that `evaluate` measured."""
    ent = report["entity"]
    out: Dict[str, Any] = {
        "precision": ent["micro"]["precision"],
        "recall": ent["micro"]["recall"],
        "f1": ent["micro"]["f1"],
        "n_words": report["meta"]["n_words"],
        "n_sents": report["meta"]["n_sents"],
        "n_gold_ents": report["meta"]["n_gold_ents"],
        "n_pred_ents": report["meta"]["n_pred_ents"],
    }
    if per_type:
        out["per_type"] = {
            label: {k: row[k] for k in ("precision", "recall", "f1", "support")}
            for label, row in ent["per_type"].items()
        }
    boot = report.get("bootstrap") or {}
    if "f1_ci95" in boot:
        out["f1_ci95"] = boot["f1_ci95"]
    return out


def ents_to_docs(gold: Sequence, spans_per_doc: Sequence[Sequence[Tuple[int, int, str]]], vocab) -> List:
    """Prediction docs: the gold words with the given (start, end, label) ents."""
    from spacy.tokens import Doc, Span

    preds = []
    for g, spans in zip(gold, spans_per_doc):
        doc = Doc(vocab, words=[t.text for t in g], spaces=[bool(t.whitespace_) for t in g])
        doc.set_ents([Span(doc, s, e, label=lab) for s, e, lab in spans], default="outside")
        preds.append(doc)
    return preds
