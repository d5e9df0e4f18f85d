"""Public ROC metrics on arrays: validated on the host, computed by the kernel.

Conventions shared by every function here:

* Decision rule: an example is called a member when `score >= tau`; larger
  scores are more member-like.
* Vertices: one ROC vertex per distinct score. A block of tied scores enters
  the curve as a whole, so ties never create intermediate points.
* AUC: `P(S1 > S0) + P(S1 = S0) / 2` for a member score S1 and a non-member
  score S0, which equals the area under the vertices joined by straight lines.
* TPR at FPR alpha, `"step"` convention: the largest TPR among vertices whose
  FPR does not exceed alpha, compared in weights (counts for unit weights).
  `"hull"` convention: the ROC convex hull at alpha, reachable by randomizing
  between two thresholds.
* Weights: each group's rates are normalized by that group's total weight
  (Hajek), so TPR and FPR are proportions in [0, 1].
* A group with zero total weight makes every metric undefined: the result is
  NaN and an `UndefinedMetricWarning` is issued, never 0 or 0.5.
"""

import functools
import warnings
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from causalmia import _validation
from causalmia.errors import ResolutionWarning, UndefinedMetricWarning
from causalmia.metrics import _kernel
from causalmia.metrics import summary


def _prepare(scores, members, weights):
  scores = _validation.check_scores(scores)
  if scores.ndim != 1:
    raise ValueError(f"scores must be 1-D, got shape {scores.shape}.")
  members = _validation.check_members(members, scores.shape)
  if weights is None:
    weights = np.ones(scores.shape, scores.dtype)
  weights = _validation.check_weights(weights, scores.shape)
  return scores, members, weights


def _warn_if_undefined(members, weights, what: str) -> bool:
  member_weight = float(weights[members].sum())
  nonmember_weight = float(weights[~members].sum())
  if member_weight > 0 and nonmember_weight > 0:
    return False
  empty = "members" if member_weight <= 0 else "non-members"
  warnings.warn(
      f"{what} is undefined because the {empty} have zero total weight; returning NaN.",
      UndefinedMetricWarning,
      stacklevel=3,
  )
  return True


@jax.jit
def _points(scores, members, weights):
  sorted_scores = _kernel.sort_scores(scores, members)
  return sorted_scores, _kernel.curve_points(sorted_scores, weights[sorted_scores.order])


@functools.partial(jax.jit, static_argnames=("fprs", "convention"))
def _summary(scores, members, weights, fprs, convention):
  _, points = _points(scores, members, weights)
  return summary.summarize(points, fprs, convention)


def roc_curve(scores, members, weights=None):
  """Computes the ROC vertices of the rule `score >= threshold`.

  Args:
    scores: `[examples]` scores, larger meaning more member-like. Infinite
      values are valid; NaN raises ValueError.
    members: `[examples]` bool (or 0/1) membership.
    weights: optional `[examples]` non-negative weights.

  Returns:
    `(fpr, tpr, thresholds)` as NumPy arrays, one entry per vertex. The first
    vertex is (0, 0) with threshold +inf, the rule that calls no example a
    member. Each further vertex uses one distinct score as the threshold, in
    decreasing order, and the last is (1, 1). If a group has zero weight, the
    rates are NaN and an `UndefinedMetricWarning` is issued.

  Example:
    >>> fpr, tpr, _ = roc_curve([2, 5, 10, 10], [1, 0, 0, 1])
    >>> [(float(f), float(t)) for f, t in zip(fpr, tpr)]
    [(0.0, 0.0), (0.5, 0.5), (1.0, 0.5), (1.0, 1.0)]
  """
  scores, members, weights = _prepare(scores, members, weights)
  undefined = _warn_if_undefined(members, weights, "The ROC curve")
  sorted_scores, points = jax.device_get(_points(scores, members, weights))

  ends = np.flatnonzero(np.asarray(sorted_scores.block_end) == np.arange(len(scores)))
  tp = np.concatenate([[0.0], np.asarray(points.tp_after)[ends]])
  fp = np.concatenate([[0.0], np.asarray(points.fp_after)[ends]])
  thresholds = np.concatenate([[np.inf], np.asarray(sorted_scores.scores)[ends]])
  if undefined:
    nan = np.full(tp.shape, np.nan)
    return nan, nan.copy(), thresholds
  return fp / points.nonmember_weight, tp / points.member_weight, thresholds


