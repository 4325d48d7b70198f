"""Package a trained pipeline as a wheel, with its test scores in meta.json
(``nerkit package``).

The scores come from the evaluation report (nerkit's conlleval-exact scorer on
the test set) and become meta.json's `performance`; spaCy's dev scores from
training move under `performance.dev`.

A pipeline that uses nerkit's components carries their code, so that
`pip install torch==2.13.0 <wheel>` alone installs it (nerkit is not on PyPI):
nerkit/components/ is copied into the package as `<package>.nerkit_components`,
which the package's __init__ imports before the pipeline loads, and `nerkit` is
dropped from the requirements. A pipeline whose transformer runs in ONNX Runtime
(nerkit.OnnxTransformerModel.v1, `nerkit onnx`) requires onnxruntime instead.

Why vendoring and not `spacy package --code`: --code copies loose files and
imports each on its own, but nerkit's components are a subpackage with relative
imports. It also imports them unconditionally, and where nerkit is installed its
entry points register the same names, so a second `nerkit_token_ner` factory
raises spaCy's E004; the __init__ here uses nerkit's registrations when nerkit is
importable (or another package registered them first) and its own copy otherwise.
"""
import importlib.metadata
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import srsly
from spacy.util import load_config, split_requirement, walk_dict

import nerkit

from . import PackagingError

# nerkit/components/ (found without importing it: that loads torch and spacy-transformers)
COMPONENTS_SOURCE = Path(nerkit.__file__).resolve().parent / "components"
VENDORED = "nerkit_components"  # the subpackage name inside the model package
# Goes into the package's __init__.py (spaCy's template) before load(): see the module docstring.
INIT_IMPORTS = f'''
import importlib.util
import warnings

from spacy.language import Language

# nerkit's components, copied from nerkit {nerkit.__version__} into {VENDORED}/ by
# `nerkit package`. Where nerkit is installed its entry points register the same names,
# and a second registration of the factory raises spaCy's E004: use nerkit's then (or the
# copy of another package that registered them first).
if importlib.util.find_spec("nerkit") is not None:
    import nerkit.components  # noqa: F401

    if nerkit.__version__ != "{nerkit.__version__}":
        warnings.warn(f"{{__name__}} was built with nerkit {nerkit.__version__}'s components; "
                      f"using the installed nerkit {{nerkit.__version__}}'s")
elif not Language.has_factory("nerkit_token_ner"):
    from . import {VENDORED}  # noqa: F401
'''


def nerkit_names(model_path: Path) -> Dict[str, str]:
    """nerkit's registered names that the pipeline resolves when it loads (the
    [nlp] and [components] sections, which spaCy's package step reads for its
    requirements), each with the module that registers it (nerkit's entry points)."""
    provided = {ep.name: ep.value.split(":")[0] for ep in importlib.metadata.distribution("nerkit").entry_points}
    config = load_config(model_path / "config.cfg")
    used = {value for section in ("nlp", "components") for path, value in walk_dict(config[section])
            if path[-1].startswith("@")}
    used |= {component["factory"] for component in config["components"].values() if "factory" in component}
    return {name: provided[name] for name in sorted(used) if name in provided}


def runtime_requirements(model_path: Path) -> List[str]:
    """What the pipeline's nerkit components need at run time beyond spaCy's
    requirements: onnxruntime where its transformer runs in ONNX Runtime."""
    from nerkit.components.onnx_runtime import ARCHITECTURE, RUNTIME_REQUIREMENT

    config = load_config(model_path / "config.cfg")
    used = {value for path, value in walk_dict(config["components"]) if path[-1] == "@architectures"}
    return [RUNTIME_REQUIREMENT] if ARCHITECTURE in used else []


