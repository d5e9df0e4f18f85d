"""Tests for zero-run estimation: IPW, G-formula, AIPW, overlap checks and nuisance models."""

import itertools
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
from sklearn.linear_model import LogisticRegression

from causalmia import nuisance
from causalmia.errors import LowOverlapWarning, PositivityError
from causalmia.estimate import adjusted_curves
from causalmia.estimate import multi_run
from causalmia.estimate import overlap
from causalmia.estimate import zero_run
from causalmia.estimate import zero_run_engine as engine
from causalmia.metrics import _kernel

quiet = pytest.mark.filterwarnings("ignore::causalmia.errors.LowOverlapWarning")

# --- references -------------------------------------------------------------


def _reference_auc(scores, members, weights):
  """Weighted P(S1 > S0) + P(S1 = S0) / 2 by a double loop over pairs."""
  numerator = denominator = 0.0
  for i, j in itertools.product(range(len(scores)), repeat=2):
    if members[i] and not members[j]:
      pair = weights[i] * weights[j]
      denominator += pair
      if scores[i] > scores[j]:
        numerator += pair
      elif scores[i] == scores[j]:
        numerator += 0.5 * pair
  return numerator / denominator


def _reference_tpr_at_fpr(scores, members, weights, fpr):
  """Largest weighted TPR over thresholds (each distinct score) whose FPR is at most `fpr`."""
  w1 = weights[members].sum()
  w0 = weights[~members].sum()
  best = 0.0
  for threshold in np.unique(scores):
    called = scores >= threshold
    if weights[called & ~members].sum() <= fpr * w0 * (1 + 1e-6):
      best = max(best, weights[called & members].sum() / w1)
  return best


def _reference_isotonic(values):
  """Pool-adjacent-violators, one block merge at a time."""
  blocks = [[v, 1] for v in values]
  merged = True
  while merged:
    merged = False
    for k in range(len(blocks) - 1):
      if blocks[k][0] / blocks[k][1] > blocks[k + 1][0] / blocks[k + 1][1]:
        blocks[k] = [blocks[k][0] + blocks[k + 1][0], blocks[k][1] + blocks[k + 1][1]]
        del blocks[k + 1]
        merged = True
        break
  return np.concatenate([[total / size] * size for total, size in blocks])


# --- cases with stated values -----------------------------------------------

POSITIVITY_SCORES = [0.9, 0.6, 0.7, 0.1]
POSITIVITY_MEMBERS = [1, 1, 0, 0]
POSITIVITY_PROPENSITY = [0.5, 1.0, 0.5, 1.0]

YEAR = np.array([2015, 2015, 2015, 2020, 2020, 2020, 2020, 2024, 2024, 2024], float)
YEAR_MEMBERS = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 0])
YEAR_SCORES = 2025 - YEAR


def test_positivity_case_raises_naming_row_3():
  with pytest.raises(PositivityError) as error:
    zero_run(POSITIVITY_SCORES, POSITIVITY_MEMBERS, method="ipw",
             propensity=POSITIVITY_PROPENSITY, num_replicates=0)
  message = str(error.value)
  assert "Non-member row(s) 3 (0-based)" in message
  assert "infinite inverse-propensity weight" in message
  assert "clip=" in message
  assert "trim=" in message


def test_positivity_case_clipped_values():
  with pytest.warns(LowOverlapWarning, match="nonmembers is 1.04"):
    result = zero_run(POSITIVITY_SCORES, POSITIVITY_MEMBERS, method="ipw",
                      propensity=POSITIVITY_PROPENSITY, clip=(0.01, 0.99), num_replicates=0)
  np.testing.assert_allclose(result.per_example["balancing_weight"], [2, 1 / 0.99, 2, 100],
                             rtol=1e-5)
  assert result.diagnostics["propensity"]["clipped"] == {"members": 1, "nonmembers": 1}
  assert result["auc"].value == pytest.approx(305.01 / 307.03, rel=1e-5)
  assert result["auc"].value == pytest.approx(_reference_auc(
      np.array(POSITIVITY_SCORES), np.array(POSITIVITY_MEMBERS, bool),
      np.array([2, 1 / 0.99, 2, 100])), rel=1e-5)
  ess = result.diagnostics["effective_sample_size"]["nonmembers"]
  assert ess == pytest.approx(102**2 / (4 + 100**2), rel=1e-4)
  assert round(ess, 2) == 1.04
  assert result.estimand.startswith("NOT CAUSAL")
  assert result.diagnostics["overlap"]["causal"] is False


