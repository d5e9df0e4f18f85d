"""L2-regularized logistic regression in JAX, fitted by damped Newton steps.

The fit is a pure function of fixed-shape arrays, so it can be vmapped over
cross-fitting folds, thresholds of a distribution regression and bootstrap
replicates. Row weights carry both the fold's training mask and bootstrap
multiplicities: a row with weight 0 takes no part in the fit.

Objective, for features X (first column the intercept), labels y in [0, 1]
and weights w:

  sum_i w_i [log(1 + exp(x_i b)) - y_i x_i b] / sum_i w_i + (l2 / 2) |b_1:|^2

The intercept is not penalized.
"""

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

# Candidate step lengths of the line search along each Newton direction. The
# step with the smallest objective is taken, or none when none improves, so
# the objective never increases even where plain Newton would overshoot. Few
# candidates, because evaluating the objective dominates the cost of a step.
_STEP_LENGTHS = (1.0, 0.4, 0.1)
# Added to the Hessian diagonal so that the solve stays finite when all
# weighted labels are equal and the curvature vanishes.
_JITTER = 1e-6


def _penalty(num_features: int, l2: float) -> Float[Array, " features"]:
  return jnp.full(num_features, l2).at[0].set(0.0)


def logistic_objective(coef, features, labels, weights, l2: float) -> Float[Array, ""]:
  """Computes the penalized, weight-normalized negative log-likelihood above."""
  total = jnp.maximum(jnp.sum(weights), jnp.finfo(features.dtype).tiny)
  logits = features @ coef
  loss = jnp.sum(weights * (jax.nn.softplus(logits) - labels * logits)) / total
  return loss + 0.5 * jnp.sum(_penalty(coef.shape[0], l2) * coef**2)


def fit_logistic(
    features: Float[Array, "examples features"],
    labels: Float[Array, " examples"],
    weights: Float[Array, " examples"],
    *,
    l2: float,
    steps: int,
) -> Float[Array, " features"]:
  """Fits the coefficients of an L2-regularized logistic regression.

  Starts from the intercept-only fit and takes `steps` damped Newton steps.
  Labels may be fractional; weights must be non-negative.

  Returns:
    `[features]` coefficients, the intercept first.

  Example:
    >>> x = jnp.array([[1.0, -1.0], [1.0, 1.0], [1.0, 0.5], [1.0, -0.5]])
    >>> coef = fit_logistic(x, jnp.array([0.0, 1.0, 1.0, 0.0]), jnp.ones(4), l2=1.0, steps=10)
    >>> bool(coef[1] > 0)
    True
  """
  num_features = features.shape[1]
  penalty = _penalty(num_features, l2)
  total = jnp.maximum(jnp.sum(weights), jnp.finfo(features.dtype).tiny)
  mean_label = jnp.clip(jnp.sum(weights * labels) / total, 1e-4, 1 - 1e-4)
  start = jnp.zeros(num_features, features.dtype).at[0].set(jnp.log(mean_label / (1 - mean_label)))
  step_lengths = jnp.asarray(_STEP_LENGTHS, features.dtype)
  # Row outer products x_i x_i^T, flattened: under vmap over fits (folds,
  # thresholds, replicates) every Hessian becomes one matrix product with them.
  outer_products = (features[:, :, None] * features[:, None, :]).reshape(features.shape[0], -1)

  def newton_step(carry, _):
    coef, value = carry
    probability = jax.nn.sigmoid(features @ coef)
    gradient = features.T @ (weights * (probability - labels)) / total + penalty * coef
    curvature = weights * probability * (1 - probability) / total
    hessian = (curvature @ outer_products).reshape(num_features, num_features)
    hessian = hessian + jnp.diag(penalty + _JITTER)
    direction = jnp.linalg.solve(hessian, gradient)
    candidates = coef[None, :] - step_lengths[:, None] * direction[None, :]
    values = jax.vmap(lambda c: logistic_objective(c, features, labels, weights, l2))(candidates)
    values = jnp.where(jnp.isfinite(values), values, jnp.inf)
    best = jnp.argmin(values)
    improves = values[best] < value
    return (jnp.where(improves, candidates[best], coef),
            jnp.where(improves, values[best], value)), None

  start_value = logistic_objective(start, features, labels, weights, l2)
  (coef, _), _ = jax.lax.scan(newton_step, (start, start_value), None, length=steps)
  return coef


def predict_logistic(coef, features) -> Float[Array, " examples"]:
  """Probabilities `sigmoid(features @ coef)`."""
  return jax.nn.sigmoid(features @ coef)
