"""The registered spaCy corpus reader ``nerkit.ConllCorpus.v1``: train straight
from CoNLL files.

    [corpora.train]
    @readers = "nerkit.ConllCorpus.v1"
    path = ${paths.train}
    scheme = "auto"
"""
from pathlib import Path
from typing import Callable, Iterator, Optional, Union

import spacy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example

from .docs import conll_to_docs
from .reader import ConllFile, read_conll


class ConllCorpus:
    """Iterate over ``Example`` objects read from a CoNLL file. The file is
    parsed (and validated) once, on the first call; the docs are rebuilt with
    the given nlp's vocab on every call. The predicted doc has the reference's
    words and spaces, no annotation.

    path (Union[str, Path]): The CoNLL file.
    scheme, n_sents, tag_column, lenient: As for ``read_conll``.
    keep_pos (bool): Put column 2 into the reference's ``token.tag_``.
    """

    def __init__(
        self,
        path: Union[str, Path],
        *,
        scheme: str = "auto",
        n_sents: int = 10,
        tag_column: int = -1,
        keep_pos: bool = False,
        lenient: bool = False,
    ) -> None:
        self.path = Path(path)
        self.options = dict(scheme=scheme, n_sents=n_sents, tag_column=tag_column, lenient=lenient)
        self.keep_pos = keep_pos
        self._parsed: Optional[ConllFile] = None

    def __call__(self, nlp: Language) -> Iterator[Example]:
        if self._parsed is None:
            self._parsed = read_conll(self.path, **self.options)  # type: ignore[arg-type]
        for reference in conll_to_docs(self._parsed, nlp.vocab, keep_pos=self.keep_pos):
            words = [token.text for token in reference]
            spaces = [bool(token.whitespace_) for token in reference]
            yield Example(Doc(nlp.vocab, words=words, spaces=spaces), reference)


@spacy.registry.readers("nerkit.ConllCorpus.v1")
def create_conll_corpus(
    path: Union[str, Path],
    scheme: str = "auto",
    n_sents: int = 10,
    tag_column: int = -1,
    keep_pos: bool = False,
    lenient: bool = False,
) -> Callable[[Language], Iterator[Example]]:
    """Create a corpus reader for a CoNLL file (see ``ConllCorpus``).

    RETURNS (Callable[[Language], Iterator[Example]]): The corpus.
    """
    return ConllCorpus(
        path, scheme=scheme, n_sents=n_sents, tag_column=tag_column, keep_pos=keep_pos, lenient=lenient
    )
