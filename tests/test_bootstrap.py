"""Bootstrap weights: cluster and stratified samplers, chunking, intervals."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from causalmia.estimate import bootstrap
from causalmia.metrics import _kernel


def test_cluster_replicate_example():
  # Clusters A=[1,1,1], B=[2,2,2], C=[3,3,3], D=[10,10,10]; drawing
  # [A, A, D, B] gives mean 3.5 over 12 rows.
  values = jnp.array([1, 1, 1, 2, 2, 2, 3, 3, 3, 10, 10, 10], jnp.float32)
  cluster_of_row = jnp.repeat(jnp.arange(4), 3)
  weights = bootstrap.cluster_weights(jnp.array([0, 0, 3, 1]), cluster_of_row, 4)
  assert float(weights.sum()) == 12.0
  assert float(jnp.sum(weights * values) / jnp.sum(weights)) == 3.5


def test_cluster_sampler_counts_whole_runs():
  sampler = bootstrap.ClusterSampler(jnp.repeat(jnp.arange(5), 4), 5)
  weights = np.asarray(sampler(jax.random.key(3))).reshape(5, 4)
  assert np.all(weights == weights[:, :1])  # a run's rows share its multiplicity
  assert weights[:, 0].sum() == 5


def test_stratified_sampler_keeps_group_sizes():
  members = np.array([1, 1, 1, 0, 0, 1, 0], bool)
  sampler = bootstrap.StratifiedSampler.from_members(members)
  for seed in range(5):
    weights = np.asarray(sampler(jax.random.key(seed)))
    assert weights[members].sum() == 4
    assert weights[~members].sum() == 3


def test_poisson_multiplicities_have_unit_mean_and_variance():
  weights = np.asarray(bootstrap.PoissonSampler(200_000)(jax.random.key(1)))
  assert weights.min() >= 0
  assert np.all(weights == np.round(weights))
  standard_error = 1 / np.sqrt(200_000)
  assert abs(weights.mean() - 1) < 4 * standard_error
  assert abs(weights.var() - 1) < 4 * np.sqrt(2) * standard_error * 1.5
  assert abs(np.mean(weights == 0) - np.exp(-1)) < 4 * np.sqrt(0.25 / 200_000)


def test_replicates_do_not_depend_on_chunk_size():
  scores = jnp.asarray(np.random.default_rng(0).normal(size=60), jnp.float32)
  members = jnp.asarray(np.arange(60) % 3 == 0)
  sorted_scores = _kernel.sort_scores(scores, members)
  sampler = bootstrap.StratifiedSampler.from_members(np.asarray(sorted_scores.members))
  key = jax.random.key(7)
  kwargs = dict(fprs=(0.1,), convention="step")
  whole = bootstrap.replicate_metrics(key, sorted_scores, sampler, 23, chunk=23, **kwargs)
  pieces = bootstrap.replicate_metrics(key, sorted_scores, sampler, 23, chunk=5, **kwargs)
  np.testing.assert_array_equal(whole, pieces)
  assert whole.shape == (23, 3)


def test_percentile_interval_skips_nan_replicates():
  replicates = np.array([[0.1], [0.2], [np.nan], [0.3], [0.4]])
  low, high, skipped = bootstrap.percentile_interval(replicates, 0.5)
  assert skipped.tolist() == [1]
  assert low[0] == pytest.approx(np.quantile([0.1, 0.2, 0.3, 0.4], 0.25))
  assert high[0] == pytest.approx(np.quantile([0.1, 0.2, 0.3, 0.4], 0.75))


def test_percentile_interval_all_nan_is_nan():
  low, high, skipped = bootstrap.percentile_interval(np.full((4, 1), np.nan), 0.9)
  assert np.isnan(low[0])
  assert np.isnan(high[0])
  assert skipped[0] == 4
