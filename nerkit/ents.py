"""Entities as JSON: displaCy's manual format, shared by ``nerkit annotate``
and ``nerkit serve``, with each entity's probability where the pipeline gives
one (``ent._.score``, set by ``nerkit_token_ner``), and ``min_score`` filtering."""
from typing import Dict, List, Optional, Union

from spacy.tokens import Doc, Span
from thinc.api import Config

# Where nerkit_token_ner keeps the scores in doc.user_data: its SCORES_KEY, not imported
# from nerkit.components, which would import torch.
SCORES_KEY = "nerkit.ent_scores"
# Factories whose entities carry ``ent._.score`` (unless their ``scores`` setting is false).
SCORING_FACTORIES = ("nerkit_token_ner",)


def ent_score(ent: Span) -> Optional[float]:
    """The entity's probability, None where no component gave it one."""
    return ent._.score if Span.has_extension("score") else None


def ents_json(doc: Doc) -> List[Dict[str, Union[int, float, str]]]:
    """``[{"start", "end", "label", "text", "score"}]``: ``start`` and ``end``
    are character offsets into ``doc.text`` (Python string indices); ``score``
    (the probability that exactly this span with this label is an entity) only
    where the pipeline gives one."""
    out: List[Dict[str, Union[int, float, str]]] = []
    for ent in doc.ents:
        record: Dict[str, Union[int, float, str]] = {
            "start": ent.start_char, "end": ent.end_char, "label": ent.label_, "text": ent.text}
        score = ent_score(ent)
        if score is not None:
            record["score"] = score
        out.append(record)
    return out


def scoring_components(config: Config) -> List[str]:
    """The enabled components of a pipeline config that give their entities a
    score: ``nerkit_token_ner`` with ``scores`` on (its default)."""
    disabled = set(config["nlp"].get("disabled") or [])
    return [name for name in config["nlp"]["pipeline"] if name not in disabled
            and config["components"].get(name, {}).get("factory") in SCORING_FACTORIES
            and config["components"][name].get("scores", True)]


def check_min_score(config: Config, min_score: Optional[float], option: str = "--min-score") -> None:
    """Refuse a ``min_score`` the pipeline cannot honour.

    RAISES ValueError: If ``min_score`` is outside [0, 1], or set while no
        component gives scores (spaCy's transition-based ``ner``, a ruler, or
        ``nerkit_token_ner`` with ``scores = false``): a threshold would pass
        every entity.
    """
    if min_score is None:
        return
    if not 0.0 <= min_score <= 1.0:
        raise ValueError(f"{option} must be between 0 and 1, got {min_score}")
    if not scoring_components(config):
        factories = sorted({config["components"].get(name, {}).get("factory", name)
                            for name in config["nlp"]["pipeline"]})
        raise ValueError(
            f"{option} needs entity scores, and this pipeline ({', '.join(factories) or 'no components'}) gives "
            "none: only nerkit_token_ner (with scores on) does; spaCy's transition-based ner has no "
            "span probabilities")


def drop_below(doc: Doc, min_score: Optional[float]) -> int:
    """Remove the entities whose score is under ``min_score`` (entities
    without a score, e.g. from a ruler after the head, stay).

    RETURNS (int): How many were removed.
    """
    if min_score is None or not doc.ents:
        return 0
    kept = [ent for ent in doc.ents if (score := ent_score(ent)) is None or score >= min_score]
    dropped = len(doc.ents) - len(kept)
    if dropped:
        doc.set_ents(kept, default="outside")
    return dropped
