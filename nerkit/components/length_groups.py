"""The transformer's inference forward in groups of windows of similar length.

spacy-transformers pads every window of a `Transformer.predict` batch to the
longest one, so a document's short last window costs as much as a full one.
`predict_in_length_groups` runs the batch's windows sorted by length, in groups
of at most `max_pieces` padded word pieces (a longer window alone), each padded
only to its own longest, and puts the outputs back in the batch's order and
shape (zeros past each window's end, where nothing reads them). Real positions
get what the one padded forward gives them (attention masks out the padding).

The inference shims (bfloat16/float32 `PrecisionHFShim`, int8
`QuantizedHFShim`, ONNX `OnnxHFShim`) get it from the `LengthGroupedPredict`
mixin, with their `length_group_pieces` (0: one forward, as spacy-transformers
does); the `nerkit.inference_precision.v1` callback sets it. Training is unchanged.
"""
from typing import Any, Callable, Dict, List, Sequence

import torch
from thinc.api import ArgsKwargs


def length_groups(lengths: Sequence[int], max_pieces: int) -> List[List[int]]:
    """Indices of `lengths`, longest first, in groups whose padded size (count × longest) is at most
    `max_pieces`; a sequence longer than that is a group of its own."""
    groups: List[List[int]] = []
    longest = 0
    for i in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        if groups and (len(groups[-1]) + 1) * longest <= max_pieces:
            groups[-1].append(i)
        else:
            groups.append([i])
            longest = lengths[i]
    return groups


def predict_in_length_groups(predict: Callable[[ArgsKwargs], Any], inputs: ArgsKwargs, max_pieces: int) -> Any:
    """`predict(inputs)`, computed over the rows of `inputs` (keyword tensors of shape batch × length with an
    `attention_mask`) in length groups of at most `max_pieces` padded pieces. Falls back to one call where
    grouping cannot save anything or the outputs are not all batch-first tensors."""
    mask = inputs.kwargs.get("attention_mask")
    if max_pieces <= 0 or inputs.args or mask is None or mask.dim() != 2 or mask.shape[0] < 2:
        return predict(inputs)
    lengths = [int(n) for n in mask.sum(-1).tolist()]
    groups = length_groups(lengths, max_pieces)
    if len(groups) == 1 and max(lengths) == mask.shape[1]:
        return predict(inputs)
    batch, width = mask.shape
    merged: Dict[str, torch.Tensor] = {}
    output_cls = None
    for group in groups:
        longest = max(1, lengths[group[0]])  # groups are longest first; all padding still gets one position
        rows = torch.tensor(group, dtype=torch.long)
        kwargs = {key: value[rows, :longest] if torch.is_tensor(value) and value.dim() == 2 else value
                  for key, value in inputs.kwargs.items()}
        output = predict(ArgsKwargs(args=(), kwargs=kwargs))
        if not all(torch.is_tensor(v) and v.shape[0] == len(group) and (v.dim() < 3 or v.shape[1] == longest)
                   for v in output.values()):
            return predict(inputs)  # hidden states or attentions per layer: not merged here
        output_cls = type(output)
        for key, value in output.items():
            if key not in merged:
                shape = (batch, width, *value.shape[2:]) if value.dim() >= 3 else (batch, *value.shape[1:])
                merged[key] = value.new_zeros(shape)
            if value.dim() >= 3:
                merged[key][rows, :longest] = value
            else:
                merged[key][rows] = value
    return output_cls(**merged)


class LengthGroupedPredict:
    """Mixin for an HFShim subclass: `predict` runs `predict_group` (the shim's
    own forward, by default the next class's `predict`) in length groups of at
    most `length_group_pieces` padded pieces (0: one forward a batch)."""

    length_group_pieces: int = 0

    def predict_group(self, inputs: ArgsKwargs) -> Any:
        return super().predict(inputs)  # type: ignore[misc]

    def predict(self, inputs: ArgsKwargs) -> Any:
        return predict_in_length_groups(self.predict_group, inputs, self.length_group_pieces)
