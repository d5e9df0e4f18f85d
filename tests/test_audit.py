"""Epsilon lower bounds of privacy audits, and DP-SGD accounting."""

import doctest
import math

import dp_accounting
import numpy as np
import pytest
from dp_accounting import pld, rdp
from scipy import stats

from causalmia import audit, privacy

DELTA = 1e-5
MEMBER_SCORES = np.arange(100, 200)
NONMEMBER_SCORES = np.arange(100)
# One-sided Clopper–Pearson upper limit for 0 errors out of 100 at level 0.025.
ZERO_ERROR_LIMIT = 1.0 - 0.025 ** (1 / 100)


def true_epsilon(fpr: float, fnr: float, delta: float) -> float:
  """Returns the smallest eps whose (eps, delta)-DP inequalities allow these error rates.

  Both the test and its reverse (rates 1 - fpr and 1 - fnr) must satisfy
  FPR + e^eps FNR >= 1 - delta and FNR + e^eps FPR >= 1 - delta.
  """
  candidates = [0.0]
  for numerator, denominator in [
      (1 - delta - fpr, fnr),
      (1 - delta - fnr, fpr),
      (fpr - delta, 1 - fnr),
      (fnr - delta, 1 - fpr),
  ]:
    if numerator > 0:
      candidates.append(math.inf if denominator == 0 else math.log(numerator / denominator))
  return max(candidates)


# --- Clopper–Pearson limits ---


def test_clopper_pearson_zero_errors():
  assert audit.clopper_pearson_upper(0, 100, 0.025) == pytest.approx(ZERO_ERROR_LIMIT, rel=1e-12)
  assert audit.clopper_pearson_lower(100, 100, 0.05) == pytest.approx(0.05 ** (1 / 100), rel=1e-12)


def test_clopper_pearson_edges():
  assert audit.clopper_pearson_upper(7, 7, 0.05) == 1.0
  assert audit.clopper_pearson_lower(0, 7, 0.05) == 0.0


def test_clopper_pearson_lower_mirrors_upper():
  k = np.arange(0, 21)
  lower = audit.clopper_pearson_lower(k, 20, 0.1)
  upper_of_complement = audit.clopper_pearson_upper(20 - k, 20, 0.1)
  np.testing.assert_allclose(lower, 1.0 - upper_of_complement, atol=1e-12)


def test_clopper_pearson_matches_binomial_tail():
  """At the limit, the binomial tail on the far side of k has probability alpha."""
  upper = audit.clopper_pearson_upper(3, 50, 0.05)
  lower = audit.clopper_pearson_lower(3, 50, 0.05)
  assert stats.binom.cdf(3, 50, upper) == pytest.approx(0.05, rel=1e-9)
  assert stats.binom.sf(2, 50, lower) == pytest.approx(0.05, rel=1e-9)


def test_clopper_pearson_returns_float_for_scalars():
  assert isinstance(audit.clopper_pearson_upper(1, 10, 0.05), float)
  assert audit.clopper_pearson_upper([1, 2], 10, 0.05).shape == (2,)


@pytest.mark.parametrize(
    "k, n, alpha, message",
    [
        (11, 10, 0.05, "0 <= k <= n"),
        (-1, 10, 0.05, "0 <= k <= n"),
        (1, 0, 0.05, "n must be at least 1"),
        (1, 10, 0.0, "alpha must be in"),
        (1, 10, 1.0, "alpha must be in"),
        (1.5, 10, 0.05, "integer counts"),
    ],
)
def test_clopper_pearson_invalid_arguments(k, n, alpha, message):
  with pytest.raises(ValueError, match=message):
    audit.clopper_pearson_upper(k, n, alpha)
  with pytest.raises(ValueError, match=message):
    audit.clopper_pearson_lower(k, n, alpha)


# --- epsilon_lower_bound: required cases ---


def test_separated_fixed_threshold():
  fpr_upper = audit.clopper_pearson_upper(0, 100, 0.025)
  fnr_upper = audit.clopper_pearson_upper(0, 100, 0.025)
  assert round(fpr_upper, 5) == 0.03622
  assert round(fnr_upper, 5) == 0.03622

  bound = audit.epsilon_lower_bound(
      MEMBER_SCORES, NONMEMBER_SCORES, delta=DELTA, confidence=0.95, threshold_rule="fixed", threshold=100
  )
  assert round(bound, 4) == 3.2813
  assert bound == pytest.approx(math.log((1 - DELTA - ZERO_ERROR_LIMIT) / ZERO_ERROR_LIMIT), rel=1e-12)


