"""RMIA: the target's likelihood ratio on an example compared against population examples."""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float

from causalmia.attacks import _references


def _log_adjusted(log_out_mean, offline_a):
  """log of (1 + a)/2 * P_out + (1 - a)/2, the offline estimate of Pr(x).

  At a = 1 the second term is log(0) = -inf and the result is exactly P_out.
  """
  return jnp.logaddexp(jnp.log((1 + offline_a) / 2) + log_out_mean, jnp.log((1 - offline_a) / 2))


def _log_reference_mean(log_probs, weights):
  """log of the mean probability over the other runs with weight 1, and their count."""
  count = _references.sum_over_other_runs(weights)
  masked = jnp.where(weights > 0, log_probs, -jnp.inf)
  return _references.logsumexp_over_other_runs(masked) - jnp.log(count), count


def _offline_log_out_mean(log_probs, masks):
  """log P_out(x) per (run, example) from OUT references, imputing where there is none."""
  members = masks.astype(log_probs.dtype)
  log_out, out_count = _log_reference_mean(log_probs, 1.0 - members)
  log_in, in_count = _log_reference_mean(log_probs, members)
  both = (in_count > 0) & (out_count > 0)
  # Mean log(P_in / P_out) per target run over examples with both groups.
  shift = (jnp.sum(jnp.where(both, log_in - log_out, 0.0), axis=1, keepdims=True)
           / jnp.sum(both, axis=1, keepdims=True))
  return jnp.where(out_count > 0, log_out, log_in - shift), out_count == 0


def _score_one_run(log_ratio_x, log_ratio_z, log_gamma):
  """Fraction of population examples z with LR(x, z) >= gamma, for one target run."""
  ordered = jnp.sort(log_ratio_z)
  below = jnp.searchsorted(ordered, log_ratio_x - log_gamma, side="right")
  undefined = jnp.isnan(log_ratio_x) | jnp.any(jnp.isnan(log_ratio_z))
  return jnp.where(undefined, jnp.nan, below / log_ratio_z.shape[0])


@functools.partial(jax.jit, static_argnames=("online",))
def _rmia_kernel(log_probs, masks, population_log_probs, log_gamma, online, offline_a):
  runs = log_probs.shape[0]
  log_others = math.log(runs - 1)
  log_pr_z = _references.logsumexp_over_other_runs(population_log_probs) - log_others
  if online:
    log_pr_x = _references.logsumexp_over_other_runs(log_probs) - log_others
    imputed = jnp.zeros(log_probs.shape, bool)
  else:
    log_out_x, imputed = _offline_log_out_mean(log_probs, masks)
    log_pr_x = _log_adjusted(log_out_x, offline_a)
    # Population examples are OUT for every model, so all references are OUT references.
    log_pr_z = _log_adjusted(log_pr_z, offline_a)
  log_ratio_x = log_probs - log_pr_x
  log_ratio_z = population_log_probs - log_pr_z
  scores = jax.vmap(_score_one_run, in_axes=(0, 0, None))(log_ratio_x, log_ratio_z, log_gamma)
  return scores, jnp.sum(imputed)


