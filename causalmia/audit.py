"""Lower bounds on differential-privacy epsilon from membership-inference audits.

An audit turns the errors of a membership test into a statistical claim: with
probability at least ``confidence`` over the audit's randomness, the audited
mechanism is not (eps, delta)-DP for any eps below the returned value.

* :func:`epsilon_lower_bound` bounds eps from attack scores of member ("in")
  and non-member ("out") canaries, using Clopper–Pearson limits on the false
  positive and false negative rates of a threshold test.
* :func:`one_run_epsilon_lower_bound` bounds eps from the guesses of a one-run
  audit, where each canary is included in a single training run by a fair coin.
* :func:`clopper_pearson_upper` and :func:`clopper_pearson_lower` are the
  one-sided binomial confidence limits that both audits use.
"""

from __future__ import annotations

import math
import operator

import numpy as np
from scipy import special, stats

__all__ = [
    "THRESHOLD_RULES",
    "clopper_pearson_lower",
    "clopper_pearson_upper",
    "epsilon_lower_bound",
    "one_run_epsilon_lower_bound",
]

THRESHOLD_RULES = ("fixed", "split", "bonferroni")
"""Names accepted by the ``threshold_rule`` argument of :func:`epsilon_lower_bound`."""

# Bisection for the one-run bound with delta > 0 stops at this width in eps.
_EPSILON_TOLERANCE = 1e-10


# ---------------------------------------------------------------------------
# Clopper–Pearson limits
# ---------------------------------------------------------------------------


def _as_counts(name: str, values) -> np.ndarray:
  """Return ``values`` as an int64 array, raising ValueError unless all are integers."""
  array = np.asarray(values)
  if array.dtype.kind in "iu":
    return array.astype(np.int64)
  if array.dtype.kind == "f" and np.all(np.isfinite(array)) and np.all(array == np.round(array)):
    return array.astype(np.int64)
  raise ValueError(f"{name} must contain integer counts, got {values!r}.")


def _validate_binomial_args(k, n, alpha: float) -> tuple[np.ndarray, np.ndarray, float]:
  k_counts = _as_counts("k", k)
  n_counts = _as_counts("n", n)
  if np.any(n_counts < 1):
    raise ValueError(f"n must be at least 1, got {n!r}.")
  if np.any(k_counts < 0) or np.any(k_counts > n_counts):
    raise ValueError(f"k must satisfy 0 <= k <= n, got k={k!r} and n={n!r}.")
  alpha = float(alpha)
  if not 0.0 < alpha < 1.0:
    raise ValueError(f"alpha must be in (0, 1), got {alpha!r}.")
  return k_counts, n_counts, alpha


def _scalar_or_array(values: np.ndarray) -> float | np.ndarray:
  if values.ndim == 0:
    return float(values)
  return values


def clopper_pearson_upper(k, n, alpha: float) -> float | np.ndarray:
  r"""Compute the one-sided Clopper–Pearson upper confidence limit of a binomial rate.

  For ``k`` successes in ``n`` trials, the limit is the largest rate ``p``
  that the observation does not reject at level ``alpha``:

  .. math::

      p_{\text{upper}} = \begin{cases}
          \operatorname{Beta}^{-1}(1 - \alpha;\ k + 1,\ n - k) & k < n \\
          1 & k = n,
      \end{cases}

  so that ``P[p > p_upper] <= alpha`` for every true rate ``p``. The beta
  quantile comes from ``scipy.stats.beta.isf``, which keeps its accuracy
  for very small ``alpha``.

  Args:
    k: Number of successes, an integer or an array of integers in ``[0, n]``.
    n: Number of trials, an integer or an array of integers, at least 1.
      Broadcasts against ``k``.
    alpha: Probability that the limit falls below the true rate, in ``(0, 1)``.

  Returns:
    The upper limit, a float for scalar inputs and an array otherwise.

  Raises:
    ValueError: If a count is not an integer, ``k`` lies outside ``[0, n]``,
      ``n < 1``, or ``alpha`` lies outside ``(0, 1)``.

  Example:
    >>> round(clopper_pearson_upper(0, 100, 0.025), 5)  # 1 - 0.025 ** (1 / 100)
    0.03622

  References:
    Clopper, C. J. and Pearson, E. S., "The use of confidence or fiducial
    limits illustrated in the case of the binomial", Biometrika, 1934.
  """
  k_counts, n_counts, alpha = _validate_binomial_args(k, n, alpha)
  below_n = k_counts < n_counts
  # The beta shape n - k is 0 where k == n, so those entries get 1 instead.
  beta_shape = np.maximum(n_counts - k_counts, 1)
  limit = np.where(below_n, stats.beta.isf(alpha, k_counts + 1, beta_shape), 1.0)
  return _scalar_or_array(np.asarray(limit, dtype=np.float64))