def test_separated_swapped_groups():
  """Swapping the groups makes the reversed test ("member when score < t") the informative one."""
  bound = audit.epsilon_lower_bound(NONMEMBER_SCORES, MEMBER_SCORES, delta=DELTA, threshold=100)
  assert round(bound, 4) == 3.2813


@pytest.mark.parametrize("threshold", [-1.0, 0.0, 1.0, 37.5, 50.0, 99.0, 100.0, 1e6])
def test_null_audit_fixed(threshold):
  scores = np.arange(100)
  assert audit.epsilon_lower_bound(scores, scores, delta=DELTA, threshold=threshold) == 0.0


@pytest.mark.parametrize("split_seed", [0, 1, 2, 3, 4])
def test_null_audit_split(split_seed):
  scores = np.arange(100)
  bound = audit.epsilon_lower_bound(scores, scores, delta=DELTA, threshold_rule="split", split_seed=split_seed)
  assert bound == 0.0


def test_null_audit_bonferroni():
  scores = np.arange(100)
  assert audit.epsilon_lower_bound(scores, scores, delta=DELTA, threshold_rule="bonferroni") == 0.0


# --- epsilon_lower_bound: threshold rules ---


def test_bonferroni_equals_fixed_at_reduced_alpha():
  """Bonferroni is the max over distinct scores of the fixed rule at confidence 1 - alpha / K."""
  rng = np.random.default_rng(3)
  in_scores = rng.normal(1.5, 1.0, 60).round(1)
  out_scores = rng.normal(0.0, 1.0, 80).round(1)
  candidates = np.unique(np.concatenate([in_scores, out_scores]))
  alpha = 0.05
  fixed_bounds = [
      audit.epsilon_lower_bound(
          in_scores, out_scores, delta=DELTA, confidence=1 - alpha / candidates.size, threshold=t
      )
      for t in candidates
  ]
  bonferroni = audit.epsilon_lower_bound(
      in_scores, out_scores, delta=DELTA, confidence=1 - alpha, threshold_rule="bonferroni"
  )
  assert bonferroni > 0.0
  assert bonferroni == pytest.approx(max(fixed_bounds), rel=1e-12)


def test_bonferroni_below_fixed_at_same_threshold():
  fixed = audit.epsilon_lower_bound(MEMBER_SCORES, NONMEMBER_SCORES, delta=DELTA, threshold=100)
  bonferroni = audit.epsilon_lower_bound(
      MEMBER_SCORES, NONMEMBER_SCORES, delta=DELTA, threshold_rule="bonferroni"
  )
  assert 0.0 < bonferroni < fixed


@pytest.mark.parametrize("split_seed", [0, 1, 2, 3, 4])
def test_split_separated_scores(split_seed):
  """On separated scores the split rule nearly reaches the bound for 0 errors in 50 per group.

  The selected midpoint can misclassify a score or two of the evaluation
  half that fall in the gap between the selection half's groups.
  """
  half_limit = 1.0 - 0.025 ** (1 / 50)
  zero_error_bound = math.log((1 - DELTA - half_limit) / half_limit)
  for in_scores, out_scores in [(MEMBER_SCORES, NONMEMBER_SCORES), (NONMEMBER_SCORES, MEMBER_SCORES)]:
    bound = audit.epsilon_lower_bound(
        in_scores, out_scores, delta=DELTA, threshold_rule="split", split_seed=split_seed
    )
    assert bound <= zero_error_bound + 1e-12
    assert bound > 2.4


def test_split_is_deterministic_per_seed():
  rng = np.random.default_rng(5)
  in_scores = rng.normal(2.5, 1.0, 200)
  out_scores = rng.normal(0.0, 1.0, 200)
  first = audit.epsilon_lower_bound(in_scores, out_scores, delta=DELTA, threshold_rule="split", split_seed=7)
  second = audit.epsilon_lower_bound(in_scores, out_scores, delta=DELTA, threshold_rule="split", split_seed=7)
  assert first == second
  assert first > 0.0


