"""What the int8, ONNX and bfloat16 transformers share: finding a pipeline's
transformer pipes, giving one another HF shim, loading a trained pipeline in
float32 (the precision callback's override) and saving a copy of it whose
config names another architecture (`nerkit quantize`, `nerkit onnx`)."""
from pathlib import Path
from typing import Any, Dict, Iterable, List, Set, Tuple, Type, Union

import srsly
from spacy.language import Language
from spacy.util import load_config, load_model
from spacy_transformers.layers.hf_shim import HFShim
from spacy_transformers.layers.transformer_model import TransformerModel
from thinc.api import Config

PRECISION_CALLBACK = "nerkit.inference_precision.v1"  # registered by nerkit.components.precision
FLOAT32 = {"nlp": {"after_pipeline_creation": {"dtype": "float32"}}}  # spacy.load(config=...)
FLOAT_ARCHITECTURES = {f"spacy-transformers.TransformerModel.v{n}" for n in (1, 2, 3)}
# meta.json name suffixes of converted copies (nerkit.components.quantized's, onnx_runtime's)
KNOWN_SUFFIXES = ("_int8", "_onnx_int8", "_onnx")


def float32_overrides(config: Any) -> dict:
    """spacy.load's `config` that loads a pipeline of `config` in float32: FLOAT32
    where it sets its precision with nerkit.inference_precision.v1, else nothing."""
    callback = config["nlp"].get("after_pipeline_creation") or {}
    return FLOAT32 if callback.get("@callbacks") == PRECISION_CALLBACK else {}


def swap_shim(model: TransformerModel, shim_cls: Type[HFShim]) -> HFShim:
    """The TransformerModel's HF shim as a `shim_cls` over the same HF objects:
    the shim itself if it is one, else a new one put in its place."""
    wrapper = model.layers[0]
    shim = wrapper.shims[0]
    if not isinstance(shim, shim_cls):
        shim = shim_cls(
            shim._hfmodel, config=shim.cfg, optimizer=shim._optimizer, mixed_precision=shim._mixed_precision,
            config_cls=shim.config_cls, model_cls=shim.model_cls, tokenizer_cls=shim.tokenizer_cls,
            grad_scaler_config={"enabled": shim._grad_scaler._enabled},
        )
        wrapper.shims[0] = shim
    return shim


def transformer_pipes(nlp: Language) -> List[str]:
    """Names of the pipes whose model is a TransformerModel (the `transformer` component)."""
    return [name for name, pipe in nlp.pipeline if isinstance(getattr(pipe, "model", None), TransformerModel)]


def load_float32_pipeline(source: Union[str, Path]) -> Tuple[Language, Config]:
    """The trained pipeline at `source` (a directory or an installed package name)
    loaded in float32, and its config: a bfloat16 load (on CPUs that have it,
    nerkit.inference_precision.v1) would round the weights."""
    if Path(source).is_dir():
        config = load_config(Path(source) / "config.cfg")
        return load_model(source, config=float32_overrides(config)), config
    nlp = load_model(source)  # an installed package: its config comes with it
    if float32_overrides(nlp.config):
        nlp = load_model(source, config=float32_overrides(nlp.config))
    return nlp, nlp.config


def convertible_pipes(nlp: Language, config: Config, source: Union[str, Path], what: str,
                      architectures: Set[str]) -> Dict[str, str]:
    """{name: architecture} of the pipeline's transformer pipes, each of which must
    use one of `architectures` (else ValueError, as when there is none)."""
    names = transformer_pipes(nlp)
    if not names:
        raise ValueError(f"{source}: no transformer component (spacy-transformers' TransformerModel) to {what}")
    found = {}
    for name in names:
        architecture = config["components"][name]["model"].get("@architectures")
        if architecture not in architectures:
            raise ValueError(f"{source}: pipe '{name}' uses {architecture}; can {what} {sorted(architectures)}")
        found[name] = architecture
    return found


def save_with_architecture(nlp: Language, output: Path, names: Iterable[str], architecture: str,
                           suffix: str) -> None:
    """nlp.to_disk(output), then config.cfg naming `architecture` for the pipes
    `names` and meta.json's name ending in `suffix` (once)."""
    nlp.to_disk(output)
    saved = load_config(output / "config.cfg", interpolate=False)
    for name in names:
        saved["components"][name]["model"]["@architectures"] = architecture
    saved.to_disk(output / "config.cfg")
    meta = srsly.read_json(output / "meta.json")
    base = meta["name"]
    while any(base.endswith(known) for known in KNOWN_SUFFIXES):  # a copy of a copy: named after the original
        base = base[: -len(next(known for known in KNOWN_SUFFIXES if base.endswith(known)))]
    meta["name"] = f"{base}{suffix}"
    srsly.write_json(output / "meta.json", meta)
