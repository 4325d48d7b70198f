"""The search's optional libraries (the `nerkit[search]` extra), imported
behind a guard that says how to install them."""
import importlib
from typing import Tuple

EXTRA = "search"
LIBRARIES: Tuple[str, ...] = ("optuna", "matplotlib")


def missing_search_libs() -> Tuple[str, ...]:
    """The libraries of the extra that cannot be imported."""
    missing = []
    for name in LIBRARIES:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return tuple(missing)


def require_search_libs() -> None:
    """RAISES ImportError, saying what to install, if optuna or matplotlib is missing."""
    missing = missing_search_libs()
    if missing:
        raise ImportError(
            f"nerkit search needs {' and '.join(missing)}: pip install 'nerkit[{EXTRA}]' "
            f"(or pip install {' '.join(missing)})"
        )
