"""The transformer in ONNX Runtime: `nerkit.OnnxTransformerModel.v1`.

This architecture is `spacy-transformers.TransformerModel.v3` (same arguments)
with a shim (`OnnxHFShim`) that runs the transformer as an ONNX graph in an
`onnxruntime.InferenceSession` instead of PyTorch, float32 or int8 (ONNX
Runtime's dynamic quantization: int8 weights with a scale per output channel,
activations quantized per batch at run time). It returns what spacy-transformers'
HFShim returns (a transformers ModelOutput of torch tensors: last_hidden_state,
and pooler_output where the model has a pooler), so the Transformer pipe and
its listeners work unchanged.

What the pipeline saves: the HF config and tokenizer as spacy-transformers saves
them, and the ONNX model's bytes in place of the torch weights (dynamic axes for
batch and sequence length). Loading needs `onnxruntime` (nerkit's `onnx` extra;
a packaged ONNX pipeline requires it) but no torch weights and no torch model.
The session runs on the CPU with `torch.get_num_threads()` intra-op threads and
every graph optimization on; a forked or unpickled copy makes its own.

Inference only: training or fine-tuning through it raises. `onnx_pipeline`
turns a trained float pipeline into this one (`nerkit onnx`); exporting needs
`onnx` and `onnxscript` as well (torch's exporter), which loading does not.
"""
import os
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Union

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

ARCHITECTURE = "nerkit.OnnxTransformerModel.v1"
RUNTIME_REQUIREMENT = "onnxruntime>=1.17"  # what a packaged ONNX pipeline requires (nerkit package)
INSTALL = "pip install 'nerkit[onnx]' (or: pip install onnxruntime onnx onnxscript)"
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT_NAMES = ("last_hidden_state", "pooler_output")
FORMAT = 1  # the layout of the shim's saved "onnx" entry
# Sessions a forked child inherited: never freed there, as freeing one joins its
# parent's thread pool, whose threads the child does not have (it would hang).
_INHERITED_SESSIONS: List[Any] = []


def import_onnxruntime() -> Any:
    """onnxruntime, or an ImportError that says how to install it."""
    try:
        import onnxruntime
    except ImportError as err:
        raise ImportError(f"{ARCHITECTURE} runs the transformer in ONNX Runtime, which is not installed: "
                          f"{INSTALL}") from err
    return onnxruntime


def make_session(model_bytes: bytes, threads: Optional[int] = None) -> Any:
    """An InferenceSession on the CPU with `threads` intra-op threads (default:
    torch's), one inter-op thread and all graph optimizations."""
    ort = import_onnxruntime()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only
    return ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])


class OnnxTransformer(torch.nn.Module):
    """Stands in for the HF torch model inside the shim: its `config`, a CPU
    `device` (where spacy-transformers puts the inputs), no parameters, and a
    forward that runs the ONNX model in ONNX Runtime. The session is made on
    first use in each process (a forked child or an unpickled copy makes its
    own: a session's thread pool does not survive a fork)."""

    def __init__(self, config: Any, model_bytes: bytes = b"", int8: bool = False):
        super().__init__()
        self.config = config
        self.model_bytes = model_bytes
        self.int8 = int8
        self._session: Any = None
        self._session_pid: Optional[int] = None

    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    @property
    def session(self) -> Any:
        if not self.model_bytes:
            raise ValueError(f"{ARCHITECTURE}: the transformer has no ONNX model (nothing was exported or loaded)")
        if self._session is None or self._session_pid != os.getpid():
            if self._session is not None:  # made before a fork: this is the child
                _INHERITED_SESSIONS.append(self._session)
            self._session = make_session(self.model_bytes)
            self._session_pid = os.getpid()
        return self._session

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: Optional[torch.Tensor] = None, **_: Any) -> Any:
        from transformers.modeling_outputs import BaseModelOutputWithPooling

        session = self.session
        given = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}
        feed = {}
        for node in session.get_inputs():
            value = given.get(node.name)
            if value is None and node.name == "token_type_ids":  # the HF default: one segment
                value = torch.zeros_like(input_ids)
            feed[node.name] = value.detach().cpu().numpy().astype("int64", copy=False)
        names = [node.name for node in session.get_outputs()]
        outputs = dict(zip(names, session.run(names, feed)))
        return BaseModelOutputWithPooling(**{name: torch.from_numpy(value) for name, value in outputs.items()})

    def __getstate__(self) -> Dict[str, Any]:
        state = self.__dict__.copy()
        state["_session"], state["_session_pid"] = None, None  # not picklable: each copy makes its own
        return state

    @classmethod
    def from_config(cls, config: Any) -> "OnnxTransformer":
        """For HFShim.from_bytes, which builds `model_cls.from_config(config)`: the
        stand-in, without a model until the shim gives it its bytes."""
        return cls(config)


