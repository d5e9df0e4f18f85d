"""Cross-fitted propensity scores `e(x) = P(member | x)`.

With K folds, the model of fold k is trained on the rows outside fold k and
predicts the rows inside it, so no row's propensity comes from a model that
saw that row. Row weights (bootstrap multiplicities) multiply the training
masks, so a bootstrap replicate refits the same folds on resampled rows.
"""

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int, PRNGKeyArray

from causalmia.nuisance import features as features_lib
from causalmia.nuisance import logistic
from causalmia.nuisance import mlp
from causalmia.nuisance.settings import NuisanceConfig


def cell_ids(covariates) -> tuple[Int[np.ndarray, " examples"], int]:
  """Index of each row's cell (its distinct covariate vector) and the number of cells."""
  covariates = np.asarray(covariates)
  if covariates.ndim == 1:
    covariates = covariates[:, None]
  _, inverse = np.unique(covariates, axis=0, return_inverse=True)
  inverse = inverse.reshape(-1).astype(np.int32)
  return inverse, int(inverse.max()) + 1 if inverse.size else 0


def cell_propensity(cells, members, weights, num_cells: int) -> Float[Array, " examples"]:
  """Weighted member share of each row's cell; 1/2 for a cell whose rows all have weight 0."""
  member_weight = jax.ops.segment_sum(weights * members, cells, num_segments=num_cells)
  cell_weight = jax.ops.segment_sum(weights, cells, num_segments=num_cells)
  occupied = cell_weight > 0
  share = jnp.where(occupied, member_weight / jnp.where(occupied, cell_weight, 1.0), 0.5)
  return share[cells]


def cross_fit_propensity(
    key: PRNGKeyArray,
    features: Float[Array, "examples features"],
    members,
    weights: Float[Array, " examples"],
    fold_ids: Int[Array, " examples"],
    config: NuisanceConfig,
    cells: Int[Array, " examples"] | None = None,
) -> Float[Array, " examples"]:
  """Cross-fitted propensities of every row.

  Args:
    key: initialization key of the MLP (fold k uses `fold_in(key, k)`);
      unused by the other models.
    features: `[examples, features]` design matrix from
      `features.design_matrix` (intercept first).
    members: `[examples]` membership.
    weights: `[examples]` row weights (1, or bootstrap multiplicities).
    fold_ids: `[examples]` cross-fitting fold of each row.
    config: nuisance settings; `config.propensity_model` picks the model.
    cells: `[examples]` cell index of each row, for the "cells" model.

  Returns:
    `[examples]` propensities in [0, 1].
  """
  labels = jnp.asarray(members, weights.dtype)
  if config.propensity_model == "cells":
    return cell_propensity(cells, labels, weights, config.num_cells)

  train = features_lib.training_masks(fold_ids, config.folds)
  fold_weights = weights[None, :] * train
  if config.propensity_model == "logistic":
    coef = jax.vmap(
        lambda w: logistic.fit_logistic(features, labels, w, l2=config.l2,
                                        steps=config.newton_steps)
    )(fold_weights)
    predictions = jax.vmap(lambda c: logistic.predict_logistic(c, features))(coef)
  else:
    keys = jax.vmap(lambda k: jax.random.fold_in(key, k))(jnp.arange(train.shape[0]))
    fit = lambda k, w: mlp.fit_mlp(  # noqa: E731
        k, features[:, 1:], labels, w, hidden=config.mlp_hidden, steps=config.mlp_steps,
        learning_rate=config.mlp_learning_rate, l2=config.l2)
    params = jax.vmap(fit)(keys, fold_weights)
    predictions = jax.vmap(
        lambda p: mlp.predict_mlp(p, features[:, 1:], hidden=config.mlp_hidden))(params)
  return features_lib.own_fold(predictions, fold_ids)