def _scalar(scores, members, weights, fprs, convention, what):
  scores, members, weights = _prepare(scores, members, weights)
  if _warn_if_undefined(members, weights, what):
    return np.full(len(summary.metric_names(fprs)), np.nan)
  return np.asarray(_summary(scores, members, weights, fprs, convention))


def roc_auc(scores, members, weights=None) -> float:
  """Computes the weighted AUC, `P(S1 > S0) + P(S1 = S0) / 2`.

  Equal to the area under the ROC vertices of `roc_curve`. NaN with an
  `UndefinedMetricWarning` when a group has zero weight.

  Example:
    >>> roc_auc([2, 5, 10, 10], [1, 0, 0, 1])
    0.375
  """
  return float(_scalar(scores, members, weights, (), "step", "AUC")[0])


def advantage(scores, members, weights=None) -> float:
  """Computes the membership advantage `max over tau of TPR(tau) - FPR(tau)`.

  The maximum includes the rule that calls no example a member, so the
  advantage is never negative; it is 0 for constant scores.

  Example:
    >>> advantage([0.9] * 5, [1, 0, 1, 1, 0])
    0.0
  """
  return float(_scalar(scores, members, weights, (), "step", "The advantage")[1])


def resolution(members, weights=None) -> float:
  """Smallest non-zero FPR step: the lightest non-member's share of W0."""
  members = np.asarray(members, dtype=bool)
  weights = np.ones(members.shape) if weights is None else np.asarray(weights, float)
  nonmember = weights[~members]
  positive = nonmember[nonmember > 0]
  return float(positive.min() / nonmember.sum()) if positive.size else float("nan")


def tpr_at_fpr(scores, members, fpr, weights=None, *, convention: str = "step"):
  """Computes the TPR at a false-positive rate of `fpr`.

  Step convention: `max {TPR(tau) : FPR(tau) <= fpr}` over the vertices,
  with FPR compared in weights (counts), the origin included. Hull
  convention: the concave envelope of the vertices at `fpr`, the best TPR of
  a rule that randomizes between two thresholds. A `ResolutionWarning` is
  issued when `fpr` is positive but below the smallest FPR step, since the
  result then only reflects the FPR-0 vertices.

  Args:
    scores: `[examples]` scores, larger meaning more member-like.
    members: `[examples]` bool membership.
    fpr: a rate in [0, 1] or a sequence of rates.
    weights: optional `[examples]` non-negative weights.
    convention: `"step"` or `"hull"`.

  Returns:
    A float for a scalar `fpr`, else a NumPy array with one TPR per rate.

  Example:
    >>> tpr_at_fpr([9, 9, 5, 5], [1, 0, 1, 0], 0.0)
    0.0
  """
  if convention not in summary.CONVENTIONS:
    raise ValueError(f"Unknown convention {convention!r}; expected one of {summary.CONVENTIONS}.")
  fprs = _validation.check_rates(fpr)
  values = _scalar(scores, members, weights, fprs, convention, "TPR at FPR")[2:]

  step = resolution(members, weights)
  for rate in fprs:
    if 0 < rate < step:
      warnings.warn(
          f"FPR {rate:g} is below the resolution {step:g} of the non-member group; "
          "the TPR there is read from vertices with FPR 0.",
          ResolutionWarning,
          stacklevel=2,
      )
  return float(values[0]) if np.ndim(fpr) == 0 else values
