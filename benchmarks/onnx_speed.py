"""PyTorch against ONNX Runtime for one trained pipeline, in one run: words/s of
`nlp.pipe` for the pipeline in PyTorch float32, its ONNX float32 copy and its
ONNX int8 copy (`nerkit onnx`, nerkit.OnnxTransformerModel.v1), on the same
gold-tokenized documents with the same threads (torch's, which the ONNX Runtime
sessions take as their intra-op threads), with test F1 (conlleval-exact) and
the share of PyTorch's entities each copy finds.

Words/s: the median of --repeats timed passes after a warm-up on the first
documents (the first pass is also the scored one). The ONNX copies are made
from MODEL into a temporary folder unless --onnx / --int8 name existing ones.

    python benchmarks/onnx_speed.py training/conll03-package/minilm_tokner_case_goldtok \
        ../shared/data/conll2003/eng.testb --threads 2 --out benchmarks/results/onnx_speed \
        --note "nothing else running"
    # smoke check on a few hundred sentences of the sample corpus (results out of the tree)
    python benchmarks/onnx_speed.py MODEL corpus/sample/test.conll --limit-sents 300 --repeats 2 \
        --out /tmp/onnx_speed

Writes OUT.json and OUT.md (machine with its CPU flags, versions, command).
"""
import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.measure import dir_size_mb, now, run_lines, run_record, write_results  # noqa: E402

SYSTEMS = ("pytorch-float32", "onnx-float32", "onnx-int8")


def gold_documents(path: str, vocab, limit_sents: Optional[int]) -> List:
    """The gold Docs of a CoNLL file (its first `limit_sents` sentences) or a .spacy file."""
    if path.endswith(".spacy"):
        from spacy.tokens import DocBin

        docs = list(DocBin().from_disk(path).get_docs(vocab))
        if limit_sents:  # whole docs until the sentences are reached
            kept, left = [], limit_sents
            for doc in docs:
                if left <= 0:
                    break
                kept.append(doc)
                left -= max(1, len(list(doc.sents)) if doc.has_annotation("SENT_START") else 1)
            docs = kept
        return docs
    from benchmarks.data import gold_docs, load_split

    return gold_docs(load_split(path, limit_sents), vocab)


def entity_keys(docs) -> set:
    return {(i, ent.start, ent.end, ent.label_) for i, doc in enumerate(docs) for ent in doc.ents}


def onnx_threads(nlp) -> Optional[int]:
    """The intra-op threads of the pipeline's ONNX Runtime session (None where PyTorch runs it)."""
    from nerkit.components.onnx_runtime import OnnxTransformer

    model = nlp.get_pipe("transformer").model.layers[0].shims[0]._model
    return model.session.get_session_options().intra_op_num_threads if isinstance(model, OnnxTransformer) else None


def measure(paths: Dict[str, str], test_path: str, limit_sents: Optional[int], repeats: int, batch_size: int,
            warmup_docs: int = 8) -> List[Dict[str, Any]]:
    """Score and time each system on the same documents (after a warm-up)."""
    import spacy
    import torch

    from nerkit.components.precision import FLOAT32
    from nerkit.scoring import evaluate, predict

    rows, reference = [], None
    for system in SYSTEMS:
        nlp = spacy.load(paths[system], config=FLOAT32 if system == "pytorch-float32" else {})
        gold = gold_documents(test_path, nlp.vocab, limit_sents)
        starts = all(doc.has_annotation("SENT_START") for doc in gold)
        evaluate(nlp, gold[:warmup_docs], batch_size=batch_size, sentence_starts=starts, n_bootstrap=0)
        report, predicted = evaluate(nlp, gold, batch_size=batch_size, sentence_starts=starts, n_bootstrap=0)
        passes = [report["speed"]["seconds"]]
        passes += [predict(nlp, gold, batch_size=batch_size, sentence_starts=starts)[1] for _ in range(repeats - 1)]
        found = entity_keys(predicted)
        reference = found if reference is None else reference
        rows.append({
            "system": system, "model": paths[system], "n_docs": len(gold), "n_words": report["speed"]["n_words"],
            "words_per_second": report["speed"]["n_words"] / statistics.median(passes), "pass_seconds": passes,
            "f1": report["entity"]["micro"]["f1"], "n_entities": len(found),
            "pytorch_entities_found": len(found & reference) / len(reference) if reference else None,
            "torch_threads": torch.get_num_threads(), "onnx_threads": onnx_threads(nlp),
            "transformer_mb": dir_size_mb(Path(paths[system]) / "transformer"),
        })
        print(f"[onnx-speed] {system}: F1 {100 * rows[-1]['f1']:.2f}, {rows[-1]['words_per_second']:,.0f} words/s "
              f"(passes: {', '.join(f'{t:.2f}' for t in passes)} s)", flush=True)
    return rows


