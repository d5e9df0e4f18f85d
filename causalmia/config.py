"""Experiment configuration: frozen dataclasses read from JSON or TOML files.

Configs are data only. Files are parsed with `json` or `tomllib`; nothing in
them is evaluated or imported. Unknown keys and wrong types raise ValueError
naming the file and the key.
"""

import dataclasses
import json
import tomllib
import types
import typing
from pathlib import Path
from typing import Any


@dataclasses.dataclass(frozen=True)
class DataConfig:
  """Data set of the audit pool.

  Attributes:
    name: "digits", "cifar10", "location30" or "ridge".
    path: file or folder for data sets read from disk.
    split: "train" or "test" for CIFAR-10.
    limit: keep only the first `limit` examples (None keeps all).
  """

  name: str = "digits"
  path: str | None = None
  split: str = "train"
  limit: int | None = None


@dataclasses.dataclass(frozen=True)
class DesignConfig:
  """Inclusion design: "bernoulli" with probability `p`, or "complete" with
  `num_included` examples per run."""

  kind: str = "bernoulli"
  p: float = 0.5
  num_included: int | None = None


@dataclasses.dataclass(frozen=True)
class TrainSettings:
  """Model and optimizer settings (see `causalmia.training.TrainConfig`).

  Setting `dp_noise_multiplier` trains every run with DP-SGD
  (`causalmia.dpsgd`): per-example gradients clipped to `dp_clip_norm`,
  Gaussian noise of standard deviation `dp_noise_multiplier * dp_clip_norm`,
  and "poisson" batches with rate q = batch_size / (expected number of
  included examples) or "fixed" batches of `batch_size`. The accountant
  ("rdp" or "pld") reports epsilon at `dp_delta` in results.json.
  """

  model: str = "mlp"
  hidden: tuple[int, ...] = (128,)
  optimizer: str = "adam"
  learning_rate: float = 0.01
  steps: int = 300
  batch_size: int = 64
  weight_decay: float = 0.0
  dp_noise_multiplier: float | None = None
  dp_clip_norm: float = 1.0
  dp_sampling: str = "poisson"
  dp_delta: float = 1e-5
  dp_accountant: str = "rdp"


@dataclasses.dataclass(frozen=True)
class AttackSettings:
  """Settings of the reference-model attacks (`causalmia.attacks`).

  Attributes:
    variance: LiRA's "per-example" or "global" variance.
    gamma: RMIA's likelihood-ratio threshold.
    offline_a: offline RMIA's correction coefficient in [0, 1].
    population: RMIA's population size: that many examples right after the
      audit pool (rows `limit` to `limit + population` of the data set),
      never trained on. Required for "rmia" and "rmia-offline".
  """

  variance: str = "per-example"
  gamma: float = 1.0
  offline_a: float = 0.3
  population: int = 0


@dataclasses.dataclass(frozen=True)
class EstimateSettings:
  """Estimator settings.

  Attributes:
    fpr: false-positive rates at which TPR is reported.
    convention: "step" or "hull" for TPR at FPR.
    confidence: interval coverage.
    num_replicates: bootstrap replicates.
    one_run_index: which run also serves as the one-run estimate.
  """

  fpr: tuple[float, ...] = (0.01, 0.001)
  convention: str = "step"
  confidence: float = 0.95
  num_replicates: int = 1000
  one_run_index: int = 0


