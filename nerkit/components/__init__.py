"""spaCy components: the token-classification NER head (`nerkit_token_ner`,
model `nerkit.TokenTagger.v1`), the case-aware embedding
(`nerkit.CaseAwareListener.v1`), the constrained Viterbi decoder they use,
the tokenizer callback `nerkit.keep_hyphenated_words.v1`, the int8
transformer `nerkit.QuantizedTransformerModel.v1`, the transformer in ONNX
Runtime `nerkit.OnnxTransformerModel.v1` (needs onnxruntime only when used) and
bfloat16 inference (`nerkit.inference_precision.v1`).
Registered on import and through the entry points in pyproject.toml. Importing
it also makes ``nlp.pipe(n_process=N)`` safe to fork (see `fork`)."""
from .fork import register_fork_safety
from .models import build_case_aware_listener, build_case_features, build_token_tagger
from .onnx_runtime import build_onnx_transformer_model, onnx_pipeline
from .precision import inference_precision
from .quantized import build_quantized_transformer_model, quantize_pipeline
from .token_ner import TokenNER, make_token_ner
from .tokenizer import create_keep_hyphenated_words
from .viterbi import is_valid, make_tags, tags_to_spans, transition_mask, viterbi

register_fork_safety()

__all__ = [
    "TokenNER",
    "build_case_aware_listener",
    "build_case_features",
    "build_onnx_transformer_model",
    "build_quantized_transformer_model",
    "build_token_tagger",
    "create_keep_hyphenated_words",
    "inference_precision",
    "is_valid",
    "make_tags",
    "make_token_ner",
    "onnx_pipeline",
    "quantize_pipeline",
    "tags_to_spans",
    "transition_mask",
    "viterbi",
]