def test_larger_separation_larger_bound():
  rng = np.random.default_rng(11)
  noise_in = rng.normal(size=400)
  out_scores = rng.normal(size=400)
  bounds = [
      audit.epsilon_lower_bound(noise_in + shift, out_scores, delta=DELTA, threshold=shift / 2)
      for shift in (1.0, 2.0, 3.0, 4.0)
  ]
  assert bounds == sorted(bounds)
  assert bounds[0] < bounds[-1]


def test_fixed_rule_coverage_by_enumeration():
  """Exact failure probability of the fixed rule, both directions included, stays below alpha.

  With 20 scores per group at a fixed threshold, the counts X (non-members at
  or above it) and Y (members below it) are independent binomials. For each
  true (FPR, FNR) on a grid, the test sums the probability of the counts
  whose bound exceeds the smallest eps consistent with those rates.
  """
  n = 20
  alpha = 0.05
  bounds = np.empty((n + 1, n + 1))
  for false_positives in range(n + 1):
    for false_negatives in range(n + 1):
      out_scores = np.r_[np.ones(false_positives), np.zeros(n - false_positives)]
      in_scores = np.r_[np.zeros(false_negatives), np.ones(n - false_negatives)]
      bounds[false_positives, false_negatives] = audit.epsilon_lower_bound(
          in_scores, out_scores, delta=DELTA, confidence=1 - alpha, threshold=0.5
      )
  counts = np.arange(n + 1)
  worst_failure = 0.0
  for fpr in np.linspace(0.0, 1.0, 41):
    for fnr in np.linspace(0.0, 1.0, 41):
      failed = bounds > true_epsilon(fpr, fnr, DELTA) + 1e-9
      probability = np.outer(stats.binom.pmf(counts, n, fpr), stats.binom.pmf(counts, n, fnr))
      worst_failure = max(worst_failure, float(probability[failed].sum()))
  assert worst_failure <= alpha


# --- epsilon_lower_bound: validation ---


def test_nan_scores_named_with_count():
  with pytest.raises(ValueError, match=r"in_scores contains 2 NaN value\(s\) out of 4"):
    audit.epsilon_lower_bound([0.0, np.nan, 1.0, np.nan], [0.0, 1.0], delta=DELTA, threshold=0.5)
  with pytest.raises(ValueError, match=r"out_scores contains 1 NaN value\(s\) out of 2"):
    audit.epsilon_lower_bound([0.0, 1.0], [np.nan, 1.0], delta=DELTA, threshold=0.5)


def test_infinite_scores_rejected():
  with pytest.raises(ValueError, match="out_scores contains 1 infinite value"):
    audit.epsilon_lower_bound([0.0, 1.0], [np.inf, 1.0], delta=DELTA, threshold=0.5)


@pytest.mark.parametrize(
    "in_scores, message",
    [
        ([], "in_scores must not be empty"),
        ([[0.0, 1.0]], "in_scores must be a 1-D array"),
    ],
)
def test_score_shape_rejected(in_scores, message):
  with pytest.raises(ValueError, match=message):
    audit.epsilon_lower_bound(in_scores, [0.0, 1.0], delta=DELTA, threshold=0.5)


@pytest.mark.parametrize(
    "keywords, message",
    [
        ({"delta": -0.1}, "delta must be in"),
        ({"delta": 1.0}, "delta must be in"),
        ({"delta": float("nan")}, "delta must be in"),
        ({"delta": DELTA, "confidence": 0.0}, "confidence must be in"),
        ({"delta": DELTA, "confidence": 1.0}, "confidence must be in"),
    ],
)
def test_probability_arguments_rejected(keywords, message):
  with pytest.raises(ValueError, match=message):
    audit.epsilon_lower_bound([0.0, 1.0], [0.0, 1.0], threshold=0.5, **keywords)


def test_unknown_rule_lists_rules():
  with pytest.raises(ValueError, match="fixed, split, bonferroni"):
    audit.epsilon_lower_bound([0.0, 1.0], [0.0, 1.0], delta=DELTA, threshold_rule="best")


def test_fixed_rule_requires_threshold():
  with pytest.raises(ValueError, match="threshold is missing"):
    audit.epsilon_lower_bound([0.0, 1.0], [0.0, 1.0], delta=DELTA)


@pytest.mark.parametrize("rule", ["split", "bonferroni"])
def test_threshold_rejected_for_other_rules(rule):
  with pytest.raises(ValueError, match="only used by threshold_rule='fixed'"):
    audit.epsilon_lower_bound([0.0, 1.0], [0.0, 1.0], delta=DELTA, threshold_rule=rule, threshold=0.5)