class OnnxHFShim(LengthGroupedPredict, HFShim):
    """HFShim that predicts with ONNX Runtime. Over a torch model (a float
    pipeline being converted, `onnx_pipeline`) it exports it to ONNX on first
    use or save (int8 when `int8` is set); loaded, it holds the ONNX model only."""

    int8: bool = False

    def onnx_model(self) -> OnnxTransformer:
        model = self._model
        if not isinstance(model, OnnxTransformer):
            if model is None:
                raise ValueError(f"{ARCHITECTURE}: the transformer is not initialized")
            onnx = export_onnx(model, self._hfmodel.tokenizer)
            model = OnnxTransformer(model.config, quantize_onnx(onnx) if self.int8 else onnx, self.int8)
            self._set_model(model)
        elif self.int8 and not model.int8:
            model = OnnxTransformer(model.config, quantize_onnx(model.model_bytes), True)
            self._set_model(model)
        return model

    def _set_model(self, model: torch.nn.Module) -> None:
        self._model = model
        self._hfmodel.transformer = model

    def predict_group(self, inputs: Any) -> Any:
        return self.onnx_model()(*inputs.args, **inputs.kwargs)

    def begin_update(self, inputs: Any) -> Any:
        raise ValueError(
            f"{ARCHITECTURE} is for inference only (the transformer runs in ONNX Runtime, which has no "
            "gradients): train or fine-tune the float pipeline, then convert it again (nerkit onnx), or "
            "freeze the transformer ([training] frozen_components)"
        )

    def to_bytes(self) -> bytes:
        if self._hfmodel.transformer is None:  # not initialized: nothing to export
            return super().to_bytes()
        model = self.onnx_model()
        msg = srsly.msgpack_loads(super().to_bytes())  # the config and tokenizer; the (empty) torch state
        msg["onnx"] = {"format": FORMAT, "model": model.model_bytes, "int8": model.int8}
        return srsly.msgpack_dumps(msg)

    def from_bytes(self, bytes_data: bytes) -> "OnnxHFShim":
        msg = srsly.msgpack_loads(bytes_data)
        if not msg["config"] or "onnx" not in msg:  # not initialized, or a float model to export
            return super().from_bytes(bytes_data)
        onnx = msg.pop("onnx")
        if onnx.get("format") != FORMAT:
            raise ValueError(f"{ARCHITECTURE}: saved ONNX entry of format {onnx.get('format')}, "
                             f"this nerkit reads format {FORMAT}")
        import_onnxruntime()  # fail here, with the install hint, not at the first prediction
        with model_class(self, OnnxTransformer):  # the config and tokenizer as HFShim loads them, no torch model
            super().from_bytes(srsly.msgpack_dumps(msg))
        model = OnnxTransformer(self._model.config, onnx["model"], bool(onnx["int8"]))
        model.session  # noqa: B018 -- a broken model fails at load time
        self._set_model(model)
        return self


@contextmanager
def model_class(shim: HFShim, cls: Any) -> Iterator[None]:
    saved, shim.model_cls = shim.model_cls, cls
    try:
        yield
    finally:
        shim.model_cls = saved


def accepts_token_type_ids(model: torch.nn.Module, tokenizer: Any) -> bool:
    """Whether spacy-transformers passes token_type_ids to this model (its
    tokenizer returns them) and the model takes them."""
    import inspect

    takes = "token_type_ids" in inspect.signature(model.forward).parameters
    return takes and "token_type_ids" in getattr(tokenizer, "model_input_names", ())


class _ExportWrapper(torch.nn.Module):
    """The HF model with positional tensor inputs and a tuple of tensor outputs."""

    def __init__(self, model: torch.nn.Module, with_pooler: bool):
        super().__init__()
        self.model = model
        self.with_pooler = with_pooler

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: Optional[torch.Tensor] = None) -> Any:
        extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, return_dict=True, **extra)
        return (out.last_hidden_state, out.pooler_output) if self.with_pooler else (out.last_hidden_state,)


