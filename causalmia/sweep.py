"""Sweeps over a grid of ridge settings, each shape group evaluated in one compiled call.

A setting fixes the inclusion rate p, the pool size N, the regularization
lambda, the number of runs R and the data (base-set size, features, noise).
For each setting, one jitted function samples the masks, trains the R
closed-form ridge models, scores the pool and estimates the metrics. The
metrics are the multi-run (design) estimate, each run's one-run estimate,
the exact no-interference estimate from leave-one-in runs, the stability
constant beta and the bound `beta p (N - 1)`.

Settings whose arrays have the same shapes (they differ only in p and
lambda) are vmapped along a leading settings axis in one call; other
settings go to separate calls, and `chunk_size` bounds the settings per call.
All settings use the same masks key (common random numbers): run r of every
setting draws its mask with `fold_in(masks_key, r)`, so a setting's result
does not depend on the grid or the chunking around it.

Each finished setting is written atomically to `settings/<id>.json` in the
output folder, where the id hashes the setting and the options that change
its result. A sweep started again on the same folder skips the settings
already written, so an interrupted sweep resumes where it stopped.
"""

import dataclasses
import hashlib
import itertools
import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from causalmia import config as config_lib
from causalmia import results_io
from causalmia.data.synthetic import make_ridge_family
from causalmia.interference import _metrics
from causalmia.interference import ridge
from causalmia.metrics import summary

PIPELINES = ("ridge",)
VMAPPED_AXES = ("inclusion_rate", "regularization")


@dataclasses.dataclass(frozen=True)
class RidgeSetting:
  """One point of the grid.

  Attributes:
    inclusion_rate: Bernoulli inclusion probability p of each audit example.
    regularization: the ridge penalty lambda (on the unnormalized squared loss).
    num_examples: size N of the audit pool.
    runs: number R of randomized training runs.
    num_features: input dimension d.
    num_base: size n0 of the base set that every run trains on.
    noise_std: standard deviation of the label noise.
    num_groups: feature blocks of `make_ridge_family` (1: isotropic inputs).
    data_seed: seed of the data draw.
  """

  inclusion_rate: float = 0.5
  regularization: float = 1.0
  num_examples: int = 256
  runs: int = 32
  num_features: int = 32
  num_base: int = 64
  noise_std: float = 0.5
  num_groups: int = 1
  data_seed: int = 0

  def __post_init__(self):
    if not 0.0 < self.inclusion_rate < 1.0:
      raise ValueError(f"inclusion_rate must lie in (0, 1), got {self.inclusion_rate}.")
    if not self.regularization > 0:
      raise ValueError(f"regularization must be positive, got {self.regularization}.")
    for name in ("num_examples", "runs", "num_features", "num_base", "num_groups"):
      value = getattr(self, name)
      if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")

  def shape_key(self) -> tuple:
    """Return the fields that set array shapes or data; settings sharing them are vmapped together."""
    return tuple(getattr(self, f.name) for f in dataclasses.fields(self)
                 if f.name not in VMAPPED_AXES)


AXES = tuple(f.name for f in dataclasses.fields(RidgeSetting))


@dataclasses.dataclass(frozen=True)
class SweepConfig:
  """A sweep: the base setting, the grid axes varied around it, and estimation options.

  Attributes:
    name: the sweep's name (default output folder `results/<name>`).
    seed: seed of the masks key shared by all settings.
    pipeline: what each setting trains; "ridge" (closed-form ridge regression).
    base: values of the axes that the grid does not vary.
    grid: `(axis, values)` pairs; the grid is their Cartesian product, the
      last axis varying fastest.
    fpr: false-positive rates for TPR at FPR.
    convention: "step" or "hull".
    chunk_size: settings per compiled call (default: a whole shape group).
    run_batch: runs mapped side by side inside a call (default: all);
      bounds memory at `run_batch` Gram matrices per setting.
    stability_block: rows per block when measuring beta.
  """

  name: str = "ridge-sweep"
  seed: int = 0
  pipeline: str = "ridge"
  base: RidgeSetting = RidgeSetting()
  grid: tuple[tuple[str, tuple[float, ...]], ...] = ()
  fpr: tuple[float, ...] = (0.01,)
  convention: str = "step"
  chunk_size: int | None = None
  run_batch: int | None = None
  stability_block: int = 512

  def __post_init__(self):
    if self.pipeline not in PIPELINES:
      raise ValueError(f"Unknown pipeline {self.pipeline!r}; expected one of {PIPELINES}.")
    if self.convention not in summary.CONVENTIONS:
      raise ValueError(f"Unknown convention {self.convention!r}; expected one of "
                       f"{summary.CONVENTIONS}.")
    for axis, values in self.grid:
      if axis not in AXES:
        raise ValueError(f"Unknown grid axis {axis!r}; valid axes are {list(AXES)}.")
      if not values:
        raise ValueError(f"grid axis {axis!r} has no values.")
    names = [axis for axis, _ in self.grid]
    if len(set(names)) != len(names):
      raise ValueError(f"grid axes must be distinct, got {names}.")
    if self.chunk_size is not None and self.chunk_size < 1:
      raise ValueError(f"chunk_size must be positive, got {self.chunk_size}.")


