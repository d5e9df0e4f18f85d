"""The compiled part of `zero_run`: nuisance fits, curves, metrics, replicates and influence.

One function, `estimate_once`, maps row weights (1 for the point estimate,
bootstrap multiplicities for a replicate) to the metric vector. It refits
the nuisance models on the weighted rows, so bootstrap replicates include
the nuisance estimation, and it is vmapped over replicates in chunks.
"""

import dataclasses
import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from causalmia.estimate import adjusted_curves
from causalmia.metrics import _kernel
from causalmia.nuisance import outcome as outcome_lib
from causalmia.nuisance import propensity as propensity_lib
from causalmia.nuisance.settings import NuisanceConfig

# Floats held by one replicate's outcome fits above which replicates are
# evaluated one at a time instead of side by side. On CPU, larger batches of
# heavy fits ran slower per replicate than one at a time (measured on a
# 2-core machine with n = 1000 and 100 thresholds).
_BATCH_MEMORY = 2e6
_MAX_BATCH = 8


@dataclasses.dataclass(frozen=True)
class Plan:
  """Static choices of one estimate (hashable, so jit specializes on them).

  Attributes:
    method: "naive", "ipw", "gformula" or "aipw".
    target: "pool" or "members".
    nuisance: settings of the fitted models.
    fit_propensity: False when the caller gave the propensities.
    clip: `(low, high)` propensity bounds, or None for no clipping.
    fprs: false-positive rates of the TPR metrics.
    convention: "step" or "hull".
  """

  method: str
  target: str
  nuisance: NuisanceConfig
  fit_propensity: bool
  clip: tuple[float, float] | None
  fprs: tuple[float, ...]
  convention: str


class Data(NamedTuple):
  """The arrays of one estimate; every field has a leading `examples` axis except `grid`."""

  scores: Float[Array, " examples"]
  members: Bool[Array, " examples"]
  features: Float[Array, "examples features"]
  fold_ids: Int[Array, " examples"]
  cells: Int[Array, " examples"]
  given_propensity: Float[Array, " examples"]
  grid: Float[Array, " thresholds"]
  sorted_scores: _kernel.SortedScores


