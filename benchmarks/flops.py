"""What a transformer forward computes and what the CPU could: word pieces
counted from the model's own forward calls, matmul FLOPs from its config, and
the CPU's peak FLOP/s per precision from `lscpu` and the CPU flags.

FLOPs per word piece, per layer (a BERT-like encoder, d = hidden size, d_ff =
intermediate size, L = the padded length of the piece's sequence):
2·(4·d² + 2·d·d_ff) for the Q, K, V, O projections and the feed-forward
layers, plus 2·2·L·d for the attention scores (Q·Kᵀ) and the context
(scores·V). Embeddings, LayerNorm, softmax, the pooler and the
classification head are left out (under 1% on MiniLM-L6).

Peak = cores used (torch threads) × clock (lscpu's max MHz, else /proc/cpuinfo's
MHz) × FMA_UNITS FMA units per core (ASSUMED, not measured) × lanes × 2 (an FMA
is 2 FLOPs), where lanes = 16 float32 per vector with avx512f, 8 with avx2, 4
else; bfloat16 with avx512_bf16: 2× the float32 lanes (vdpbf16ps); int8 with
avx512_vnni or avx_vnni: 4× the float32 lanes (vpdpbusd), counted as 2 ops a
multiply-add; a precision without its instruction: the float32 peak. AMX is not
modelled (a CPU with amx_* flags can go higher than this peak).
"""
import re
import subprocess
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

FMA_UNITS = 2  # per core: an assumption, said in every output
PEAK_FORMULA = ("peak = torch threads × GHz × {units} FMA units/core (assumed) × lanes × 2 FLOPs/FMA; lanes: "
                "float32 16 (avx512f) or 8 (avx2); bfloat16 2× float32 lanes with avx512_bf16; int8 4× float32 "
                "lanes with avx512_vnni/avx_vnni (2 ops a multiply-add); without the instruction, the float32 "
                "peak; AMX not modelled").format(units=FMA_UNITS)
FLOP_FORMULA = ("matmul FLOPs per piece per layer = 2·(4·d² + 2·d·d_ff) + 2·2·L·d (Q,K,V,O and feed-forward, "
                "then attention scores and context; L = padded sequence length); embeddings, LayerNorm, softmax, "
                "pooler and head left out (negligible)")


def encoder_shape(config: Any) -> Dict[str, int]:
    """Layers, hidden size d and intermediate size d_ff from an HF config."""
    return {"layers": config.num_hidden_layers, "d": config.hidden_size, "d_ff": config.intermediate_size}


def flops_per_piece(shape: Dict[str, int], length: float) -> float:
    """Matmul FLOPs of one word piece through all layers, in a sequence of `length` (padded) pieces."""
    d, d_ff = shape["d"], shape["d_ff"]
    return shape["layers"] * (2 * (4 * d * d + 2 * d * d_ff) + 2 * 2 * length * d)


def forward_flops(shape: Dict[str, int], pieces: float, pieces_times_length: float) -> float:
    """Matmul FLOPs of `pieces` pieces whose sequence lengths, summed one per piece, are `pieces_times_length`
    (for one batch of B sequences of L: B·L and B·L²)."""
    return pieces * flops_per_piece(shape, 0) + shape["layers"] * 4 * shape["d"] * pieces_times_length


class PieceCounter:
    """Counts the word pieces a torch module is called on (a forward pre-hook),
    padded (batch × length) and real (the attention mask's ones), with the sums
    of their sequence lengths that the attention's FLOPs need."""

    def __init__(self, module: Any) -> None:
        self.forwards = 0
        self.padded = self.real = self.padded_sq = self.real_sq = 0
        self._hook = module.register_forward_pre_hook(self._count, with_kwargs=True)

    def _count(self, module: Any, args: tuple, kwargs: dict) -> None:
        ids = kwargs.get("input_ids", args[0] if args else None)
        mask = kwargs.get("attention_mask", args[1] if len(args) > 1 else None)
        batch, length = ids.shape
        lengths = [length] * batch if mask is None else mask.sum(-1).tolist()
        self.forwards += 1
        self.padded += batch * length
        self.padded_sq += batch * length * length
        self.real += sum(lengths)
        self.real_sq += sum(n * n for n in lengths)

    def close(self, shape: Dict[str, int], passes: int) -> Dict[str, Any]:
        """Remove the hook; RETURNS the counts and FLOPs of one pass (the totals over `passes` passes, divided)."""
        self._hook.remove()
        padded, real = self.padded / passes, self.real / passes
        return {
            "forwards_per_pass": self.forwards / passes,
            "pieces_padded_per_pass": padded,
            "pieces_real_per_pass": real,
            "mean_padded_length": self.padded_sq / self.padded if self.padded else None,
            "mean_real_length": self.real_sq / self.real if self.real else None,
            "flops_per_pass": forward_flops(shape, padded, self.padded_sq / passes),
            "useful_flops_per_pass": forward_flops(shape, real, self.real_sq / passes),
            "encoder": shape,
        }


def lscpu() -> Dict[str, str]:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return {}
    return dict(line.split(":", 1) for line in out.splitlines() if ":" in line)


def cpu_mhz() -> Dict[str, Any]:
    """The clock the peak uses: lscpu's 'CPU max MHz', else /proc/cpuinfo's 'cpu MHz' (a VM often hides the max)."""
    info = {k.strip(): v.strip() for k, v in lscpu().items()}
    if info.get("CPU max MHz"):
        return {"mhz": float(info["CPU max MHz"]), "source": "lscpu CPU max MHz"}
    try:
        match = re.search(r"^cpu MHz\s*:\s*([\d.]+)", Path("/proc/cpuinfo").read_text(), re.M)
    except OSError:
        match = None
    return {"mhz": float(match.group(1)) if match else None, "source": "cpu MHz of the kernel's cpuinfo (lscpu gives no max)"}


def peak_gflops(threads: int, mhz: Optional[float], flags: Sequence[str]) -> Dict[str, Optional[float]]:
    """Peak GFLOP/s per precision (see PEAK_FORMULA) of `threads` cores at `mhz` with CPU `flags`."""
    if not mhz:
        return {"float32": None, "bfloat16": None, "int8": None}
    lanes = 16 if "avx512f" in flags else 8 if "avx2" in flags else 4
    fp32 = threads * mhz / 1000 * FMA_UNITS * lanes * 2
    return {"float32": fp32,
            "bfloat16": fp32 * 2 if "avx512_bf16" in flags else fp32,
            "int8": fp32 * 4 if {"avx512_vnni", "avx_vnni"} & set(flags) else fp32}