def test_date_split_naive_auc():
  result = zero_run(YEAR_SCORES, YEAR_MEMBERS, method="naive", num_replicates=0)
  assert result["auc"].value == pytest.approx(0.92)


@pytest.mark.parametrize("model", ["logistic", "cells"])
def test_date_split_raises_no_overlap(model):
  with pytest.raises(PositivityError) as error:
    zero_run(YEAR_SCORES, YEAR_MEMBERS, YEAR, covariate_names=["year"], propensity_model=model,
             num_replicates=0)
  message = str(error.value)
  assert "Member row(s) 0, 1, 2 (0-based) have no non-member counterpart" in message
  assert "Non-member row(s) 7, 8, 9 (0-based) have no member counterpart" in message
  assert "year = 2015" in message
  assert "year = 2024" in message


@quiet
@pytest.mark.parametrize("method", ["ipw", "gformula", "aipw"])
def test_date_split_overlap_region_auc_half(method):
  result = zero_run(YEAR_SCORES, YEAR_MEMBERS, YEAR, method=method, trim="support", folds=2,
                    num_replicates=0, covariate_names=["year"])
  assert result["auc"].value == pytest.approx(0.5)
  assert result.counts["trimmed_rows"] == 6
  assert result.per_example["kept"].tolist() == [False] * 3 + [True] * 4 + [False] * 3
  assert "overlap region" in result.estimand


def test_overlap_subset_of_date_split():
  keep = overlap.overlap_subset(YEAR, YEAR_MEMBERS)
  assert np.flatnonzero(keep).tolist() == [3, 4, 5, 6]


@quiet
def test_date_split_clipped_is_not_causal():
  result = zero_run(YEAR_SCORES, YEAR_MEMBERS, YEAR, method="ipw", propensity_model="cells",
                    clip=0.01, num_replicates=0, covariate_names=["year"])
  weights = np.where(YEAR_MEMBERS == 1, np.where(YEAR == 2015, 1 / 0.99, 2.0),
                     np.where(YEAR == 2024, 1 / 0.99, 2.0))
  expected = _reference_auc(YEAR_SCORES, YEAR_MEMBERS.astype(bool), weights)
  assert expected == pytest.approx(0.838, abs=5e-4)
  assert result["auc"].value == pytest.approx(expected, rel=1e-5)
  assert result.estimand.startswith("NOT CAUSAL")
  assert any(note.startswith("NOT CAUSAL") for note in result.notes)
  assert result.diagnostics["overlap"]["rows_without_overlap_listed"] == [0, 1, 2, 7, 8, 9]


@quiet
def test_hajek_mean_difference_case():
  members = [1, 1, 0, 0]
  scores = np.array([10.0, 12.0, 8.0, 9.0])
  propensity = [0.8, 0.5, 0.6, 0.2]
  expected = 36.5 / 3.25 - 31.25 / 3.75
  for shift in (0.0, 1000.0):
    result = zero_run(scores + shift, members, method="ipw", propensity=propensity,
                      num_replicates=0)
    assert result["mean_difference"].value == pytest.approx(expected, abs=2e-4)
  # The unnormalized (Horvitz-Thompson) contrast would differ and move with the shift.
  assert expected == pytest.approx(2.897436, abs=1e-6)
  assert abs((36.5 - 31.25) / 4 - expected) > 1
  curve = result.curve
  assert curve["fpr"].min() >= 0
  assert curve["fpr"].max() == pytest.approx(1.0)
  assert curve["tpr"].max() == pytest.approx(1.0)


# --- IPW against references and the randomized oracle ------------------------


