"""Tag schemes: detection, tags -> spans (validating or repairing), spans -> tags.

Plain Python, no spaCy. A span is ``(start, end, label)`` with ``end`` exclusive,
always within ONE sentence: the functions here work on one sentence at a time,
so an entity can never cross a sentence boundary.

Tags are ``O`` or ``PREFIX-LABEL``. The prefix is split on the FIRST hyphen only,
so labels may contain hyphens (``B-creative-work`` -> ``B`` + ``creative-work``).
Prefixes are upper case; any label string is kept as is.

Schemes and their prefixes:
- ``iob1`` (B, I): ``I-X`` starts an entity unless the previous tag is ``B-X``/``I-X``;
  ``B-X`` always starts a new entity (normally only used right after an entity of
  the same type; after ``O`` or another type it is harmless and NOT an error).
- ``iob2`` (B, I): every entity starts with ``B-X``; ``I-X`` must follow ``B-X``/``I-X``.
- ``bioes`` (B, I, E, S; alias ``iobes``): ``S-X`` single token, ``B-X I-X* E-X``.
- ``bilou`` (B, I, L, U): ``U-X`` single token, ``B-X I-X* L-X``.

Lenient repair rules (``lenient=True``); each repair is counted in ``repairs`` under
the key shown:
1. ``"I- after O/other type starts an entity"`` (also ``"E- ..."``/``"L- ..."``):
   in iob2/bioes/bilou, an ``I-X``/``E-X``/``L-X`` that does not continue an open
   entity of type X (after ``O``, another type, a closed entity or at sentence
   start) starts a new entity (``E-X``/``L-X``: a one-token entity).
2. ``"missing E-: entity closed at last token"`` (``"missing L-: ..."`` in bilou):
   in bioes/bilou, an entity opened by ``B-X`` that is not closed by ``E-X``/``L-X``
   ends at its last ``B-X``/``I-X`` token.
Unknown prefixes (``X-PER``, a bare ``PER``, ``U-PER`` in bioes) and empty labels
stay errors even in lenient mode: they usually mean a wrong tag column, and
silently reading them as ``O`` would lose annotation.
"""
from collections import Counter
from typing import Iterable, List, Optional, Sequence, Tuple

Span = Tuple[int, int, str]

SCHEMES = ("iob1", "iob2", "bioes", "bilou")
_ALIASES = {"iobes": "bioes", "bio": "iob2", "iob": "iob1"}
_PREFIXES = {
    "iob1": frozenset("BI"),
    "iob2": frozenset("BI"),
    "bioes": frozenset("BIES"),
    "bilou": frozenset("BILU"),
}
_ALL_PREFIXES = frozenset("BIESLU")
# (single-token prefix, last-token prefix) of the closed schemes
_CLOSED = {"bioes": ("S", "E"), "bilou": ("U", "L")}

REPAIR_CLOSED = "missing {}-: entity closed at last token"
REPAIR_START = "{}- after O/other type starts an entity"


class TagError(ValueError):
    """An invalid tag in one sentence. The reader turns it into a ``ConllError``
    naming the file and line.

    index (int): Position of the offending tag in the sentence.
    reason (str): What is wrong with it.
    """

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(f"tag {index}: {reason}")
        self.index = index
        self.reason = reason


def normalize_scheme(scheme: str, *, allow_auto: bool = False) -> str:
    """Lower-case a scheme name and resolve aliases (iobes -> bioes, bio -> iob2).

    scheme (str): The scheme name.
    allow_auto (bool): Whether "auto" is accepted.
    RETURNS (str): One of SCHEMES (or "auto").
    """
    name = _ALIASES.get(scheme.lower(), scheme.lower())
    if name in SCHEMES or (allow_auto and name == "auto"):
        return name
    options = ("auto",) + SCHEMES if allow_auto else SCHEMES
    raise ValueError(f"Unknown tag scheme {scheme!r}; expected one of {', '.join(options)}")


def split_tag(tag: str) -> Tuple[str, Optional[str]]:
    """Split a tag into (prefix, label) on the first hyphen; ``O`` -> ("O", None).
    Returns ("", None) for tags that have no valid prefix/label shape.

    tag (str): The tag.
    RETURNS (Tuple[str, Optional[str]]): The prefix and the label.
    """
    if tag == "O":
        return "O", None
    prefix, sep, label = tag.partition("-")
    if not sep or not label or prefix not in _ALL_PREFIXES:
        return "", None
    return prefix, label


def detect_scheme(tag_sequences: Iterable[Sequence[str]]) -> str:
    """Detect the tag scheme of a file from its sentences' tags. Rule, in order:
    any ``S-``/``E-`` tag -> "bioes"; any ``U-``/``L-`` tag -> "bilou"; any ``I-X``
    whose previous tag in the sentence is not ``B-X``/``I-X`` (``O``, another type,
    or sentence start) -> "iob1"; otherwise "iob2" (also for files without
    entities). Unknown tags are ignored here and reported by ``tags_to_spans``.

    tag_sequences (Iterable[Sequence[str]]): One tag sequence per sentence.
    RETURNS (str): "iob1", "iob2", "bioes" or "bilou".
    """
    seen = set()
    iob1 = False
    for tags in tag_sequences:
        prev_label = None  # label of the previous B-/I- tag, if any
        for tag in tags:
            prefix, label = split_tag(tag)
            seen.add(prefix)
            if prefix == "I" and label != prev_label:
                iob1 = True
            prev_label = label if prefix in ("B", "I") else None
    if "S" in seen or "E" in seen:
        return "bioes"
    if "U" in seen or "L" in seen:
        return "bilou"
    return "iob1" if iob1 else "iob2"


