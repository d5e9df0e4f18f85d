"""TPR at a fixed FPR on the convex hull of the ROC curve (randomized thresholds).

A classifier that flips a biased coin between two thresholds reaches every
point on the segment joining their vertices, so the best TPR at FPR alpha over
randomized rules is the upper concave envelope `g` of the vertices, at alpha.

By convex duality, `g(alpha) = min over slopes s >= 0 of
max_j (t_j - s f_j) + s alpha`. The minimizing slope s* is the slope of the
hull edge that crosses alpha. We bisect on log s: at slope s, if the best
vertex to the right of alpha (f_j > alpha) beats the best vertex on the left
(f_j <= alpha), the slope is still too small. Once the bracket [lo, hi] is
tight, the left end of the crossing edge maximizes t - hi f among left
vertices and the right end maximizes t - lo f among right vertices. The
result is the straight line between those two vertices, evaluated at alpha.
This costs O(n) per bisection step, vectorizes over bootstrap replicates, and
needs no data-dependent shapes.
"""

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from causalmia.metrics import _kernel

# The bracket spans slopes from e^-40 to e^40, far beyond the steepest finite
# hull edge of any float32 curve (at most 1 / smallest FPR step), and 48
# halvings bring its width below float32 resolution of log s.
_LOG_SLOPE_RANGE = 40.0
_BISECTION_STEPS = 48


def tpr_at_fpr_hull(points: _kernel.CurvePoints, fpr: float) -> Float[Array, ""]:
  """TPR of the ROC convex hull at false-positive rate `fpr`."""
  tpr = points.tp_after / points.member_weight
  fp_rate = points.fp_after / points.nonmember_weight
  left = _kernel._fpr_allowed(points, fpr)
  # The origin is a left vertex that no position represents.
  tpr = jnp.concatenate([jnp.zeros(1, tpr.dtype), tpr])
  fp_rate = jnp.concatenate([jnp.zeros(1, fp_rate.dtype), fp_rate])
  left = jnp.concatenate([jnp.ones(1, bool), left])

  def best(slope, side):
    return jnp.max(jnp.where(side, tpr - slope * fp_rate, -jnp.inf))

  def bisect(_, bracket):
    lo, hi = bracket
    mid = 0.5 * (lo + hi)
    slope = jnp.exp(mid)
    right_wins = best(slope, ~left) > best(slope, left)
    return jnp.where(right_wins, mid, lo), jnp.where(right_wins, hi, mid)

  lo, hi = jax.lax.fori_loop(
      0,
      _BISECTION_STEPS,
      bisect,
      (jnp.asarray(-_LOG_SLOPE_RANGE), jnp.asarray(_LOG_SLOPE_RANGE)),
  )
  i = jnp.argmax(jnp.where(left, tpr - jnp.exp(hi) * fp_rate, -jnp.inf))
  j = jnp.argmax(jnp.where(~left, tpr - jnp.exp(lo) * fp_rate, -jnp.inf))

  has_right = jnp.any(~left)
  width = fp_rate[j] - fp_rate[i]
  width = jnp.where(has_right & (width > 0), width, 1.0)
  fraction = jnp.clip((fpr - fp_rate[i]) / width, 0.0, 1.0)
  on_edge = tpr[i] + fraction * (tpr[j] - tpr[i])
  step = jnp.max(jnp.where(left, tpr, 0.0))
  # Without a right vertex every vertex is allowed and the step value is
  # the hull value; otherwise the hull is never below the step value.
  value = jnp.where(has_right, jnp.maximum(on_edge, step), step)
  defined = (points.member_weight > 0) & (points.nonmember_weight > 0)
  return jnp.where(defined, value, jnp.nan)
