"""Cross-fitted outcome models `mu_t(tau, x) = P(score >= tau | group t, x)`.

Two models, each fitted separately in the members (t = 1) and the
non-members (t = 0) with the same folds as the propensity:

* distribution regression: for every threshold tau_j of the grid, a
  logistic regression of `1{score >= tau_j}` on the covariates, vmapped over
  the thresholds. A threshold above (below) every weighted training score of
  the group has only zero (one) labels, and the model then predicts exactly
  0 (1).
* Gaussian location-scale: `score | x, t ~ N(m_t(x), s_t(x)^2)` with a
  ridge-regression mean `m_t(x) = x b` and a log-linear variance
  `log s_t(x)^2 = x g`. The variance is fitted by regressing the log squared
  residuals on x and adding 1.2704 = -E[log chi^2_1], which makes the
  fit consistent when the model holds.

Both return `[2, thresholds, examples]`: index 0 for t = 0, index 1 for t = 1.
"""

import jax
import jax.numpy as jnp
import jax.scipy.stats as jstats
from jaxtyping import Array, Bool, Float, Int

from causalmia.nuisance import features as features_lib
from causalmia.nuisance import logistic
from causalmia.nuisance.settings import NuisanceConfig

# -E[log X] for X ~ chi-squared with one degree of freedom (digamma(1/2) + log 2).
_LOG_CHI2_BIAS = 1.2703628454614782


def _group_fold_weights(members, weights, fold_ids, folds: int) -> Float[Array, "2 folds examples"]:
  train = features_lib.training_masks(fold_ids, folds)
  groups = jnp.stack([~members, members]).astype(weights.dtype)
  return groups[:, None, :] * train[None, :, :] * weights[None, None, :]


def distribution_regression(
    features: Float[Array, "examples features"],
    scores: Float[Array, " examples"],
    members: Bool[Array, " examples"],
    weights: Float[Array, " examples"],
    fold_ids: Int[Array, " examples"],
    grid: Float[Array, " thresholds"],
    config: NuisanceConfig,
) -> Float[Array, "2 thresholds examples"]:
  """Cross-fitted `mu_t(tau_j, x_i)` by one logistic regression per threshold."""
  labels = (scores[None, :] >= grid[:, None]).astype(features.dtype)
  fit_weights = _group_fold_weights(members, weights, fold_ids, config.folds)

  def fit_all_thresholds(w):
    fit = lambda y: logistic.fit_logistic(features, y, w, l2=config.l2,  # noqa: E731
                                          steps=config.newton_steps)
    return jax.vmap(fit)(labels)

  coef = jax.vmap(jax.vmap(fit_all_thresholds))(fit_weights)  # [2, folds, thresholds, features]
  probability = jax.nn.sigmoid(jnp.einsum("tkjd,nd->tkjn", coef, features))

  # Thresholds whose weighted labels are all equal get the exact prediction 0 or 1.
  positive = jnp.einsum("tkn,jn->tkj", fit_weights, labels)
  total = jnp.sum(fit_weights, axis=-1)[..., None]
  probability = jnp.where((positive <= 0)[..., None], 0.0, probability)
  probability = jnp.where((positive >= total)[..., None], 1.0, probability)
  return jax.vmap(lambda p: features_lib.own_fold(p, fold_ids))(probability)


def _weighted_ridge(features, targets, weights, l2):
  total = jnp.maximum(jnp.sum(weights), jnp.finfo(features.dtype).tiny)
  penalty = jnp.full(features.shape[1], l2).at[0].set(0.0) + 1e-6
  gram = (features * weights[:, None]).T @ features / total + jnp.diag(penalty)
  return jnp.linalg.solve(gram, features.T @ (weights * targets) / total)


def gaussian_location_scale(
    features: Float[Array, "examples features"],
    scores: Float[Array, " examples"],
    members: Bool[Array, " examples"],
    weights: Float[Array, " examples"],
    fold_ids: Int[Array, " examples"],
    grid: Float[Array, " thresholds"],
    config: NuisanceConfig,
) -> Float[Array, "2 thresholds examples"]:
  """Cross-fitted `mu_t(tau_j, x_i) = Phi((m_t(x_i) - tau_j) / s_t(x_i))`."""
  fit_weights = _group_fold_weights(members, weights, fold_ids, config.folds)

  def fit_one(w):
    total = jnp.maximum(jnp.sum(w), jnp.finfo(features.dtype).tiny)
    mean_coef = _weighted_ridge(features, scores, w, config.l2)
    residuals = scores - features @ mean_coef
    # A floor relative to the group's variance keeps log(r^2) finite for exact fits.
    variance = jnp.sum(w * residuals**2) / total
    floor = 1e-6 * variance + jnp.finfo(features.dtype).tiny
    log_variance_coef = _weighted_ridge(features, jnp.log(residuals**2 + floor), w, config.l2)
    return mean_coef, log_variance_coef

  mean_coef, log_variance_coef = jax.vmap(jax.vmap(fit_one))(fit_weights)  # [2, folds, features]
  mean = jnp.einsum("tkd,nd->tkn", mean_coef, features)
  scale = jnp.exp(0.5 * (jnp.einsum("tkd,nd->tkn", log_variance_coef, features) + _LOG_CHI2_BIAS))
  mean = jax.vmap(lambda m: features_lib.own_fold(m, fold_ids))(mean)  # [2, examples]
  scale = jax.vmap(lambda s: features_lib.own_fold(s, fold_ids))(scale)
  return jstats.norm.cdf((mean[:, None, :] - grid[None, :, None]) / scale[:, None, :])


def cross_fit_outcome(features, scores, members, weights, fold_ids, grid, config: NuisanceConfig):
  """Dispatches to the outcome model named by `config.outcome_model`."""
  if config.outcome_model == "distribution":
    return distribution_regression(features, scores, members, weights, fold_ids, grid, config)
  return gaussian_location_scale(features, scores, members, weights, fold_ids, grid, config)