def _typed(axis: str, value, where: str):
  hint = {f.name: f.type for f in dataclasses.fields(RidgeSetting)}[axis]
  return config_lib._convert(hint, value, where)


def from_dict(values: dict, source: str = "sweep config") -> SweepConfig:
  """Builds a `SweepConfig` from plain data; `grid` is a table of axis -> list of values."""
  values = dict(values)
  grid = values.pop("grid", {})
  if not isinstance(grid, dict):
    raise ValueError(f"{source}.grid: expected a table of axis -> list of values.")
  for axis in grid:
    if axis not in AXES:
      raise ValueError(f"{source}.grid: unknown axis {axis!r}; valid axes are {list(AXES)}.")
  config = config_lib._build(SweepConfig, values, source)
  pairs = []
  for axis, axis_values in grid.items():
    if not isinstance(axis_values, list):
      axis_values = [axis_values]
    pairs.append((axis, tuple(_typed(axis, v, f"{source}.grid.{axis}") for v in axis_values)))
  return dataclasses.replace(config, grid=tuple(pairs))


def load_config(path) -> SweepConfig:
  """Reads a sweep config from a `.json` or `.toml` file (data only, nothing executed)."""
  values = config_lib.read_file(path)
  return from_dict(values, str(path))


def with_grid(config: SweepConfig, overrides: dict[str, list]) -> SweepConfig:
  """Replaces or adds grid axes; values are converted to the axis type."""
  grid = dict(config.grid)
  for axis, values in overrides.items():
    if axis not in AXES:
      raise ValueError(f"Unknown sweep axis {axis!r}; valid axes are {list(AXES)}.")
    grid[axis] = tuple(_typed(axis, v, f"--set {axis}") for v in values)
  return dataclasses.replace(config, grid=tuple(grid.items()))


def expand(config: SweepConfig) -> list[RidgeSetting]:
  """List all settings of the grid, in order (the last axis varies fastest)."""
  axes = [axis for axis, _ in config.grid]
  products = itertools.product(*(values for _, values in config.grid))
  return [dataclasses.replace(config.base, **dict(zip(axes, combo))) for combo in products]


def setting_id(config: SweepConfig, setting: RidgeSetting) -> str:
  """Hash a setting and the options that change its result into a stable id."""
  identity = {"pipeline": config.pipeline, "seed": config.seed, "fpr": list(config.fpr),
              "convention": config.convention, "setting": dataclasses.asdict(setting)}
  text = json.dumps(identity, sort_keys=True)
  return hashlib.sha256(text.encode()).hexdigest()[:16]


def _evaluate_setting(masks_key, problem, rate, regularization, *, runs, fprs, convention,
                      run_batch, stability_block):
  num_examples = problem.inputs.shape[0]
  masks = ridge.bernoulli_masks(masks_key, rate, runs, num_examples)
  scores = ridge.run_scores(problem, masks, regularization, batch_size=run_batch)
  # One Cholesky factorization at a time: see `ridge.after`.
  base = ridge.base_solution(ridge.after(problem, scores), regularization)
  loo = ridge.leave_one_in(problem, regularization, base=base)
  beta = ridge.stability(problem, regularization, block_size=stability_block, base=base)
  members = jnp.arange(2 * num_examples) < num_examples
  member_mean, nonmember_mean = _metrics.group_means(scores, masks)
  return {
      "multi_run": _metrics.pooled_metrics(scores, masks, fprs, convention),
      "one_run": _metrics.one_run_metrics(scores, masks, fprs, convention),
      "no_interference": _metrics.point_metrics(
          jnp.concatenate([loo.own_scores, loo.base_scores]), members, fprs, convention),
      "stability": beta,
      "design_member_mean": member_mean,
      "design_nonmember_mean": nonmember_mean,
      "ni_member_mean": jnp.mean(loo.own_scores),
      "ni_nonmember_mean": jnp.mean(loo.base_scores),
  }


def _evaluate_chunk_impl(masks_key, problem, rates, regularizations, *, runs, fprs, convention,
                         run_batch, stability_block):
  def one(rate, regularization):
    return _evaluate_setting(masks_key, problem, rate, regularization, runs=runs, fprs=fprs,
                             convention=convention, run_batch=run_batch,
                             stability_block=stability_block)

  return jax.vmap(one)(rates, regularizations)


evaluate_chunk = jax.jit(
    _evaluate_chunk_impl,
    static_argnames=("runs", "fprs", "convention", "run_batch", "stability_block"))


def build_problem(setting: RidgeSetting) -> ridge.RidgeProblem:
  """Build the ridge problem (base set and audit pool) of a setting's data fields."""
  base, audit, _ = make_ridge_family(
      setting.data_seed, num_base=setting.num_base, num_audit=setting.num_examples,
      num_features=setting.num_features, noise_std=setting.noise_std,
      num_groups=setting.num_groups)
  return ridge.problem_from_datasets(base, audit)


