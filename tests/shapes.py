"""Small corpora in the shapes users' files come in (issue 14), written by the
tests themselves: no third-party data. Each sentence has one or two entities,
whose words come from a pool per label, so a few training steps learn them."""
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Tuple

from nerkit.conll import spans_to_tags

Sentence = Tuple[List[str], List[Tuple[int, int, str]]]


@dataclass(frozen=True)
class Shape:
    """How a corpus is written: its labels, tag scheme, column separator, the
    line between sentences, and whether it has -DOCSTART- lines."""

    labels: Tuple[str, ...]
    scheme: str = "iob2"
    column_sep: str = " "
    blank_line: str = ""
    docstart: bool = False


SHAPES: Dict[str, Shape] = {
    "no-docstart": Shape(("PER", "LOC")),
    "tab-columns": Shape(("PER", "ORG"), column_sep="\t"),
    "tab-separator-lines": Shape(("PER", "LOC"), blank_line="\t"),
    "whitespace-separator-lines": Shape(("PER", "LOC"), blank_line=" \t "),
    "lowercase-hyphen-labels": Shape(("person", "creative-work", "product")),
    "single-label": Shape(("drug",)),
    "bioes": Shape(("PER", "LOC", "ORG"), scheme="bioes", docstart=True),
    # all of the above in one: a social-media corpus's shape
    "social": Shape(("person", "creative-work", "location"), scheme="bioes", column_sep="\t", blank_line="\t"),
}
POOLS = [["anna", "marek", "sofia", "tariq"], ["oslo", "lisbon", "kyiv", "lagos"],
         ["acme", "zeta", "nova", "orbis"], ["dune", "heat", "ulysses", "vertigo"]]
FILLER = "the a of in on to and said was will by for at with from he she it".split()


def make_sentences(labels: Tuple[str, ...], n: int, seed: int) -> List[Sentence]:
    """n sentences of 5-9 filler words with one or two entities (one to three words each)."""
    rng = random.Random(seed)
    sentences = []
    for _ in range(n):
        words = [rng.choice(FILLER) for _ in range(rng.randint(5, 9))]
        spans: List[Tuple[int, int, str]] = []
        for start in sorted(rng.sample(range(0, len(words), 3), rng.randint(1, 2)), reverse=True):
            index = rng.randrange(len(labels))
            entity = rng.sample(POOLS[index % len(POOLS)], rng.randint(1, 3))
            words[start:start] = entity
            spans = [(s + len(entity), e + len(entity), label) for s, e, label in spans]
            spans.insert(0, (start, start + len(entity), labels[index]))
        sentences.append((words, spans))
    return sentences


def render(shape: Shape, sentences: List[Sentence]) -> str:
    """The sentences as a CoNLL file in the shape."""
    lines = [f"-DOCSTART-{shape.column_sep}O", shape.blank_line] if shape.docstart else []
    for words, spans in sentences:
        tags = spans_to_tags(spans, len(words), shape.scheme)
        lines.extend(f"{word}{shape.column_sep}{tag}" for word, tag in zip(words, tags))
        lines.append(shape.blank_line)
    return "\n".join(lines) + "\n"


def write_corpus(folder: Path, name: str, sizes: Tuple[int, int, int] = (60, 20, 20)) -> Dict[str, Path]:
    """Write train/dev/test files of the named shape into folder (.tsv or .txt:
    nothing needs the name train.conll).

    RETURNS (Dict[str, Path]): The files by split.
    """
    shape = SHAPES[name]
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".tsv" if shape.column_sep == "\t" else ".txt"
    paths = {}
    for seed, (split, size) in enumerate(zip(("train", "dev", "test"), sizes)):
        paths[split] = folder / f"{name}-{split}{suffix}"
        paths[split].write_text(render(shape, make_sentences(shape.labels, size, seed)), encoding="utf8")
    return paths