def rmia(
    log_probs: Float[Array, "runs examples"],
    masks: Bool[Array, "runs examples"],
    population_log_probs: Float[Array, "runs population"],
    *,
    online: bool = True,
    gamma: float = 1.0,
    offline_a: float = 0.3,
) -> Float[np.ndarray, "runs examples"]:
  """Scores every (run, example) pair with RMIA, the other runs serving as reference models.

  For target run r, example x and population example z, with
  p_r(x) = Pr(y_x | x, theta_r) the target's probability of the true label
  (`exp` of `causalmia.scores.negative_loss`) and Pr(x) its average over
  reference models,

    LR_r(x, z) = (p_r(x) / Pr(x)) / (p_r(z) / Pr(z)),
    score(r, x) = (1/|Z|) #{z in Z : LR_r(x, z) >= gamma}.

  The score is a fraction in [0, 1] with steps of 1/|Z|, so ties are common;
  the estimators count them as 1/2 and classify `score >= tau` as member.

  Reference models are all runs s != r (leave the target out):

  - online: Pr(x) is the mean of p_s(x) over all R - 1 of them, IN and OUT
    for x alike. Under Bernoulli(p) inclusion a fraction p of them include x,
    where the paper uses half IN and half OUT.
  - offline: Pr(x) = (1 + a)/2 * P_out(x) + (1 - a)/2, where P_out(x) is the
    mean over the references with T_sx = 0. The linear correction substitutes
    for the missing IN models; `offline_a` = a is usually tuned, and 1 gives
    P_out itself. The same correction is applied to Pr(z), since the
    population is OUT for every model. When no reference excludes x,
    P_out(x) is imputed as the IN mean divided by the average P_in / P_out
    ratio (geometric mean over the examples that have both); such pairs are
    counted in a `MissingReferenceWarning`.

  Pr(z) averages p_s(z) over the same R - 1 references. The population
  examples must never be trained on by any run (for example a held-out
  split); a population example inside some training set would bias the
  comparison.

  Reference runs and the estimand: as for `lira`, the score of (r, x) is a
  function of theta_r, the other runs and the population, never of T_r, so
  the multi-run estimator measures the causal ROC of an attacker holding
  R - 1 reference models and |Z| population examples, and its cluster
  bootstrap over runs ignores the small dependence created by sharing
  references (order 1/R per reference). DP bounds apply unchanged.

  Args:
    log_probs: `[runs, examples]` log-probabilities of the true label,
      finite or -inf.
    masks: `[runs, examples]` inclusion of each example in each run.
    population_log_probs: `[runs, population]` the same for the population
      examples under the same models.
    online: average over all references; False for offline RMIA.
    gamma: the likelihood-ratio threshold, positive (the paper uses 1 or 2).
    offline_a: the offline correction a in [0, 1]; ignored online.

  Returns:
    `[runs, examples]` scores in [0, 1], larger meaning more member-like.

  Raises:
    ValueError: on invalid input, fewer than 2 runs, an empty population,
      gamma <= 0 or offline_a outside [0, 1].

  Example:
    >>> log_probs = np.log([[0.9, 0.2], [0.3, 0.8], [0.85, 0.25]])
    >>> masks = np.array([[1, 0], [0, 1], [1, 0]], bool)
    >>> population = np.log([[0.3, 0.5], [0.35, 0.45], [0.3, 0.55]])
    >>> rmia(log_probs, masks, population).tolist()
    [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]

  References:
    Zarifzadeh, Liu, Shokri, "Low-Cost High-Power Membership Inference
    Attacks", ICML 2024.
  """
  log_probs, masks = _references.check_runs(log_probs, masks, "log_probs")
  population, _ = _references.check_runs(
      population_log_probs, np.zeros(np.shape(population_log_probs), bool), "population_log_probs")
  if population.shape[0] != log_probs.shape[0]:
    raise ValueError(f"population_log_probs has {population.shape[0]} runs, but log_probs has "
                     f"{log_probs.shape[0]}; both must come from the same models.")
  if population.shape[1] == 0:
    raise ValueError("population_log_probs has no population example; RMIA needs at least one.")
  if not gamma > 0:
    raise ValueError(f"gamma must be positive, got {gamma}.")
  if not 0.0 <= offline_a <= 1.0:
    raise ValueError(f"offline_a must lie in [0, 1], got {offline_a}.")

  scores, imputed = _rmia_kernel(
      jnp.asarray(log_probs), jnp.asarray(masks), jnp.asarray(population), math.log(gamma),
      online, jnp.float32(offline_a))
  scores = np.asarray(scores)
  if np.isnan(scores).any():
    raise ValueError(
        f"RMIA scores are undefined for {int(np.isnan(scores).sum())} (run, example) pairs: "
        "either every reference model gives probability 0 to an example, or (offline) no "
        "example has reference runs of both groups to impute P_out from. Train more runs."
    )
  _references.warn_fallback(int(imputed), scores.size, "RMIA offline",
                            "no OUT reference run")
  return scores
