"""Design matrices and cross-fitting folds shared by the nuisance models."""

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Float, Int, PRNGKeyArray


def design_matrix(covariates) -> Float[np.ndarray, "examples features"]:
  """Standardizes each covariate column and prepends an intercept column of ones.

  A constant column is centered but not scaled, so it becomes zero instead
  of NaN. The penalties of the nuisance models act on the standardized
  scale, which makes them comparable across covariates of different units.

  Example:
    >>> design_matrix(np.array([[1.0], [3.0]])).tolist()
    [[1.0, -1.0], [1.0, 1.0]]
  """
  covariates = np.asarray(covariates, dtype=np.float64)
  if covariates.ndim == 1:
    covariates = covariates[:, None]
  mean = covariates.mean(axis=0)
  scale = covariates.std(axis=0)
  scale = np.where(scale > 0, scale, 1.0)
  standardized = (covariates - mean) / scale
  features = np.concatenate([np.ones((covariates.shape[0], 1)), standardized], axis=1)
  return features.astype(np.float32)


def assign_folds(key: PRNGKeyArray, members, folds: int) -> Int[np.ndarray, " examples"]:
  """Assigns each row to one of `folds` cross-fitting folds, stratified by membership.

  Within each group the rows are permuted at random and dealt to the folds
  in turn, so every fold gets a near-equal share of members and of
  non-members. With `folds == 1` every row is in fold 0, and the nuisance
  models are then fitted and evaluated on the same rows (no cross-fitting).
  """
  members = np.asarray(members, dtype=bool)
  fold_ids = np.zeros(members.shape[0], dtype=np.int32)
  if folds == 1:
    return fold_ids
  # Ranking uniform draws gives a uniformly random order of each group's rows.
  order = np.argsort(np.asarray(jax.random.uniform(key, members.shape)), kind="stable")
  for group in (members, ~members):
    permuted = order[group[order]]
    fold_ids[permuted] = np.arange(permuted.shape[0]) % folds
  return fold_ids


def training_masks(fold_ids, folds: int):
  """`[folds, examples]` masks: row i trains the model of fold k when it is not in fold k.

  With one fold the single model trains on every row.
  """
  fold_ids = jnp.asarray(fold_ids)
  if folds == 1:
    return jnp.ones((1, fold_ids.shape[0]), bool)
  return fold_ids[None, :] != jnp.arange(folds)[:, None]


def own_fold(predictions, fold_ids):
  """Selects, for each row, the prediction of the model that did not train on it.

  Args:
    predictions: `[folds, ..., examples]` predictions of every fold's model.
    fold_ids: `[examples]` fold of each row.

  Returns:
    `[..., examples]` cross-fitted predictions.
  """
  if predictions.shape[0] == 1:
    return predictions[0]
  index = jnp.broadcast_to(fold_ids, predictions.shape[1:])[None]
  return jnp.take_along_axis(predictions, index, axis=0)[0]
