"""Model architectures: the token-classification head (`nerkit.TokenTagger.v1`),
the case-aware embedding (`nerkit.CaseAwareListener.v1`) and first-piece pooling
for a transformer listener (`nerkit.reduce_first.v1`).

Both are registered on import and declared as entry points, so a config that
names them works without importing nerkit first.
"""
import functools
from typing import Callable, List, Optional, Tuple

import numpy
from spacy.attrs import IS_TITLE, IS_UPPER, PREFIX, SHAPE, SUFFIX
from spacy.ml.featureextractor import FeatureExtractor
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import (
    Embed,
    HashEmbed,
    Maxout,
    Model,
    Ops,
    Softmax_v2,
    chain,
    concatenate,
    list2ragged,
    ragged2list,
    with_array,
)
from thinc.types import Floats2d, Ragged

CASE_ATTRS = (SHAPE, PREFIX, SUFFIX, IS_TITLE, IS_UPPER)
CASE_ATTR_NAMES = ("SHAPE", "PREFIX", "SUFFIX", "IS_TITLE", "IS_UPPER")


def _check_tok2vec(tok2vec: object, arch: str) -> None:
    if not isinstance(tok2vec, Model):
        raise ValueError(
            f"{arch}: 'tok2vec' must be a thinc Model (a tok2vec or transformer listener "
            f"mapping List[Doc] to List[Floats2d]), got {type(tok2vec).__name__}"
        )


def _check_positive(arch: str, **values: Optional[int]) -> None:
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{arch}: '{name}' must be a positive integer, got {value!r}")


def normal_init(std: float) -> Callable[[Ops, Tuple[int, ...]], Floats2d]:
    """Weights from N(0, std) (numpy's global RNG, which spaCy seeds). A
    partial of a module-level function, so that a pipeline pickles."""
    return functools.partial(_normal_weights, std)


def _normal_weights(std: float, ops: Ops, shape: Tuple[int, ...]) -> Floats2d:
    return ops.asarray_f(numpy.random.normal(0.0, std, size=shape).astype("float32"))


@registry.architectures("nerkit.TokenTagger.v1")
def build_token_tagger(
    tok2vec: Model[List[Doc], List[Floats2d]], nO: Optional[int] = None, init_std: float = 0.02
) -> Model[List[Doc], List[Floats2d]]:
    """Build a token classifier: a linear layer over each token vector of the
    tok2vec, one score per tag. In training the outputs are softmax
    probabilities (the backward pass expects `probs - truth`, the gradient of
    the cross-entropy); at prediction time they are the unnormalised logits,
    which the pipe turns into log-probabilities for Viterbi decoding.

    tok2vec (Model[List[Doc], List[Floats2d]]): The token vectors, e.g. a
        `spacy-transformers.TransformerListener.v1` or `spacy.HashEmbedCNN.v2`.
    nO (Optional[int]): The number of tags; usually None, set by the pipe from
        its labels.
    init_std (float): Initial weights of the output layer are drawn from
        N(0, init_std), as in Hugging Face's classifier (0.02); 0 = zeros, as
        in spaCy's tagger. With zeros no gradient reaches the tok2vec until the
        weights have grown, which slows fine-tuning a transformer a lot.
    RETURNS (Model[List[Doc], List[Floats2d]]): The model.
    """
    arch = "nerkit.TokenTagger.v1"
    _check_tok2vec(tok2vec, arch)
    _check_positive(arch, nO=nO)
    if isinstance(init_std, bool) or not isinstance(init_std, (int, float)) or not 0.0 <= init_std < 1.0:
        raise ValueError(f"{arch}: 'init_std' must be a number in [0, 1), got {init_std!r}")
    t2v_width = tok2vec.get_dim("nO") if tok2vec.has_dim("nO") else None
    init_W = normal_init(float(init_std)) if init_std else None
    output_layer = Softmax_v2(nO=nO, nI=t2v_width, init_W=init_W, normalize_outputs=False)
    model = chain(tok2vec, with_array(output_layer))
    model.set_ref("tok2vec", tok2vec)
    model.set_ref("output_layer", output_layer)
    return model


def build_case_features(width: int = 64, rows: int = 2000) -> Model[List[Doc], List[Floats2d]]:
    """Embed the token features an uncased model cannot see: hash embeddings
    of SHAPE, PREFIX and SUFFIX (`rows` rows each), two-row lookup tables for
    the IS_TITLE and IS_UPPER flags, concatenated and mixed by a Maxout layer.

    width (int): The width of each embedding and of the output.
    rows (int): The number of rows of each hash embedding table.
    RETURNS (Model[List[Doc], List[Floats2d]]): One (len(doc), width) array per doc.
    """
    arch = "nerkit.CaseAwareListener.v1"
    _check_positive(arch, width=width, rows=rows)
    embeddings = [
        HashEmbed(width, rows, column=0, seed=11, dropout=0.0),
        HashEmbed(width, rows, column=1, seed=12, dropout=0.0),
        HashEmbed(width, rows, column=2, seed=13, dropout=0.0),
        Embed(width, 2, column=3),
        Embed(width, 2, column=4),
    ]
    concat_width = width * len(embeddings)
    model = chain(
        FeatureExtractor(list(CASE_ATTRS)),
        list2ragged(),
        with_array(concatenate(*embeddings)),
        with_array(Maxout(width, concat_width, nP=3, dropout=0.0, normalize=True)),
        ragged2list(),
    )
    model.set_dim("nO", width)
    return model


