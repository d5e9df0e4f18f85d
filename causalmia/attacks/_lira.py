"""LiRA: a Gaussian likelihood-ratio test on the logit-scaled confidence."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float

from causalmia.attacks import _references

VARIANCES = ("per-example", "global")

# Smallest variance used in a Gaussian density, so that an example whose reference
# confidences all coincide gives a large finite score rather than a division by zero.
VARIANCE_FLOOR = 1e-12


def _leave_out_moments(centered, weights):
  """Count, mean and sum of squared deviations over the other runs, per (run, example)."""
  count = _references.sum_over_other_runs(weights)
  first = _references.sum_over_other_runs(weights * centered)
  second = _references.sum_over_other_runs(weights * jnp.square(centered))
  mean = first / jnp.maximum(count, 1.0)
  squares = jnp.maximum(second - first * mean, 0.0)
  return count, mean, squares


def _pooled_variance(count, squares):
  """Within-example variance pooled over examples; NaN when no example has 2 references."""
  degrees = jnp.sum(jnp.maximum(count - 1.0, 0.0))
  return jnp.where(degrees > 0, jnp.sum(squares) / jnp.maximum(degrees, 1.0), jnp.nan)


def _variance(count, squares, per_example):
  pooled = _pooled_variance(count, squares)
  if per_example:
    own = squares / jnp.maximum(count - 1.0, 1.0)
    variance = jnp.where(count >= 2, own, pooled)
  else:
    variance = jnp.broadcast_to(pooled, count.shape)
  return jnp.maximum(variance, VARIANCE_FLOOR)


def _log_density(x, mean, variance):
  return -0.5 * (jnp.square(x - mean) / variance + jnp.log(2 * jnp.pi * variance))


def _score_one_run(x, in_moments, out_moments, online, per_example):
  """LiRA scores of one target run's examples from its leave-out reference moments."""
  in_count, in_mean, in_squares = in_moments
  out_count, out_mean, out_squares = out_moments
  both = (in_count > 0) & (out_count > 0)
  # Mean in-minus-out confidence over examples with references of both groups,
  # which replaces a missing group's mean.
  shift = jnp.sum(jnp.where(both, in_mean - out_mean, 0.0)) / jnp.sum(both)
  out_mu = jnp.where(out_count > 0, out_mean, in_mean - shift)
  out_variance = _variance(out_count, out_squares, per_example)
  if not online:
    imputed = out_count == 0
    variance_fallback = (out_count < 2) if per_example else jnp.zeros_like(imputed)
    return (x - out_mu) / jnp.sqrt(out_variance), imputed, variance_fallback

  in_mu = jnp.where(in_count > 0, in_mean, out_mean + shift)
  in_variance = _variance(in_count, in_squares, per_example)
  scores = _log_density(x, in_mu, in_variance) - _log_density(x, out_mu, out_variance)
  imputed = ~both
  variance_fallback = ((in_count < 2) | (out_count < 2)) if per_example else jnp.zeros_like(both)
  return scores, imputed, variance_fallback


@functools.partial(jax.jit, static_argnames=("online", "per_example"))
def _lira_kernel(confidences, masks, online, per_example):
  # Centering by each example's mean over all runs changes no score (every term
  # is a difference from a reference mean) but keeps the moment sums small.
  centered = confidences - jnp.mean(confidences, axis=0)
  members = masks.astype(confidences.dtype)
  in_moments = _leave_out_moments(centered, members)
  out_moments = _leave_out_moments(centered, 1.0 - members)
  score = functools.partial(_score_one_run, online=online, per_example=per_example)
  scores, imputed, fallback = jax.vmap(score)(centered, in_moments, out_moments)
  return scores, jnp.sum(imputed), jnp.sum(fallback)