@quiet
def test_ipw_matches_weighted_references():
  rng = np.random.default_rng(3)
  scores = rng.integers(0, 8, 40).astype(float)  # ties on purpose
  members = rng.random(40) < 0.5
  propensity = rng.uniform(0.2, 0.8, 40)
  result = zero_run(scores, members, method="ipw", propensity=propensity, fpr=(0.1, 0.3),
                    num_replicates=0)
  weights = np.where(members, 1 / propensity, 1 / (1 - propensity))
  assert result["auc"].value == pytest.approx(_reference_auc(scores, members, weights), rel=1e-5)
  for rate in (0.1, 0.3):
    assert result[f"tpr@{rate:g}"].value == pytest.approx(
        _reference_tpr_at_fpr(scores, members, weights, rate), rel=1e-5)
  mean_difference = (np.average(scores[members], weights=weights[members])
                     - np.average(scores[~members], weights=weights[~members]))
  assert result["mean_difference"].value == pytest.approx(mean_difference, rel=1e-4)

  # Target "members": members keep weight 1, non-members get the odds e / (1 - e).
  att = zero_run(scores, members, method="ipw", propensity=propensity, target="members",
                 fpr=(0.1, 0.3), num_replicates=0)
  odds = np.where(members, 1.0, propensity / (1 - propensity))
  assert att["auc"].value == pytest.approx(_reference_auc(scores, members, odds), rel=1e-5)
  assert "member population" in att.estimand


def test_ipw_constant_propensity_equals_multi_run():
  rng = np.random.default_rng(0)
  scores = rng.normal(size=(6, 50)) + 0.5 * (masks := rng.random((6, 50)) < 0.5)
  pooled = multi_run(scores, masks, num_replicates=0)
  result = zero_run(scores.reshape(-1), masks.reshape(-1), method="ipw",
                    propensity=np.full(300, 0.5), num_replicates=0)
  for name in ("auc", "advantage", "tpr@0.01", "tpr@0.001"):
    assert result[name].value == pytest.approx(pooled[name].value, abs=1e-6)


@quiet
def test_ipw_known_propensity_recovers_multi_run_oracle():
  rng = np.random.default_rng(1)
  pool, runs, effect = 1000, 8, 0.5
  x = rng.normal(size=pool)
  # Multi-run oracle: randomized Bernoulli(1/2) inclusion, fresh noise per run.
  masks = rng.random((runs, pool)) < 0.5
  oracle_scores = x + effect * masks + rng.normal(size=(runs, pool))
  oracle = multi_run(oracle_scores, masks, num_replicates=0)
  truth = scipy.stats.norm.cdf(effect / 2.0)
  # Zero-run: one draw whose inclusion depends on x.
  propensity = 1 / (1 + np.exp(-1.5 * x))
  members = rng.random(pool) < propensity
  scores = x + effect * members + rng.normal(size=pool)
  ipw = zero_run(scores, members, method="ipw", propensity=propensity, num_replicates=100)
  naive = zero_run(scores, members, method="naive", num_replicates=0)

  ipw_se = (ipw["auc"].ci_high - ipw["auc"].ci_low) / (2 * 1.96)
  # With 8 runs of 1000 rows the oracle's own standard error is about 0.007,
  # a third of the IPW's, so 3.5 IPW standard errors cover both.
  assert abs(oracle["auc"].value - truth) < 0.02
  assert abs(ipw["auc"].value - oracle["auc"].value) < 3.5 * ipw_se
  assert naive["auc"].value - oracle["auc"].value > 3.5 * ipw_se


# --- doubly robust consistency and coverage ----------------------------------


def _auc_truth(draw_member, draw_nonmember, size=400_000, seed=11):
  rng = np.random.default_rng(seed)
  first, second = draw_member(rng, size), draw_nonmember(rng, size)
  return float(np.mean(first > second) + 0.5 * np.mean(first == second))


@quiet
def test_aipw_right_propensity_wrong_outcome_model():
  rng = np.random.default_rng(5)
  n, effect = 4000, 0.4
  x = rng.normal(size=n)
  propensity = 1 / (1 + np.exp(-1.2 * x))
  members = rng.random(n) < propensity
  # A convex mean and skewed noise: a linear Gaussian outcome model is wrong.
  scores = np.exp(x) + effect * members + rng.exponential(0.5, n)
  truth = _auc_truth(lambda r, k: np.exp(r.normal(size=k)) + effect + r.exponential(0.5, k),
                     lambda r, k: np.exp(r.normal(size=k)) + r.exponential(0.5, k))
  options = dict(propensity=propensity, outcome_model="gaussian", folds=2, thresholds=60)
  aipw = zero_run(scores, members, x, interval="influence", **options)
  gformula = zero_run(scores, members, x, method="gformula", num_replicates=0, **options)
  se = aipw.diagnostics["influence_standard_errors"]["auc"]
  assert abs(aipw["auc"].value - truth) < 3 * se
  assert abs(gformula["auc"].value - truth) > 3 * se


