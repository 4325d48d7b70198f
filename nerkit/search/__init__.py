"""Hyperparameter search over a config with Optuna (`nerkit search`): the
space file (space), one `spacy train` per trial with pruning (trial, logger),
the settings its trials share (settings), the resumable study (study) and its table, plot and best config (report,
plot). optuna and matplotlib come with the `nerkit[search]` extra and are
imported only when a search runs."""
from .logger import TrialReporter, optuna_logger, reporting_to
from .space import Param, SearchSpace, SpaceError, load_space
from .settings import SearchError, SearchSettings, make_settings
from .study import run_search

__all__ = [
    "Param", "SearchError", "SearchSettings", "SearchSpace", "SpaceError", "TrialReporter", "load_space",
    "make_settings", "optuna_logger", "reporting_to", "run_search",
]
