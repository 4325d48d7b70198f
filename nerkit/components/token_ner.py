"""The `nerkit_token_ner` pipe: named entities by token classification.

A softmax layer over a tok2vec (or transformer listener) scores the BILUO tags
of each token (y = softmax(W·h + b)); training minimises the cross-entropy
against the gold BILUO tags; prediction is constrained Viterbi decoding over
the log-probabilities, so the tags always form valid entities. An alternative
to spaCy's transition-based `ner`, with the same scores (`ents_f` etc.).

Each entity it sets gets a probability, `ent._.score`: by forward-backward over
the same lattice (see `marginals`), the probability that exactly that span
with that label is an entity; `ent._.alternatives` gives the other labels'.
They are kept in `doc.user_data` (plain lists under `SCORES_KEY`) and read by
getters keyed by (start, end, label), so they survive `DocBin`
(`store_user_data=True`), pickling, `n_process` and `doc.ents` being reset.
"""
import unicodedata
from bisect import bisect_left
from itertools import islice
from typing import Any, Callable, Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

import numpy
from spacy.errors import Errors
from spacy.language import Language
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc, Span
from spacy.training import Example, validate_examples, validate_get_examples
from spacy.vocab import Vocab
from thinc.api import Config, Model, Optimizer, set_dropout_rate
from thinc.types import Floats2d

from . import models  # noqa: F401  (registers nerkit.TokenTagger.v1)
from .marginals import lattice_loss, span_probs
from .viterbi import log_softmax, make_tags, tags_to_spans, transition_mask, viterbi_segments

SCHEME = "bilou"
LOSSES = ("softmax", "lattice")
MISSING_TAGS = (None, "", "-")
SCORES_KEY = "nerkit.ent_scores"  # doc.user_data: {"start", "end", "label", "score", "alternatives"} lists

DEFAULT_TOKEN_NER_MODEL = """
[model]
@architectures = "nerkit.TokenTagger.v1"
nO = null
init_std = 0.02

[model.tok2vec]
@architectures = "spacy.HashEmbedCNN.v2"
pretrained_vectors = null
width = 96
depth = 4
embed_size = 2000
window_size = 1
maxout_pieces = 3
subword_features = true
"""
DEFAULT_MODEL = Config().from_str(DEFAULT_TOKEN_NER_MODEL)["model"]


@Language.factory(
    "nerkit_token_ner",
    assigns=["doc.ents", "token.ent_iob", "token.ent_type"],
    default_config={"model": DEFAULT_MODEL, "scorer": {"@scorers": "spacy.ner_scorer.v1"}, "scores": True,
                    "loss": "softmax"},
    default_score_weights={"ents_f": 1.0, "ents_p": 0.0, "ents_r": 0.0, "ents_per_type": None},
)
def make_token_ner(
    nlp: Language, name: str, model: Model[List[Doc], List[Floats2d]], scorer: Optional[Callable], scores: bool,
    loss: str,
) -> "TokenNER":
    """Create a token-classification NER component.

    model (Model[List[Doc], List[Floats2d]]): One score per tag and token,
        e.g. `nerkit.TokenTagger.v1`.
    scorer (Optional[Callable]): Scoring method, `spacy.ner_scorer.v1` by default.
    scores (bool): Give each entity its probability (`ent._.score`).
    loss (str): "softmax": each token's cross-entropy; "lattice": the gold
        sequence's negative log-likelihood among the valid tag sequences (see
        `marginals.lattice_loss`).
    """
    return TokenNER(nlp.vocab, model, name, scorer=scorer, scores=scores, loss=loss)


def _ent_index(span: Span) -> Tuple[Optional[Dict[str, Any]], int]:
    """The doc's stored scores and the index of the span's record in them (-1: none)."""
    stored = span.doc.user_data.get(SCORES_KEY)
    if not stored:
        return None, -1
    k = bisect_left(stored["start"], span.start)  # starts are sorted and unique: doc.ents never overlap
    found = k < len(stored["start"]) and stored["start"][k] == span.start and stored["end"][k] == span.end
    return stored, k if found and stored["label"][k] == span.label_ else -1


