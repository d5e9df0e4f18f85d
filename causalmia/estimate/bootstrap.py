"""Bootstrap replicates as weight vectors over one sorted order.

The scores are sorted once. A replicate is a vector of multiplicities (how
many times each row is drawn), generated directly in sorted order, so its
metrics follow from weighted cumulative sums with no further sort or
permutation. Replicate b uses the key `fold_in(key, b)`, and replicates are
computed in fixed-size chunks, `lax.map`-ed inside one compiled call: memory
stays O(n + replicates), never O(n * replicates), and the chunking never
changes the result.
"""

import functools

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray

from causalmia.metrics import _kernel
from causalmia.metrics import summary

# Replicates evaluated side by side inside `lax.map`: enough to vectorize,
# small enough that `batch * n` floats stay modest for n in the millions.
_MAP_BATCH = 8

# P(K <= k) for K ~ Poisson(1), k = 0..12. P(K > 12) is about 1e-10, so
# counts above 12 are truncated to 12 with negligible effect.
_POISSON_ONE_CDF = np.cumsum([np.exp(-1.0) / np.prod(np.arange(1, k + 1)) for k in range(13)])

RESAMPLING = ("multinomial", "poisson")


def cluster_weights(
    draws: Int[Array, " clusters"], cluster_of_row: Int[Array, " rows"], num_clusters: int
) -> Float[Array, " rows"]:
  """Row weights when whole clusters are drawn with replacement.

  Args:
    draws: indices of the drawn clusters (a cluster drawn twice counts twice).
    cluster_of_row: the cluster index of each row.
    num_clusters: number of clusters.

  Returns:
    Each row's multiplicity: the number of times its cluster was drawn.

  Example:
    >>> rows = jnp.array([0, 0, 1, 1])
    >>> cluster_weights(jnp.array([1, 1]), rows, 2).tolist()
    [0.0, 0.0, 2.0, 2.0]
  """
  counts = jnp.zeros(num_clusters).at[draws].add(1.0)
  return counts[cluster_of_row]


@flax.struct.dataclass
class ClusterSampler:
  """Cluster bootstrap: draw all clusters with replacement.

  Attributes:
    cluster_of_row: `[rows]` cluster index (for example the run) of each row,
      in the order the weights are wanted (the sorted order).
    num_clusters: number of clusters, drawn that many times per replicate.
  """

  cluster_of_row: Int[Array, " rows"]
  num_clusters: int = flax.struct.field(pytree_node=False)

  def __call__(self, key: PRNGKeyArray) -> Float[Array, " rows"]:
    draws = jax.random.randint(key, (self.num_clusters,), 0, self.num_clusters)
    return cluster_weights(draws, self.cluster_of_row, self.num_clusters)


@flax.struct.dataclass
class StratifiedSampler:
  """Bootstrap stratified by membership, with multinomial resampling.

  Each replicate draws n1 rows with replacement among the n1 member rows and
  n0 among the n0 non-member rows, so both group sizes stay fixed.

  Attributes:
    member_rows: `[n1]` positions of the member rows.
    nonmember_rows: `[n0]` positions of the non-member rows.
  """

  member_rows: Int[Array, " members"]
  nonmember_rows: Int[Array, " nonmembers"]

  @classmethod
  def from_members(cls, members) -> "StratifiedSampler":
    """Builds the sampler for membership given in the order the weights are wanted."""
    members = np.asarray(members, dtype=bool)
    return cls(jnp.asarray(np.flatnonzero(members)), jnp.asarray(np.flatnonzero(~members)))

  def __call__(self, key: PRNGKeyArray) -> Float[Array, " rows"]:
    rows = self.member_rows.shape[0] + self.nonmember_rows.shape[0]
    weights = jnp.zeros(rows)
    keys = jax.random.split(key)
    for group, group_key in zip((self.member_rows, self.nonmember_rows), keys):
      size = group.shape[0]
      if size:
        picks = jax.random.randint(group_key, (size,), 0, size)
        weights = weights.at[group[picks]].add(1.0)
    return weights