@quiet
def test_aipw_wrong_propensity_right_outcome_model():
  rng = np.random.default_rng(6)
  n, effect = 4000, 0.4
  x = rng.normal(size=n)
  members = rng.random(n) < 1 / (1 + np.exp(-1.2 * x))
  scores = x + effect * members + rng.normal(size=n)
  truth = scipy.stats.norm.cdf(effect / 2.0)
  wrong = np.full(n, members.mean())
  options = dict(propensity=wrong, outcome_model="gaussian", folds=2, thresholds=60)
  aipw = zero_run(scores, members, x, interval="influence", **options)
  ipw = zero_run(scores, members, x, method="ipw", propensity=wrong, num_replicates=0)
  se = aipw.diagnostics["influence_standard_errors"]["auc"]
  assert abs(aipw["auc"].value - truth) < 3 * se
  assert abs(ipw["auc"].value - truth) > 3 * se

  # The member population: draw x from its distribution, proportional to e(x).
  def member_x(r, k):
    draws = r.normal(size=4 * k)
    keep = r.random(4 * k) < 1 / (1 + np.exp(-1.2 * draws))
    return draws[keep][:k]

  truth_members = _auc_truth(lambda r, k: member_x(r, k) + effect + r.normal(size=k),
                             lambda r, k: member_x(r, k) + r.normal(size=k))
  att = zero_run(scores, members, x, target="members", interval="influence", **options)
  se_att = att.diagnostics["influence_standard_errors"]["auc"]
  assert abs(att["auc"].value - truth_members) < 3 * se_att


COVERAGE_ROWS, COVERAGE_THRESHOLDS, COVERAGE_REPETITIONS = 300, 20, 200
COVERAGE_SLOPES, COVERAGE_EFFECT = np.array([1.0, 0.5]), 0.6


def _simulated_aipw(key):
  """Cross-fitted AIPW (logistic propensity, distribution regression) on one simulated pool."""
  n = COVERAGE_ROWS
  plan = engine.Plan("aipw", "pool", nuisance.NuisanceConfig(folds=2), True, None, (0.01,),
                     "step")
  x_key, t_key, noise_key = jax.random.split(key, 3)
  x = jax.random.normal(x_key, (n, 2))
  members = jax.random.uniform(t_key, (n,)) < jax.nn.sigmoid(0.8 * x[:, 0] - 0.5 * x[:, 1])
  scores = (x @ jnp.asarray(COVERAGE_SLOPES) + COVERAGE_EFFECT * members
            + jax.random.normal(noise_key, (n,)))
  features = jnp.concatenate([jnp.ones((n, 1)), (x - x.mean(0)) / x.std(0)], axis=1)
  levels = jnp.linspace(0.0, 1.0, COVERAGE_THRESHOLDS)
  data = engine.Data(
      scores=scores, members=members, features=features,
      fold_ids=(jnp.arange(n) % 2).astype(jnp.int32), cells=jnp.zeros(n, jnp.int32),
      given_propensity=jnp.zeros(n), grid=jnp.quantile(scores, levels, method="higher")[::-1],
      sorted_scores=_kernel.sort_scores(scores, members))
  propensity = engine.raw_propensity(plan, data, jnp.ones(n), key)
  output = engine.point_estimate(plan, data, propensity)
  return output["metrics"][0], output["standard_errors"][0]


def test_aipw_interval_coverage_over_200_repetitions():
  keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.key(7), i))(
      jnp.arange(COVERAGE_REPETITIONS))
  auc, se = jax.jit(lambda k: jax.lax.map(_simulated_aipw, k, batch_size=50))(keys)
  auc, se = np.asarray(auc), np.asarray(se)
  spread = float(COVERAGE_SLOPES @ COVERAGE_SLOPES)
  truth = scipy.stats.norm.cdf(COVERAGE_EFFECT / np.sqrt(2 * spread + 2))
  z = scipy.stats.norm.ppf(0.975)
  coverage = np.mean((auc - z * se <= truth) & (truth <= auc + z * se))
  assert 0.92 <= coverage <= 0.98
  # The standard errors track the spread of the estimates across repetitions.
  assert se.mean() == pytest.approx(auc.std(), rel=0.2)
  assert abs(auc.mean() - truth) < 3 * auc.std() / np.sqrt(COVERAGE_REPETITIONS)


