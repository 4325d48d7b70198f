"""What a search's trials share (SearchSettings), checked against the config
and the space before a search starts (make_settings)."""
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional

import srsly
from spacy.util import load_config

from .space import SearchSpace


class SearchError(ValueError):
    """A search that cannot start or continue as asked."""


@dataclass
class SearchSettings:
    """What a study's trials share. A rerun must match the stored settings, or
    its trials would not be comparable with the earlier ones."""

    config: str
    train: str
    dev: str
    steps: Optional[int] = None  # training.max_steps of every trial (None: the config's)
    eval_frequency: Optional[int] = None  # training.eval_frequency (None: the config's)
    metric: str = "ents_f"
    overrides: Dict[str, Any] = field(default_factory=dict)  # more fixed config overrides
    config_sha256: str = ""
    space: Dict[str, Any] = field(default_factory=dict)

    def fixed_overrides(self) -> Dict[str, Any]:
        """The overrides every trial gets: data, schedule, then the extra ones."""
        fixed: Dict[str, Any] = {"paths.train": self.train, "paths.dev": self.dev}
        if self.steps is not None:
            fixed["training.max_steps"] = self.steps
        if self.eval_frequency is not None:
            fixed["training.eval_frequency"] = self.eval_frequency
        return {**fixed, **self.overrides}


def make_settings(config: Path, space: SearchSpace, train: Path, dev: Path, **options: Any) -> SearchSettings:
    """Settings for a search of `space` over `config`, checking that every
    searched key is a key of the config and no key is both fixed and searched."""
    settings = SearchSettings(
        config=str(config), train=str(train), dev=str(dev), **options,
        config_sha256=hashlib.sha256(config.read_bytes()).hexdigest(),
        space=srsly.json_loads(srsly.json_dumps(space.raw)),  # as the journal gives it back
    )
    space.check_config(load_config(config, interpolate=False), config)
    both = sorted(set(space.keys) & set(settings.fixed_overrides()))
    if both:
        raise SearchError(f"{space.path} searches {', '.join(both)}, which the search's options also set")
    return settings