def test_split_needs_two_scores_per_group():
  with pytest.raises(ValueError, match="at least 2 scores per group"):
    audit.epsilon_lower_bound([1.0], [0.0, 0.5], delta=DELTA, threshold_rule="split")


def test_nan_threshold_rejected():
  with pytest.raises(ValueError, match="threshold must be a number"):
    audit.epsilon_lower_bound([0.0, 1.0], [0.0, 1.0], delta=DELTA, threshold=float("nan"))


# --- one_run_epsilon_lower_bound ---


@pytest.mark.parametrize(
    "n_guesses, n_correct, expected",
    [
        (100, 100, 3.4930),
        (100, 90, 1.6308),
        (10, 10, 1.0519),
        (1000, 900, 2.0212),
        (100, 50, 0.0),
    ],
)
def test_one_run_required_values(n_guesses, n_correct, expected):
  bound = audit.one_run_epsilon_lower_bound(n_guesses, n_correct, confidence=0.95, delta=0.0)
  assert round(bound, 4) == expected


def test_one_run_is_logit_of_lower_limit():
  lower = stats.beta.ppf(0.05, 90, 11)
  expected = math.log(lower / (1 - lower))
  assert audit.one_run_epsilon_lower_bound(100, 90) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("delta, n_canaries", [(0.0, None), (1e-5, 1000)])
def test_one_run_monotone_in_correct_guesses(delta, n_canaries):
  bounds = [
      audit.one_run_epsilon_lower_bound(200, n_correct, delta=delta, n_canaries=n_canaries)
      for n_correct in range(100, 201, 10)
  ]
  assert all(later >= earlier for earlier, later in zip(bounds, bounds[1:]))
  assert bounds[-1] > bounds[0]


def test_one_run_no_guesses_or_no_correct():
  assert audit.one_run_epsilon_lower_bound(0, 0) == 0.0
  assert audit.one_run_epsilon_lower_bound(50, 0) == 0.0


def test_one_run_pure_dp_ignores_canaries():
  with_canaries = audit.one_run_epsilon_lower_bound(100, 90, n_canaries=10_000)
  assert with_canaries == audit.one_run_epsilon_lower_bound(100, 90)


def test_one_run_delta_lowers_bound():
  pure = audit.one_run_epsilon_lower_bound(100, 95)
  approximate = audit.one_run_epsilon_lower_bound(100, 95, delta=1e-3, n_canaries=1000)
  assert 0.0 < approximate < pure


def test_one_run_small_delta_approaches_pure():
  pure = audit.one_run_epsilon_lower_bound(1000, 900)
  approximate = audit.one_run_epsilon_lower_bound(1000, 900, delta=1e-12, n_canaries=1000)
  assert approximate == pytest.approx(pure, abs=1e-6)


def test_one_run_delta_bound_meets_significance():
  """At the returned eps the one-run p-value is at most beta, and just above it exceeds beta."""
  n_guesses, n_correct, n_canaries, delta = 300, 260, 2000, 1e-5
  bound = audit.one_run_epsilon_lower_bound(n_guesses, n_correct, delta=delta, n_canaries=n_canaries)

  def p_value(epsilon):
    accuracy = 1 / (1 + math.exp(-epsilon))
    tail = stats.binom.sf(n_correct - 1, n_guesses, accuracy)
    slopes = [
        (stats.binom.cdf(n_correct - 1, n_guesses, accuracy)
         - stats.binom.cdf(n_correct - 1 - i, n_guesses, accuracy)) / i
        for i in range(1, n_correct + 1)
    ]
    return min(1.0, tail + 2 * n_canaries * delta * max(slopes))

  assert p_value(bound) <= 0.05
  assert p_value(bound + 1e-6) > 0.05


@pytest.mark.parametrize(
    "arguments, keywords, message",
    [
        ((10, 11), {}, r"n_correct \(11\) must not exceed n_guesses \(10\)"),
        ((-1, 0), {}, "n_guesses must be at least 0"),
        ((10.5, 5), {}, "n_guesses must be an integer"),
        ((True, 1), {}, "n_guesses must be an integer"),
        ((10, 5), {"n_canaries": 9}, r"n_canaries \(9\) must be at least n_guesses \(10\)"),
        ((10, 5), {"delta": 1e-5}, "n_canaries is missing"),
        ((10, 5), {"confidence": 1.0}, "confidence must be in"),
        ((10, 5), {"delta": 1.0, "n_canaries": 10}, "delta must be in"),
    ],
)
def test_one_run_invalid_arguments(arguments, keywords, message):
  with pytest.raises(ValueError, match=message):
    audit.one_run_epsilon_lower_bound(*arguments, **keywords)


