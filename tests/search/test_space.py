"""The search space file: what it accepts, and errors that name the file and the parameter."""
from pathlib import Path

import pytest
from spacy.util import load_config

from nerkit.search import SpaceError, load_space

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "space.yml"
    path.write_text(text, encoding="utf8")
    return path


def test_shipped_space_fits_the_default_config():
    space = load_space(ROOT / "configs" / "search_space.yml")
    space.check_config(load_config(ROOT / "configs" / "minilm_tokner_case_goldtok.cfg", interpolate=False), "default")
    assert "components.transformer.model.get_spans.stride" in space.keys
    assert "training.optimizer.learn_rate.initial_rate" in space.keys


def test_kinds_and_overrides(tmp_path):
    space = load_space(write(tmp_path, """
params:
  training.optimizer.learn_rate.initial_rate: {type: float, low: 1e-5, high: 1.0e-3, log: true}
  training.optimizer.learn_rate.warmup_steps: {type: int, low: 0, high: 200, step: 50}
  training.batcher.size: {type: categorical, choices: [500, 1000]}
  windows:
    type: categorical
    choices:
      small: {components.transformer.model.get_spans.window: 64, components.transformer.model.get_spans.stride: 48}
      big: {components.transformer.model.get_spans.window: 128, components.transformer.model.get_spans.stride: 96}
"""))
    lr, warmup, size, windows = space.params
    assert (lr.kind, lr.low, lr.high, lr.log) == ("float", 1e-5, 1e-3, True)
    assert (warmup.kind, warmup.low, warmup.high, warmup.step) == ("int", 0, 200, 50)
    assert size.choices == (500, 1000) and windows.choices == ("small", "big")
    assert space.overrides({lr.name: 2e-4, warmup.name: 50, size.name: 500, "windows": "big"}) == {
        "training.optimizer.learn_rate.initial_rate": 2e-4, "training.optimizer.learn_rate.warmup_steps": 50,
        "training.batcher.size": 500, "components.transformer.model.get_spans.window": 128,
        "components.transformer.model.get_spans.stride": 96,
    }


@pytest.mark.parametrize("text,error", [
    ("params: {}", "'params' must map"),
    ("lr: {type: float}", "single key 'params'"),
    ("params: {training.dropout: {type: uniform, low: 0, high: 1}}", "params.training.dropout: expected a mapping with 'type'"),
    ("params: {dropout: {type: float, low: 0, high: 1}}", "'dropout' is not a config key written as section.key"),
    ("params: {training.dropout: {type: float, low: 0.3, high: 0.1}}", "'low' (0.3) must be below 'high' (0.1)"),
    ("params: {training.dropout: {type: float, low: 0.1, high: 0.1}}", "must be below 'high'"),
    ("params: {training.dropout: {type: float, low: zero, high: 0.1}}", "'low' must be a number, not 'zero'"),
    ("params: {training.dropout: {type: float, low: 0, high: 0.1, lo: 3}}", "unknown field(s) lo for type float"),
    ("params: {training.x: {type: float, low: 0, high: 1, log: true}}", "a log scale needs 'low' above 0"),
    ("params: {training.x: {type: float, low: 0.1, high: 1, log: true, step: 0.1}}", "'log' and 'step' exclude each other"),
    ("params: {training.x: {type: int, low: 0.5, high: 3}}", "'low' must be a whole number"),
    ("params: {training.x: {type: int, low: 0, high: 3, step: 0}}", "'step' must be positive"),
    ("params: {training.x: {type: categorical, choices: []}}", "'choices' must be a non-empty list"),
    ("params: {training.x: {type: categorical, choices: [1, 1]}}", "lists a value twice"),
    ("params: {training.x: {type: categorical, choices: [[1, 2]]}}", "is not a single value"),
    ("params: {w: {type: categorical, choices: {a: {window: 3}}}}", "choice 'a': 'window' is not a config key"),
    ("params: {w: {type: categorical, choices: {a: 3}}}", "choice 'a' must map config keys to values"),
    ("params:\n  training.x: {type: categorical, choices: [1, 2]}\n  w: {type: categorical, choices: {a: {training.x: 3}}}",
     "params.w: 'training.x' is already set by params.training.x"),
    ("params: [unclosed", "not valid YAML"),
])
def test_errors_name_the_file_and_the_parameter(tmp_path, text, error):
    path = write(tmp_path, text)
    with pytest.raises(SpaceError) as err:
        load_space(path)
    assert str(err.value).startswith(f"{path}: ") and error in str(err.value)


def test_keys_must_be_settings_of_the_config(tmp_path):
    config = load_config(ROOT / "configs" / "minilm_tokner_case_goldtok.cfg", interpolate=False)
    path = write(tmp_path, "params: {training.dropuot: {type: float, low: 0, high: 0.3}}")
    with pytest.raises(SpaceError, match=r"space.yml: params.training.dropuot: 'training.dropuot' is not a key of my.cfg"):
        load_space(path).check_config(config, "my.cfg")
    path = write(tmp_path, "params: {training.optimizer: {type: categorical, choices: [1, 2]}}")
    with pytest.raises(SpaceError, match="is a section of my.cfg, not a setting"):
        load_space(path).check_config(config, "my.cfg")
