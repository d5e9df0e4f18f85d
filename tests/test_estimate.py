"""Multi-run and one-run estimators: values, intervals, coverage and bad input."""

import json
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from causalmia import metrics
from causalmia.errors import UndefinedMetricWarning
from causalmia.estimate import bootstrap, estimate_statistic, multi_run, one_run
from causalmia.estimate import per_example_memorization
from causalmia.estimate import randomized
from causalmia.metrics import _kernel, summary

DELTA = 0.8
TRUE_AUC = float(stats.norm.cdf(DELTA / np.sqrt(2)))


def gaussian_runs(seed, runs, examples, delta=DELTA):
  rng = np.random.default_rng(seed)
  masks = rng.random((runs, examples)) < 0.5
  scores = rng.normal(size=(runs, examples)) + delta * masks
  return scores.astype(np.float32), masks


def test_multi_run_point_estimate_is_pooled_metric():
  scores, masks = gaussian_runs(0, 6, 40)
  result = multi_run(scores, masks, num_replicates=0, fpr=(0.05,))
  flat_scores, flat_members = scores.ravel(), masks.ravel()
  assert result["auc"].value == pytest.approx(metrics.roc_auc(flat_scores, flat_members))
  assert result["advantage"].value == pytest.approx(metrics.advantage(flat_scores, flat_members))
  assert result["tpr@0.05"].value == pytest.approx(
      metrics.tpr_at_fpr(flat_scores, flat_members, 0.05))
  assert result["tpr@0.05"].convention == "step"
  assert result.counts == {"runs": 6, "examples": 40, "member_rows": int(masks.sum()),
                           "nonmember_rows": int((~masks).sum())}


def test_multi_run_auc_near_gaussian_truth():
  scores, masks = gaussian_runs(1, 40, 200)
  result = multi_run(scores, masks, num_replicates=200, seed=1)
  auc = result["auc"]
  standard_error = (auc.ci_high - auc.ci_low) / (2 * 1.96)
  assert abs(auc.value - TRUE_AUC) < 4 * standard_error
  assert auc.ci_low < auc.value < auc.ci_high


def test_multi_run_interval_is_a_cluster_bootstrap():
  # A run-level shift that all of a run's scores share makes runs, not rows,
  # the independent units: the cluster interval must be wider than one that
  # treats the rows as independent.
  rng = np.random.default_rng(2)
  masks = rng.random((12, 100)) < 0.5
  scores = rng.normal(size=(12, 100)) + 0.5 * masks + 2.0 * rng.normal(size=(12, 1)) * masks
  clustered = multi_run(scores, masks, num_replicates=300, seed=0)["auc"]
  rows = one_run(scores.ravel(), masks.ravel(), num_replicates=300, seed=0)["auc"]
  assert clustered.ci_high - clustered.ci_low > 1.5 * (rows.ci_high - rows.ci_low)


def test_multi_run_reproducible_with_seed():
  scores, masks = gaussian_runs(3, 5, 30)
  first = multi_run(scores, masks, num_replicates=50, seed=4)
  second = multi_run(scores, masks, num_replicates=50, seed=4)
  assert first.to_dict() == second.to_dict()


# --- Coverage over simulated repetitions, vectorized with vmap. ---

RUNS, EXAMPLES, REPLICATES, REPETITIONS = 50, 20, 1000, 400


def _multi_run_interval(key):
  mask_key, score_key, boot_key = jax.random.split(key, 3)
  masks = jax.random.bernoulli(mask_key, 0.5, (RUNS, EXAMPLES))
  scores = jax.random.normal(score_key, (RUNS, EXAMPLES)) + DELTA * masks
  sorted_scores = _kernel.sort_scores(scores.reshape(-1), masks.reshape(-1))
  ones = jnp.ones(RUNS * EXAMPLES)
  point = summary.summarize(_kernel.curve_points(sorted_scores, ones), (), "step")[0]
  run_of_row = jnp.repeat(jnp.arange(RUNS), EXAMPLES)[sorted_scores.order]
  sampler = bootstrap.ClusterSampler(run_of_row, RUNS)

  def replicate(b):
    weights = sampler(jax.random.fold_in(boot_key, b))
    return summary.summarize(_kernel.curve_points(sorted_scores, weights), (), "step")[0]

  replicates = jax.lax.map(replicate, jnp.arange(REPLICATES), batch_size=50)
  return point, jnp.quantile(replicates, 0.025), jnp.quantile(replicates, 0.975)


