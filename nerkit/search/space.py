"""The search space file (YAML, e.g. configs/search_space.yml): which config
keys a search varies and over what values.

    params:
      training.optimizer.learn_rate.initial_rate: {type: float, low: 5.0e-5, high: 5.0e-4, log: true}
      training.optimizer.learn_rate.warmup_steps: {type: int, low: 0, high: 300, step: 50}
      training.batcher.size: {type: categorical, choices: [500, 1000, 2000]}
      window_stride:              # a name that ties several keys together
        type: categorical
        choices:
          "128/96": {components.transformer.model.get_spans.window: 128, components.transformer.model.get_spans.stride: 96}
          "128/128": {components.transformer.model.get_spans.window: 128, components.transformer.model.get_spans.stride: 128}

A parameter's name is a config key written `section.key` (any key of the
config, as `spacy train` overrides take it), except for a grouped categorical
whose choices map a label to several keys' values. Every error names the file.
Nothing here imports optuna: `Param.suggest` takes the trial it is given.
"""
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import srsly

KINDS = ("float", "int", "categorical")
FIELDS = {"float": {"low", "high", "log", "step"}, "int": {"low", "high", "log", "step"}, "categorical": {"choices"}}
Scalar = Union[str, int, float, bool, None]


class SpaceError(ValueError):
    """A search space file that cannot be used; the message names the file."""


@dataclass(frozen=True)
class Param:
    """One searched parameter: a distribution over one config key, or a
    categorical over labelled groups of keys (`groups`: label -> {key: value})."""

    name: str
    kind: str
    low: Optional[float] = None
    high: Optional[float] = None
    log: bool = False
    step: Optional[float] = None
    choices: Tuple[Scalar, ...] = ()
    groups: Optional[Dict[str, Dict[str, Any]]] = None

    @property
    def keys(self) -> List[str]:
        """The config keys this parameter sets."""
        if self.groups is None:
            return [self.name]
        return list(dict.fromkeys(key for values in self.groups.values() for key in values))

    def suggest(self, trial: Any) -> Any:
        """Draw a value from an Optuna trial (a label, for a grouped parameter)."""
        if self.kind == "float":
            return trial.suggest_float(self.name, self.low, self.high, log=self.log, step=self.step)
        if self.kind == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log, step=int(self.step or 1))
        return trial.suggest_categorical(self.name, list(self.choices))

    def overrides(self, value: Any) -> Dict[str, Any]:
        """The config overrides for a drawn value."""
        return dict(self.groups[value]) if self.groups is not None else {self.name: value}


@dataclass(frozen=True)
class SearchSpace:
    path: Path
    params: Tuple[Param, ...]
    raw: Dict[str, Any] = field(default_factory=dict, compare=False)  # the file's `params`, for the study's settings

    def sample(self, trial: Any) -> Dict[str, Any]:
        """Draw every parameter from `trial`; RETURNS the config overrides."""
        return self.overrides({param.name: param.suggest(trial) for param in self.params})

    def overrides(self, values: Mapping[str, Any]) -> Dict[str, Any]:
        """Config overrides for parameter values by name (e.g. a trial's `params`)."""
        result: Dict[str, Any] = {}
        for param in self.params:
            result.update(param.overrides(values[param.name]))
        return result

    @property
    def keys(self) -> List[str]:
        return [key for param in self.params for key in param.keys]

    def check_config(self, config: Mapping[str, Any], config_path: Union[str, Path]) -> None:
        """Fail, naming both files, if a key the space sets is not a setting of the config."""
        for param in self.params:
            for key in param.keys:
                node: Any = config
                for part in key.split("."):
                    node = node.get(part, _MISSING) if isinstance(node, Mapping) else _MISSING
                if node is _MISSING:
                    raise SpaceError(f"{self.path}: params.{param.name}: {key!r} is not a key of {config_path}")
                if isinstance(node, Mapping):
                    raise SpaceError(
                        f"{self.path}: params.{param.name}: {key!r} is a section of {config_path}, not a setting"
                    )


_MISSING = object()


