"""Entities as JSON: displaCy's manual format, shared by ``nerkit annotate``
and ``nerkit serve``."""
from typing import Dict, List, Union

from spacy.tokens import Doc


def ents_json(doc: Doc) -> List[Dict[str, Union[int, str]]]:
    """``[{"start", "end", "label", "text"}]``: ``start`` and ``end`` are
    character offsets into ``doc.text`` (Python string indices)."""
    return [{"start": ent.start_char, "end": ent.end_char, "label": ent.label_, "text": ent.text} for ent in doc.ents]