@registry.architectures("nerkit.CaseAwareListener.v1")
def build_case_aware_listener(
    tok2vec: Model[List[Doc], List[Floats2d]], width: int = 64, rows: int = 2000
) -> Model[List[Doc], List[Floats2d]]:
    """Give an (uncased) tok2vec its capitalisation back: concatenate its
    output with `build_case_features` (SHAPE, PREFIX, SUFFIX, IS_TITLE,
    IS_UPPER). Usable as the tok2vec of spaCy's `ner` and of
    `nerkit_token_ner`; transformer listeners inside it are found as usual.

    tok2vec (Model[List[Doc], List[Floats2d]]): The token vectors, e.g. a
        `spacy-transformers.TransformerListener.v1`.
    width (int): The width of the case features.
    rows (int): Rows of each hash embedding table.
    RETURNS (Model[List[Doc], List[Floats2d]]): Output width (dim nO) is the
        tok2vec's width + `width`: set at construction if the tok2vec's width
        is known then, else when the model is initialised (for a transformer
        listener, once the transformer is).
    """
    arch = "nerkit.CaseAwareListener.v1"
    _check_tok2vec(tok2vec, arch)
    _check_positive(arch, width=width, rows=rows)
    case_features = build_case_features(width=width, rows=rows)
    inner = concatenate(tok2vec, case_features)
    t2v_width = tok2vec.get_dim("nO") if tok2vec.has_dim("nO") else None
    model: Model = Model(
        "case_aware_listener",
        _case_aware_forward,
        init=_case_aware_init,
        dims={"nO": t2v_width + width if t2v_width else None},
        layers=[inner],
        refs={"tok2vec": tok2vec, "case_features": case_features},
        attrs={"case_width": width},
    )
    return model


def _case_aware_forward(model: Model, docs: List[Doc], is_train: bool):
    # The two halves are run here rather than through the `concatenate` layer
    # (kept as layers[0] for initialization and serialization): a transformer
    # listener gives an empty doc a (0, 0) array, which is given the tok2vec's
    # width here so that it joins its (0, case_width) case features.
    tok2vec, case_features = model.get_ref("tok2vec"), model.get_ref("case_features")
    vectors, backprop_vectors = tok2vec(docs, is_train)
    case, backprop_case = case_features(docs, is_train)
    width = model.get_dim("nO") - model.attrs["case_width"]
    shapes = [v.shape for v in vectors]
    vectors = [v if v.shape[0] else model.ops.alloc2f(0, width) for v in vectors]
    outputs = [model.ops.xp.hstack((v, c)) for v, c in zip(vectors, case)]

    def backprop(d_outputs: List[Floats2d]):
        d_vectors = [d[:, :width] if d.shape[0] else model.ops.alloc2f(*shape) for d, shape in zip(d_outputs, shapes)]
        backprop_case([d[:, width:] for d in d_outputs])
        return backprop_vectors(d_vectors)

    return outputs, backprop


def _case_aware_init(model: Model, X: Optional[List[Doc]] = None, Y=None) -> None:
    model.layers[0].initialize(X=X)
    if model.has_dim("nO"):
        return
    tok2vec = model.get_ref("tok2vec")
    t2v_width: Optional[int] = tok2vec.get_dim("nO") if tok2vec.has_dim("nO") else None
    if t2v_width is None and X:
        # e.g. a transformer listener (a chain whose last layer has no nO):
        # its width shows in the output.
        t2v_width = tok2vec.predict(X[:1])[0].shape[1]
    if t2v_width is not None:
        model.set_dim("nO", t2v_width + model.attrs["case_width"])


@registry.layers("nerkit.reduce_first.v1")
def reduce_first() -> Model[Ragged, Floats2d]:
    """Pool each token's word pieces to its first piece's vector, as HF token
    classification does; a token without pieces (whitespace, or cut off by the
    transformer's length limit) gets zeros, where thinc's reduce_first.v1 raises."""
    return Model("nerkit.reduce_first", _reduce_first_forward)


def _reduce_first_forward(model: Model, X: Ragged, is_train: bool):
    xp = model.ops.xp
    lengths = model.ops.asarray(X.lengths, dtype="int64")
    starts = xp.concatenate([xp.zeros((1,), dtype="int64"), xp.cumsum(lengths)[:-1]]) if len(lengths) else lengths
    rows = xp.flatnonzero(lengths > 0)
    Y = model.ops.alloc2f(len(lengths), X.dataXd.shape[1])
    Y[rows] = X.dataXd[starts[rows]]

    def backprop(dY: Floats2d) -> Ragged:
        dX = model.ops.alloc2f(*X.dataXd.shape)
        dX[starts[rows]] = dY[rows]
        return Ragged(dX, X.lengths)

    return Y, backprop
