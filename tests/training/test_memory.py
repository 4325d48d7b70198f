"""`nerkit.training_memory.v1`: with gradient checkpointing the transformer
recomputes its layers in the backward pass (so it does not keep their
activations) and training takes the same steps as without it; with a fixed mmap
threshold freed large buffers go back to the operating system."""
import subprocess
import sys
from typing import List

import pytest
import spacy
from spacy.util import load_model_from_config

from nerkit.training.memory import (
    available_gb, training_memory, transformer_modules, wants_bfloat16, wants_checkpointing,
)

from ..components.test_token_ner import config_with_tiny_bert, sample_examples, train

# the allocator setting is process-wide: left out here, tested in a child process below
CALLBACK = {"@callbacks": "nerkit.training_memory.v1", "gradient_checkpointing": True, "mmap_threshold": 0}


def pipeline(tiny_bert, checkpointing: bool, bfloat16: bool = False):
    config = config_with_tiny_bert("minilm_tokner_case_goldtok.cfg", tiny_bert)
    callback = {**CALLBACK, "gradient_checkpointing": checkpointing, "bfloat16": bfloat16}
    config["initialize"]["after_init"] = callback if checkpointing or bfloat16 else None
    return load_model_from_config(config, auto_fill=True)


def layer_calls(nlp, examples, steps: int) -> tuple:
    """(ner losses, forward calls of the first encoder layer) over `steps` updates with dropout."""
    nlp.initialize(lambda: examples)  # builds the HF model; train() initializes again from the same seed
    calls = []

    def count(*_):
        calls.append(1)

    (hf,) = transformer_modules(nlp)
    handle = hf.encoder.layer[0].register_forward_pre_hook(count)  # recomputation may stop before the forward ends
    try:
        losses = train(nlp, examples, steps=steps, drop=0.1)
    finally:
        handle.remove()
    return losses, len(calls), hf


def test_same_training_steps_with_layers_recomputed(tiny_bert):
    plain, checkpointed = pipeline(tiny_bert, False), pipeline(tiny_bert, True)
    examples = sample_examples(plain, n=3, max_tokens=40)
    losses, calls, hf = layer_calls(plain, examples, steps=3)
    assert not hf.is_gradient_checkpointing
    ck_losses, ck_calls, ck_hf = layer_calls(checkpointed, sample_examples(checkpointed, n=3, max_tokens=40), steps=3)
    assert ck_hf.is_gradient_checkpointing
    assert ck_calls == 2 * calls > 0  # each layer runs again in the backward pass
    # the same dropout masks are replayed: the same losses step by step
    assert ck_losses == pytest.approx(losses, rel=1e-4)
    assert losses[-1] < losses[0]


def test_training_under_bfloat16_autocast(tiny_bert):
    """With bfloat16 on, the transformer's layers compute in bfloat16 while it
    trains, its weights and the outputs the head gets stay float32, its weights
    move, and the losses follow float32 training's closely; prediction after
    training is float32 again."""
    import torch

    plain, autocast = pipeline(tiny_bert, False), pipeline(tiny_bert, False, bfloat16=True)
    examples = sample_examples(plain, n=3, max_tokens=40)
    losses, _, _ = layer_calls(plain, examples, steps=4)
    autocast.initialize(lambda: sample_examples(autocast, n=3, max_tokens=40))
    (hf,) = transformer_modules(autocast)
    before = hf.encoder.layer[0].intermediate.dense.weight.detach().clone()
    dtypes = []
    handle = hf.encoder.layer[0].intermediate.register_forward_hook(lambda m, i, out: dtypes.append(out.dtype))
    try:
        ac_losses, _, _ = layer_calls(autocast, sample_examples(autocast, n=3, max_tokens=40), steps=4)
        trained = set(dtypes)
        dtypes.clear()
        docs = list(autocast.pipe(["Peter Smith flew to Paris."]))
    finally:
        handle.remove()
    assert trained == {torch.bfloat16}
    assert set(dtypes) == {torch.float32}  # predict: the float32 model, no autocast
    assert docs[0].has_annotation("ENT_IOB")
    weight = hf.encoder.layer[0].intermediate.dense.weight
    assert weight.dtype == torch.float32 and not torch.equal(weight.detach(), before)
    assert ac_losses == pytest.approx(losses, rel=0.05) and ac_losses[-1] < ac_losses[0]