@dataclasses.dataclass(frozen=True)
class ExperimentConfig:
  """A multi-run experiment: data, design, training, score and estimation.

  `smoke = True` shrinks every size so the whole pipeline runs on a CPU in
  well under a minute; the tests use it. `score` names a per-model score
  ("loss", "logit") or a reference-model attack that uses the other runs
  ("lira", "lira-offline", "rmia", "rmia-offline"; settings in `attack`).
  """

  name: str = "digits-mlp"
  seed: int = 0
  runs: int = 64
  chunk_size: int | None = None
  score: str = "logit"
  smoke: bool = False
  data: DataConfig = DataConfig()
  design: DesignConfig = DesignConfig()
  train: TrainSettings = TrainSettings()
  estimate: EstimateSettings = EstimateSettings()
  attack: AttackSettings = AttackSettings()

  def effective(self) -> "ExperimentConfig":
    """Returns the config actually run: with `smoke`, sizes are reduced."""
    if not self.smoke:
      return self
    limit = min(self.data.limit or 300, 300)
    return dataclasses.replace(
        self,
        runs=min(self.runs, 8),
        data=dataclasses.replace(self.data, limit=limit),
        train=dataclasses.replace(self.train, steps=min(self.train.steps, 30)),
        estimate=dataclasses.replace(
            self.estimate, num_replicates=min(self.estimate.num_replicates, 50)
        ),
    )


def _build(cls, values: dict[str, Any], where: str):
  if not isinstance(values, dict):
    raise ValueError(f"{where}: expected a table of settings, got {type(values).__name__}.")
  fields = {f.name: f for f in dataclasses.fields(cls)}
  hints = typing.get_type_hints(cls)
  unknown = sorted(set(values) - set(fields))
  if unknown:
    raise ValueError(f"{where}: unknown key(s) {unknown}; valid keys are {sorted(fields)}.")
  kwargs = {}
  for key, value in values.items():
    kwargs[key] = _convert(hints[key], value, f"{where}.{key}")
  return cls(**kwargs)


def _convert(hint, value, where: str):
  if dataclasses.is_dataclass(hint):
    return _build(hint, value, where)
  origin = typing.get_origin(hint)
  args = typing.get_args(hint)
  if origin in (typing.Union, types.UnionType):
    if value is None and type(None) in args:
      return None
    hint = next(a for a in args if a is not type(None))
    origin, args = typing.get_origin(hint), typing.get_args(hint)
  if origin is tuple:
    if not isinstance(value, (list, tuple)):
      raise ValueError(f"{where}: expected a list, got {value!r}.")
    return tuple(_convert(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
  if hint is bool:
    if not isinstance(value, bool):
      raise ValueError(f"{where}: expected true or false, got {value!r}.")
    return value
  if hint is int:
    if isinstance(value, bool) or not isinstance(value, int):
      raise ValueError(f"{where}: expected an integer, got {value!r}.")
    return value
  if hint is float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
      raise ValueError(f"{where}: expected a number, got {value!r}.")
    return float(value)
  if hint is str:
    if not isinstance(value, str):
      raise ValueError(f"{where}: expected a string, got {value!r}.")
    return value
  return value


def from_dict(values: dict[str, Any], source: str = "config") -> ExperimentConfig:
  """Builds and type-checks an `ExperimentConfig` from plain data."""
  return _build(ExperimentConfig, values, source)


def read_file(path: str | Path) -> dict[str, Any]:
  """Parses a `.json` or `.toml` config file into plain data; nothing is executed."""
  path = Path(path)
  if not path.is_file():
    raise FileNotFoundError(f"Config file not found: {path}")
  text = path.read_text(encoding="utf-8")
  try:
    if path.suffix == ".toml":
      values = tomllib.loads(text)
    elif path.suffix == ".json":
      values = json.loads(text)
    else:
      raise ValueError(f"{path}: unsupported config format {path.suffix!r}; use .json or .toml.")
  except (json.JSONDecodeError, tomllib.TOMLDecodeError) as error:
    raise ValueError(f"{path}: invalid {path.suffix[1:].upper()}: {error}") from error
  return values


def load(path: str | Path) -> ExperimentConfig:
  """Reads an experiment config from a `.json` or `.toml` file."""
  return from_dict(read_file(path), str(path))


def to_dict(config: ExperimentConfig) -> dict[str, Any]:
  """Converts a config to plain data, as stored in results.json."""
  return dataclasses.asdict(config)