def get_ent_score(span: Span) -> Optional[float]:
    """`Span._.score`: the probability that exactly this span with this label
    is an entity, None if no `nerkit_token_ner` with scores on predicted it."""
    stored, k = _ent_index(span)
    return None if k < 0 else float(stored["score"][k])  # type: ignore[index]


def get_ent_alternatives(span: Span) -> List[Tuple[str, float]]:
    """`Span._.alternatives`: (label, probability) of the same span with each
    other label, most probable first ([] where `score` is None)."""
    stored, k = _ent_index(span)
    return [] if k < 0 else [(str(label), float(p)) for label, p in stored["alternatives"][k]]  # type: ignore[index]


def register_span_extensions() -> None:
    """Register `Span._.score` and `Span._.alternatives` unless registered
    already (by nerkit or a package's copy of its components: same getters,
    same data)."""
    for name, getter in (("score", get_ent_score), ("alternatives", get_ent_alternatives)):
        if not Span.has_extension(name):
            Span.set_extension(name, getter=getter)


register_span_extensions()


def is_blank(text: str) -> bool:
    """Whether a token's text holds no visible character: whitespace (a line
    break, U+2029), control characters (NUL) and format characters (U+FEFF,
    a soft hyphen, zero-width spaces). Such a token is never part of an entity."""
    return all(char.isspace() or unicodedata.category(char) in ("Cc", "Cf") for char in text)


def blank_tokens(doc: Doc) -> numpy.ndarray:
    """The offsets of the doc's blank tokens (see `is_blank`)."""
    return numpy.asarray([token.i for token in doc if token.is_space or is_blank(token.text)], dtype="int64")


def sentence_starts(doc: Doc) -> List[int]:
    """Offsets of the tokens marked as sentence starts (none if the doc has
    no sentence annotation)."""
    if not doc.has_annotation("SENT_START"):
        return []
    return [token.i for token in doc if token.is_sent_start]


class Decoded(NamedTuple):
    """`TokenNER.predict`'s output for one doc: the tag indices, and per
    entity of the path (in order) the probability of each label (columns as
    `TokenNER.labels`), None with scores off."""

    path: numpy.ndarray
    probs: Optional[numpy.ndarray]