# --- dpsgd_epsilon ---


def library_epsilon(accountant, noise_multiplier, sampling_rate, steps, delta):
  event = dp_accounting.SelfComposedDpEvent(
      dp_accounting.PoissonSampledDpEvent(sampling_rate, dp_accounting.GaussianDpEvent(noise_multiplier)), steps
  )
  accountant.compose(event)
  return accountant.get_epsilon(delta)


@pytest.mark.parametrize("noise_multiplier, sampling_rate, steps", [(1.0, 0.01, 1000), (0.7, 0.05, 200)])
def test_dpsgd_epsilon_matches_rdp_library(noise_multiplier, sampling_rate, steps):
  expected = library_epsilon(rdp.RdpAccountant(), noise_multiplier, sampling_rate, steps, DELTA)
  eps = privacy.dpsgd_epsilon(
      noise_multiplier=noise_multiplier, sampling_rate=sampling_rate, steps=steps, delta=DELTA
  )
  assert eps == expected


def test_dpsgd_epsilon_matches_pld_library():
  expected = library_epsilon(pld.PLDAccountant(), 1.5, 0.01, 100, DELTA)
  eps = privacy.dpsgd_epsilon(
      noise_multiplier=1.5, sampling_rate=0.01, steps=100, delta=DELTA, accountant="pld"
  )
  assert eps == expected


# PLD accounting slows down for small noise, so its sweep starts at 1.0.
@pytest.mark.parametrize(
    "accountant, noise_multipliers", [("rdp", (0.6, 0.8, 1.0, 1.5, 2.0)), ("pld", (1.0, 1.5, 2.0, 3.0))]
)
def test_dpsgd_epsilon_decreases_with_noise(accountant, noise_multipliers):
  epsilons = [
      privacy.dpsgd_epsilon(
          noise_multiplier=sigma, sampling_rate=0.02, steps=100, delta=DELTA, accountant=accountant
      )
      for sigma in noise_multipliers
  ]
  assert all(later < earlier for earlier, later in zip(epsilons, epsilons[1:]))


def test_dpsgd_epsilon_without_noise_is_infinite():
  assert privacy.dpsgd_epsilon(noise_multiplier=0.0, sampling_rate=0.01, steps=10, delta=DELTA) == math.inf


@pytest.mark.parametrize("noise_multiplier", [0.0, 1.0])
def test_dpsgd_epsilon_without_sampling_is_zero(noise_multiplier):
  eps = privacy.dpsgd_epsilon(noise_multiplier=noise_multiplier, sampling_rate=0.0, steps=10, delta=DELTA)
  assert eps == 0.0


def test_dpsgd_epsilon_pld_below_rdp():
  """PLD accounting is tighter than RDP for the same mechanism."""
  rdp_eps = privacy.dpsgd_epsilon(noise_multiplier=1.5, sampling_rate=0.01, steps=100, delta=DELTA)
  pld_eps = privacy.dpsgd_epsilon(
      noise_multiplier=1.5, sampling_rate=0.01, steps=100, delta=DELTA, accountant="pld"
  )
  assert pld_eps < rdp_eps


@pytest.mark.parametrize(
    "keywords, message",
    [
        ({"noise_multiplier": -1.0}, "noise_multiplier must be a finite number >= 0"),
        ({"noise_multiplier": math.inf}, "noise_multiplier must be a finite number >= 0"),
        ({"noise_multiplier": "1.0"}, "noise_multiplier must be a real number"),
        ({"sampling_rate": 1.5}, r"sampling_rate must be in \[0, 1\]"),
        ({"steps": 0}, "steps must be an integer >= 1"),
        ({"steps": 10.0}, "steps must be an integer >= 1"),
        ({"delta": 0.0}, r"delta must be in \(0, 1\)"),
        ({"delta": 1.0}, r"delta must be in \(0, 1\)"),
        ({"accountant": "moments"}, "Expected one of rdp, pld"),
    ],
)
def test_dpsgd_epsilon_invalid_arguments(keywords, message):
  arguments = {"noise_multiplier": 1.0, "sampling_rate": 0.01, "steps": 10, "delta": DELTA}
  arguments.update(keywords)
  with pytest.raises(ValueError, match=message):
    privacy.dpsgd_epsilon(**arguments)


