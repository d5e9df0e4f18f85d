"""Covariate-adjusted causal ROC curves: IPW weights, G-formula and AIPW on a grid.

All functions are pure and jittable, with fixed shapes, so that bootstrap
replicates (row weights `m`) and simulated data sets vmap over them.

Curves on a threshold grid. The G-formula and AIPW estimate
`F_t(tau) = P(Y(t) >= tau)` at the grid thresholds `tau_1 > ... > tau_G`.
The ROC is the sequence of vertices `(F_0(tau_j), F_1(tau_j))`, preceded by
(0, 0) (threshold +inf) and followed by (1, 1) (threshold -inf). Metrics are
read from these vertices with the conventions of `causalmia.metrics`: the
AUC is the area under the vertices joined by straight lines, which counts
the mass between two consecutive thresholds as tied (ties 1/2); TPR at FPR
alpha under the step convention is the largest F_1 at a vertex with
F_0 <= alpha. When the grid contains every distinct score and the curves are
the empirical ones, this reproduces the weighted ROC kernel exactly.
"""

import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float

from causalmia.metrics import _kernel
from causalmia.metrics import summary

TARGETS = ("pool", "members")


def isotonic_increasing(values: Float[Array, " thresholds"]) -> Float[Array, " thresholds"]:
  """Least-squares non-decreasing fit (isotonic regression with equal weights).

  Uses the min-max formula `fit_j = max_{i <= j} min_{k >= j} mean(values[i:k+1])`,
  which costs O(G^2) memory and time but has fixed shapes and vmaps.

  Example:
    >>> isotonic_increasing(jnp.array([0.0, 0.25, 0.75, 0.5, 1.0])).tolist()
    [0.0, 0.25, 0.625, 0.625, 1.0]
  """
  size = values.shape[0]
  cumulative = jnp.concatenate([jnp.zeros(1, values.dtype), jnp.cumsum(values)])
  first = jnp.arange(size)[:, None]
  last = jnp.arange(size)[None, :]
  means = (cumulative[last + 1] - cumulative[first]) / jnp.maximum(last - first + 1, 1)
  # Block means of [i, k] with k < i do not exist; +inf keeps them out of the min.
  means = jnp.where(last >= first, means, jnp.inf)
  suffix_min = jax.lax.cummin(means, axis=1, reverse=True)  # [i, j]: min over k >= j
  suffix_min = jnp.where(last >= first, suffix_min, -jnp.inf)
  return jnp.max(suffix_min, axis=0)


def project_curve(raw: Float[Array, " thresholds"]):
  """Clips a curve to [0, 1], then makes it non-decreasing along the grid.

  The grid runs from the largest threshold to the smallest, so a valid
  `F(tau)` is non-decreasing along it.

  Returns:
    `(projected, max_change)`: the projected curve and the largest absolute
    change the projection made.
  """
  projected = isotonic_increasing(jnp.clip(raw, 0.0, 1.0))
  return projected, jnp.max(jnp.abs(projected - raw))


def grid_points(f1: Float[Array, " thresholds"],
                f0: Float[Array, " thresholds"]) -> _kernel.CurvePoints:
  """ROC vertices of grid curves, as the weighted kernel's `CurvePoints`.

  Each grid step j acts as one block of tied rows: member weight
  `F_1(tau_j) - F_1(tau_{j-1})` and non-member weight
  `F_0(tau_j) - F_0(tau_{j-1})`, plus a last block that brings both curves
  to 1. The kernel's metrics then give the trapezoid AUC (ties 1/2) and
  every TPR-at-FPR convention of the package. The curves must be projected
  first, so that every weight is non-negative.
  """
  one = jnp.ones(1, f1.dtype)
  tp_after = jnp.concatenate([f1, one])
  fp_after = jnp.concatenate([f0, one])
  fp_before = jnp.concatenate([jnp.zeros(1, f0.dtype), f0])
  return _kernel.CurvePoints(
      tp_after=tp_after,
      fp_after=fp_after,
      fp_before=fp_before,
      member_weight=jnp.ones((), f1.dtype),
      nonmember_weight=jnp.ones((), f0.dtype),
      member_terms=jnp.diff(jnp.concatenate([jnp.zeros(1, f1.dtype), tp_after])),
  )


def grid_mean(f: Float[Array, " thresholds"],
              grid: Float[Array, " thresholds"]) -> Float[Array, ""]:
  """Mean score of the distribution with survival function F on the grid.

  Each increment of F is placed at its threshold, and the mass below the
  lowest threshold at that threshold; exact for the empirical distribution
  when the grid contains every distinct score.
  """
  increments = jnp.diff(jnp.concatenate([jnp.zeros(1, f.dtype), f, jnp.ones(1, f.dtype)]))
  locations = jnp.concatenate([grid, grid[-1:]])
  return jnp.sum(increments * locations)


def grid_metrics(f1, f0, grid, fprs: tuple[float, ...],
                 convention: str) -> Float[Array, " metrics"]:
  """`summary.summarize` of the grid curves, followed by the mean score difference."""
  points = grid_points(f1, f0)
  values = summary.summarize(points, fprs, convention)
  return jnp.concatenate([values, (grid_mean(f1, grid) - grid_mean(f0, grid))[None]])


