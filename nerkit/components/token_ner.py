"""The `nerkit_token_ner` pipe: named entities by token classification.

A softmax layer over a tok2vec (or transformer listener) scores the BILUO tags
of each token (y = softmax(W·h + b)); training minimises the cross-entropy
against the gold BILUO tags; prediction is constrained Viterbi decoding over
the log-probabilities, so the tags always form valid entities. An alternative
to spaCy's transition-based `ner`, with the same scores (`ents_f` etc.).
"""
import unicodedata
from itertools import islice
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

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
from .viterbi import log_softmax, make_tags, tags_to_spans, transition_mask, viterbi_segments

SCHEME = "bilou"
MISSING_TAGS = (None, "", "-")

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
    default_config={"model": DEFAULT_MODEL, "scorer": {"@scorers": "spacy.ner_scorer.v1"}},
    default_score_weights={"ents_f": 1.0, "ents_p": 0.0, "ents_r": 0.0, "ents_per_type": None},
)
def make_token_ner(
    nlp: Language, name: str, model: Model[List[Doc], List[Floats2d]], scorer: Optional[Callable]
) -> "TokenNER":
    """Create a token-classification NER component.

    model (Model[List[Doc], List[Floats2d]]): One score per tag and token,
        e.g. `nerkit.TokenTagger.v1`.
    scorer (Optional[Callable]): Scoring method, `spacy.ner_scorer.v1` by default.
    """
    return TokenNER(nlp.vocab, model, name, scorer=scorer)


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


class TokenNER(TrainablePipe):
    """Named entities from per-token BILUO tag scores, decoded by constrained
    Viterbi. `set_annotations` replaces `doc.ents` (tokens outside the
    predicted entities are set to "O")."""

    def __init__(
        self, vocab: Vocab, model: Model, name: str = "token_ner", *, scorer: Optional[Callable] = None
    ) -> None:
        """Initialize the pipe.

        vocab (Vocab): The shared vocabulary.
        model (Model): The model (see `nerkit.TokenTagger.v1`); it must have
            the ref "output_layer", whose nO is set to the number of tags.
        name (str): The component instance name.
        scorer (Optional[Callable]): Scoring method.
        """
        if not model.has_ref("output_layer"):
            raise ValueError(f"{name}: the model needs an 'output_layer' ref (use nerkit.TokenTagger.v1)")
        self.vocab = vocab
        self.model = model
        self.name = name
        self.cfg: Dict[str, object] = {"labels": [], "scheme": SCHEME}
        self.scorer = scorer
        self._mask_cache: Optional[Tuple[Tuple[str, ...], tuple]] = None

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

    def predict(self, docs: Iterable[Doc]) -> List[numpy.ndarray]:
        """Decode the best valid tag sequence of each doc. Where a doc has
        sentence starts (set by the caller, e.g. from CoNLL's blank lines),
        no entity runs over one; blank tokens (see `is_blank`) are always "O".
        Empty docs are not given to the model.

        docs (Iterable[Doc]): The docs.
        RETURNS (List[ndarray]): One array of tag indices (into `self.tags`) per doc.
        """
        docs = list(docs)
        paths = [numpy.zeros((len(doc),), dtype="int64") for doc in docs]
        todo = [i for i, doc in enumerate(docs) if len(doc)]
        if not todo:
            return paths
        scores = self.model.predict([docs[i] for i in todo])
        mask = self._mask()
        for i, doc_scores in zip(todo, scores):
            log_probs = log_softmax(self.model.ops.to_numpy(doc_scores))
            log_probs[blank_tokens(docs[i]), 1:] = -numpy.inf  # column 0 is "O"
            paths[i] = viterbi_segments(log_probs, mask, sentence_starts(docs[i]))
        return paths

    def set_annotations(self, docs: Iterable[Doc], tag_ids: List[numpy.ndarray]) -> None:
        """Set `doc.ents` from the decoded tags (everything else "O").

        docs (Iterable[Doc]): The docs.
        tag_ids (List[ndarray]): The output of `predict`.
        """
        tags = self.tags
        for doc, path in zip(docs, tag_ids):
            spans = [Span(doc, start, end, label=label) for start, end, label in tags_to_spans(path, tags)]
            doc.set_ents(spans, default="outside")

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
        """Cross-entropy of the softmax probabilities against the aligned gold
        BILUO tags. Tokens whose gold tag is missing (None, "-") or names a
        label the pipe does not know get zero gradient.

        examples (Iterable[Example]): The examples.
        scores (List[Floats2d]): Softmax probabilities, one array per example.
        RETURNS (Tuple[float, List[Floats2d]]): The summed loss and the
            gradient (probabilities - one-hot gold) per example.
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
        known = gold_np >= 0
        rows = ops.asarray(numpy.flatnonzero(known), dtype="int64")
        cols = ops.asarray(gold_np[known], dtype="int64")
        d_probs = probs.copy()
        d_probs[ops.asarray(numpy.flatnonzero(~known), dtype="int64")] = 0.0
        d_probs[rows, cols] -= 1.0
        loss = float(-ops.xp.log(ops.xp.maximum(probs[rows, cols], 1e-12)).sum())
        return loss, list(ops.unflatten(d_probs, numpy.asarray(lengths, dtype="int32")))