def clopper_pearson_lower(k, n, alpha: float) -> float | np.ndarray:
  r"""Compute the one-sided Clopper–Pearson lower confidence limit of a binomial rate.

  For ``k`` successes in ``n`` trials, the limit is the smallest rate ``p``
  that the observation does not reject at level ``alpha``:

  .. math::

      p_{\text{lower}} = \begin{cases}
          0 & k = 0 \\
          \operatorname{Beta}^{-1}(\alpha;\ k,\ n - k + 1) & k > 0,
      \end{cases}

  so that ``P[p < p_lower] <= alpha`` for every true rate ``p``. It equals
  ``1 - clopper_pearson_upper(n - k, n, alpha)``.

  Args:
    k: Number of successes, an integer or an array of integers in ``[0, n]``.
    n: Number of trials, an integer or an array of integers, at least 1.
      Broadcasts against ``k``.
    alpha: Probability that the limit lies above the true rate, in ``(0, 1)``.

  Returns:
    The lower limit, a float for scalar inputs and an array otherwise.

  Raises:
    ValueError: If a count is not an integer, ``k`` lies outside ``[0, n]``,
      ``n < 1``, or ``alpha`` lies outside ``(0, 1)``.

  Example:
    >>> round(clopper_pearson_lower(100, 100, 0.05), 5)  # 0.05 ** (1 / 100)
    0.97049

  References:
    Clopper, C. J. and Pearson, E. S., "The use of confidence or fiducial
    limits illustrated in the case of the binomial", Biometrika, 1934.
  """
  k_counts, n_counts, alpha = _validate_binomial_args(k, n, alpha)
  above_zero = k_counts > 0
  # The beta shape k is 0 where k == 0, so those entries get 0 instead.
  beta_shape = np.maximum(k_counts, 1)
  limit = np.where(above_zero, stats.beta.ppf(alpha, beta_shape, n_counts - k_counts + 1), 0.0)
  return _scalar_or_array(np.asarray(limit, dtype=np.float64))


# ---------------------------------------------------------------------------
# Threshold audit from attack scores
# ---------------------------------------------------------------------------


def _validate_scores(name: str, scores) -> np.ndarray:
  array = np.asarray(scores, dtype=np.float64)
  if array.ndim != 1:
    raise ValueError(f"{name} must be a 1-D array, got shape {array.shape}.")
  if array.size == 0:
    raise ValueError(f"{name} must not be empty.")
  n_nan = int(np.count_nonzero(np.isnan(array)))
  if n_nan:
    raise ValueError(f"{name} contains {n_nan} NaN value(s) out of {array.size}. Remove or impute them.")
  n_infinite = int(np.count_nonzero(np.isinf(array)))
  if n_infinite:
    raise ValueError(f"{name} contains {n_infinite} infinite value(s) out of {array.size}. Scores must be finite.")
  return array


def _validate_delta_and_confidence(delta: float, confidence: float) -> tuple[float, float]:
  delta = float(delta)
  confidence = float(confidence)
  if not 0.0 <= delta < 1.0:
    raise ValueError(f"delta must be in [0, 1), got {delta!r}.")
  if not 0.0 < confidence < 1.0:
    raise ValueError(f"confidence must be in (0, 1), got {confidence!r}.")
  return delta, confidence


def _log_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
  """Return log(numerator / denominator), or -inf where the numerator is not positive.

  A zero denominator with a positive numerator gives +inf.
  """
  with np.errstate(divide="ignore", invalid="ignore"):
    ratio = np.log(np.maximum(numerator, np.finfo(np.float64).tiny)) - np.log(denominator)
  return np.where(numerator > 0, ratio, -np.inf)


