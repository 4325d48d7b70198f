"""bfloat16 inference on CPUs that compute in it: `nerkit.inference_precision.v1`.

An `[nlp.after_pipeline_creation]` callback. It gives the transformer a shim
that, when a trained pipeline is loaded (`spacy.load`), casts the HF model to
bfloat16 where the CPU has native bfloat16 instructions (AVX512-BF16 or AMX) and
hands its outputs on as float32. What is saved stays float32. Training never
loads weights from disk, so it stays float32 too.

On CoNLL-2003 test (the default recipe, float32 89.93), bfloat16 gave 89.96 at
1.42x the words/s on a 2-core AMD EPYC (benchmarks/results/inference_vs_hf.md).
Without native bfloat16, torch emulates it slowly, so "auto" keeps float32 there.
To fine-tune a loaded pipeline, or re-save it without rounding its weights to
bfloat16, load it in float32 (`FLOAT32`):
`spacy.load(name, config={"nlp": {"after_pipeline_creation": {"dtype": "float32"}}})`.

The same shim carries two training settings: CPU bfloat16 autocast of the
forward pass (`nerkit.training_memory.v1`'s `bfloat16`) and the optimizer's
weight averages (`[training.optimizer] use_averages`), which thinc's own
PyTorchShim does not swap in.
"""
import contextlib
from typing import Any, Callable, Dict, Iterator, Optional

import torch
from spacy.language import Language
from spacy.util import registry
from spacy_transformers.layers.hf_shim import HFShim
from spacy_transformers.layers.transformer_model import TransformerModel
from thinc.api import xp2torch

from .length_groups import LengthGroupedPredict
from .onnx_runtime import OnnxHFShim
from .quantized import QuantizedHFShim
from .transformer_copies import FLOAT32, PRECISION_CALLBACK, swap_shim, transformer_pipes

DTYPES = {"auto": None, "float32": torch.float32, "bfloat16": torch.bfloat16}


def native_bfloat16() -> bool:
    """Whether this CPU computes bfloat16 matrix products in hardware (oneDNN's check)."""
    return torch.backends.mkldnn.is_available() and bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def resolve_dtype(dtype: str) -> torch.dtype:
    """The inference dtype that `dtype` ("auto", "float32" or "bfloat16") means on this machine."""
    if dtype not in DTYPES:
        raise ValueError(f"{PRECISION_CALLBACK}: dtype must be one of {', '.join(DTYPES)}, not {dtype!r}")
    if dtype == "auto":
        return torch.bfloat16 if native_bfloat16() else torch.float32
    return DTYPES[dtype]


def model_dtype(model: Optional[torch.nn.Module]) -> Optional[torch.dtype]:
    param = next(model.parameters(), None) if model is not None else None
    return None if param is None else param.dtype


def as_float32(outputs: Any) -> Any:
    """A transformers ModelOutput with its floating-point tensors cast to
    float32, in place and inside the autograd graph (the backward pass gets
    float32 gradients and casts them back)."""
    for key, value in outputs.items():
        if torch.is_tensor(value) and value.is_floating_point() and value.dtype != torch.float32:
            outputs[key] = value.float()
    return outputs


class PrecisionHFShim(LengthGroupedPredict, HFShim):
    """HFShim that casts its loaded model to `inference_dtype` on CPU and
    returns float32 outputs (thinc converts torch outputs through numpy, which
    has no bfloat16). In training it can run its forward under CPU autocast
    (`train_autocast`), and it swaps in the optimizer's weight averages
    (`use_params`)."""

    inference_dtype: torch.dtype = torch.float32
    # training: the HF model's forward (and so its backward) under CPU autocast
    # to this dtype, the weights and optimizer staying float32 (nerkit.training_memory.v1)
    train_autocast: Optional[torch.dtype] = None

    def from_bytes(self, bytes_data: bytes) -> "PrecisionHFShim":
        super().from_bytes(bytes_data)
        model = self._model
        if model is not None and self.inference_dtype != torch.float32 and model.device.type == "cpu":
            model.to(self.inference_dtype)
        return self

    def to_bytes(self) -> bytes:
        """Saved in float32, as trained: after a bfloat16 load, its weights are the rounded ones."""
        dtype = model_dtype(self._model)
        if dtype in (None, torch.float32):
            return super().to_bytes()
        self._model.float()
        try:
            return super().to_bytes()
        finally:
            self._model.to(dtype)

    def predict(self, inputs: Any) -> Any:
        outputs = super().predict(inputs)
        return outputs if model_dtype(self._model) == torch.float32 else as_float32(outputs)

    @contextlib.contextmanager
    def use_params(self, params: Dict[Any, Any]) -> Iterator[None]:
        """Use the weights in `params` meanwhile (e.g. the optimizer's
        averages, which spaCy's training evaluates and saves). thinc's optimizer
        keys a torch weight by (shim id, name), where thinc's PyTorchShim looks
        for "pytorch_{id}_{name}" and so never finds them."""
        named = [(name, param) for name, param in self._model.named_parameters() if (self.id, name) in params]
        if not named:
            yield
            return
        backup = [param.detach().clone() for _, param in named]
        with torch.no_grad():
            for name, param in named:
                param.copy_(xp2torch(params[(self.id, name)]).to(param.dtype))
        try:
            yield
        finally:
            with torch.no_grad():
                for (_, param), saved in zip(named, backup):
                    param.copy_(saved)

    def begin_update(self, inputs: Any) -> Any:
        dtype = model_dtype(self._model)
        if dtype not in (None, torch.float32):
            raise ValueError(
                f"The transformer was loaded in {dtype} for inference ({PRECISION_CALLBACK}); to train or "
                f"fine-tune it, load the pipeline in float32: spacy.load(..., config={FLOAT32})"
            )
        if self.train_autocast is None or self.device.type != "cpu":
            return super().begin_update(inputs)
        with torch.autocast("cpu", dtype=self.train_autocast):
            outputs, backprop = super().begin_update(inputs)
        return as_float32(outputs), backprop


def use_precision_shim(model: TransformerModel, dtype: torch.dtype) -> TransformerModel:
    """Swap the TransformerModel's HF shim for a PrecisionHFShim over the same
    HF objects. An int8 transformer (QuantizedHFShim) and one in ONNX Runtime
    (OnnxHFShim) keep their own."""
    if not isinstance(model.layers[0].shims[0], (QuantizedHFShim, OnnxHFShim)):
        swap_shim(model, PrecisionHFShim).inference_dtype = dtype
    return model


@registry.callbacks(PRECISION_CALLBACK)
def inference_precision(dtype: str = "auto", length_group_pieces: int = 0) -> Callable[[Language], Language]:
    """[nlp.after_pipeline_creation]: load the transformer for inference in
    `dtype`: "auto" (bfloat16 where the CPU has native bfloat16, else
    float32), "float32" or "bfloat16". Saved weights and training stay float32.
    `length_group_pieces` > 0: each inference forward runs its windows in
    groups of similar length of at most that many padded word pieces
    (nerkit.components.length_groups), in every precision and runtime."""
    resolved = resolve_dtype(dtype)
    if length_group_pieces < 0:
        raise ValueError(
            f"{PRECISION_CALLBACK}: length_group_pieces must be 0 (off) or more, not {length_group_pieces}")

    def set_inference_precision(nlp: Language) -> Language:
        for name in transformer_pipes(nlp):
            model = use_precision_shim(nlp.get_pipe(name).model, resolved)
            shim = model.layers[0].shims[0]
            if isinstance(shim, LengthGroupedPredict):
                shim.length_group_pieces = length_group_pieces
        return nlp

    return set_inference_precision
