"""Closed-form ridge regression: a ground truth where interference is computed exactly.

Training on the base set plus the included audit examples minimizes

  sum_{(x, y) in D(T)} (y - x . theta)^2 + lambda ||theta||^2,

whose solution is `theta = (G0 + X' diag(T) X + lambda I)^-1 (b0 + X' diag(T) y)`
with `G0 = X0' X0` and `b0 = X0' y0` from the base set. One run costs one
Cholesky solve, so thousands of runs fit in one `vmap` under one `jit`.
The score of an audit example is its negated squared residual, larger meaning
more member-like.

Leave-one-in runs (the base set plus one audit example) follow from the base
model by the Sherman-Morrison identity: adding x_i with base residual r_i
moves every prediction x_j . theta by `x_j' A0^-1 x_i r_i / (1 + h_i)`, where
`A0 = G0 + lambda I` and `h_i = x_i' A0^-1 x_i` is the leverage of x_i.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, PRNGKeyArray

from causalmia.data.dataset import Dataset


class RidgeProblem(NamedTuple):
  """A base set that every run trains on and an audit pool whose inclusion is randomized.

  Attributes:
    base_inputs: `[base, features]` inputs of the base set D0.
    base_labels: `[base]` targets of the base set.
    inputs: `[examples, features]` inputs of the audit pool.
    labels: `[examples]` targets of the audit pool.
  """

  base_inputs: Float[Array, "base features"]
  base_labels: Float[Array, " base"]
  inputs: Float[Array, "examples features"]
  labels: Float[Array, " examples"]


def problem_from_datasets(base: Dataset, audit: Dataset) -> RidgeProblem:
  """Builds a `RidgeProblem` from two regression datasets with the same features."""
  for name, dataset in (("base", base), ("audit", audit)):
    if not dataset.is_regression or dataset.inputs.ndim != 2:
      raise ValueError(
          f"the {name} dataset must be a regression dataset with [examples, features] inputs, "
          f"got {dataset!r}"
      )
  if base.inputs.shape[1] != audit.inputs.shape[1]:
    raise ValueError(
        f"the base set has {base.inputs.shape[1]} features but the audit pool has "
        f"{audit.inputs.shape[1]}"
    )
  return RidgeProblem(*(jnp.asarray(a) for a in (base.inputs, base.labels,
                                                  audit.inputs, audit.labels)))


def _base_system(problem: RidgeProblem, regularization):
  x0 = problem.base_inputs
  gram = x0.T @ x0 + regularization * jnp.eye(x0.shape[1], dtype=x0.dtype)
  return gram, x0.T @ problem.base_labels


def fit(
    problem: RidgeProblem, mask: Bool[Array, " examples"], regularization
) -> Float[Array, " features"]:
  """Ridge weights trained on the base set plus the audit examples where `mask` is True."""
  gram, moment = _base_system(problem, regularization)
  weights = mask.astype(problem.inputs.dtype)
  weighted = problem.inputs * weights[:, None]
  gram = gram + problem.inputs.T @ weighted
  moment = moment + weighted.T @ problem.labels
  factor = jax.scipy.linalg.cho_factor(gram)
  return jax.scipy.linalg.cho_solve(factor, moment)


def scores(problem: RidgeProblem, theta: Float[Array, " features"]) -> Float[Array, " examples"]:
  """Negated squared residual of every audit example under the weights `theta`."""
  return -jnp.square(problem.labels - problem.inputs @ theta)


def run_scores(
    problem: RidgeProblem, masks: Bool[Array, "runs examples"], regularization, *,
    batch_size: int | None = None,
) -> Float[Array, "runs examples"]:
  """Trains one ridge model per row of `masks` and scores the audit pool, `[runs, examples]`.

  Runs are vmapped all at once by default. With `batch_size`, they are mapped
  in batches of that many, so memory contains at most `batch_size` Gram matrices
  and the result does not change. Jittable; the caller compiles it.
  """
  def one(mask):
    return scores(problem, fit(problem, mask, regularization))

  if batch_size is None or batch_size >= masks.shape[0]:
    return jax.vmap(one)(masks)
  return jax.lax.map(one, masks, batch_size=batch_size)


def bernoulli_masks(key: PRNGKeyArray, rate, runs: int, num_examples: int):
  """Bernoulli(`rate`) inclusion masks, run r drawn with `fold_in(key, r)`.

  Equal to `designs.sample_masks(key, designs.Bernoulli(rate), num_examples, runs)`,
  but `rate` may be a traced value, so that a sweep can vmap over it.
  """
  keys = jax.vmap(lambda r: jax.random.fold_in(key, r))(jnp.arange(runs))
  return jax.vmap(lambda k: jax.random.bernoulli(k, rate, (num_examples,)))(keys)


class LeaveOneInScores(NamedTuple):
  """Scores of the base model and of the leave-one-in models of a ridge problem.

  Attributes:
    base_scores: `[examples]` score of each audit example under the model
      trained on the base set alone.
    own_scores: `[examples]` score of example i under the model trained on
      the base set plus example i.
    leverage: `[examples]` leverage `h_i = x_i' A0^-1 x_i` under the base system.
  """

  base_scores: Float[Array, " examples"]
  own_scores: Float[Array, " examples"]
  leverage: Float[Array, " examples"]


class BaseSolution(NamedTuple):
  """The base-set model of a ridge problem, shared by the leave-one-in computations.

  Attributes:
    residuals: `[examples]` residuals `y - x . theta0` of the audit pool under
      the model trained on the base set alone.
    solved: `[features, examples]` the columns `A0^-1 x_j`.
  """

  residuals: Float[Array, " examples"]
  solved: Float[Array, "features examples"]


def base_solution(problem: RidgeProblem, regularization) -> BaseSolution:
  """Solves the base system once for `leave_one_in` and `stability`."""
  gram, moment = _base_system(problem, regularization)
  factor = jax.scipy.linalg.cho_factor(gram)
  theta = jax.scipy.linalg.cho_solve(factor, moment)
  residuals = problem.labels - problem.inputs @ theta
  return BaseSolution(residuals, jax.scipy.linalg.cho_solve(factor, problem.inputs.T))


def after(value, *dependencies):
  """Returns `value` only once `dependencies` are computed, inside a compiled program.

  jaxlib 0.10.2's CPU Cholesky kernel spreads a batch over XLA's intra-op
  thread pool and blocks until the batch is done. Two such factorizations
  running at the same time held both threads of a 2-core machine and hung
  (seen with `gdb` in this repository's studies). Ordering them through an
  optimization barrier keeps one at a time.
  """
  value, _ = jax.lax.optimization_barrier((value, dependencies))
  return value


def leave_one_in(problem: RidgeProblem, regularization, *,
                 base: BaseSolution | None = None) -> LeaveOneInScores:
  """Scores of the N leave-one-in models, exactly, in O(N d^2).

  Adding x_i to the base set shrinks its residual from r_i to `r_i / (1 + h_i)`.
  `base` reuses a `base_solution` of the same problem and penalty.
  """
  residuals, solved = base_solution(problem, regularization) if base is None else base
  leverage = jnp.sum(problem.inputs * solved.T, axis=1)
  own = -jnp.square(residuals / (1.0 + leverage))
  return LeaveOneInScores(-jnp.square(residuals), own, leverage)


def stability(problem: RidgeProblem, regularization, *, block_size: int = 512,
              base: BaseSolution | None = None):
  """Largest change of any other audit score when one audit example joins the base set.

  Returns `max over i != j of |s_j(D0 + {z_i}) - s_j(D0)|`, computed in row
  blocks of `block_size` added examples so that the N x N matrix of changes
  never exists in memory at once. `base` reuses a `base_solution`.
  """
  residuals, solved = base_solution(problem, regularization) if base is None else base
  inputs = problem.inputs
  num_examples = inputs.shape[0]
  leverage = jnp.sum(inputs * solved.T, axis=1)
  step = residuals / (1.0 + leverage)

  block_size = min(block_size, num_examples)
  num_blocks = -(-num_examples // block_size)
  padded = num_blocks * block_size

  def block_max(start):
    rows = start + jnp.arange(block_size)
    valid = rows < num_examples
    rows = jnp.minimum(rows, num_examples - 1)
    # shift[b, j]: change of the prediction at x_j when example rows[b] is added.
    shift = (solved.T[rows] @ inputs.T) * step[rows, None]
    change = 2.0 * residuals[None, :] * shift - jnp.square(shift)
    others = (rows[:, None] != jnp.arange(num_examples)[None, :]) & valid[:, None]
    return jnp.max(jnp.where(others, jnp.abs(change), 0.0))

  if num_blocks == 1:
    return block_max(0)
  starts = jnp.arange(0, padded, block_size)
  return jnp.max(jax.lax.map(block_max, starts))


def stability_bound(problem: RidgeProblem, regularization) -> dict[str, float]:
  """Bounds `stability` from above by norms, residuals and the base spectrum.

  With `mu = lambda + sigma_min(X0)^2` the smallest eigenvalue of A0,
  `R_x = max ||x_j||` and `R_r = max |r_j|` over the audit pool, every
  prediction moves by at most `delta = R_x^2 R_r / mu`, so every score moves by
  at most `2 R_r delta + delta^2`. For Gaussian base inputs with n0 > d,
  `sigma_min(X0)^2` is close to `(sqrt(n0) - sqrt(d))^2`, so beta is of order
  `1 / (lambda + (sqrt(n0) - sqrt(d))^2)`. Host-side (returns floats).
  """
  x0 = np.asarray(problem.base_inputs, np.float64)
  inputs = np.asarray(problem.inputs, np.float64)
  singular = np.linalg.svd(x0, compute_uv=False)
  smallest = singular.min() ** 2 if x0.shape[0] >= x0.shape[1] else 0.0
  mu = float(regularization) + smallest
  residuals = np.asarray(jax.device_get(base_solution(problem, regularization).residuals))
  max_norm2 = float(np.max(np.sum(inputs**2, axis=1)))
  max_residual = float(np.max(np.abs(residuals)))
  delta = max_norm2 * max_residual / mu
  return {
      "bound": 2.0 * max_residual * delta + delta**2,
      "smallest_eigenvalue": mu,
      "max_norm_squared": max_norm2,
      "max_residual": max_residual,
  }