def _one_run_interval(key):
  mask_key, score_key, boot_key = jax.random.split(key, 3)
  n = RUNS * EXAMPLES
  mask = jnp.zeros(n, bool).at[jax.random.permutation(mask_key, n)[: n // 2]].set(True)
  scores = jax.random.normal(score_key, (n,)) + DELTA * mask
  sorted_scores = _kernel.sort_scores(scores, mask)
  point = summary.summarize(_kernel.curve_points(sorted_scores, jnp.ones(n)), (), "step")[0]
  member_rows = jnp.nonzero(sorted_scores.members, size=n // 2)[0]
  nonmember_rows = jnp.nonzero(~sorted_scores.members, size=n - n // 2)[0]
  sampler = bootstrap.StratifiedSampler(member_rows, nonmember_rows)

  def replicate(b):
    weights = sampler(jax.random.fold_in(boot_key, b))
    return summary.summarize(_kernel.curve_points(sorted_scores, weights), (), "step")[0]

  replicates = jax.lax.map(replicate, jnp.arange(REPLICATES), batch_size=50)
  return point, jnp.quantile(replicates, 0.025), jnp.quantile(replicates, 0.975)


@pytest.mark.parametrize("interval", [_multi_run_interval, _one_run_interval],
                         ids=["multi-run", "one-run"])
def test_interval_coverage_over_repetitions(interval):
  keys = jax.random.split(jax.random.key(2026), REPETITIONS)
  point, low, high = jax.jit(lambda k: jax.lax.map(interval, k, batch_size=10))(keys)
  covered = np.mean((np.asarray(low) <= TRUE_AUC) & (TRUE_AUC <= np.asarray(high)))
  assert 0.92 <= covered <= 0.98, f"coverage {covered:.3f}"
  assert abs(np.mean(point) - TRUE_AUC) < 3 * np.std(point) / np.sqrt(REPETITIONS)


def test_coverage_helper_matches_multi_run():
  # The vectorized repetition above must compute what `multi_run` computes.
  key = jax.random.key(11)
  point, low, high = jax.jit(_multi_run_interval)(key)
  mask_key, score_key, boot_key = jax.random.split(key, 3)
  masks = jax.random.bernoulli(mask_key, 0.5, (RUNS, EXAMPLES))
  scores = jax.random.normal(score_key, (RUNS, EXAMPLES)) + DELTA * masks
  result = multi_run(np.asarray(scores), np.asarray(masks), key=boot_key,
                     num_replicates=REPLICATES, fpr=())
  assert result["auc"].value == pytest.approx(float(point), abs=1e-6)
  assert result["auc"].ci_low == pytest.approx(float(low), abs=1e-6)
  assert result["auc"].ci_high == pytest.approx(float(high), abs=1e-6)


# --- Per-example memorization. ---


def test_memorization_matches_loop():
  scores, masks = gaussian_runs(5, 8, 6)
  memorization, undefined = per_example_memorization(scores, masks)
  for i in range(6):
    inside = [scores[r, i] for r in range(8) if masks[r, i]]
    outside = [scores[r, i] for r in range(8) if not masks[r, i]]
    assert memorization[i] == pytest.approx(np.mean(inside) - np.mean(outside), rel=1e-6)
  assert undefined == 0


def test_memorization_never_out_is_nan_and_skipped():
  scores = np.array([[1.0, 2.0], [3.0, 4.0]])
  masks = np.array([[True, True], [True, False]])
  with pytest.warns(UndefinedMetricWarning, match="1 example"):
    result = multi_run(scores, masks, num_replicates=0)
  memorization = result.per_example["memorization"]
  assert np.isnan(memorization[0])
  assert memorization[1] == pytest.approx(-2.0)
  assert result.diagnostics["examples_without_memorization"] == 1
  assert result.diagnostics["mean_memorization"] == pytest.approx(-2.0)
  assert any("never in or never out" in note for note in result.notes)


# --- One run. ---


def test_one_run_values_and_interval():
  rng = np.random.default_rng(6)
  mask = rng.random(400) < 0.5
  scores = rng.normal(size=400) + DELTA * mask
  result = one_run(scores, mask, num_replicates=200, fpr=(0.01, 0.001))
  assert result["auc"].value == pytest.approx(metrics.roc_auc(scores, mask))
  assert result["auc"].ci_low < result["auc"].value < result["auc"].ci_high
  assert result["tpr@0.001"].below_resolution
  assert not result["tpr@0.01"].below_resolution
  assert result.regime == "one-run"


def test_poisson_resampling_agrees_with_multinomial():
  rng = np.random.default_rng(9)
  mask = rng.random(600) < 0.5
  scores = rng.normal(size=600) + DELTA * mask
  multinomial = one_run(scores, mask, num_replicates=400, fpr=())["auc"]
  poisson = one_run(scores, mask, num_replicates=400, fpr=(), resampling="poisson")["auc"]
  assert poisson.value == multinomial.value
  width = multinomial.ci_high - multinomial.ci_low
  assert abs((poisson.ci_high - poisson.ci_low) - width) < 0.2 * width
  with pytest.raises(ValueError, match="Unknown resampling"):
    one_run(scores, mask, resampling="jackknife")


def test_single_group_gives_nan_and_warning():
  with pytest.warns(UndefinedMetricWarning, match="no non-member"):
    result = one_run([0.1, 0.2, 0.3], [1, 1, 1], num_replicates=10)
  assert np.isnan(result["auc"].value)
  assert np.isnan(result["auc"].ci_low)
  assert result["auc"].skipped_replicates == 10


def test_result_serializes_to_strict_json():
  with warnings.catch_warnings():
    warnings.simplefilter("ignore", UndefinedMetricWarning)
    result = one_run([0.1, 0.2, 0.3], [1, 1, 1], num_replicates=5)
  text = json.dumps(result.to_dict(include_curve=True), allow_nan=False)
  assert '"value": null' in text
  assert "auc" in result.table()


# --- Bad input. ---


def test_multi_run_rejects_bad_input():
  scores, masks = gaussian_runs(7, 3, 4)
  with pytest.raises(ValueError, match="masks has shape"):
    multi_run(scores, masks[:, :3])
  with pytest.raises(ValueError, match=r"\[runs, examples\]"):
    multi_run(scores[0], masks[0])
  bad = scores.copy()
  bad[1, 2] = np.nan
  bad[2, 0] = np.nan
  with pytest.raises(ValueError, match=r"2 NaN value\(s\) at position\(s\) \(1, 2\), \(2, 0\)"):
    multi_run(bad, masks)
  with pytest.raises(ValueError, match="confidence"):
    multi_run(scores, masks, confidence=1.0)
  with pytest.raises(ValueError, match="Unknown convention"):
    multi_run(scores, masks, convention="interpolated")


def test_estimators_compile_once_per_shape():
  scores, masks = gaussian_runs(8, 4, 25)
  multi_run(scores, masks, num_replicates=20)
  point_cache = randomized._point_estimate._cache_size()
  chunk_cache = bootstrap._replicate_chunk._cache_size()
  for seed in range(3):
    other_scores, other_masks = gaussian_runs(100 + seed, 4, 25)
    multi_run(other_scores, other_masks, num_replicates=20, seed=seed)
  assert randomized._point_estimate._cache_size() == point_cache
  assert bootstrap._replicate_chunk._cache_size() == chunk_cache


# --- Custom statistics through the extension point. ---


def _mean_difference(sorted_scores, weights):
  members = sorted_scores.members
  member_weights = jnp.where(members, weights, 0.0)
  nonmember_weights = jnp.where(members, 0.0, weights)
  values = sorted_scores.scores
  difference = (jnp.sum(member_weights * values) / jnp.sum(member_weights)
                - jnp.sum(nonmember_weights * values) / jnp.sum(nonmember_weights))
  return jnp.stack([difference])


def test_custom_statistic_point_and_interval():
  scores, masks = gaussian_runs(12, 30, 50)
  value, low, high = estimate_statistic(_mean_difference, scores, masks, num_replicates=300)
  assert value[0] == pytest.approx(scores[masks].mean() - scores[~masks].mean(), rel=1e-5)
  assert low[0] < value[0] < high[0]
  assert low[0] < DELTA < high[0]


def test_custom_roc_statistic_reproduces_multi_run():
  scores, masks = gaussian_runs(13, 10, 30)
  statistic = bootstrap.roc_statistic((0.1,), "step")
  value, low, high = estimate_statistic(statistic, scores, masks, num_replicates=100, seed=3)
  result = multi_run(scores, masks, fpr=(0.1,), num_replicates=100, seed=3)
  assert value[0] == pytest.approx(result["auc"].value)
  assert low[0] == pytest.approx(result["auc"].ci_low)
  assert high[2] == pytest.approx(result["tpr@0.1"].ci_high)
