"""The weighted two-sample ROC kernel: sort once, then weighted cumulative sums.

Every metric of every regime reduces to scores, a membership indicator and
non-negative weights. The scores are sorted once (`sort_scores`). Each weight vector
over that order (unit weights, inverse-propensity weights, bootstrap
multiplicities) then gives the whole curve in O(n) with no further sort
(`curve_points`), so bootstrap replicates are cheap and can be vmapped.

All functions here are pure and jittable. None of them validates its input;
the public wrappers in `causalmia.metrics.roc` do that on the host.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int


class SortedScores(NamedTuple):
  """Scores in decreasing order with the block structure of their ties.

  Attributes:
    scores: scores sorted in decreasing order.
    members: membership of each sorted position.
    order: the permutation from input positions to sorted positions, so that
      `scores == input_scores[order]`.
    block_start: for each sorted position, the first position of its block of
      tied scores.
    block_end: for each sorted position, the last position of its block.
  """

  scores: Float[Array, " examples"]
  members: Bool[Array, " examples"]
  order: Int[Array, " examples"]
  block_start: Int[Array, " examples"]
  block_end: Int[Array, " examples"]


class CurvePoints(NamedTuple):
  """Weighted ROC vertices, one per sorted position (tied positions repeat).

  The vertex of position k is the operating point of the threshold
  `tau = scores[k]` under the rule `score >= tau`: all of k's tie block is
  classified as member together. Repeated vertices are harmless for every
  maximum and area taken over them.

  Attributes:
    tp_after: member weight with score >= the score of this position.
    fp_after: non-member weight with score >= the score of this position.
    fp_before: non-member weight with score > the score of this position.
    member_weight: total member weight W1.
    nonmember_weight: total non-member weight W0.
    member_terms: member weight at each position (zero for non-members).
  """

  tp_after: Float[Array, " examples"]
  fp_after: Float[Array, " examples"]
  fp_before: Float[Array, " examples"]
  member_weight: Float[Array, ""]
  nonmember_weight: Float[Array, ""]
  member_terms: Float[Array, " examples"]


def sort_scores(
    scores: Float[Array, " examples"], members: Bool[Array, " examples"]
) -> SortedScores:
  """Sorts scores in decreasing order and marks the blocks of tied scores."""
  # A stable sort of the negated scores keeps equal scores in input order,
  # which makes every result independent of the sort implementation.
  order = jnp.argsort(-scores, stable=True)
  sorted_scores = scores[order]
  n = scores.shape[0]
  positions = jnp.arange(n)

  differs_from_next = jnp.concatenate(
      [sorted_scores[:-1] != sorted_scores[1:], jnp.array([True])]
  )
  differs_from_previous = jnp.concatenate(
      [jnp.array([True]), sorted_scores[1:] != sorted_scores[:-1]]
  )
  block_end = jax.lax.cummin(
      jnp.where(differs_from_next, positions, n), reverse=True
  )
  block_start = jax.lax.cummax(jnp.where(differs_from_previous, positions, 0))
  return SortedScores(
      sorted_scores, members[order], order, block_start, block_end
  )


def curve_points(
    sorted_scores: SortedScores, weights: Float[Array, " examples"]
) -> CurvePoints:
  """Computes the weighted ROC vertices for weights given in sorted order."""
  members = sorted_scores.members
  member_terms = jnp.where(members, weights, 0.0)
  nonmember_terms = jnp.where(members, 0.0, weights)
  tp_cumulative = _cumulative_sum(member_terms)
  fp_cumulative = _cumulative_sum(nonmember_terms)

  end = sorted_scores.block_end
  start = sorted_scores.block_start
  fp_before = fp_cumulative[start] - nonmember_terms[start]
  return CurvePoints(
      tp_after=tp_cumulative[end],
      fp_after=fp_cumulative[end],
      fp_before=fp_before,
      member_weight=tp_cumulative[-1],
      nonmember_weight=fp_cumulative[-1],
      member_terms=member_terms,
  )


# From this length on, a tree-shaped associative scan replaces XLA's cumsum:
# on a 2-core CPU it ran about 5x faster at n = 10^6 (tools/bench_metrics.py),
# but it compiles more slowly, which dominates for short arrays.
_TREE_SCAN_MIN_LENGTH = 1 << 16


def _cumulative_sum(values: Float[Array, " n"]) -> Float[Array, " n"]:
  if values.shape[0] >= _TREE_SCAN_MIN_LENGTH:
    return jax.lax.associative_scan(jnp.add, values)
  return jnp.cumsum(values)


def _defined(points: CurvePoints) -> Bool[Array, ""]:
  return (points.member_weight > 0) & (points.nonmember_weight > 0)


def auc(points: CurvePoints) -> Float[Array, ""]:
  """Area under the ROC vertices, equal to P(Y1 > Y0) + P(Y1 = Y0) / 2.

  A member at a position beats the non-member weight strictly below its
  block, `W0 - fp_after`, and ties with the weight inside its block,
  `fp_after - fp_before`, which counts one half.
  """
  w1, w0 = points.member_weight, points.nonmember_weight
  wins = w0 - 0.5 * (points.fp_after + points.fp_before)
  area = jnp.sum(points.member_terms * wins) / (w1 * w0)
  return jnp.where(_defined(points), area, jnp.nan)


def _rates(points: CurvePoints):
  tpr = points.tp_after / points.member_weight
  fpr = points.fp_after / points.nonmember_weight
  return tpr, fpr


def _fpr_allowed(points: CurvePoints, fpr: float) -> Bool[Array, " examples"]:
  """Marks vertices whose false-positive weight is at most `fpr * W0`.

  The comparison is made on weights (counts for unit weights), not on the
  ratio. A relative tolerance of a few units in the last place keeps an
  exact rational rate such as 29/100 from being excluded when 0.29 rounds
  down.
  """
  tolerance = 8 * jnp.finfo(points.fp_after.dtype).eps
  bound = fpr * points.nonmember_weight * (1 + tolerance)
  return points.fp_after <= bound


def tpr_at_fpr_step(points: CurvePoints, fpr: float) -> Float[Array, ""]:
  """Largest TPR among vertices whose FPR does not exceed `fpr`.

  The origin (threshold above every score) is always a vertex, so the
  result is 0 when no other vertex qualifies.
  """
  tpr, _ = _rates(points)
  best = jnp.max(jnp.where(_fpr_allowed(points, fpr), tpr, 0.0))
  return jnp.where(_defined(points), best, jnp.nan)


def advantage(points: CurvePoints) -> Float[Array, ""]:
  """Maximum over thresholds of TPR - FPR, including the origin (value 0)."""
  tpr, fpr = _rates(points)
  best = jnp.maximum(jnp.max(tpr - fpr), 0.0)
  return jnp.where(_defined(points), best, jnp.nan)