# --- curves on a grid ----------------------------------------------------------


def test_isotonic_matches_pool_adjacent_violators():
  rng = np.random.default_rng(2)
  isotonic = jax.jit(adjusted_curves.isotonic_increasing)
  for size in (1, 7, 30):
    values = rng.normal(size=size)
    np.testing.assert_allclose(isotonic(jnp.asarray(values)),
                               _reference_isotonic(values), rtol=1e-5, atol=1e-6)


def test_projection_reports_largest_change():
  raw = jnp.array([-0.1, 0.3, 0.2, 0.9, 1.2])
  projected, change = adjusted_curves.project_curve(raw)
  np.testing.assert_allclose(projected, [0.0, 0.25, 0.25, 0.9, 1.0], atol=1e-6)
  assert float(change) == pytest.approx(0.2, abs=1e-6)
  assert np.all(np.diff(np.asarray(projected)) >= 0)


def test_grid_metrics_equal_kernel_on_distinct_scores():
  rng = np.random.default_rng(4)
  scores = rng.integers(0, 10, 60).astype(np.float32)
  members = rng.random(60) < 0.4
  weights = rng.uniform(0.5, 2.0, 60).astype(np.float32)
  grid = np.unique(scores)[::-1]
  indicators = adjusted_curves.threshold_indicators(jnp.asarray(scores), jnp.asarray(grid))
  f1 = indicators @ (weights * members) / np.sum(weights * members)
  f0 = indicators @ (weights * ~members) / np.sum(weights * ~members)
  fprs = (0.05, 0.2)
  on_grid = jax.jit(adjusted_curves.grid_metrics, static_argnums=(3, 4))(
      f1, f0, jnp.asarray(grid), fprs, "hull")
  sorted_scores = _kernel.sort_scores(jnp.asarray(scores), jnp.asarray(members))
  kernel = jax.jit(adjusted_curves.kernel_metrics, static_argnums=(2, 3))(
      sorted_scores, jnp.asarray(weights)[sorted_scores.order], fprs, "hull")
  np.testing.assert_allclose(on_grid, kernel, rtol=1e-5, atol=1e-6)


def test_threshold_grid_keeps_extremes_and_tail():
  scores = np.random.default_rng(0).normal(size=5000)
  grid = engine.threshold_grid(scores, 64)
  assert grid[0] == scores.max()
  assert grid[-1] == scores.min()
  assert np.all(np.diff(grid) < 0)
  assert len(grid) <= 66
  assert np.sum(grid >= np.quantile(scores, 0.99)) >= 8
  small = np.array([3.0, 1.0, 2.0, 2.0])
  assert engine.threshold_grid(small, 64).tolist() == [3.0, 2.0, 1.0]


# --- nuisance models -------------------------------------------------------------


def test_logistic_matches_sklearn_with_weights():
  rng = np.random.default_rng(0)
  x = rng.normal(size=(300, 3))
  labels = (rng.random(300) < 1 / (1 + np.exp(-(x @ [1.0, -2.0, 0.5])))).astype(float)
  weights = rng.integers(0, 3, 300).astype(float)
  features = nuisance.design_matrix(x)
  l2 = 1e-2
  coef = nuisance.fit_logistic(jnp.asarray(features), jnp.asarray(labels, jnp.float32),
                               jnp.asarray(weights, jnp.float32), l2=l2, steps=15)
  reference = LogisticRegression(C=1 / (l2 * weights.sum()), tol=1e-10, max_iter=10_000)
  reference.fit(features[:, 1:], labels, sample_weight=weights)
  np.testing.assert_allclose(coef[0], reference.intercept_[0], atol=1e-4)
  np.testing.assert_allclose(coef[1:], reference.coef_[0], atol=1e-4)