@flax.struct.dataclass
class PoissonSampler:
  """Poisson bootstrap: every row's multiplicity is an independent Poisson(1).

  It approximates the multinomial bootstrap: the multiplicities are
  independent, so each group's resampled size varies around its own size
  instead of being fixed, and the Hajek normalization inside the ROC kernel
  absorbs that. Independence removes the scatter of the multinomial
  draw, which makes it the faster choice for millions of rows.

  Attributes:
    rows: number of rows.

  References:
    Hanley, MacGibbon, "Creating non-parametric bootstrap samples using
    Poisson frequencies", Computer Methods and Programs in Biomedicine, 2006.
  """

  rows: int = flax.struct.field(pytree_node=False)

  def __call__(self, key: PRNGKeyArray) -> Float[Array, " rows"]:
    uniform = jax.random.uniform(key, (self.rows,))
    cdf = jnp.asarray(_POISSON_ONE_CDF, uniform.dtype)
    return jnp.sum(uniform[:, None] > cdf[None, :], axis=1).astype(uniform.dtype)


def example_sampler(sorted_members: Bool[Array, " rows"], resampling: str):
  """Builds the stratified sampler of a one-run bootstrap, for rows in sorted order."""
  if resampling == "multinomial":
    return StratifiedSampler.from_members(sorted_members)
  if resampling == "poisson":
    return PoissonSampler(int(sorted_members.shape[0]))
  raise ValueError(f"Unknown resampling {resampling!r}; expected one of {RESAMPLING}.")


@functools.lru_cache(maxsize=None)
def roc_statistic(fprs: tuple[float, ...], convention: str):
  """Wraps `summarize` as a statistic of (sorted scores, weights).

  Cached, so equal arguments return the same function object and the
  compiled replicate chunk is reused across calls.
  """

  def statistic(sorted_scores, weights):
    return summary.summarize(_kernel.curve_points(sorted_scores, weights), fprs, convention)

  return statistic


@functools.partial(jax.jit, static_argnames=("statistic", "count"))
def _replicate_chunk(key, first, sorted_scores, base_weights, sampler, statistic, count):
  def one(b):
    multiplicity = sampler(jax.random.fold_in(key, b))
    return statistic(sorted_scores, multiplicity * base_weights)

  return jax.lax.map(one, first + jnp.arange(count), batch_size=_MAP_BATCH)


def replicate_metrics(
    key: PRNGKeyArray,
    sorted_scores: _kernel.SortedScores,
    sampler,
    num_replicates: int,
    *,
    fprs: tuple[float, ...] = (),
    convention: str = "step",
    statistic=None,
    base_weights=None,
    chunk: int = 100,
    progress=None,
) -> Float[np.ndarray, "replicates metrics"]:
  """Metrics of `num_replicates` bootstrap replicates, `[replicates, metrics]`.

  Args:
    key: the bootstrap key; replicate b uses `fold_in(key, b)`.
    sorted_scores: the scores sorted once by `_kernel.sort_scores`.
    sampler: maps a key to multiplicities in sorted order (a
      `ClusterSampler`, `StratifiedSampler` or `PoissonSampler`).
    num_replicates: B.
    fprs: false-positive rates for TPR at FPR.
    convention: "step" or "hull".
    statistic: instead of the ROC metrics, any jittable function
      `statistic(sorted_scores, weights) -> [metrics]` with weights in
      sorted order. Pass the same function object across calls (a
      module-level function) so that it compiles once.
    base_weights: weights in sorted order multiplied into each replicate
      (for example inverse-propensity weights); default ones.
    chunk: replicates per compiled call; the last call is padded.
    progress: optional callable receiving the number of replicates finished.
  """
  if base_weights is None:
    base_weights = jnp.ones(sorted_scores.scores.shape, sorted_scores.scores.dtype)
  if statistic is None:
    statistic = roc_statistic(tuple(fprs), convention)
  chunk = max(1, min(chunk, num_replicates))
  results = []
  for first in range(0, num_replicates, chunk):
    values = _replicate_chunk(key, first, sorted_scores, base_weights, sampler, statistic, chunk)
    results.append(np.asarray(values)[: num_replicates - first])
    if progress is not None:
      progress(min(chunk, num_replicates - first))
  return np.concatenate(results)


def percentile_interval(replicates, confidence: float):
  """Percentile interval per metric, skipping undefined (NaN) replicates.

  Returns:
    `(low, high, skipped)`: arrays `[metrics]` of the interval ends and the
    number of NaN replicates that were left out for each metric.
  """
  replicates = np.asarray(replicates, dtype=np.float64)
  skipped = np.isnan(replicates).sum(axis=0)
  tail = (1.0 - confidence) / 2.0
  low = np.full(replicates.shape[1], np.nan)
  high = np.full(replicates.shape[1], np.nan)
  defined = skipped < replicates.shape[0]
  if defined.any():
    low[defined] = np.nanquantile(replicates[:, defined], tail, axis=0)
    high[defined] = np.nanquantile(replicates[:, defined], 1.0 - tail, axis=0)
  return low, high, skipped