@pytest.mark.parametrize("setting, native, expected", [
    ("auto", True, True), ("auto", False, False), (True, False, True), (False, True, False),
])
def test_auto_bfloat16_only_where_the_cpu_has_it(setting, native, expected):
    assert wants_bfloat16(setting, native) is expected


def test_bad_settings():
    with pytest.raises(ValueError, match="needs an initialized transformer"):
        training_memory(gradient_checkpointing=True, mmap_threshold=0)(spacy.blank("en"))
    with pytest.raises(ValueError, match="mmap_threshold must be >= 0"):
        training_memory(mmap_threshold=-1)
    nlp = spacy.blank("en")
    assert training_memory(gradient_checkpointing=False, mmap_threshold=0)(nlp) is nlp
    with pytest.raises(ValueError, match='bfloat16 must be true, false or "auto"'):
        training_memory(bfloat16="fast")
    with pytest.raises(ValueError, match="bfloat16 needs a transformer"):
        training_memory(gradient_checkpointing=False, mmap_threshold=0, bfloat16=True)(nlp)


# A child process frees one 8 MB buffer (glibc then raises its mmap threshold to
# 8 MB), allocates 64 more and frees all but the last: heap memory below a live
# buffer cannot be given back, mmapped buffers are.
FRAGMENT = """
import sys, numpy
from nerkit.training.memory import set_mmap_threshold
def rss():
    return int([l for l in open("/proc/self/status") if l.startswith("VmRSS")][0].split()[1]) // 1024
if sys.argv[1] == "fixed":
    assert set_mmap_threshold(131072)
numpy.ones(1 << 20)  # 8 MB, freed at once
before = rss()
buffers = [numpy.ones(1 << 20) for _ in range(64)]
last = buffers[-1]
del buffers
print(rss() - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_fixed_mmap_threshold_gives_freed_memory_back():
    held = {mode: int(subprocess.run([sys.executable, "-c", FRAGMENT, mode], capture_output=True, text=True,
                                     check=True).stdout) for mode in ("glibc", "fixed")}
    assert held["glibc"] > 400 and held["fixed"] < 40, held  # MB still resident after the frees


@pytest.mark.parametrize("setting, available, expected", [
    ("auto", 4.0, True), ("auto", 16.0, False), ("auto", None, True), (True, 64.0, True), (False, 1.0, False),
])
def test_auto_checkpoints_only_where_memory_is_short(setting, available, expected):
    assert wants_checkpointing(setting, 8.0, available) is expected


def test_bad_checkpointing_setting():
    with pytest.raises(ValueError, match='true, false or "auto"'):
        training_memory(gradient_checkpointing="sometimes")
    assert available_gb() is None or available_gb() > 0


def saved_for_backward_mb(checkpointing: bool) -> float:
    """MB of tensors one forward pass of a random 4-layer BERT (2 x 256 pieces) keeps for its
    backward pass, through nerkit.training_memory.v1 with checkpointing on or off."""
    import types

    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    hf = BertModel(BertConfig(hidden_size=64, num_hidden_layers=4, num_attention_heads=4, intermediate_size=256,
                              vocab_size=1000, max_position_embeddings=256, attn_implementation="eager"))
    pipe = types.SimpleNamespace(model=types.SimpleNamespace(transformer=hf))
    training_memory(gradient_checkpointing=checkpointing, mmap_threshold=0)(types.SimpleNamespace(pipeline=[("t", pipe)]))
    hf.train()
    saved: List[int] = []

    def pack(tensor):
        saved.append(tensor.numel() * tensor.element_size())
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        out = hf(input_ids=torch.randint(0, 1000, (2, 256))).last_hidden_state
    out.sum().backward()  # the checkpointed layers are recomputed here, under their own hooks
    return sum(saved) / 2**20


def test_checkpointing_lowers_memory_kept_for_backward():
    off, on = saved_for_backward_mb(False), saved_for_backward_mb(True)
    assert off > 10 and on < off / 4, (off, on)