def inverse_propensity_weights(
    propensity: Float[Array, " examples"],
    members: Bool[Array, " examples"],
    weights: Float[Array, " examples"],
    target: str,
) -> Float[Array, " examples"]:
  """Row weights that balance the groups on the target population.

  Target "pool": `m / e` for members and `m / (1 - e)` for non-members.
  Target "members": `m` for members and `m e / (1 - e)` for non-members.
  Rows with `m = 0` get weight 0 even where `e` is 0 or 1.
  """
  used = weights > 0
  safe = jnp.where(used, propensity, 0.5)
  if target == "pool":
    ratio = jnp.where(members, 1.0 / safe, 1.0 / (1.0 - safe))
  else:
    ratio = jnp.where(members, 1.0, safe / (1.0 - safe))
  return jnp.where(used, weights * ratio, 0.0)


def threshold_indicators(scores, grid) -> Float[Array, "thresholds examples"]:
  """`1{score_i >= tau_j}` as floats."""
  return (scores[None, :] >= grid[:, None]).astype(scores.dtype)


def _ratio(numerator, denominator):
  return numerator / jnp.where(denominator > 0, denominator, jnp.nan)


def gformula_curves(indicators, members, weights, mu, target: str):
  """G-formula curves `(F_1, F_0)` from outcome predictions `mu` `[2, thresholds, examples]`.

  Target "pool" averages `mu_t(tau, x_i)` over all rows. Target "members"
  averages `mu_0` over the members and takes F_1 from the members' observed
  scores.
  """
  members_f = members.astype(weights.dtype)
  if target == "pool":
    total = jnp.sum(weights)
    return _ratio(mu[1] @ weights, total), _ratio(mu[0] @ weights, total)
  member_weight = weights * members_f
  total = jnp.sum(member_weight)
  return _ratio(indicators @ member_weight, total), _ratio(mu[0] @ member_weight, total)


def aipw_curves(indicators, members, weights, propensity, mu, target: str):
  """Doubly robust curves `(F_1, F_0)`: the G-formula plus weighted residuals.

  Target "pool":
    F_1(tau) = sum m mu_1 / sum m + sum m T (1{Y >= tau} - mu_1) / e / sum m T / e,
  and F_0 likewise with 1 - T and 1 - e. The residual term is normalized by
  its own weights (Hajek), which keeps it a weighted mean of residuals.
  Target "members": F_1 from the members' observed scores, and F_0 the
  members' mean of mu_0 plus the residuals of non-members weighted by
  `e / (1 - e)`, normalized the same way.
  """
  balancing = inverse_propensity_weights(propensity, members, weights, target)
  members_f = members.astype(weights.dtype)
  g1, g0 = gformula_curves(indicators, members, weights, mu, target)
  w0 = balancing * (1 - members_f)
  residual0 = _ratio((indicators - mu[0]) @ w0, jnp.sum(w0))
  if target == "members":
    return g1, g0 + residual0
  w1 = balancing * members_f
  residual1 = _ratio((indicators - mu[1]) @ w1, jnp.sum(w1))
  return g1 + residual1, g0 + residual0


def aipw_influence(indicators, members, propensity, mu, target: str):
  """Influence functions `(phi_1, phi_0)`, `[thresholds, examples]`, of `aipw_curves`.

  Computed at unit row weights, treating the cross-fitted nuisances as
  fixed: with cross-fitting their estimation error enters the AIPW estimate
  only through a product of the two nuisance errors. The variance of an
  estimate is `mean(phi^2) / n`; the delta method carries them to metrics.
  """
  t = members.astype(indicators.dtype)
  if target == "pool":
    phi1 = _hajek_augmented_influence(indicators, mu[1], t / propensity, mu[1])
    phi0 = _hajek_augmented_influence(indicators, mu[0], (1 - t) / (1 - propensity), mu[0])
    return phi1, phi0

  share = jnp.mean(t)
  f1 = _ratio(indicators @ t, jnp.sum(t))
  phi1 = t[None, :] * (indicators - f1[:, None]) / share
  odds = (1 - t) * propensity / (1 - propensity)
  member_mu0 = mu[0] * t[None, :]
  phi0 = _hajek_augmented_influence(indicators, mu[0], odds, member_mu0, share=share, t=t)
  return phi1, phi0


def _hajek_augmented_influence(indicators, mu, balancing, averaged, share=None, t=None):
  """Influence function of `mean(averaged) / share + sum b (I - mu) / sum b`.

  `share` is 1 for target "pool" (the mean of `averaged` over all rows) and
  the member share for target "members", where `averaged = T mu_0`.
  """
  residual = balancing[None, :] * (indicators - mu)
  r = jnp.mean(residual, axis=1, keepdims=True)
  s = jnp.mean(balancing)
  a = jnp.mean(averaged, axis=1, keepdims=True)
  if share is None:
    outcome_part = averaged - a
  else:
    outcome_part = (averaged - a) / share - a * (t[None, :] - share) / share**2
  return outcome_part + (residual - r) / s - r * (balancing[None, :] - s) / s**2


def kernel_metrics(sorted_scores: _kernel.SortedScores, sorted_weights, fprs, convention):
  """`summary.summarize` of a weighted kernel ROC, then the weighted mean score difference."""
  points = _kernel.curve_points(sorted_scores, sorted_weights)
  values = summary.summarize(points, fprs, convention)
  members = sorted_scores.members
  w1 = jnp.where(members, sorted_weights, 0.0)
  w0 = jnp.where(members, 0.0, sorted_weights)
  scores = jnp.where(jnp.isfinite(sorted_scores.scores), sorted_scores.scores, jnp.nan)
  difference = _ratio(w1 @ scores, jnp.sum(w1)) - _ratio(w0 @ scores, jnp.sum(w0))
  return jnp.concatenate([values, difference[None]])