def test_distribution_regression_matches_per_threshold_loop():
  rng = np.random.default_rng(1)
  n = 80
  x = rng.normal(size=(n, 2))
  members = rng.random(n) < 0.5
  scores = (x[:, 0] + members + rng.normal(size=n)).astype(np.float32)
  features = jnp.asarray(nuisance.design_matrix(x))
  fold_ids = nuisance.assign_folds(jax.random.key(0), members, 2)
  grid = np.sort(scores)[::-16][:5]
  config = nuisance.NuisanceConfig(folds=2)
  mu = jax.jit(nuisance.distribution_regression, static_argnums=6)(
      features, jnp.asarray(scores), jnp.asarray(members), jnp.ones(n), jnp.asarray(fold_ids),
      jnp.asarray(grid), config)
  fit = jax.jit(lambda labels, weights: nuisance.fit_logistic(
      features, labels, weights, l2=config.l2, steps=config.newton_steps))
  for group, j, fold in itertools.product((0, 1), range(len(grid)), (0, 1)):
    train = (members == bool(group)) & (fold_ids != fold)
    labels = (scores >= grid[j]).astype(np.float32)
    coef = fit(jnp.asarray(labels), jnp.asarray(train, jnp.float32))
    rows = fold_ids == fold
    expected = np.asarray(nuisance.predict_logistic(coef, features))[rows]
    if labels[train].min() == labels[train].max():
      expected = np.full(rows.sum(), labels[train][0])
    np.testing.assert_allclose(np.asarray(mu)[group, j, rows], expected, rtol=1e-3, atol=1e-4)


def test_gaussian_location_scale_recovers_model():
  rng = np.random.default_rng(2)
  n = 6000
  x = rng.normal(size=n)
  members = rng.random(n) < 0.5
  scale = np.exp(0.3 * x)
  scores = (1.0 + 2.0 * x + members + scale * rng.normal(size=n)).astype(np.float32)
  features = jnp.asarray(nuisance.design_matrix(x))
  grid = jnp.asarray([3.0, 1.0, -1.0], jnp.float32)
  mu = nuisance.gaussian_location_scale(
      features, jnp.asarray(scores), jnp.asarray(members), jnp.ones(n),
      jnp.zeros(n, jnp.int32), grid, nuisance.NuisanceConfig(folds=1, l2=0.0))
  for group in (0, 1):
    mean = 1.0 + 2.0 * x + group
    expected = scipy.stats.norm.cdf((mean[None, :] - np.asarray(grid)[:, None]) / scale)
    error = np.abs(np.asarray(mu)[group] - expected)
    assert error.mean() < 0.01
    assert error.max() < 0.06


def test_cross_fitted_propensity_ignores_own_fold():
  rng = np.random.default_rng(3)
  n = 60
  x = rng.normal(size=(n, 2))
  members = rng.random(n) < 1 / (1 + np.exp(-x[:, 0]))
  features = jnp.asarray(nuisance.design_matrix(x))
  fold_ids = nuisance.assign_folds(jax.random.key(1), members, 3)
  config = nuisance.NuisanceConfig(folds=3)
  cross_fit = jax.jit(nuisance.cross_fit_propensity, static_argnums=5)
  base = cross_fit(jax.random.key(0), features, jnp.asarray(members), jnp.ones(n),
                   jnp.asarray(fold_ids), config)
  flipped = members.copy()
  flipped[0] = ~flipped[0]
  changed = cross_fit(jax.random.key(0), features, jnp.asarray(flipped), jnp.ones(n),
                      jnp.asarray(fold_ids), config)
  same_fold = fold_ids == fold_ids[0]
  np.testing.assert_allclose(np.asarray(changed)[same_fold], np.asarray(base)[same_fold],
                             atol=1e-6)
  assert np.abs(np.asarray(changed) - np.asarray(base))[~same_fold].max() > 1e-4


def test_folds_are_stratified_by_membership():
  members = np.array([1] * 10 + [0] * 7, bool)
  fold_ids = nuisance.assign_folds(jax.random.key(3), members, 3)
  for fold in range(3):
    assert (members & (fold_ids == fold)).sum() in (3, 4)
    assert (~members & (fold_ids == fold)).sum() in (2, 3)


