"""Bootstrap intervals for any statistic of the weighted two-sample problem.

The extension point for new estimators: a statistic is a jittable function
`statistic(sorted_scores, weights) -> [metrics]` of the scores sorted once
(`causalmia.metrics.sort_scores`) and per-row weights in that order. This
module gives it the same design-aware intervals as the built-in metrics.
"""

import jax
import jax.numpy as jnp
import numpy as np

from causalmia import _validation
from causalmia.estimate import bootstrap
from causalmia.metrics import _kernel


def estimate_statistic(
    statistic, scores, masks, *, confidence: float = 0.95, num_replicates: int = 1000,
    seed: int = 0, resampling: str = "multinomial",
):
  """Point estimate and percentile interval of a custom statistic.

  The design follows the shape of `scores`: `[runs, examples]` is a
  multi-run experiment (cluster bootstrap over runs, as in `multi_run`);
  `[examples]` is one run (bootstrap over examples stratified by
  membership, as in `one_run`).

  Args:
    statistic: jittable `statistic(sorted_scores, weights) -> [metrics]`,
      where `sorted_scores` is a `causalmia.metrics.SortedScores` and
      `weights` are per-row weights in sorted order. Use a module-level
      function so that repeated calls compile once.
    scores: `[runs, examples]` or `[examples]` scores.
    masks: bool inclusion of the same shape.
    confidence: interval coverage.
    num_replicates: bootstrap replicates B.
    seed: seed of the bootstrap key.
    resampling: for one run, "multinomial" or "poisson".

  Returns:
    `(value, low, high)`: NumPy arrays `[metrics]`.
  """
  scores = _validation.check_scores(scores)
  masks = _validation.check_members(masks, scores.shape, name="masks")
  if scores.ndim not in (1, 2):
    raise ValueError(f"scores must be [runs, examples] or [examples], got shape {scores.shape}.")

  sorted_scores = jax.jit(_kernel.sort_scores)(
      jnp.asarray(scores.reshape(-1)), jnp.asarray(masks.reshape(-1)))
  value = np.asarray(jax.jit(statistic)(sorted_scores, jnp.ones(scores.size, scores.dtype)))
  if scores.ndim == 2:
    runs, examples = scores.shape
    run_of_row = jnp.repeat(jnp.arange(runs), examples)[sorted_scores.order]
    sampler = bootstrap.ClusterSampler(run_of_row, runs)
  else:
    sampler = bootstrap.example_sampler(sorted_scores.members, resampling)
  replicates = bootstrap.replicate_metrics(
      jax.random.key(seed), sorted_scores, sampler, num_replicates, statistic=statistic)
  low, high, _ = bootstrap.percentile_interval(replicates, confidence)
  return value, low, high