def vendor_components(package_dir: Path, requirements: Sequence[str] = ()) -> None:
    """Copy nerkit/components/ into the package directory spaCy made (before the
    wheel is built), import it from the package's __init__, drop nerkit from
    the requirements and add `requirements`, and add the subpackage to setup.py.

    RAISES PackagingError: A component module imports nerkit, or setup.py is not spaCy's template.
    """
    from spacy.cli.package import TEMPLATE_INIT

    main_meta = srsly.read_json(package_dir / "meta.json")
    module_dir = package_dir / f"{main_meta['lang']}_{main_meta['name']}"
    shutil.copytree(COMPONENTS_SOURCE, module_dir / VENDORED, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for path in (module_dir / VENDORED).glob("*.py"):  # it must not need nerkit itself
        if re.search(r"^\s*(from|import)\s+nerkit\b", path.read_text(encoding="utf8"), re.MULTILINE):
            raise PackagingError(f"{path.name} imports nerkit, so its copy would not work without nerkit")
    (module_dir / "__init__.py").write_text(TEMPLATE_INIT.format(imports=INIT_IMPORTS), encoding="utf8")
    kept = [req for req in main_meta["requirements"] if split_requirement(req)[0] != "nerkit"]
    main_meta["requirements"] = kept + [req for req in requirements if req not in kept]
    srsly.write_json(package_dir / "meta.json", main_meta)
    setup_py = package_dir / "setup.py"
    setup = setup_py.read_text(encoding="utf8")
    packages = "packages=[model_name],"  # spaCy's setup.py lists only the top-level package
    if setup.count(packages) != 1:
        raise PackagingError(f"Can't add {VENDORED} to {setup_py}: no '{packages}' in spaCy's template")
    setup_py.write_text(setup.replace(packages, f"packages=[model_name, model_name + '.{VENDORED}'],"),
                        encoding="utf8")


def package_meta(model_path: Path, report: dict) -> dict:
    """The pipeline's meta.json with the report's test scores as `performance`
    (spaCy's dev scores from training under `performance.dev`) and a description
    naming the test set."""
    from nerkit.scoring import headline

    meta = srsly.read_json(model_path / "meta.json")
    dev = {key: value for key, value in meta.get("performance", {}).items() if key.startswith("ents_")}
    meta["performance"] = {**headline(report), "dev": dev}
    meta["description"] = (
        f"NER pipeline built with nerkit. Test set: {report['meta']['test_data']} "
        f"(entity F1 {report['entity']['micro']['f1']:.4f}, conlleval-exact)."
    )
    return meta


def package_pipeline(
    model_path: Path, metrics_path: Path, output_dir: Path, *, name: str, version: str
) -> Tuple[Path, Dict[str, str]]:
    """Build OUTPUT_DIR/<lang>_<name>-<version>/dist/*.whl from MODEL_PATH with
    the test scores of the report METRICS_PATH in meta.json, carrying nerkit's
    components where the pipeline uses them. The meta goes to
    MODEL_PATH/../meta-package.json first (spaCy's package step reads it there).

    RETURNS (Tuple[Path, Dict[str, str]]): The package directory (its wheel in
        dist/) and the nerkit names whose components it carries (``nerkit_names``).
    RAISES PackagingError: The pipeline needs nerkit functions outside nerkit.components.
    """
    from spacy.cli.package import package

    meta = package_meta(model_path, srsly.read_json(metrics_path))
    meta_path = model_path.parent / "meta-package.json"
    srsly.write_json(meta_path, meta)
    output_dir.mkdir(parents=True, exist_ok=True)
    names = nerkit_names(model_path)
    outside = sorted(name for name, module in names.items() if not module.startswith("nerkit.components"))
    if outside:
        raise PackagingError("The pipeline needs nerkit functions from outside nerkit.components, which is all "
                             "a package carries", ", ".join(outside))
    # spaCy makes the package directory; the wheel is built after the components are copied in
    package(model_path, output_dir, meta_path=meta_path, name=name, version=version,
            create_sdist=False, create_wheel=False, force=True, silent=False)
    package_dir = output_dir / f"{meta['lang']}_{name}-{version}"
    if names:
        vendor_components(package_dir, runtime_requirements(model_path))
    shutil.rmtree(package_dir / "dist", ignore_errors=True)
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "."], cwd=package_dir,
                   check=True, stdout=subprocess.DEVNULL)
    return package_dir, names