def test_cells_propensity_is_cell_member_share():
  covariates = np.array([[0, 1], [0, 1], [0, 1], [1, 0], [1, 0]])
  members = jnp.array([1, 1, 0, 1, 0], bool)
  cells, count = nuisance.cell_ids(covariates)
  config = nuisance.NuisanceConfig(propensity_model="cells", num_cells=count)
  propensity = nuisance.cross_fit_propensity(None, None, members, jnp.ones(5),
                                             jnp.zeros(5, jnp.int32), config, jnp.asarray(cells))
  np.testing.assert_allclose(propensity, [2 / 3] * 3 + [0.5] * 2, rtol=1e-6)


@quiet
def test_mlp_propensity_tracks_true_propensity():
  rng = np.random.default_rng(4)
  n = 400
  x = rng.normal(size=(n, 2))
  true_propensity = 1 / (1 + np.exp(-2 * x[:, 0]))
  members = rng.random(n) < true_propensity
  scores = x[:, 0] + members + rng.normal(size=n)
  result = zero_run(scores, members, x, method="ipw", propensity_model="mlp", folds=2,
                    num_replicates=0)
  fitted = result.per_example["propensity"]
  assert np.all((fitted > 0) & (fitted < 1))
  assert np.corrcoef(fitted, true_propensity)[0, 1] > 0.9
  assert "mlp" in result.diagnostics["propensity"]["source"]


# --- bootstrap and results ---------------------------------------------------------


@quiet
def test_bootstrap_replicates_match_single_evaluations():
  rng = np.random.default_rng(8)
  n = 60
  x = rng.normal(size=(n, 1))
  members = rng.random(n) < 0.5
  scores = x[:, 0] + members + rng.normal(size=n)
  plan = engine.Plan("ipw", "pool", nuisance.NuisanceConfig(folds=2), True, None, (0.1,), "step")
  data = engine.Data(
      jnp.asarray(scores, jnp.float32), jnp.asarray(members),
      jnp.asarray(nuisance.design_matrix(x)),
      jnp.asarray(nuisance.assign_folds(jax.random.key(0), members, 2)),
      jnp.zeros(n, jnp.int32), jnp.zeros(n), jnp.asarray(engine.threshold_grid(scores, 10),
                                                         jnp.float32),
      _kernel.sort_scores(jnp.asarray(scores, jnp.float32), jnp.asarray(members)))
  key, model_key = jax.random.key(1), jax.random.key(2)
  replicates, _ = engine.bootstrap_replicates(plan, data, key, model_key, 3, chunk=2)
  estimate_once = jax.jit(engine.estimate_once, static_argnames="plan")
  for b in range(3):
    draws = jax.random.randint(jax.random.fold_in(key, b), (n,), 0, n)
    weights = jnp.zeros(n).at[draws].add(1.0)
    single, _ = estimate_once(plan, data, weights, jax.random.fold_in(model_key, b))
    np.testing.assert_allclose(replicates[b], single, rtol=1e-4, atol=1e-5)


@quiet
def test_zero_run_result_shape_and_diagnostics():
  rng = np.random.default_rng(9)
  n = 400
  x = rng.normal(size=(n, 2))
  members = rng.random(n) < 1 / (1 + np.exp(-x[:, 0]))
  scores = x[:, 0] + 0.5 * members + rng.normal(size=n)
  result = zero_run(scores, members, x, method="gformula", outcome_model="gaussian", folds=2,
                    thresholds=20, num_replicates=10, covariate_names=["a", "b"])
  assert result.regime == "zero-run"
  assert list(result.metrics) == ["auc", "advantage", "tpr@0.01", "tpr@0.001", "mean_difference"]
  for metric in result.metrics.values():
    assert metric.ci_low <= metric.value <= metric.ci_high
  smd = result.diagnostics["standardized_mean_differences"]["a"]
  assert abs(smd["weighted"]) < abs(smd["unweighted"])
  assert set(result.diagnostics["propensity_quantiles"]) == {"members", "nonmembers"}
  assert "share_propensity_outside_0.05_0.95" in result.diagnostics
  assert result.diagnostics["naive"]["auc"] > result["auc"].value
  assert result.diagnostics["grid"]["thresholds"] <= 22
  assert result.curve["fpr"][0] == 0
  assert result.curve["tpr"][-1] == 1
  assert np.all(np.diff(result.curve["fpr"]) >= 0)
  payload = result.to_dict(include_curve=True)
  assert payload["metrics"]["auc"]["value"] == pytest.approx(result["auc"].value)
  again = zero_run(scores, members, x, method="gformula", outcome_model="gaussian", folds=2,
                   thresholds=20, num_replicates=10, covariate_names=["a", "b"])
  assert again["auc"].ci_low == result["auc"].ci_low


