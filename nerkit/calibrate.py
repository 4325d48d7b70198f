"""Temperature scaling of the token head's entity scores (``nerkit calibrate``).

The head's probabilities come from forward-backward over its tag
log-probabilities, log-softmax(logits / T). Fitting T on a dev set makes
``ent._.score`` say how often such an entity is right: T > 1 softens an
overconfident model, T < 1 sharpens a timid one. The entities never change:
decoding always uses the logits as they are (T only enters the scores).

The objective is the negative log-likelihood of the outcome of each
predicted entity, correct (gold has exactly that span and label) or not,
under its score: -mean(y log p + (1 - y) log(1 - p)). That is the quantity
``ent._.score`` claims to be, scored on the entities users get; a token-level
NLL would calibrate the per-token tag distribution instead, which only
indirectly sets the probability of a whole span. T is searched in log space
by golden-section search (no optional dependency, deterministic; the NLL of
one scalar is smooth and in practice unimodal) within [0.05, 20].
"""
import math
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy
from spacy.language import Language
from spacy.tokens import Doc

from .components.token_ner import TokenNER
from .components.viterbi import tags_to_spans
from .scoring.calibration import reliability
from .scoring.predict import input_doc

BOUNDS = (0.05, 20.0)
EPS = 1e-12


@dataclass
class DevSpans:
    """One dev doc as the head saw it: the doc (tokens, sentence starts), its
    tag logits, its predicted entities and whether each is correct."""

    doc: Doc
    logits: numpy.ndarray
    spans: List[Tuple[int, int, str]]
    correct: List[bool]


def scoring_head(nlp: Language) -> str:
    """The name of the pipeline's token head (`nerkit_token_ner`), the last if several.

    RAISES ValueError: If it has none.
    """
    names = [name for name, pipe in nlp.pipeline if isinstance(pipe, TokenNER)]
    if not names:
        raise ValueError("The pipeline has no nerkit_token_ner component: only its entity scores can be "
                         "calibrated (spaCy's transition-based ner gives none)")
    return names[-1]


def collect(nlp: Language, gold_docs: Sequence[Doc], head: str, batch_size: int = 64) -> List[DevSpans]:
    """Run the pipeline up to the head on the gold tokens and sentence starts
    of each dev doc, in batches, and keep what the temperature search needs."""
    pipe = nlp.get_pipe(head)
    before = nlp.pipe_names[: nlp.pipe_names.index(head)]
    out: List[DevSpans] = []
    for k in range(0, len(gold_docs), batch_size):
        golds = gold_docs[k : k + batch_size]
        with nlp.select_pipes(enable=before):
            docs = list(nlp.pipe((input_doc(nlp.vocab, g) for g in golds), batch_size=batch_size))
        for gold, doc, logits in zip(golds, docs, pipe.logits(docs)):
            spans = tags_to_spans(pipe.decode(doc, logits, scores=False).path, pipe.tags)
            expected = {(e.start, e.end, e.label_) for e in gold.ents}
            out.append(DevSpans(input_doc(nlp.vocab, gold), logits, spans, [s in expected for s in spans]))
    return out


def span_scores(pipe: TokenNER, dev: Sequence[DevSpans], temperature: float) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """The score of every predicted dev entity at `temperature`, and its outcome."""
    scores, outcomes = [], []
    labels = list(pipe.labels)
    for item in dev:
        if not item.spans:
            continue
        probs = pipe.span_probs(item.doc, item.logits, [(s, e) for s, e, _ in item.spans], temperature)
        scores.extend(row[labels.index(label)] for (_, _, label), row in zip(item.spans, probs))
        outcomes.extend(item.correct)
    return numpy.asarray(scores, dtype="float64"), numpy.asarray(outcomes, dtype=bool)


def nll(scores: numpy.ndarray, outcomes: numpy.ndarray) -> float:
    """Mean negative log-likelihood of the outcomes under the scores."""
    p = numpy.clip(scores, EPS, 1 - EPS)
    return float(-numpy.where(outcomes, numpy.log(p), numpy.log1p(-p)).mean()) if len(p) else 0.0


def golden_section(f: Callable[[float], float], lo: float, hi: float, tol: float = 1e-4) -> float:
    """The minimiser of `f` on [lo, hi] (unimodal), within `tol`."""
    ratio = (math.sqrt(5) - 1) / 2
    a, b = lo, hi
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = f(c), f(d)
    while b - a > tol:
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = f(d)
    return (a + b) / 2


def calibrate(
    nlp: Language, gold_docs: Sequence[Doc], *, batch_size: int = 64, head: Optional[str] = None
) -> Dict[str, Any]:
    """Fit the head's temperature on gold docs and set it (`cfg["temperature"]`,
    saved with the pipeline); the entities stay as they are.

    nlp (Language): The pipeline, with a `nerkit_token_ner`.
    gold_docs (Sequence[Doc]): Dev docs with gold entities (and sentence starts).
    head (Optional[str]): The component; None: see `scoring_head`.
    RETURNS (Dict[str, Any]): temperature (before, after), n_entities, n_correct,
        nll and ece (before, after) on these docs.
    RAISES ValueError: Without a token head, or without predicted entities to fit on.
    """
    head = head or scoring_head(nlp)
    pipe = nlp.get_pipe(head)
    dev = collect(nlp, gold_docs, head, batch_size)
    outcomes = span_scores(pipe, dev, 1.0)[1]
    if not len(outcomes):
        raise ValueError("The pipeline predicts no entity on the dev docs: nothing to calibrate on")
    before_t = pipe.temperature

    def objective(log_t: float) -> float:
        return nll(*span_scores(pipe, dev, math.exp(log_t)))

    log_t = golden_section(objective, math.log(BOUNDS[0]), math.log(BOUNDS[1]))
    after_t = math.exp(log_t)
    scored = [span_scores(pipe, dev, t) for t in (before_t, after_t)]
    pipe.cfg["temperature"] = after_t
    return {
        "temperature": (before_t, after_t), "n_entities": int(len(outcomes)), "n_correct": int(outcomes.sum()),
        "nll": tuple(nll(*pair) for pair in scored),
        "ece": tuple(reliability(list(pair[0]), list(pair[1]))[0] for pair in scored),
    }