def threshold_grid(scores, size: int) -> np.ndarray:
  """Decreasing threshold grid: every distinct score, or `size` quantiles of the pool.

  With more distinct scores than `size`, half of the grid sits at evenly
  spaced quantile levels and half at levels `1 - q`, with q log-spaced from
  1/n to 1/2. The member-like upper tail, where TPR at a low FPR is read,
  thus gets thresholds as fine as the data. Every threshold is an observed
  score, and the largest and smallest scores are always included.
  """
  scores = np.asarray(scores, dtype=np.float64)
  distinct = np.unique(scores)[::-1]
  if distinct.size <= size:
    return distinct
  n = scores.shape[0]
  even = np.linspace(0.0, 1.0, size // 2)
  tail = 1.0 - np.geomspace(1.0 / n, 0.5, size - size // 2)
  levels = np.clip(np.concatenate([even, tail]), 0.0, 1.0)
  grid = np.quantile(scores, levels, method="inverted_cdf")
  return np.unique(np.concatenate([grid, distinct[[0, -1]]]))[::-1]


def raw_propensity(plan: Plan, data: Data, weights, key):
  """Unclipped propensities: cross-fitted on the weighted rows, or the given ones."""
  if plan.fit_propensity:
    return propensity_lib.cross_fit_propensity(
        key, data.features, data.members, weights, data.fold_ids, plan.nuisance, data.cells)
  return data.given_propensity


fit_propensity = jax.jit(raw_propensity, static_argnames=("plan",))


def nuisances(plan: Plan, data: Data, weights, key, propensity=None):
  """Propensities (clipped when `plan.clip`) and outcome predictions for row weights.

  `propensity`, when given, replaces the fit (the point estimate reuses the
  propensities that the positivity check saw).
  """
  if propensity is None:
    propensity = raw_propensity(plan, data, weights, key)
  if plan.clip is not None:
    propensity = jnp.clip(propensity, plan.clip[0], plan.clip[1])
  mu = None
  if plan.method in ("gformula", "aipw"):
    mu = outcome_lib.cross_fit_outcome(
        data.features, data.scores, data.members, weights, data.fold_ids, data.grid, plan.nuisance)
  return propensity, mu


def grid_curves(plan: Plan, data: Data, weights, propensity, mu):
  """Raw and projected `(F_1, F_0)` on the grid, and the largest change of the projection."""
  indicators = adjusted_curves.threshold_indicators(data.scores, data.grid)
  if plan.method == "gformula":
    raw = adjusted_curves.gformula_curves(indicators, data.members, weights, mu, plan.target)
  else:
    raw = adjusted_curves.aipw_curves(indicators, data.members, weights, propensity, mu,
                                      plan.target)
  projected1, change1 = adjusted_curves.project_curve(raw[0])
  projected0, change0 = adjusted_curves.project_curve(raw[1])
  return raw, (projected1, projected0), jnp.maximum(change1, change0)


def estimate_once(plan: Plan, data: Data, weights, key):
  """Metric vector `[metrics]` and the projection's largest change for row weights."""
  if plan.method == "naive":
    order = data.sorted_scores.order
    return adjusted_curves.kernel_metrics(data.sorted_scores, weights[order], plan.fprs,
                                          plan.convention), jnp.zeros(())
  propensity, mu = nuisances(plan, data, weights, key)
  if plan.method == "ipw":
    balancing = adjusted_curves.inverse_propensity_weights(propensity, data.members, weights,
                                                           plan.target)
    order = data.sorted_scores.order
    return adjusted_curves.kernel_metrics(data.sorted_scores, balancing[order], plan.fprs,
                                          plan.convention), jnp.zeros(())
  _, projected, change = grid_curves(plan, data, weights, propensity, mu)
  return adjusted_curves.grid_metrics(*projected, data.grid, plan.fprs, plan.convention), change


@functools.partial(jax.jit, static_argnames=("plan",))
def point_estimate(plan: Plan, data: Data, propensity):
  """The point estimate at unit weights, with everything the result reports.

  `propensity` contains the unclipped propensities of every row (from
  `fit_propensity`, or the given ones); it is ignored by the naive method.
  `naive_metrics`, the unadjusted comparison, comes with every method.
  """
  weights = jnp.ones_like(data.scores)
  naive = adjusted_curves.kernel_metrics(data.sorted_scores, weights, plan.fprs, plan.convention)
  if plan.method == "naive":
    return {"metrics": naive}
  propensity, mu = nuisances(plan, data, weights, None, propensity)
  balancing = adjusted_curves.inverse_propensity_weights(propensity, data.members, weights,
                                                         plan.target)
  output = {"propensity": propensity, "balancing_weights": balancing, "naive_metrics": naive}
  if plan.method == "ipw":
    order = data.sorted_scores.order
    output["metrics"] = adjusted_curves.kernel_metrics(
        data.sorted_scores, balancing[order], plan.fprs, plan.convention)
    return output
  raw, projected, change = grid_curves(plan, data, weights, propensity, mu)
  output.update(
      metrics=adjusted_curves.grid_metrics(*projected, data.grid, plan.fprs, plan.convention),
      raw_curves=jnp.stack(raw), curves=jnp.stack(projected), projection_change=change)
  if plan.method == "aipw":
    output["standard_errors"] = influence_standard_errors(plan, data, propensity, mu, projected)
  return output


def influence_standard_errors(plan: Plan, data: Data, propensity, mu, projected):
  """Delta-method standard errors `[metrics]` of the cross-fitted AIPW metrics.

  The influence functions of the two curves (`adjusted_curves.aipw_influence`)
  are carried to each metric by the Jacobian of `grid_metrics` at the
  projected curves. For the AUC and the mean difference the map is smooth.
  For the advantage and TPR at FPR the Jacobian keeps the selected threshold
  fixed, so their standard errors leave out the selection's own variability.
  """
  indicators = adjusted_curves.threshold_indicators(data.scores, data.grid)
  phi1, phi0 = adjusted_curves.aipw_influence(indicators, data.members, propensity, mu,
                                              plan.target)
  metric_fn = lambda f1, f0: adjusted_curves.grid_metrics(  # noqa: E731
      f1, f0, data.grid, plan.fprs, plan.convention)
  jacobian1, jacobian0 = jax.jacrev(metric_fn, argnums=(0, 1))(*projected)
  influence = jacobian1 @ phi1 + jacobian0 @ phi0  # [metrics, examples]
  n = data.scores.shape[0]
  return jnp.std(influence, axis=1, ddof=1) / jnp.sqrt(n)


def _multinomial_weights(key, rows: int):
  draws = jax.random.randint(key, (rows,), 0, rows)
  return jnp.zeros(rows).at[draws].add(1.0)


@functools.partial(jax.jit, static_argnames=("plan", "count", "batch"))
def _replicate_chunk(plan: Plan, data: Data, key, model_key, first, count: int, batch: int):
  rows = data.scores.shape[0]

  def one(b):
    weights = _multinomial_weights(jax.random.fold_in(key, b), rows).astype(data.scores.dtype)
    return estimate_once(plan, data, weights, jax.random.fold_in(model_key, b))

  return jax.lax.map(one, first + jnp.arange(count), batch_size=batch)


def replicate_batch(plan: Plan, data: Data) -> int:
  """Replicates evaluated side by side, bounded by the memory of the outcome fits."""
  if plan.method not in ("gformula", "aipw"):
    return _MAX_BATCH
  rows, width = data.features.shape
  per_replicate = 2 * plan.nuisance.folds * data.grid.shape[0] * rows * width
  return int(max(1, min(_MAX_BATCH, _BATCH_MEMORY // per_replicate)))


def bootstrap_replicates(plan: Plan, data: Data, key, model_key, num_replicates: int,
                         *, chunk: int = 50, progress=None):
  """Metrics `[replicates, metrics]` and projection changes `[replicates]`.

  Replicate b draws n rows with replacement (multinomial multiplicities from
  `fold_in(key, b)`) and refits every nuisance model on them, with the
  model key `fold_in(model_key, b)`. The rows keep their cross-fitting folds,
  so a row drawn twice never trains the model that predicts it.
  """
  chunk = max(1, min(chunk, num_replicates))
  batch = min(replicate_batch(plan, data), chunk)
  metrics, changes = [], []
  for first in range(0, num_replicates, chunk):
    values, change = _replicate_chunk(plan, data, key, model_key, first, chunk, batch)
    keep = min(chunk, num_replicates - first)
    metrics.append(np.asarray(values)[:keep])
    changes.append(np.asarray(change)[:keep])
    if progress is not None:
      progress(keep)
  return np.concatenate(metrics), np.concatenate(changes)
