"""Leave-the-target-out reductions over the runs axis, and host-side input checks.

For target run r, an attack's reference statistics combine every run s != r.
`sum_over_other_runs` and `logsumexp_over_other_runs` compute them for all r
at once from prefix and suffix reductions along the runs axis. No value is
ever subtracted back out, so leaving out a target whose value dominates the
total (a memorized example, say) loses no precision. The cost is
O(runs * examples) instead of O(runs^2 * examples).
"""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from causalmia import _validation
from causalmia.errors import MissingReferenceWarning


def sum_over_other_runs(values: Float[Array, "runs ..."]) -> Float[Array, "runs ..."]:
  """Entry r is the sum of `values[s]` over all runs s != r."""
  zero = jnp.zeros_like(values[:1])
  before = jnp.concatenate([zero, jnp.cumsum(values, axis=0)[:-1]])
  after = jnp.concatenate([jnp.cumsum(values[::-1], axis=0)[:-1][::-1], zero])
  return before + after


def logsumexp_over_other_runs(values: Float[Array, "runs ..."]) -> Float[Array, "runs ..."]:
  """Entry r is `log sum_{s != r} exp(values[s])`; -inf where every other entry is -inf."""
  empty = jnp.full_like(values[:1], -jnp.inf)
  before = jnp.concatenate([empty, jax.lax.cumlogsumexp(values, axis=0)[:-1]])
  after = jnp.concatenate([jax.lax.cumlogsumexp(values, axis=0, reverse=True)[1:], empty])
  return jnp.logaddexp(before, after)


def check_runs(statistics, masks, name: str) -> tuple[np.ndarray, np.ndarray]:
  """Validates `[runs, examples]` per-model statistics and inclusion masks.

  Raises:
    ValueError: naming the array, when the statistics are not 2-D, contain
      NaN or +inf, or when there are fewer than two runs (a target needs at
      least one reference run), or when the masks do not match.
  """
  array = _validation.check_scores(statistics, name=name)
  if array.ndim != 2:
    raise ValueError(f"{name} must be [runs, examples], got shape {array.shape}.")
  if array.shape[0] < 2:
    raise ValueError(
        f"{name} has {array.shape[0]} run(s); the attack takes its reference models "
        "from the other runs, so it needs at least 2."
    )
  if np.isposinf(array).any():
    raise ValueError(f"{name} contains +inf; the statistics must be finite or -inf.")
  masks = _validation.check_members(masks, array.shape, name="masks")
  return array, masks


def warn_fallback(count: int, total: int, attack: str, what: str) -> None:
  """Warns that `count` of `total` (run, example) pairs used a fallback."""
  if count:
    warnings.warn(
        f"{attack}: {count} of {total} (run, example) pairs had {what}; they used the "
        "fallback described in the function's docstring. More runs make this rarer.",
        MissingReferenceWarning,
        stacklevel=3,
    )
