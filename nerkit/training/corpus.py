"""The registered corpus reader ``nerkit.GoldTokensCorpus.v1``: train on a
DocBin's own tokens and whole documents.

spaCy's ``spacy.Corpus.v1`` re-tokenizes each reference text with the
pipeline's tokenizer (or, with ``gold_preproc``, keeps the gold tokens but
cuts documents into sentences, losing the context a transformer reads across
them). On CoNLL-2003 training on the gold tokens of whole documents gave +0.8
test F1 (benchmarks/results/conll03.md, ``spacy_tokner_case_goldtok``).

    [corpora.train]
    @readers = "nerkit.GoldTokensCorpus.v1"
    path = ${paths.train}
"""
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional, Union

import spacy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Corpus, Example


class GoldTokensCorpus(Corpus):
    """``spacy.Corpus`` whose predicted docs have the reference's words and
    spaces (no re-tokenization), one example per document. ``path`` may be a
    .spacy file or a folder of them; ``limit``, ``augmenter`` and ``shuffle``
    work as in ``spacy.Corpus``."""

    def make_examples(self, nlp: Language, reference_docs: Iterable[Doc]) -> Iterator[Example]:
        for reference in reference_docs:
            if not len(reference):
                continue
            if self.max_length and len(reference) > self.max_length:
                raise ValueError(
                    f"{self.path}: a document of {len(reference)} tokens is longer than max_length="
                    f"{self.max_length}; this reader keeps whole documents (set max_length = 0)"
                )
            words = [token.text for token in reference]
            spaces = [bool(token.whitespace_) for token in reference]
            yield Example(Doc(nlp.vocab, words=words, spaces=spaces), reference)


@spacy.registry.readers("nerkit.GoldTokensCorpus.v1")
def create_gold_tokens_corpus(
    path: Optional[Union[str, Path]],
    limit: int = 0,
    max_length: int = 0,
    augmenter: Optional[Callable] = None,
    shuffle: bool = False,
) -> Callable[[Language], Iterator[Example]]:
    """Create a reader of DocBin examples on their own tokens (see
    ``GoldTokensCorpus``).

    RETURNS (Callable[[Language], Iterator[Example]]): The corpus.
    """
    if path is None:
        raise ValueError("nerkit.GoldTokensCorpus.v1: no path; pass --paths.train / --paths.dev")
    return GoldTokensCorpus(path, limit=limit, max_length=max_length, augmenter=augmenter, shuffle=shuffle)