def load_space(path: Union[str, Path]) -> SearchSpace:
    """Read and check a search space file. RAISES SpaceError naming the file."""
    path = Path(path)
    try:
        data = srsly.read_yaml(path)
    except OSError as err:
        raise SpaceError(f"{path}: cannot read the search space: {err}") from err
    except Exception as err:  # noqa: BLE001 - srsly's ValueError("Invalid YAML: ..."), or ruamel's own
        raise SpaceError(f"{path}: not valid YAML: {str(err).replace('Invalid YAML: ', '', 1)}") from err
    if not isinstance(data, dict) or set(data) != {"params"}:
        raise SpaceError(f"{path}: expected a mapping with the single key 'params' (one entry per parameter)")
    raw = data["params"]
    if not isinstance(raw, dict) or not raw:
        raise SpaceError(f"{path}: 'params' must map parameter names to their distributions, and not be empty")
    params = tuple(_parse_param(path, str(name), spec) for name, spec in raw.items())
    seen: Dict[str, str] = {}
    for param in params:
        for key in param.keys:
            if key in seen:
                raise SpaceError(f"{path}: params.{param.name}: {key!r} is already set by params.{seen[key]}")
            seen[key] = param.name
    return SearchSpace(path=path, params=params, raw=raw)


def _parse_param(path: Path, name: str, spec: Any) -> Param:
    where = f"{path}: params.{name}"
    if not isinstance(spec, dict) or spec.get("type") not in KINDS:
        raise SpaceError(f"{where}: expected a mapping with 'type' one of {', '.join(KINDS)}")
    kind = spec["type"]
    unknown = set(spec) - FIELDS[kind] - {"type"}
    if unknown:
        allowed = ", ".join(sorted(FIELDS[kind]))
        raise SpaceError(f"{where}: unknown field(s) {', '.join(sorted(unknown))} for type {kind} (allowed: {allowed})")
    if kind == "categorical":
        return _parse_categorical(where, name, spec.get("choices"))
    _check_key(where, name)
    low, high = _number(where, "low", spec.get("low"), kind), _number(where, "high", spec.get("high"), kind)
    log = spec.get("log", False)
    step = spec.get("step")
    if not isinstance(log, bool):
        raise SpaceError(f"{where}: 'log' must be true or false, not {log!r}")
    if step is not None:
        step = _number(where, "step", step, kind)
        if step <= 0:
            raise SpaceError(f"{where}: 'step' must be positive, not {step}")
    if not low < high:
        raise SpaceError(f"{where}: 'low' ({low}) must be below 'high' ({high}); a fixed value is an override, not a parameter")
    if log and low <= 0:
        raise SpaceError(f"{where}: a log scale needs 'low' above 0, not {low}")
    if log and step is not None and (kind == "float" or step != 1):
        raise SpaceError(f"{where}: 'log' and 'step' exclude each other (an int on a log scale has step 1)")
    return Param(name=name, kind=kind, low=low, high=high, log=log, step=step)


def _parse_categorical(where: str, name: str, choices: Any) -> Param:
    if isinstance(choices, dict) and choices:  # label -> {key: value}: several keys move together
        groups: Dict[str, Dict[str, Any]] = {}
        for label, values in choices.items():
            if not isinstance(values, dict) or not values:
                raise SpaceError(f"{where}: choice {label!r} must map config keys to values")
            for key in values:
                _check_key(f"{where}: choice {label!r}", str(key))
            groups[str(label)] = {str(key): value for key, value in values.items()}
        return Param(name=name, kind="categorical", choices=tuple(groups), groups=groups)
    if not isinstance(choices, list) or not choices:
        raise SpaceError(f"{where}: 'choices' must be a non-empty list of values, or map labels to groups of keys")
    for choice in choices:
        if not (choice is None or isinstance(choice, (str, int, float, bool))):
            raise SpaceError(f"{where}: choice {choice!r} is not a single value (string, number, true/false or null)")
    if len(set(map(repr, choices))) < len(choices):
        raise SpaceError(f"{where}: 'choices' lists a value twice")
    _check_key(where, name)
    return Param(name=name, kind="categorical", choices=tuple(choices))


def _check_key(where: str, key: str) -> None:
    parts = key.split(".")
    if len(parts) < 2 or not all(part and not any(c.isspace() for c in part) for part in parts):
        raise SpaceError(f"{where}: {key!r} is not a config key written as section.key")


def _number(where: str, name: str, value: Any, kind: str) -> float:
    if isinstance(value, str):  # YAML 1.1 writers leave 5e-5 a string
        try:
            value = float(value)
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SpaceError(f"{where}: '{name}' must be a number, not {value!r}")
    if kind == "int":
        if value != int(value):
            raise SpaceError(f"{where}: '{name}' must be a whole number for type int, not {value!r}")
        return int(value)
    return float(value)