def to_markdown(result: Dict[str, Any]) -> str:
    rows = result["rows"]
    base = rows[0]
    lines = [
        "# Transformer in PyTorch and in ONNX Runtime, one run",
        "",
        f"Pipeline `{result['model']}`, test file `{result['test']}`"
        f"{' (first ' + str(result['limit_sents']) + ' sentences)' if result['limit_sents'] else ''}, "
        f"{base['n_words']:,} words in {base['n_docs']} documents; `nlp.pipe` batch {result['batch_size']}, "
        f"{base['torch_threads']} threads; words/s from the median of {result['repeats']} pass(es) after a warm-up.",
        "",
        *run_lines(result),
        "",
        "| system | test F1 | Δ F1 | PyTorch's entities found | words/s | × PyTorch | transformer MB |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        found = "–" if r["pytorch_entities_found"] is None else f"{100 * r['pytorch_entities_found']:.1f}%"
        size = "–" if r["transformer_mb"] is None else f"{r['transformer_mb']:.1f}"
        lines.append(
            f"| {r['system']} | {100 * r['f1']:.2f} | {100 * (r['f1'] - base['f1']):+.2f} | {found} "
            f"| {r['words_per_second']:,.0f} | {r['words_per_second'] / base['words_per_second']:.2f} | {size} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="trained float pipeline with a 'transformer' component")
    p.add_argument("test", help="gold test data: a CoNLL file or a .spacy DocBin")
    p.add_argument("--onnx", help="its ONNX float32 copy (nerkit onnx); default: made here")
    p.add_argument("--int8", help="its ONNX int8 copy (nerkit onnx --int8); default: made here")
    p.add_argument("--limit-sents", type=int, default=0, help="only the first N sentences (0: all)")
    p.add_argument("--threads", type=int, default=0, help="torch and ONNX Runtime threads (0: torch's default)")
    p.add_argument("--batch-size", type=int, default=64, help="nlp.pipe batch size")
    p.add_argument("--repeats", type=int, default=3, help="timed passes per system (words/s from the median)")
    p.add_argument("--out", default="benchmarks/results/onnx_speed", help="OUT.json and OUT.md")
    p.add_argument("--note", default="not stated", help="what else ran on the machine")
    args = p.parse_args(argv)
    if args.repeats < 1 or args.threads < 0:
        p.error("--repeats must be at least 1 and --threads not negative")
    import torch

    from nerkit.components.onnx_runtime import onnx_pipeline

    if args.threads:
        torch.set_num_threads(args.threads)  # before any session is made: they take torch's count
    started = now()
    with tempfile.TemporaryDirectory(prefix="onnx_speed_") as tmp:
        onnx = args.onnx or str(Path(tmp) / "onnx")
        if not args.onnx:
            onnx_pipeline(args.model, Path(onnx))
        int8 = args.int8 or str(Path(tmp) / "onnx_int8")
        if not args.int8:
            onnx_pipeline(onnx, Path(int8), int8=True)  # quantizes the float32 export
        paths = {"pytorch-float32": args.model, "onnx-float32": onnx, "onnx-int8": int8}
        rows = measure(paths, args.test, args.limit_sents, args.repeats, args.batch_size)
    for row in rows:  # the temporary copies are gone: say what they were
        row["model"] = row["model"] if row["model"] in (args.model, args.onnx, args.int8) else f"(made from {args.model})"
    result = {"model": args.model, "test": args.test, "limit_sents": args.limit_sents or None,
              "batch_size": args.batch_size, "repeats": args.repeats, "rows": rows,
              **run_record("onnx_speed.py", argv, args.note, started)}
    write_results(args.out, result, to_markdown, "onnx-speed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