def _package(config, setting, outputs, index) -> dict:
  names = summary.metric_names(config.fpr)
  pick = {k: np.asarray(v[index], np.float64) for k, v in outputs.items()}
  one_run = pick["one_run"]
  defined = np.isfinite(one_run)
  counts = defined.sum(axis=0)
  with np.errstate(all="ignore"):
    one_mean = np.nanmean(one_run, axis=0)
    one_std = np.nanstd(one_run, axis=0, ddof=1)
  beta = float(pick["stability"])
  named = lambda values: {n: _finite(v) for n, v in zip(names, values)}  # noqa: E731
  return {
      "id": setting_id(config, setting),
      "setting": dataclasses.asdict(setting),
      "metric_names": list(names),
      "multi_run": named(pick["multi_run"]),
      "no_interference": named(pick["no_interference"]),
      "interference_bias": named(pick["multi_run"] - pick["no_interference"]),
      "one_run": {
          "mean": named(one_mean),
          "std": named(one_std),
          "standard_error": named(one_std / np.sqrt(np.maximum(counts, 1))),
          "defined_runs": {n: int(c) for n, c in zip(names, counts)},
          "bias": named(one_mean - pick["no_interference"]),
          "values": {n: [_finite(v) for v in one_run[:, m]] for m, n in enumerate(names)},
      },
      "stability": beta,
      "bound": beta * setting.inclusion_rate * (setting.num_examples - 1),
      "mean_scores": {k: float(pick[k]) for k in ("design_member_mean", "design_nonmember_mean",
                                                   "ni_member_mean", "ni_nonmember_mean")},
      "mean_score_bias": {
          "members": float(pick["design_member_mean"] - pick["ni_member_mean"]),
          "nonmembers": float(pick["design_nonmember_mean"] - pick["ni_nonmember_mean"]),
      },
  }


def _finite(value):
  value = float(value)
  return value if np.isfinite(value) else None


def _load_existing(path: Path, expected_id: str):
  try:
    payload = json.loads(path.read_text(encoding="utf-8"))
  except (OSError, json.JSONDecodeError):
    return None
  return payload if payload.get("id") == expected_id else None


def run_sweep(config: SweepConfig, output_dir=None, *, show_progress: bool = True, log=print,
              on_result=None) -> list[dict]:
  """Evaluates every setting of the grid, skipping those already saved in `output_dir`.

  Args:
    config: the sweep.
    output_dir: results folder (default `results/<name>`); settings are
      saved to `settings/<id>.json` as they finish, then `summary.json`
      lists all of them in grid order.
    show_progress: show one progress bar for the grid.
    log: receives status messages.
    on_result: optional callable receiving each new setting's result dict
      after it is saved.

  Returns:
    The result dicts of all settings, in grid order.
  """
  output_dir = Path(output_dir or Path("results") / config.name)
  settings = expand(config)
  ids = [setting_id(config, s) for s in settings]
  folder = output_dir / "settings"
  results = {i: _load_existing(folder / f"{i}.json", i) for i in ids}
  pending = [(s, i) for s, i in zip(settings, ids) if results[i] is None]
  if len(pending) < len(settings):
    log(f"Resuming: {len(settings) - len(pending)} of {len(settings)} settings already saved "
        f"in {folder}.")

  groups: dict[tuple, list] = {}
  for setting, identifier in pending:
    groups.setdefault(setting.shape_key(), []).append((setting, identifier))
  masks_key = jax.random.fold_in(jax.random.key(config.seed), 0)
  start = time.perf_counter()
  with tqdm(total=len(settings), initial=len(settings) - len(pending), desc="settings",
            unit="setting", disable=not show_progress) as bar:
    for members in groups.values():
      problem = build_problem(members[0][0])
      size = config.chunk_size or len(members)
      for first in range(0, len(members), size):
        chunk = members[first:first + size]
        # The last chunk repeats its final setting up to `size`, so every chunk of a
        # group has one shape and compiles once.
        padded = chunk + [chunk[-1]] * (size - len(chunk))
        rates = jnp.asarray([s.inclusion_rate for s, _ in padded], jnp.float32)
        penalties = jnp.asarray([s.regularization for s, _ in padded], jnp.float32)
        outputs = jax.device_get(evaluate_chunk(
            masks_key, problem, rates, penalties, runs=chunk[0][0].runs, fprs=config.fpr,
            convention=config.convention, run_batch=config.run_batch,
            stability_block=config.stability_block))
        for index, (setting, identifier) in enumerate(chunk):
          result = _package(config, setting, outputs, index)
          results_io.write_json(folder / f"{identifier}.json", result)
          results[identifier] = result
          bar.update(1)
          if on_result is not None:
            on_result(result)

  ordered = [results[i] for i in ids]
  results_io.write_json(output_dir / "summary.json", {
      "name": config.name,
      "config": _config_dict(config),
      "elapsed_seconds_this_call": time.perf_counter() - start,
      "results": ordered,
      "versions": results_io.package_versions(),
  })
  return ordered


def _config_dict(config: SweepConfig) -> dict:
  payload = dataclasses.asdict(config)
  payload["grid"] = {axis: list(values) for axis, values in config.grid}
  return payload