def lira(
    confidences: Float[Array, "runs examples"],
    masks: Bool[Array, "runs examples"],
    *,
    online: bool = True,
    variance: str = "per-example",
) -> Float[np.ndarray, "runs examples"]:
  """Scores every (run, example) pair with LiRA, the other runs serving as reference models.

  For target run r and example i, let x = phi_ri be the target model's
  logit-scaled confidence (`causalmia.scores.logit_confidence`). The
  reference models are all runs s != r (leave the target out): those with
  T_si = 1 give the IN scores phi_si, those with T_si = 0 the OUT scores.
  With their means mu_in, mu_out and variances sigma_in^2, sigma_out^2,

    online:  score = log N(x; mu_in, sigma_in^2) - log N(x; mu_out, sigma_out^2)
    offline: score = (x - mu_out) / sigma_out,

  The offline score is the z-value of x under the OUT Gaussian, which orders
  pairs exactly as the paper's `1 - P(Z > x)` with Z ~ N(mu_out, sigma_out^2)
  but does not saturate at 1. Larger is more member-like; the estimators
  classify `score >= tau` as member and count ties as 1/2.

  Variances: "per-example" uses the sample variance (ddof 1) of example i's
  reference scores in the group. It falls back to the global value when the
  group has fewer than 2 of them. "global" uses, for every example, the
  within-example variance pooled over all examples of the target's reference
  set, the paper's fixed-variance variant for few reference models. Means
  are sample means, where the paper's code uses medians.

  Missing references: when the other runs include example i in no run (or
  exclude it from none), that group's mean is imputed as the other group's
  mean shifted by the average in-minus-out difference over the examples
  that have both. Such pairs are counted in a `MissingReferenceWarning`; with
  R runs under Bernoulli(p) inclusion they occur with probability
  p^(R-1) + (1-p)^(R-1) per pair online, and p^(R-1) offline.

  Reference runs and the estimand: the score of (r, i) depends on the target
  model theta_r and on the other runs (their parameters and masks), never on
  T_r. The other runs are independent of T_r, so within run r the score is
  a randomized post-processing of theta_r, and the multi-run estimator's
  in/out comparison still estimates a causal ROC: that of an attacker who
  holds R - 1 reference models trained under the same design. The estimand
  therefore grows with R. The cluster bootstrap over runs treats the runs as
  independent, although every run also serves as a reference for the
  others; each single reference enters a score with weight of order 1/R, so
  the intervals are slightly too narrow for small R. A DP guarantee of the
  training algorithm bounds these scores' causal ROC like any other's,
  because the references are independent of the target's training set.

  Args:
    confidences: `[runs, examples]` logit-scaled confidences of every model
      on every example, finite.
    masks: `[runs, examples]` inclusion of each example in each run.
    online: the two-sided IN/OUT likelihood ratio; False for offline LiRA,
      which uses only the OUT references.
    variance: "per-example" or "global".

  Returns:
    `[runs, examples]` float scores, larger meaning more member-like.

  Raises:
    ValueError: on invalid input, fewer than 2 runs, or when a needed
      variance or shift cannot be estimated at all (too few runs).

  Example:
    >>> confidences = np.array([[3.0, 0.0], [0.0, 2.0], [3.2, 0.2], [0.1, 2.2], [2.9, 0.1]])
    >>> masks = np.array([[1, 0], [0, 1], [1, 0], [0, 1], [1, 0]], bool)
    >>> scores = lira(confidences, masks, online=False, variance="global")
    >>> scores.shape, bool(scores[0, 0] > scores[1, 0])
    ((5, 2), True)

  References:
    Carlini, Chien, Nasr, Song, Terzis, Tramer, "Membership Inference
    Attacks From First Principles", IEEE S&P 2022.
  """
  if variance not in VARIANCES:
    raise ValueError(f"Unknown variance {variance!r}; expected one of {VARIANCES}.")
  confidences, masks = _references.check_runs(confidences, masks, "confidences")
  if not np.isfinite(confidences).all():
    raise ValueError("confidences must be finite; logit-scaled confidences never reach +-inf.")

  scores, imputed, fallback = _lira_kernel(
      jnp.asarray(confidences), jnp.asarray(masks), online, variance == "per-example")
  scores = np.asarray(scores)
  if np.isnan(scores).any():
    raise ValueError(
        "LiRA could not estimate a reference variance or in/out shift: no example has "
        "enough reference runs of each group. Train more runs."
    )
  name = "LiRA " + ("online" if online else "offline")
  _references.warn_fallback(int(imputed), scores.size, name, "no reference run of one group")
  _references.warn_fallback(int(fallback), scores.size, name,
                            "fewer than 2 reference runs of one group (global variance used)")
  return scores