def test_weak_overlap_warns_without_raising():
  rng = np.random.default_rng(1)
  n = 400
  x = rng.normal(size=(n, 2))
  members = rng.random(n) < 1 / (1 + np.exp(-(0.8 * x[:, 0] - 0.5 * x[:, 1])))
  scores = x[:, 0] + members + rng.normal(size=n)
  with pytest.warns(LowOverlapWarning, match="Weak overlap"):
    result = zero_run(scores, members, x, method="ipw", num_replicates=0)
  assert result.diagnostics["overlap"]["causal"] is True
  assert result.diagnostics["overlap"]["rows_with_weak_overlap"] > 0


def test_disjoint_groups_raise_and_cannot_be_trimmed():
  year = np.arange(40, dtype=float)
  members = year < 20
  scores = -year
  with pytest.raises(PositivityError, match="never overlap in year"):
    zero_run(scores, members, year, method="ipw", covariate_names=["year"], num_replicates=0)
  with pytest.raises(PositivityError, match="No overlap region"):
    zero_run(scores, members, year, method="ipw", covariate_names=["year"], trim="support",
             num_replicates=0)


@quiet
def test_trim_by_propensity_keeps_band():
  rng = np.random.default_rng(2)
  n = 400
  x = rng.normal(size=n)
  propensity = 1 / (1 + np.exp(-2 * x))
  members = rng.random(n) < propensity
  scores = x + rng.normal(size=n)
  result = zero_run(scores, members, x, method="ipw", propensity=propensity, trim=0.1,
                    num_replicates=0)
  kept = (propensity >= 0.1) & (propensity <= 0.9)
  assert result.per_example["kept"].tolist() == kept.tolist()
  assert result.counts["examples"] == kept.sum()
  assert np.isnan(result.per_example["propensity"][~kept]).all()


@pytest.mark.parametrize("arguments, match", [
    (dict(method="magic"), "Unknown method"),
    (dict(target="everyone"), "Unknown target"),
    (dict(method="ipw", interval="influence"), "available for method 'aipw' only"),
    (dict(clip=0.7), "clip must be"),
    (dict(trim="all"), "trim must be"),
    (dict(folds=50), "folds=50"),
    (dict(covariates=np.full((20, 1), np.nan)), "row 0, column 0"),
    (dict(covariates=None), "needs covariates"),
    (dict(propensity=np.full(20, 1.5)), "propensity must lie in"),
    (dict(members=np.ones(20)), "no non-member row"),
    (dict(members=np.full(20, 2)), "only 0/1"),
    (dict(scores=np.full(20, np.inf)), "infinite values"),
])
def test_zero_run_rejects_bad_input(arguments, match):
  rng = np.random.default_rng(0)
  inputs = dict(scores=rng.normal(size=20), members=np.arange(20) % 2,
                covariates=rng.normal(size=(20, 1)))
  inputs.update(arguments)
  with pytest.raises(ValueError, match=match):
    zero_run(inputs.pop("scores"), inputs.pop("members"), inputs.pop("covariates"),
             num_replicates=0, **inputs)


def test_effective_sample_size_and_low_ess_rule():
  assert overlap.effective_sample_size([1.0, 1.0, 1.0]) == pytest.approx(3.0)
  assert overlap.is_low_ess(1.04, 2)
  assert not overlap.is_low_ess(2.0, 2)
  assert not overlap.is_low_ess(900.0, 1000)
  with warnings.catch_warnings():
    warnings.simplefilter("error")
    assert np.isnan(overlap.effective_sample_size([0.0, 0.0]))


def test_overlap_description_uses_row_ids():
  report = overlap.assess_overlap(np.array([1.0, 0.5, 0.5]), np.array([0, 1, 0]),
                                  row_ids=np.array([7, 8, 9]))
  assert "Non-member row(s) 7 (0-based)" in report.description
  assert report.to_dict()["rows_without_overlap_listed"] == [7]