def export_onnx(model: torch.nn.Module, tokenizer: Any) -> bytes:
    """The HF torch model as an ONNX model (float32, CPU; torch's dynamo
    exporter), inputs input_ids, attention_mask (and token_type_ids where the
    model takes them) with dynamic batch and sequence axes; outputs
    last_hidden_state (and pooler_output where the model has a pooler)."""
    model = model.to("cpu", torch.float32).eval()
    names = [name for name in INPUT_NAMES[:2]]
    if accepts_token_type_ids(model, tokenizer):
        names.append("token_type_ids")
    example = tokenizer(["Hello world from nerkit .", "A second , longer example sentence goes here ."],
                        return_tensors="pt", padding=True)
    args = tuple(example[name] if name in example else torch.zeros_like(example["input_ids"]) for name in names)
    with torch.no_grad():
        with_pooler = getattr(model(**dict(zip(names, args)), return_dict=True), "pooler_output", None) is not None
    batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence")
    import logging

    exporter_log = logging.getLogger("torch.onnx")
    level = exporter_log.level
    exporter_log.setLevel(logging.ERROR)  # "torchvision is not installed" and such
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                _ExportWrapper(model, with_pooler).eval(), args, dynamo=True, input_names=names,
                output_names=list(OUTPUT_NAMES[: 2 if with_pooler else 1]),
                dynamic_shapes={name: {0: batch, 1: sequence} for name in names}, external_data=False,
                verbose=False,
            )
    except ImportError as err:  # onnx, onnxscript
        raise ImportError(f"Exporting the transformer to ONNX needs onnx and onnxscript: {INSTALL}") from err
    finally:
        exporter_log.setLevel(level)
    return program.model_proto.SerializeToString()


def quantize_onnx(model_bytes: bytes) -> bytes:
    """The ONNX model with ONNX Runtime's dynamic int8 quantization: int8 weights
    with a scale per output channel (per_channel), activations quantized per
    batch at run time; after ONNX Runtime's pre-processing (graph optimization)."""
    import logging

    import_onnxruntime()
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantizer logs its advice on the root logger
    try:
        with tempfile.TemporaryDirectory(prefix="nerkit-onnx-") as tmp:
            source, prepared, quantized = (Path(tmp) / name for name in ("model.onnx", "pre.onnx", "int8.onnx"))
            source.write_bytes(model_bytes)
            # the symbolic shape inference does not follow the exporter's graph; onnx's own does
            quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
            quantize_dynamic(str(prepared), str(quantized), per_channel=True, weight_type=QuantType.QInt8)
            return quantized.read_bytes()
    finally:
        root.setLevel(level)


def use_onnx_shim(model: TransformerModel, int8: bool = False) -> TransformerModel:
    """Swap the TransformerModel's HF shim for an OnnxHFShim over the same HF
    objects (a torch model is exported when it is next used or saved)."""
    swap_shim(model, OnnxHFShim).int8 = int8
    return model


@registry.architectures(ARCHITECTURE)
def build_onnx_transformer_model(
    name: str,
    get_spans: Callable,
    tokenizer_config: dict = {},
    transformer_config: dict = {},
    mixed_precision: bool = False,
    grad_scaler_config: dict = {},
) -> TransformerModel:
    """`spacy-transformers.TransformerModel.v3` (same arguments) whose
    transformer runs in ONNX Runtime (float32 or int8, as saved), on the CPU.
    Inference only."""
    model = TransformerModel(name, get_spans, tokenizer_config, transformer_config, mixed_precision, grad_scaler_config)
    return use_onnx_shim(model)


def onnx_pipeline(source: Union[str, Path], output: Path, int8: bool = False) -> Dict[str, str]:
    """Save the trained pipeline at `source` (a float one, or an ONNX one to
    quantize) to `output` with its transformer exported to ONNX, float32 or
    `int8`; config.cfg names ARCHITECTURE for it, meta.json's name ends in
    _onnx or _onnx_int8. Returns {pipe name: its former architecture}."""
    import_onnxruntime()
    nlp, config = load_float32_pipeline(source)
    replaced = convertible_pipes(nlp, config, source, "convert to ONNX", FLOAT_ARCHITECTURES | {ARCHITECTURE})
    for name in replaced:
        shim = swap_shim(nlp.get_pipe(name).model, OnnxHFShim)
        model = shim._model
        if isinstance(model, OnnxTransformer) and model.int8 and not int8:
            raise ValueError(f"{source}: its transformer is int8 already; convert the float pipeline instead")
        shim.int8 = int8
        shim.onnx_model()
    save_with_architecture(nlp, Path(output), replaced, ARCHITECTURE, "_onnx_int8" if int8 else "_onnx")
    return replaced


__all__ = ["ARCHITECTURE", "OnnxHFShim", "OnnxTransformer", "build_onnx_transformer_model", "export_onnx",
           "onnx_pipeline", "quantize_onnx"]
