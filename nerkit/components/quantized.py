"""An int8 transformer that survives saving and loading: `nerkit.QuantizedTransformerModel.v1`.

spacy-transformers 1.4 saves the HF model as its state dict and, on load,
rebuilds a float model from the saved HF config and loads that dict into it. A
model quantized with torch's `quantize_dynamic` does not survive this: its dict
does not fit the float model, and the non-strict fallback leaves every Linear
layer random with only a warning.

This architecture is `spacy-transformers.TransformerModel.v3` with a shim that
knows: on load it builds the float model from the config, quantizes its Linear
layers (the structure of the saved model) and loads the saved dict strictly.
What it saves: the Linear weights in int8 (dynamic quantization with a scale per
output channel, activations quantized per batch at run time) and the word
embeddings in float16: about 40% of the float32 size.

Inference only and CPU only (torch's quantized kernels). `quantize_pipeline`
turns a trained float pipeline into this one (`nerkit quantize`).
"""
import warnings
from io import BytesIO
from pathlib import Path
from typing import Callable, Dict, Union

import srsly
import torch
from spacy.util import registry
from spacy_transformers.layers.hf_shim import HFShim
from spacy_transformers.layers.transformer_model import TransformerModel

from .length_groups import LengthGroupedPredict
from .transformer_copies import (
    FLOAT_ARCHITECTURES,
    convertible_pipes,
    load_float32_pipeline,
    save_with_architecture,
    swap_shim,
)

ARCHITECTURE = "nerkit.QuantizedTransformerModel.v1"


def quantize_linear(model: torch.nn.Module) -> torch.nn.Module:
    """The model with its Linear layers dynamically quantized to int8 (a copy),
    one scale per output channel: on CoNLL-2003 test (the default recipe, float
    89.93) per-channel scales gave 89.28 where one scale per tensor gave 88.86,
    both with every other float tensor in float16."""
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    with warnings.catch_warnings():  # torch 2.13 marks torch.ao.quantization deprecated (torchao replaces it)
        warnings.filterwarnings("ignore", message=r".*(torch\.ao\.quantization|quantize_per_(tensor|channel)).*")
        return quantize_dynamic(model, {torch.nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8)


def is_quantized(model: torch.nn.Module) -> bool:
    from torch.ao.nn.quantized.dynamic import Linear as DynamicQuantizedLinear

    return any(isinstance(module, DynamicQuantizedLinear) for module in model.modules())


def state_bytes(model: torch.nn.Module) -> bytes:
    """The quantized model's state dict, its word-embedding table in float16 and
    the other float tensors as they are: on CoNLL-2003 test, float16 for the word
    embeddings only gave 89.59, for every float tensor (LayerNorm, position
    embeddings too) 89.28 (benchmarks/results/inference_vs_hf.md: the former)."""
    embeddings = model.get_input_embeddings().weight
    key = next(name for name, param in model.named_parameters() if param is embeddings)
    state = model.state_dict()  # in place: the dict's _metadata (module versions) must stay
    state[key] = state[key].half()
    buffer = BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def load_state(model: torch.nn.Module, data: bytes) -> None:
    """Load `state_bytes` output strictly, float16 tensors back to the model's dtypes."""
    with warnings.catch_warnings():  # torch's own loader of quantized tensors uses TypedStorage
        warnings.filterwarnings("ignore", message="TypedStorage is deprecated")
        state = torch.load(BytesIO(data), map_location="cpu")
    expected = model.state_dict()
    for key, value in state.items():
        if torch.is_tensor(value) and value.dtype == torch.float16 and key in expected:
            state[key] = value.to(expected[key].dtype)
    model.load_state_dict(state)


class QuantizedHFShim(LengthGroupedPredict, HFShim):
    """HFShim whose model is saved and loaded int8-quantized."""

    def to_bytes(self) -> bytes:
        msg = srsly.msgpack_loads(super().to_bytes())
        if self._hfmodel.transformer is not None:
            if not is_quantized(self._model):
                self._set_transformer(quantize_linear(self._model))
            msg["state"] = state_bytes(self._model)
        return srsly.msgpack_dumps(msg)

    def from_bytes(self, bytes_data: bytes) -> "QuantizedHFShim":
        msg = srsly.msgpack_loads(bytes_data)
        if not msg["config"]:  # not initialized: nothing to quantize
            return super().from_bytes(bytes_data)
        state, msg["state"] = msg["state"], _empty_state()
        with warnings.catch_warnings():  # the float model built from the config, its weights come below
            warnings.filterwarnings("ignore", message="Error loading saved torch state_dict")
            super().from_bytes(srsly.msgpack_dumps(msg))
        model = quantize_linear(self._model.to("cpu"))
        load_state(model, state)
        self._set_transformer(model.eval())
        return self

    def _set_transformer(self, model: torch.nn.Module) -> None:
        self._model = model
        self._hfmodel.transformer = model


def _empty_state() -> bytes:
    buffer = BytesIO()
    torch.save({}, buffer)
    return buffer.getvalue()


def use_quantized_shim(model: TransformerModel) -> TransformerModel:
    """Swap the TransformerModel's HF shim for a QuantizedHFShim over the same
    HF objects (a float model is quantized when it is next saved)."""
    swap_shim(model, QuantizedHFShim)
    return model


@registry.architectures(ARCHITECTURE)
def build_quantized_transformer_model(
    name: str,
    get_spans: Callable,
    tokenizer_config: dict = {},
    transformer_config: dict = {},
    mixed_precision: bool = False,
    grad_scaler_config: dict = {},
) -> TransformerModel:
    """`spacy-transformers.TransformerModel.v3` (same arguments), saved and
    loaded with int8 Linear layers and float16 word embeddings. Inference on CPU only."""
    model = TransformerModel(name, get_spans, tokenizer_config, transformer_config, mixed_precision, grad_scaler_config)
    return use_quantized_shim(model)


def quantize_pipeline(source: Union[str, Path], output: Path) -> Dict[str, str]:
    """Save the trained float pipeline at `source` to `output` with its
    transformer quantized (int8 Linear, float16 word embeddings); config.cfg names
    ARCHITECTURE for it. Returns {pipe name: its former architecture}."""
    nlp, config = load_float32_pipeline(source)
    replaced = convertible_pipes(nlp, config, source, "quantize", FLOAT_ARCHITECTURES | {ARCHITECTURE})
    for name in replaced:
        use_quantized_shim(nlp.get_pipe(name).model)
    save_with_architecture(nlp, Path(output), replaced, ARCHITECTURE, "_int8")
    return replaced
