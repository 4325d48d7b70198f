"""Score a pipeline on a test file and write the report files (``nerkit evaluate``):
``evaluate`` on the loaded test set, the predictions file for conlleval, and
conlleval's own numbers beside the report's where a command is given."""
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple, Union

from .conlleval import compare, run_conlleval
from .predict import load_docs, write_predictions
from .render import write_report
from .report import evaluate


def evaluate_pipeline(
    pipeline: Union[str, Path],
    test_data: Union[str, Path],
    output_prefix: Union[str, Path],
    *,
    predictions: Optional[Path] = None,
    conlleval: Optional[str] = None,
    gpu_id: int = -1,
    batch_size: int = 64,
    raw_text: bool = False,
    sentence_starts: bool = True,
    n_examples: int = 10,
    n_bootstrap: int = 1000,
    seed: int = 0,
    log: Callable[[str], Any] = lambda text: None,
) -> Tuple[Dict[str, Any], Dict[str, Path]]:
    """Load PIPELINE (``spacy.load``), score it on TEST_DATA (a ``.spacy``
    DocBin or a CoNLL file) and write OUTPUT_PREFIX.json, .md and .html, and
    the ``token gold predicted`` file to PREDICTIONS where given. With
    CONLLEVAL (a command, run on the predictions file) the report's
    ``conlleval`` entry holds its counts and ``agrees``/``mismatches``.

    RETURNS (Tuple[Dict[str, Any], Dict[str, Path]]): The report and the written paths (``write_report``).
    RAISES ValueError: CONLLEVAL without PREDICTIONS (before any work).
    """
    import spacy

    if conlleval and predictions is None:
        raise ValueError("--conlleval needs --predictions: conlleval reads the predictions file")
    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
    nlp = spacy.load(pipeline)
    gold_docs = load_docs(test_data, nlp.vocab)
    log(f"Evaluating {pipeline} on {len(gold_docs)} docs from {test_data}")
    report, pred_docs = evaluate(
        nlp, gold_docs, batch_size=batch_size, sentence_starts=sentence_starts, raw_text=raw_text,
        pipeline=str(pipeline), test_data=str(test_data), n_examples=n_examples, n_bootstrap=n_bootstrap, seed=seed,
    )
    if predictions is not None:
        write_predictions(predictions, gold_docs, pred_docs)
        log(f"Predictions: {predictions}")
    if conlleval:
        result = run_conlleval(predictions, conlleval)
        mismatches = compare(report, result)
        report["conlleval"] = {"command": result["command"], "agrees": not mismatches, "mismatches": mismatches,
                               **{k: result[k] for k in ("tokens", "gold", "found", "correct", "per_type")}}
    return report, write_report(report, output_prefix)