def _epsilon_from_error_rates(fpr: np.ndarray, fnr: np.ndarray, delta: float) -> np.ndarray:
  """Return the largest eps that the two (eps, delta)-DP inequalities exclude, floored at 0.

  Every (eps, delta)-DP mechanism satisfies FPR + e^eps FNR >= 1 - delta and
  FNR + e^eps FPR >= 1 - delta, so rates below both lines exclude smaller eps.
  """
  forward = _log_ratio(1.0 - delta - fpr, fnr)
  backward = _log_ratio(1.0 - delta - fnr, fpr)
  return np.maximum(np.maximum(forward, backward), 0.0)


def _error_counts(
    in_scores: np.ndarray, out_scores: np.ndarray, thresholds: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
  """Count false positives (out >= t) and false negatives (in < t) at each threshold t."""
  in_sorted = np.sort(in_scores)
  out_sorted = np.sort(out_scores)
  false_negatives = np.searchsorted(in_sorted, thresholds, side="left")
  false_positives = out_sorted.size - np.searchsorted(out_sorted, thresholds, side="left")
  return false_positives, false_negatives


def _epsilon_bound_both_directions(
    false_positives: np.ndarray,
    false_negatives: np.ndarray,
    n_out: int,
    n_in: int,
    delta: float,
    level: float,
) -> np.ndarray:
  """Bound eps at each threshold for the test as given and for the reversed test.

  ``level`` is the failure probability of each of the one-sided limits.
  The reversed test ("member when score < t") has the complementary counts,
  so its upper limits come from ``n_out - false_positives`` and
  ``n_in - false_negatives``.
  """
  forward = _epsilon_from_error_rates(
      clopper_pearson_upper(false_positives, n_out, level),
      clopper_pearson_upper(false_negatives, n_in, level),
      delta,
  )
  reversed_test = _epsilon_from_error_rates(
      clopper_pearson_upper(n_out - false_positives, n_out, level),
      clopper_pearson_upper(n_in - false_negatives, n_in, level),
      delta,
  )
  return np.maximum(forward, reversed_test)


def _point_estimate_both_directions(
    false_positives: np.ndarray,
    false_negatives: np.ndarray,
    n_out: int,
    n_in: int,
    delta: float,
) -> np.ndarray:
  """Return the plug-in eps from the observed error rates of both tests, +inf where a rate is 0."""
  fpr = false_positives / n_out
  fnr = false_negatives / n_in
  forward = _epsilon_from_error_rates(fpr, fnr, delta)
  reversed_test = _epsilon_from_error_rates(1.0 - fpr, 1.0 - fnr, delta)
  return np.maximum(forward, reversed_test)


def _select_threshold(in_scores: np.ndarray, out_scores: np.ndarray, delta: float, level: float) -> float:
  """Return the candidate threshold with the largest plug-in eps on the given scores.

  Candidates are the midpoints between consecutive distinct scores, which
  give every split of the scores into two non-empty sides. A midpoint
  leaves a margin on both sides for scores not yet seen. Ties, including
  several candidates whose plug-in eps is +inf because an error count is 0,
  go to the larger Clopper–Pearson bound at ``level`` on the same scores,
  then to the smaller threshold.
  """
  distinct = np.unique(np.concatenate([in_scores, out_scores]))
  if distinct.size == 1:
    return float(distinct[0])
  candidates = 0.5 * (distinct[:-1] + distinct[1:])
  false_positives, false_negatives = _error_counts(in_scores, out_scores, candidates)
  point_estimates = _point_estimate_both_directions(
      false_positives, false_negatives, out_scores.size, in_scores.size, delta
  )
  bounds = _epsilon_bound_both_directions(
      false_positives, false_negatives, out_scores.size, in_scores.size, delta, level
  )
  # np.lexsort sorts by the last key first, so this ranks by plug-in eps,
  # then by bound, then by threshold, all in the order that argmax needs.
  order = np.lexsort((-candidates, bounds, point_estimates))
  return float(candidates[order[-1]])


def _split_in_halves(scores: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
  permuted = scores[rng.permutation(scores.size)]
  half = scores.size // 2
  return permuted[:half], permuted[half:]


def epsilon_lower_bound(
    in_scores,
    out_scores,
    *,
    delta: float,
    confidence: float = 0.95,
    threshold_rule: str = "fixed",
    threshold: float | None = None,
    split_seed: int = 0,
) -> float:
  r"""Compute a Clopper–Pearson lower bound on eps from member and non-member attack scores.

  The membership test predicts "member" when ``score >= t``. At a threshold
  ``t`` it makes ``FP`` false positives among the ``n_out`` non-member
  scores and ``FN`` false negatives among the ``n_in`` member scores. Every
  (eps, delta)-DP mechanism satisfies
  ``FPR + e^eps FNR >= 1 - delta`` and ``FNR + e^eps FPR >= 1 - delta``, so
  with one-sided Clopper–Pearson upper limits ``FPR_ub`` and ``FNR_ub``

  .. math::

      \varepsilon \ge \max\Bigl(0,\
          \log\frac{1 - \delta - \mathrm{FPR}_{ub}}{\mathrm{FNR}_{ub}},\
          \log\frac{1 - \delta - \mathrm{FNR}_{ub}}{\mathrm{FPR}_{ub}}\Bigr).

  The failure probability ``alpha = 1 - confidence`` is split equally
  between the two limits, so each limit fails with probability at most
  ``alpha / 2``.

  Both directions of the test are evaluated: the test as given and the
  reversed test that predicts "member" when ``score < t``. The reversed test
  uses the same two counts, and its rates ``1 - FPR`` and ``1 - FNR`` get
  upper limits at the same level ``alpha / 2`` each, from ``n_out - FP`` and
  ``n_in - FN``. The function returns the larger of the two bounds, with no
  further split of ``alpha`` for the direction. A positive bound from the
  test as given needs ``FP / n_out + FN / n_in < 1 - delta``, and one from
  the reversed test needs that sum above ``1 + delta``, so on any data at
  most one direction yields a positive bound.

  NOTE: a union bound over all four limits only proves confidence
  ``1 - 2 alpha`` for this maximum. Exact enumeration in
  ``tests/test_audit.py`` (20 scores per group, true rates on a 0.025 grid)
  finds a failure probability below ``alpha``, but no proof for general
  sample sizes is given here.

  Threshold rules, with ``K`` the number of thresholds tried:

  * ``"fixed"``: ``threshold`` is chosen before seeing the scores and
    ``K = 1``. Each limit has level ``alpha / 2``.
  * ``"split"``: a random half of each group, drawn with ``split_seed``,
    selects the threshold with the largest plug-in eps (the same formula
    with the observed rates), among the midpoints between its consecutive
    distinct scores. The bound is evaluated at that threshold on the other
    half, with each limit at level ``alpha / 2``.
  * ``"bonferroni"``: every distinct score is a threshold, each limit has
    level ``alpha / (2 K)``, and the function returns the maximum over
    thresholds.

  The limits treat each score as an independent draw, for example one
  training run per canary. Scores of many canaries from a single run are
  not independent in general, so use :func:`one_run_epsilon_lower_bound`
  for them.

  Args:
    in_scores: Attack scores of member canaries, a non-empty 1-D array of
      finite values. Higher scores are meant to indicate membership, but the
      reversed test also covers lower scores for members.
    out_scores: Attack scores of non-member canaries, a non-empty 1-D array
      of finite values.
    delta: The delta of the (eps, delta)-DP claim under audit, in ``[0, 1)``.
    confidence: Probability, in ``(0, 1)``, that the returned bound is correct.
    threshold_rule: One of ``"fixed"``, ``"split"`` or ``"bonferroni"``.
    threshold: The threshold ``t`` of the ``"fixed"`` rule. It must be
      ``None`` for the other rules.
    split_seed: Seed of ``numpy.random.default_rng`` for the ``"split"``
      rule.

  Returns:
    The eps lower bound as a float, 0.0 when the scores support no claim.

  Raises:
    ValueError: If a score array is empty, not 1-D, or contains NaN or
      infinite values. Also if ``delta`` or ``confidence`` is out of range,
      ``threshold_rule`` is unknown, ``threshold`` is missing for
      ``"fixed"`` or given for another rule, or a group has fewer than 2
      scores under ``"split"``.

  Example:
    >>> in_scores = np.arange(100, 200)
    >>> out_scores = np.arange(100)
    >>> round(epsilon_lower_bound(in_scores, out_scores, delta=1e-5, threshold=100), 4)
    3.2813
    >>> epsilon_lower_bound(out_scores, out_scores, delta=1e-5, threshold_rule="bonferroni")
    0.0

  References:
    Jagielski, M., Ullman, J. and Oprea, A., "Auditing differentially
    private machine learning: how private is private SGD?", NeurIPS 2020.

    Clopper, C. J. and Pearson, E. S., "The use of confidence or fiducial
    limits illustrated in the case of the binomial", Biometrika, 1934.
  """
  in_array = _validate_scores("in_scores", in_scores)
  out_array = _validate_scores("out_scores", out_scores)
  delta, confidence = _validate_delta_and_confidence(delta, confidence)
  if threshold_rule not in THRESHOLD_RULES:
    raise ValueError(f"Unknown threshold_rule {threshold_rule!r}. Expected one of {', '.join(THRESHOLD_RULES)}.")
  if threshold_rule == "fixed" and threshold is None:
    raise ValueError(
        "threshold is missing: threshold_rule='fixed' needs a threshold chosen before seeing the scores."
    )
  if threshold_rule != "fixed" and threshold is not None:
    raise ValueError(
        f"threshold is only used by threshold_rule='fixed', but threshold_rule={threshold_rule!r}. "
        "Pass threshold=None."
    )
  alpha = 1.0 - confidence

  if threshold_rule == "fixed":
    threshold = float(threshold)
    if math.isnan(threshold):
      raise ValueError("threshold must be a number, got NaN.")
    thresholds = np.array([threshold])
    level = alpha / 2
  elif threshold_rule == "split":
    if in_array.size < 2 or out_array.size < 2:
      raise ValueError(
          "threshold_rule='split' needs at least 2 scores per group, got "
          f"{in_array.size} in_scores and {out_array.size} out_scores."
      )
    level = alpha / 2
    rng = np.random.default_rng(split_seed)
    in_selection, in_array = _split_in_halves(in_array, rng)
    out_selection, out_array = _split_in_halves(out_array, rng)
    thresholds = np.array([_select_threshold(in_selection, out_selection, delta, level)])
  else:
    thresholds = np.unique(np.concatenate([in_array, out_array]))
    level = alpha / (2 * thresholds.size)

  false_positives, false_negatives = _error_counts(in_array, out_array, thresholds)
  bounds = _epsilon_bound_both_directions(
      false_positives, false_negatives, out_array.size, in_array.size, delta, level
  )
  return float(np.max(bounds))


# ---------------------------------------------------------------------------
# One-run audit
# ---------------------------------------------------------------------------


def _validate_count(name: str, value, minimum: int) -> int:
  if isinstance(value, bool):
    raise ValueError(f"{name} must be an integer, got {value!r}.")
  try:
    count = operator.index(value)
  except TypeError:
    raise ValueError(f"{name} must be an integer, got {value!r}.") from None
  if count < minimum:
    raise ValueError(f"{name} must be at least {minimum}, got {count}.")
  return count


def _one_run_p_value(
    epsilon: float, n_guesses: int, n_correct: int, delta: float, n_canaries: int
) -> float:
  """Return the bound on P[W >= n_correct] that an (eps, delta)-DP mechanism allows.

  With q = e^eps / (1 + e^eps) and X ~ Binomial(n_guesses, q), the bound is
  P[X >= v] + 2 m delta max_{1 <= i <= v} P[v - i <= X < v] / i, where
  v = n_correct and m = n_canaries.
  """
  accuracy = special.expit(epsilon)
  tail = float(stats.binom.sf(n_correct - 1, n_guesses, accuracy))
  if delta == 0.0 or n_correct == 0:
    return tail
  # Summing the pmf downward from v - 1 gives P[v - i <= X < v] for
  # i = 1..v without the cancellation of a difference of two CDFs.
  pmf_below = stats.binom.pmf(np.arange(n_correct - 1, -1, -1), n_guesses, accuracy)
  window = np.cumsum(pmf_below)
  steepest = float(np.max(window / np.arange(1, n_correct + 1)))
  return min(1.0, tail + 2.0 * n_canaries * delta * steepest)


def one_run_epsilon_lower_bound(
    n_guesses: int,
    n_correct: int,
    *,
    confidence: float = 0.95,
    delta: float = 0.0,
    n_canaries: int | None = None,
) -> float:
  r"""Compute the eps lower bound of a one-run audit from its guess counts.

  In a one-run audit, each of ``m`` canaries is included in one training run
  by an independent fair coin. The auditor then guesses membership for
  ``r`` of them and abstains on the rest. ``W`` is the number of correct
  guesses and ``v`` its observed value. Abstentions are not counted as wrong
  guesses. For delta = 0, an eps-DP mechanism makes ``W`` stochastically
  smaller than
  ``Binomial(r, e^eps / (1 + e^eps))``, so with ``beta = 1 - confidence``

  .. math::

      \varepsilon \ge \max\bigl(0,\ \operatorname{logit}(p_{lower})\bigr),
      \qquad P[\operatorname{Binomial}(r, p_{lower}) \ge v] = \beta,

  where ``p_lower`` is the one-sided Clopper–Pearson lower limit on the
  guess accuracy ``v / r`` (:func:`clopper_pearson_lower` at level beta).

  For delta > 0, with ``q = e^eps / (1 + e^eps)`` and
  ``X ~ Binomial(r, q)``, an (eps, delta)-DP mechanism satisfies

  .. math::

      P[W \ge v] \le P[X \ge v]
          + 2 m \delta \max_{1 \le i \le v} \frac{P[v - i \le X < v]}{i}.

  The function returns an eps at which this bound is at most beta, found by
  bisection on ``[0, eps_0]`` where ``eps_0`` is the delta = 0 bound (the
  delta term only adds to the bound, so no larger eps qualifies). The
  bisection keeps its lower end at an eps where the bound is at most beta,
  so the result is a valid claim even if the bound is not monotone in eps.
  The bound is the same p-value that ``jax_privacy.auditing`` 2.0.0
  computes for this audit.

  Args:
    n_guesses: Number of guesses made, ``r``, excluding abstentions.
    n_correct: Number of correct guesses, ``v``, in ``[0, n_guesses]``.
    confidence: Probability, in ``(0, 1)``, that the returned bound is correct.
    delta: The delta of the (eps, delta)-DP claim under audit, in ``[0, 1)``.
    n_canaries: Number of canaries ``m``, at least ``n_guesses``. Required
      for delta > 0. For delta = 0 the bound does not depend on it, and a
      given value is only validated.

  Returns:
    The eps lower bound as a float, 0.0 when the guesses support no claim
    (including ``n_guesses = 0``).

  Raises:
    ValueError: If a count is not a non-negative integer, ``n_correct``
      exceeds ``n_guesses``, ``n_canaries`` is below ``n_guesses`` or
      missing for delta > 0, or ``delta`` or ``confidence`` is out of range.

  Example:
    >>> round(one_run_epsilon_lower_bound(100, 100), 4)
    3.493
    >>> round(one_run_epsilon_lower_bound(1000, 900), 4)
    2.0212
    >>> one_run_epsilon_lower_bound(100, 50)
    0.0

  References:
    Steinke, T., Nasr, M. and Jagielski, M., "Privacy auditing with one (1)
    training run", NeurIPS 2023.
  """
  n_guesses = _validate_count("n_guesses", n_guesses, 0)
  n_correct = _validate_count("n_correct", n_correct, 0)
  if n_correct > n_guesses:
    raise ValueError(f"n_correct ({n_correct}) must not exceed n_guesses ({n_guesses}).")
  delta, confidence = _validate_delta_and_confidence(delta, confidence)
  if n_canaries is not None:
    n_canaries = _validate_count("n_canaries", n_canaries, 0)
    if n_canaries < n_guesses:
      raise ValueError(f"n_canaries ({n_canaries}) must be at least n_guesses ({n_guesses}).")
  if delta > 0.0 and n_canaries is None:
    raise ValueError(
        "n_canaries is missing: the one-run bound for delta > 0 depends on the number of canaries m."
    )
  if n_guesses == 0 or n_correct == 0:
    return 0.0

  beta = 1.0 - confidence
  accuracy_lower = clopper_pearson_lower(n_correct, n_guesses, beta)
  epsilon_pure = max(0.0, float(special.logit(accuracy_lower)))
  if delta == 0.0 or epsilon_pure == 0.0:
    return epsilon_pure

  low, high = 0.0, epsilon_pure
  if _one_run_p_value(low, n_guesses, n_correct, delta, n_canaries) > beta:
    return 0.0
  if _one_run_p_value(high, n_guesses, n_correct, delta, n_canaries) <= beta:
    return high
  while high - low > _EPSILON_TOLERANCE:
    middle = 0.5 * (low + high)
    if _one_run_p_value(middle, n_guesses, n_correct, delta, n_canaries) <= beta:
      low = middle
    else:
      high = middle
  return low