class TokenNER(TrainablePipe):
    """Named entities from per-token BILUO tag scores, decoded by constrained
    Viterbi. `set_annotations` replaces `doc.ents` (tokens outside the
    predicted entities are set to "O") and, with scores on, stores each
    entity's probability (`ent._.score`)."""

    def __init__(
        self, vocab: Vocab, model: Model, name: str = "token_ner", *, scorer: Optional[Callable] = None,
        scores: bool = True, loss: str = "softmax",
    ) -> None:
        """Initialize the pipe.

        vocab (Vocab): The shared vocabulary.
        model (Model): The model (see `nerkit.TokenTagger.v1`); it must have
            the ref "output_layer", whose nO is set to the number of tags.
        name (str): The component instance name.
        scorer (Optional[Callable]): Scoring method.
        scores (bool): Give each entity its probability (`ent._.score`).
        loss (str): One of LOSSES: "softmax" (per token) or "lattice" (per sequence).
        """
        if loss not in LOSSES:
            raise ValueError(f"{name}: unknown loss {loss!r}: expected one of {', '.join(LOSSES)}")
        if not model.has_ref("output_layer"):
            raise ValueError(f"{name}: the model needs an 'output_layer' ref (use nerkit.TokenTagger.v1)")
        self.vocab = vocab
        self.model = model
        self.name = name
        # temperature: the logits are divided by it before forward-backward (not
        # before decoding, so it never changes the entities); `nerkit calibrate` fits it
        self.cfg: Dict[str, object] = {"labels": [], "scheme": SCHEME, "temperature": 1.0}
        self.scorer = scorer
        self.scores = scores
        self.loss = loss
        self._mask_cache: Optional[Tuple[Tuple[str, ...], tuple]] = None

    @property
    def temperature(self) -> float:
        """The temperature of the entity probabilities (1.0: the model's own)."""
        return float(self.cfg.get("temperature", 1.0))  # type: ignore[arg-type]

    @property
    def labels(self) -> Tuple[str, ...]:
        """The entity labels, e.g. ("LOC", "MISC", "ORG", "PER")."""
        return tuple(self.cfg["labels"])  # type: ignore[arg-type]

    @property
    def label_data(self) -> List[str]:
        """The labels, for `spacy init labels` and `[initialize.components]`."""
        return list(self.labels)

    @property
    def tags(self) -> List[str]:
        """The BILUO tags the model scores: "O", then B-, I-, L-, U- per label."""
        return make_tags(self.labels, SCHEME)

    def _mask(self) -> tuple:
        if self._mask_cache is None or self._mask_cache[0] != self.labels:
            self._mask_cache = (self.labels, transition_mask(self.tags, SCHEME))
        return self._mask_cache[1]

    def add_label(self, label: str) -> int:
        """Add an entity label (before `initialize`).

        label (str): The label, e.g. "PER".
        RETURNS (int): 0 if the label was already there, otherwise 1.
        """
        if not isinstance(label, str) or not label or any(c.isspace() for c in label):
            raise ValueError(Errors.E187 if not isinstance(label, str) else f"Invalid entity label {label!r}")
        if label in self.labels:
            return 0
        if self.model.get_ref("output_layer").has_dim("nO"):
            raise ValueError(
                f"{self.name}: cannot add label '{label}' to an initialized model; "
                "list all labels before nlp.initialize()"
            )
        self.cfg["labels"] = list(self.labels) + [label]  # type: ignore[operator]
        self._mask_cache = None
        return 1

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Optional[Language] = None,
        labels: Optional[Sequence[str]] = None,
    ) -> None:
        """Set the labels (from `labels`, else from the entities of the
        examples, sorted) and initialize the model on a sample of the examples.

        get_examples (Callable[[], Iterable[Example]]): Gold-standard examples.
        nlp (Language): The pipeline.
        labels (Optional[Sequence[str]]): Entity labels, e.g. from `init labels`.
        """
        validate_get_examples(get_examples, "TokenNER.initialize")
        if labels is not None:
            for label in labels:
                self.add_label(label)
        else:
            found = {ent.label_ for eg in get_examples() for ent in eg.reference.ents}
            for label in sorted(found):
                self.add_label(label)
        self._require_labels()
        doc_sample = [eg.x for eg in islice(get_examples(), 10)]
        if not doc_sample:
            raise ValueError(Errors.E923.format(name=self.name))
        output_layer = self.model.get_ref("output_layer")
        n_tags = len(self.tags)
        if output_layer.has_dim("nO") and output_layer.get_dim("nO") != n_tags:
            raise ValueError(f"{self.name}: model nO={output_layer.get_dim('nO')} but there are {n_tags} tags")
        output_layer.set_dim("nO", n_tags)
        self.model.initialize(X=doc_sample)

    def logits(self, docs: Sequence[Doc]) -> List[numpy.ndarray]:
        """The model's (n_tokens, n_tags) tag logits per doc, as numpy
        (empty docs are not given to the model)."""
        out = [numpy.zeros((len(doc), len(self.tags)), dtype="float32") for doc in docs]
        todo = [i for i, doc in enumerate(docs) if len(doc)]
        if todo:
            for i, doc_scores in zip(todo, self.model.predict([docs[i] for i in todo])):
                out[i] = self.model.ops.to_numpy(doc_scores)
        return out

    def log_probs(self, doc: Doc, logits: numpy.ndarray, temperature: float = 1.0) -> numpy.ndarray:
        """The doc's tag log-probabilities: log-softmax of logits / temperature,
        blank tokens (see `is_blank`) forced to "O"."""
        log_probs = log_softmax(numpy.asarray(logits, dtype="float64") / temperature)
        log_probs[blank_tokens(doc), 1:] = -numpy.inf  # column 0 is "O"
        return log_probs

    def span_probs(
        self, doc: Doc, logits: numpy.ndarray, spans: Sequence[Tuple[int, int]], temperature: Optional[float] = None
    ) -> numpy.ndarray:
        """(n_spans, n_labels): the probability that each (start, end) span is
        exactly one entity of each label, by forward-backward over the lattice
        Viterbi decodes (the doc's sentence starts, blank tokens "O").

        temperature (Optional[float]): None: the pipe's (`cfg["temperature"]`).
        """
        temperature = self.temperature if temperature is None else temperature
        if not spans:
            return numpy.zeros((0, len(self.labels)))
        log_probs = self.log_probs(doc, logits, temperature)
        return span_probs(log_probs, self.tags, self._mask(), spans, sentence_starts(doc))

    def predict(self, docs: Iterable[Doc]) -> List[Decoded]:
        """Decode the best valid tag sequence of each doc. Where a doc has
        sentence starts (set by the caller, e.g. from CoNLL's blank lines),
        no entity runs over one; blank tokens (see `is_blank`) are always "O".
        With scores on, each entity's label probabilities too. Empty docs are
        not given to the model.

        docs (Iterable[Doc]): The docs.
        RETURNS (List[Decoded]): Per doc the tag indices (into `self.tags`)
            and the entities' label probabilities.
        """
        docs = list(docs)
        return [self.decode(doc, logits) for doc, logits in zip(docs, self.logits(docs))]

    def decode(self, doc: Doc, logits: numpy.ndarray, scores: Optional[bool] = None) -> Decoded:
        """`predict` for one doc and its `logits`; `scores`: None: the pipe's setting."""
        if not len(doc):
            return Decoded(numpy.zeros((0,), dtype="int64"), None)
        path = viterbi_segments(self.log_probs(doc, logits), self._mask(), sentence_starts(doc))
        if not (self.scores if scores is None else scores):
            return Decoded(path, None)
        spans = [(start, end) for start, end, _ in tags_to_spans(path, self.tags)]
        return Decoded(path, self.span_probs(doc, logits, spans))

    def set_annotations(self, docs: Iterable[Doc], decoded: List[Decoded]) -> None:
        """Set `doc.ents` from the decoded tags (everything else "O") and, with
        scores, `doc.user_data[SCORES_KEY]` (read by `ent._.score`).

        docs (Iterable[Doc]): The docs.
        decoded (List[Decoded]): The output of `predict`.
        """
        tags = self.tags
        labels = list(self.labels)
        for doc, (path, probs) in zip(docs, decoded):
            ents = tags_to_spans(path, tags)
            doc.set_ents([Span(doc, start, end, label=label) for start, end, label in ents], default="outside")
            doc.user_data.pop(SCORES_KEY, None)
            if probs is None:
                continue
            stored: Dict[str, list] = {"start": [], "end": [], "label": [], "score": [], "alternatives": []}
            for (start, end, label), row in zip(ents, probs):
                stored["start"].append(start)
                stored["end"].append(end)
                stored["label"].append(label)
                stored["score"].append(float(row[labels.index(label)]))
                others = sorted(((float(p), other) for other, p in zip(labels, row) if other != label), reverse=True)
                stored["alternatives"].append([[other, p] for p, other in others])
            doc.user_data[SCORES_KEY] = stored

    def update(
        self,
        examples: Iterable[Example],
        *,
        drop: float = 0.0,
        sgd: Optional[Optimizer] = None,
        losses: Optional[Dict[str, float]] = None,
    ) -> Dict[str, float]:
        """Learn from a batch of examples: forward, cross-entropy, backward.

        examples (Iterable[Example]): The examples.
        drop (float): The dropout rate.
        sgd (Optional[Optimizer]): The optimizer.
        losses (Optional[Dict[str, float]]): Loss per component, updated in place.
        RETURNS (Dict[str, float]): The losses.
        """
        if losses is None:
            losses = {}
        losses.setdefault(self.name, 0.0)
        examples = list(examples)
        validate_examples(examples, "TokenNER.update")
        if not any(len(eg.predicted) for eg in examples):
            return losses
        set_dropout_rate(self.model, drop)
        scores, backprop = self.model.begin_update([eg.predicted for eg in examples])
        loss, d_scores = self.get_loss(examples, scores)
        backprop(d_scores)
        if sgd not in (None, False):
            self.finish_update(sgd)
        losses[self.name] += loss
        return losses

    def get_loss(self, examples: Iterable[Example], scores: List[Floats2d]) -> Tuple[float, List[Floats2d]]:
        """The loss against the aligned gold BILUO tags: with loss "softmax",
        the cross-entropy of each token's probabilities; with "lattice", each
        sentence's gold sequence against all valid ones (`lattice_loss`).
        Tokens whose gold tag is missing (None, "-") or names a label the pipe
        does not know get zero gradient ("softmax") or are marginalised ("lattice").

        examples (Iterable[Example]): The examples.
        scores (List[Floats2d]): Softmax probabilities, one array per example.
        RETURNS (Tuple[float, List[Floats2d]]): The summed loss and its
            gradient with respect to the logits, per example ("softmax":
            probabilities - one-hot gold).
        """
        examples = list(examples)
        validate_examples(examples, "TokenNER.get_loss")
        index = {tag: i for i, tag in enumerate(self.tags)}
        gold: List[int] = []
        for eg in examples:
            gold.extend(-1 if tag in MISSING_TAGS else index.get(tag, -1) for tag in eg.get_aligned_ner())
        ops = self.model.ops
        lengths = [s.shape[0] for s in scores]
        if sum(lengths) != len(gold):
            raise ValueError(f"{self.name}: {sum(lengths)} score rows for {len(gold)} tokens")
        probs = ops.xp.concatenate(scores, axis=0) if scores else ops.alloc2f(0, len(index))
        gold_np = numpy.asarray(gold, dtype="int64")
        if self.loss == "lattice":
            return self._lattice_loss(examples, scores, gold_np)
        known = gold_np >= 0
        rows = ops.asarray(numpy.flatnonzero(known), dtype="int64")
        cols = ops.asarray(gold_np[known], dtype="int64")
        d_probs = probs.copy()
        d_probs[ops.asarray(numpy.flatnonzero(~known), dtype="int64")] = 0.0
        d_probs[rows, cols] -= 1.0
        loss = float(-ops.xp.log(ops.xp.maximum(probs[rows, cols], 1e-12)).sum())
        return loss, list(ops.unflatten(d_probs, numpy.asarray(lengths, dtype="int32")))

    def _lattice_loss(
        self, examples: List[Example], scores: List[Floats2d], gold: numpy.ndarray
    ) -> Tuple[float, List[Floats2d]]:
        ops = self.model.ops
        total, grads, offset = 0.0, [], 0
        for eg, probs in zip(examples, scores):
            n = probs.shape[0]
            log_probs = numpy.log(numpy.maximum(ops.to_numpy(probs).astype("float64"), 1e-12))
            loss, grad = lattice_loss(log_probs, self._mask(), gold[offset:offset + n], sentence_starts(eg.predicted))
            total += loss
            grads.append(ops.asarray(grad.astype("float32")))
            offset += n
        return total, grads
