"""A small flax MLP classifier for propensities, trained full-batch with Adam.

Like the logistic regression, the fit is a pure function of fixed-shape
arrays (row weights select the training rows), so it vmaps over folds and
bootstrap replicates. Training runs a fixed number of full-batch Adam steps
on the weighted cross-entropy plus an L2 penalty on the kernels.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, Float, PRNGKeyArray


class PropensityMLP(nn.Module):
  """ReLU hidden layers and one output logit per row."""

  hidden: tuple[int, ...]

  @nn.compact
  def __call__(self, x):
    for width in self.hidden:
      x = nn.relu(nn.Dense(width)(x))
    return nn.Dense(1)(x)[:, 0]


def fit_mlp(
    key: PRNGKeyArray,
    features: Float[Array, "examples features"],
    labels: Float[Array, " examples"],
    weights: Float[Array, " examples"],
    *,
    hidden: tuple[int, ...],
    steps: int,
    learning_rate: float,
    l2: float,
):
  """Trains a `PropensityMLP` and returns its parameters.

  Args:
    key: initialization key.
    features: `[examples, features]` standardized covariates.
    labels: `[examples]` targets in [0, 1].
    weights: `[examples]` non-negative row weights.
    hidden: hidden layer widths.
    steps: full-batch Adam steps.
    learning_rate: Adam step size.
    l2: penalty `(l2 / 2) * sum of squared kernel entries`; biases are not
      penalized.
  """
  model = PropensityMLP(hidden)
  params = model.init(key, features[:1])
  optimizer = optax.adam(learning_rate)
  total = jnp.maximum(jnp.sum(weights), jnp.finfo(features.dtype).tiny)

  def loss_fn(params):
    logits = model.apply(params, features)
    loss = jnp.sum(weights * optax.sigmoid_binary_cross_entropy(logits, labels)) / total
    kernels = [leaf for path, leaf in jax.tree_util.tree_leaves_with_path(params)
               if "kernel" in jax.tree_util.keystr(path)]
    return loss + 0.5 * l2 * sum(jnp.sum(k**2) for k in kernels)

  def step(carry, _):
    params, opt_state = carry
    grads = jax.grad(loss_fn)(params)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return (optax.apply_updates(params, updates), opt_state), None

  (params, _), _ = jax.lax.scan(step, (params, optimizer.init(params)), None, length=steps)
  return params


def predict_mlp(params, features, *, hidden: tuple[int, ...]) -> Float[Array, " examples"]:
  """Probabilities of the trained MLP."""
  return jax.nn.sigmoid(PropensityMLP(hidden).apply(params, features))
