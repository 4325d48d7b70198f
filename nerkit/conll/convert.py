"""CoNLL files to one spaCy DocBin (``nerkit convert``): every file is read and
checked before anything is written, so invalid input leaves no output."""
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

from spacy.util import get_lang_class
from spacy.vocab import create_vocab

from .docs import conll_to_docs, write_docbin
from .reader import ConllFile, read_conll
from .stats import summarize, write_stats


def read_conll_files(paths: Sequence[Path], **reader_opts: Any) -> ConllFile:
    """Read the files (``read_conll`` options) as one: the documents of each
    follow the previous file's, repairs and empty documents are summed, the
    scheme is the first file's.

    RAISES ConllError: ``FILE:LINE: REASON`` of the first invalid file.
    """
    files = [read_conll(path, **reader_opts) for path in paths]
    return replace(files[0], documents=[doc for f in files for doc in f.documents],
                   repairs=sum((f.repairs for f in files), Counter()), empty_docs=sum(f.empty_docs for f in files))


def convert_conll(
    paths: Sequence[Path],
    output_path: Path,
    *,
    scheme: str = "auto",
    tag_column: int = -1,
    n_sents: int = 10,
    keep_pos: bool = False,
    lenient: bool = False,
    lang: str = "en",
    stats_path: Optional[Path] = None,
) -> Dict[str, Any]:
    """Convert CoNLL files to the DocBin OUTPUT_PATH (one Doc per document, in
    file order), and the summary to STATS_PATH as JSON where given.

    RETURNS (Dict[str, Any]): The summary (``nerkit.conll.summarize``).
    RAISES ConllError, ValueError: On invalid input or options; nothing is written then.
    """
    conll_file = read_conll_files(paths, scheme=scheme, tag_column=tag_column, n_sents=n_sents, lenient=lenient)
    # a blank language's vocab, without spacy.blank's (slow) factory entry points
    vocab = create_vocab(lang, get_lang_class(lang).Defaults)
    summary = summarize(conll_file)
    write_docbin(conll_to_docs(conll_file, vocab, keep_pos=keep_pos), output_path)
    if stats_path is not None:
        write_stats(summary, stats_path)
    return summary