# --- Docstring examples ---


@pytest.mark.parametrize("module", [audit, privacy])
def test_docstring_examples(module):
  results = doctest.testmod(module, extraglobs={"np": np})
  assert results.attempted > 0
  assert results.failed == 0


# --- Cross-check against jax_privacy ---


def test_fixed_rule_matches_jax_privacy():
  """Compares the fixed rule with jax_privacy's CanaryScoreAuditor.epsilon_clopper_pearson.

  jax_privacy (2.0.0) with one_sided=False and an Explicit(t) threshold
  strategy evaluates the test "member when score >= t" through both
  inequalities FPR + e^eps FNR >= 1 - delta and FNR + e^eps FPR >= 1 - delta,
  with Clopper–Pearson upper limits at significance / 2 each. That is the
  "fixed" rule here whenever the reversed test gives no positive bound, which
  is true in every case below. The reversed case is checked by negating the
  scores of the swapped groups, because jax_privacy has no reversed test.
  """
  auditing = pytest.importorskip("jax_privacy.auditing")

  auditor = auditing.CanaryScoreAuditor(MEMBER_SCORES, NONMEMBER_SCORES)
  expected = auditor.epsilon_clopper_pearson(
      0.05, DELTA, one_sided=False, threshold_strategy=auditing.Explicit(100.0)
  )
  assert audit.epsilon_lower_bound(MEMBER_SCORES, NONMEMBER_SCORES, delta=DELTA, threshold=100) == (
      pytest.approx(expected, rel=1e-12)
  )

  # Swapped groups: "member when score < 100" equals "member when -score >= -99.5" on integers.
  negated = auditing.CanaryScoreAuditor(-NONMEMBER_SCORES, -MEMBER_SCORES)
  expected_swapped = negated.epsilon_clopper_pearson(
      0.05, DELTA, one_sided=False, threshold_strategy=auditing.Explicit(-99.5)
  )
  assert audit.epsilon_lower_bound(NONMEMBER_SCORES, MEMBER_SCORES, delta=DELTA, threshold=100) == (
      pytest.approx(expected_swapped, rel=1e-12)
  )

  rng = np.random.default_rng(1)
  in_scores = rng.normal(2.0, 1.0, 300)
  out_scores = rng.normal(0.0, 1.0, 400)
  auditor = auditing.CanaryScoreAuditor(in_scores, out_scores)
  for threshold in (0.5, 1.0, 1.5, 2.0):
    expected = auditor.epsilon_clopper_pearson(
        0.05, DELTA, one_sided=False, threshold_strategy=auditing.Explicit(threshold)
    )
    bound = audit.epsilon_lower_bound(in_scores, out_scores, delta=DELTA, threshold=threshold)
    assert bound == pytest.approx(expected, rel=1e-12)


def test_one_run_matches_jax_privacy():
  """Compares the one-run bound for delta > 0 with jax_privacy's CanaryScoreAuditor.epsilon_one_run.

  With an Explicit(t) threshold, jax_privacy (2.0.0) guesses "member" for
  every canary scoring >= t, so n_guesses = TP + FP, n_correct = TP and
  n_canaries = number of in plus out scores. It solves for eps with brentq
  at xtol 1e-6, so the two agree to about 1e-6. jax_privacy accepts only
  delta > 0 here, so delta = 0 is not compared.
  """
  auditing = pytest.importorskip("jax_privacy.auditing")

  rng = np.random.default_rng(1)
  in_scores = rng.normal(2.0, 1.0, 300)
  out_scores = rng.normal(0.0, 1.0, 400)
  auditor = auditing.CanaryScoreAuditor(in_scores, out_scores)
  for threshold in (0.5, 1.0, 2.0):
    expected = auditor.epsilon_one_run(0.05, DELTA, threshold_strategy=auditing.Explicit(threshold))
    true_positives = int(np.sum(in_scores >= threshold))
    false_positives = int(np.sum(out_scores >= threshold))
    bound = audit.one_run_epsilon_lower_bound(
        true_positives + false_positives,
        true_positives,
        confidence=0.95,
        delta=DELTA,
        n_canaries=in_scores.size + out_scores.size,
    )
    assert bound == pytest.approx(expected, abs=1e-5)
