"""What an annotation run reads, writes and keeps: one options object for the
local engine (``run.annotate``) and the Ray engine (``ray.annotate_ray``),
checked once, before a pipeline is loaded."""
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple, Union

from ..conll.schemes import normalize_scheme
from .inputs import INPUT_FORMATS, resolve_format
from .outputs import OUTPUT_FORMATS, check_output_path


@dataclass(frozen=True)
class AnnotateOptions:
    """input_format (Optional[str]): "txt", "jsonl" or "conll"; None: from the suffix.
    output_format (Optional[str]): "jsonl", "conll" or "spacy"; None: from the suffix.
    text_key (str): The text field of jsonl input.
    batch_size (Optional[int]): ``nlp.pipe``'s batch size; None: the pipeline's.
    skip_invalid (bool): Skip invalid lines (counted) instead of raising.
    min_score (Optional[float]): Drop entities whose probability is below it.
    scheme (str): Tag scheme of conll output (local engine).
    chunk_size (int): Texts read, annotated and written at a time, in one memory zone (local engine).
    n_sents (int): Sentences per document of CoNLL input without ``-DOCSTART-`` (local engine).

    RAISES ValueError: On an unknown scheme, or a chunk size, batch size or ``n_sents``
        below 1 (``min_score`` is checked against the pipeline: ``nerkit.ents.check_min_score``).
    """

    input_format: Optional[str] = None
    output_format: Optional[str] = None
    text_key: str = "text"
    batch_size: Optional[int] = None
    skip_invalid: bool = False
    min_score: Optional[float] = None
    scheme: str = "iob2"
    chunk_size: int = 1000
    n_sents: int = 10

    def __post_init__(self) -> None:
        object.__setattr__(self, "scheme", normalize_scheme(self.scheme))
        for name in ("chunk_size", "n_sents") + (("batch_size",) if self.batch_size is not None else ()):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")

    def formats(self, input_path: Union[str, Path], output_path: Union[str, Path]) -> Tuple[str, str]:
        """The (input, output) formats of a run from ``input_path`` to ``output_path``.

        RAISES ValueError: On an unknown format or suffix, or the output being the input.
        """
        check_output_path(input_path, output_path)
        return (resolve_format(input_path, self.input_format, INPUT_FORMATS, "--format"),
                resolve_format(output_path, self.output_format, OUTPUT_FORMATS, "--output-format"))
