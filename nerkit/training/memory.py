"""``nerkit.training_memory.v1``: bound the memory a training run takes.

Two causes of training memory, measured in benchmarks/results/train_memory.md:

- **Activations.** A step keeps every transformer layer's activations for the
  backward pass; on whole CoNLL documents (256-piece windows, about 1,000
  tokens a batch) that is the largest share of a step's memory. With gradient
  checkpointing the Hugging Face model keeps each layer's input only and
  recomputes the layer in the backward pass: the same gradients (dropout masks
  are replayed) for about one more forward pass of compute.
- **The allocator.** glibc serves a freed large buffer's size from its heap
  afterwards (its mmap threshold grows with each freed mmapped buffer, up to
  32 MB), and tensors of varying shapes fragment that heap: RSS grows step
  after step. A fixed threshold keeps large buffers mmapped, so they go back
  to the operating system when freed.

    [initialize.after_init]
    @callbacks = "nerkit.training_memory.v1"
    gradient_checkpointing = "auto"
    checkpointing_below_gb = 8.0
    mmap_threshold = 131072

"auto" checkpoints only where the memory available when training starts is
below ``checkpointing_below_gb``: a machine with the memory pays no recompute.

``bfloat16`` (true, false, or "auto": where the CPU computes bfloat16 natively,
AVX512-BF16 or AMX) runs the transformer's forward and backward passes on CPU
under torch's bfloat16 autocast: matrix products in bfloat16, weights,
gradients and the optimizer in float32 (no loss scaling is needed). Elsewhere
torch emulates bfloat16 slowly, so "auto" trains in float32 there.

All three change training only (``after_init`` runs when training initializes the
pipeline): a saved or packaged pipeline loads and predicts as without them.
"""
import ctypes
import ctypes.util
from typing import Callable, List, Optional, Union

import torch
from spacy.language import Language
from spacy.util import registry
from wasabi import msg

from ..components.precision import PrecisionHFShim, native_bfloat16
from ..components.transformer_copies import swap_shim, transformer_pipes

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter


def transformer_modules(nlp: Language) -> List:
    """The Hugging Face models of the pipeline's transformer components."""
    models = (getattr(getattr(pipe, "model", None), "transformer", None) for _, pipe in nlp.pipeline)
    return [hf for hf in models if hf is not None]


def enable_gradient_checkpointing(nlp: Language) -> None:
    """Turn on the gradient checkpointing of every transformer in the pipeline
    (non-reentrant torch checkpointing)."""
    models = transformer_modules(nlp)
    if not models:
        raise ValueError("nerkit.training_memory.v1: gradient_checkpointing needs an initialized transformer component")
    for hf in models:
        if not getattr(hf, "supports_gradient_checkpointing", False):
            raise ValueError(f"nerkit.training_memory.v1: {type(hf).__name__} does not support gradient checkpointing")
        hf.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})


def set_mmap_threshold(size: int) -> bool:
    """Fix glibc's mmap threshold at `size` bytes (it also stops its dynamic
    growth); RETURNS False where the C library has no mallopt (not glibc)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    mallopt = getattr(libc, "mallopt", None)
    return bool(mallopt and mallopt(M_MMAP_THRESHOLD, int(size)) == 1)


def available_gb() -> Optional[float]:
    """The memory available to new work (Linux's MemAvailable), in GiB; None where unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / (1024 * 1024)
    except OSError:
        pass
    return None


def autocast_transformers(nlp: Language) -> int:
    """Train every transformer of the pipeline under CPU bfloat16 autocast
    (nerkit.components.precision.PrecisionHFShim); RETURNS how many."""
    names = transformer_pipes(nlp)
    for name in names:
        swap_shim(nlp.get_pipe(name).model, PrecisionHFShim).train_autocast = torch.bfloat16
    return len(names)


def wants_bfloat16(setting: Union[bool, str], native: bool) -> bool:
    """Whether to train under bfloat16 autocast: true/false as given; "auto":
    where the CPU computes bfloat16 natively."""
    if setting == "auto":
        return native
    if isinstance(setting, bool):
        return setting
    raise ValueError(f"nerkit.training_memory.v1: bfloat16 must be true, false or \"auto\", not {setting!r}")


def wants_checkpointing(setting: Union[bool, str], below_gb: float, available: Optional[float]) -> bool:
    """Whether to checkpoint: true/false as given; "auto": with less than
    `below_gb` GiB available (or where that is unknown)."""
    if setting == "auto":
        return available is None or available < below_gb
    if isinstance(setting, bool):
        return setting
    raise ValueError(f"nerkit.training_memory.v1: gradient_checkpointing must be true, false or \"auto\", not {setting!r}")


@registry.callbacks("nerkit.training_memory.v1")
def training_memory(
    gradient_checkpointing: Union[bool, str] = "auto", checkpointing_below_gb: float = 8.0, mmap_threshold: int = 131072,
    bfloat16: Union[bool, str] = False,
) -> Callable[[Language], Language]:
    """An ``[initialize.after_init]`` callback: gradient checkpointing of the
    transformers (true, false, or "auto": where less than
    `checkpointing_below_gb` GiB is available), glibc's mmap threshold
    fixed at `mmap_threshold` bytes (0: glibc's default), and the
    transformers trained under bfloat16 autocast (true, false, or "auto":
    where the CPU computes bfloat16 natively)."""
    if mmap_threshold < 0:
        raise ValueError(f"nerkit.training_memory.v1: mmap_threshold must be >= 0 bytes, not {mmap_threshold}")
    wants_checkpointing(gradient_checkpointing, checkpointing_below_gb, None)  # bad values fail at once
    wants_bfloat16(bfloat16, False)

    def apply(nlp: Language) -> Language:
        if wants_bfloat16(bfloat16, native_bfloat16()):
            if not autocast_transformers(nlp):
                raise ValueError("nerkit.training_memory.v1: bfloat16 needs a transformer component")
            msg.info("Training the transformer under bfloat16 autocast")
        available = available_gb()
        if wants_checkpointing(gradient_checkpointing, checkpointing_below_gb, available):
            enable_gradient_checkpointing(nlp)
            if gradient_checkpointing == "auto":
                where = f"{available:.1f} GiB" if available is not None else "unknown memory"
                msg.info(f"Gradient checkpointing on: {where} available, under {checkpointing_below_gb:g} GiB "
                         "(about 1.7x the time a step)")
        if mmap_threshold and not set_mmap_threshold(mmap_threshold):
            msg.warn("nerkit.training_memory.v1: this C library has no glibc mallopt; mmap_threshold left as it is")
        return nlp

    return apply