def _bad_prefix(tag: str, scheme: str) -> str:
    prefix, label = split_tag(tag)
    if prefix:
        return f"tag prefix '{prefix}-' is not valid in {scheme.upper()}"
    allowed = "/".join(f"{p}-" for p in sorted(_PREFIXES[scheme]))
    return f"unknown tag {tag!r}: expected O or a {allowed} prefix with a label"


def tags_to_spans(
    tags: Sequence[str],
    scheme: str,
    *,
    lenient: bool = False,
    repairs: Optional[Counter] = None,
) -> List[Span]:
    """Convert ONE sentence's tags to entity spans, validating them against the
    scheme (see the module docstring for the rules and the lenient repairs).

    tags (Sequence[str]): The sentence's tags.
    scheme (str): "iob1", "iob2", "bioes" or "bilou" (not "auto").
    lenient (bool): Repair scheme violations instead of raising.
    repairs (Optional[Counter]): Incremented per repair kind in lenient mode.
    RETURNS (List[Span]): (start, end exclusive, label) spans in order.
    RAISES TagError: On an unknown prefix/empty label, or (strict) a violation.
    """
    scheme = normalize_scheme(scheme)
    if repairs is None:
        repairs = Counter()
    valid = _PREFIXES[scheme]
    single, last = _CLOSED.get(scheme, ("", ""))
    spans: List[Span] = []
    start = -1  # start of the open entity, -1 if none
    open_label: Optional[str] = None
    prev = ""  # previous tag, "" at sentence start

    def invalid(tag: str) -> str:
        where = f"after {prev}" if prev else "at sentence start"
        return f"{tag} {where} is invalid in {scheme.upper()}"

    def not_closed(got: str) -> str:
        return (
            f"{prev} is not closed: expected I-{open_label} or "
            f"{last}-{open_label} next in {scheme.upper()}, {got}"
        )

    for i, tag in enumerate(tags):
        prefix, label = split_tag(tag)
        if prefix != "O" and prefix not in valid:
            raise TagError(i, _bad_prefix(tag, scheme))
        continues = start >= 0 and label == open_label and prefix in ("I", last or "I")
        if last:  # bioes/bilou: an open entity must be continued or closed
            if start >= 0 and not continues:
                if not lenient:
                    raise TagError(i - 1, not_closed(f"got {tag}"))
                repairs[REPAIR_CLOSED.format(last)] += 1
                spans.append((start, i, open_label))  # type: ignore[arg-type]
                start, open_label = -1, None
        elif start >= 0 and not continues:  # iob1/iob2: close on anything else
            spans.append((start, i, open_label))  # type: ignore[arg-type]
            start, open_label = -1, None
        if prefix == "O":
            pass
        elif prefix == "B":  # any open entity was closed above
            start, open_label = i, label
        elif prefix == single:
            spans.append((i, i + 1, label))  # type: ignore[arg-type]
        elif continues:
            if prefix == last:
                spans.append((start, i + 1, label))  # type: ignore[arg-type]
                start, open_label = -1, None
        else:  # I-/E-/L- that does not continue an open entity of its type
            if scheme != "iob1":
                if not lenient:
                    raise TagError(i, invalid(tag))
                repairs[REPAIR_START.format(prefix)] += 1
            if prefix == "I":
                start, open_label = i, label
            else:
                spans.append((i, i + 1, label))  # type: ignore[arg-type]
        prev = tag
    if start >= 0:
        if last:
            if not lenient:
                raise TagError(len(tags) - 1, not_closed("got sentence end"))
            repairs[REPAIR_CLOSED.format(last)] += 1
        spans.append((start, len(tags), open_label))  # type: ignore[arg-type]
    return spans


def spans_to_tags(spans: Iterable[Span], length: int, scheme: str) -> List[str]:
    """Convert one sentence's spans to tags in a scheme. In iob1, ``B-`` is only
    written for an entity that directly follows an entity of the same type.

    spans (Iterable[Span]): Non-overlapping (start, end exclusive, label) spans.
    length (int): Number of tokens in the sentence.
    scheme (str): "iob1", "iob2", "bioes" or "bilou".
    RETURNS (List[str]): One tag per token.
    RAISES ValueError: If spans overlap, are empty or out of range.
    """
    scheme = normalize_scheme(scheme)
    single, last = _CLOSED.get(scheme, ("", ""))
    tags = ["O"] * length
    prev_end, prev_label = -1, None
    for start, end, label in sorted(spans):
        if not 0 <= start < end <= length or start < prev_end:
            raise ValueError(f"Invalid or overlapping span {(start, end, label)} (length {length})")
        if scheme == "iob1":
            first = "B" if start == prev_end and label == prev_label else "I"
            tags[start:end] = [f"I-{label}"] * (end - start)
            tags[start] = f"{first}-{label}"
        elif scheme == "iob2" or end - start > 1:
            tags[start:end] = [f"I-{label}"] * (end - start)
            tags[start] = f"B-{label}"
            if last:
                tags[end - 1] = f"{last}-{label}"
        else:
            tags[start] = f"{single}-{label}"
        prev_end, prev_label = end, label
    return tags
