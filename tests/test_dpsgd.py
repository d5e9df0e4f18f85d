"""DP-SGD in the many-model trainer: limiting cases, noise scale, sampling and accounting."""

import dataclasses
import math

import dp_accounting
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from dp_accounting import rdp
from scipy import stats

from causalmia import dpsgd
from causalmia import models
from causalmia import training
from causalmia.data import load_digits

POOL = 60
INCLUDED = 24
LEARNING_RATE = 0.5


@pytest.fixture(scope="module")
def digits():
  dataset = load_digits()
  return jnp.asarray(dataset.inputs[:POOL]), jnp.asarray(dataset.labels[:POOL])


def _config(**overrides):
  base = dict(model=models.ModelConfig("linear"), optimizer="sgd", learning_rate=LEARNING_RATE,
              steps=4, batch_size=INCLUDED, dp_noise_multiplier=0.0, dp_clip_norm=math.inf,
              dp_sampling="poisson", dp_sampling_rate=1.0)
  return training.TrainConfig(**{**base, **overrides})


# Compiled once per config and shared by the tests.
_train_one = jax.jit(training.train_one, static_argnames="config")
_LINEAR = models.build_model(models.ModelConfig("linear"), 10)


def _initial_params(key, inputs):
  """The DP trainer's initial parameters: it splits the run key into (init, batch, noise)."""
  return _LINEAR.init(jax.random.split(key, 3)[0], inputs[:1])


@jax.jit
def _example_gradients(params, inputs, labels):
  def loss(params, x, y):
    return optax.softmax_cross_entropy_with_integer_labels(_LINEAR.apply(params, x[None]),
                                                           y[None])[0]
  return jax.vmap(jax.grad(loss), in_axes=(None, 0, 0))(params, inputs, labels)


def _full_batch_descent(key, mask, inputs, labels, config):
  """Plain gradient descent on the mean loss of all included examples, step by step."""
  params = _initial_params(key, inputs)
  included = np.flatnonzero(np.asarray(mask))
  for _ in range(config.steps):
    grads = _example_gradients(params, inputs[included], labels[included])
    params = jax.tree.map(lambda p, g: p - config.learning_rate * g.mean(axis=0), params, grads)
  return params


@pytest.mark.parametrize("sampling", ["poisson", "fixed"])
def test_no_noise_no_clipping_equals_sgd(digits, sampling):
  # Poisson rate 1 and fixed batches of all included examples both take every
  # included example at every step, so DP-SGD must reduce to gradient descent.
  inputs, labels = digits
  masks = jnp.asarray(np.random.default_rng(0).permutation(
      np.tile(np.arange(POOL) < INCLUDED, (3, 1)).T).T)
  config = _config(dp_sampling=sampling)
  key = jax.random.key(5)
  params, losses = training.train_many(key, masks, inputs, labels, config)
  assert np.isfinite(np.asarray(losses)).all()
  for r in range(3):
    expected = _full_batch_descent(jax.random.fold_in(key, r), masks[r], inputs, labels, config)
    actual = jax.tree.map(lambda leaf: leaf[r], params)
    jax.tree.map(lambda a, e: np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-6),
                 actual, expected)


def test_private_vmapped_equals_loop(digits):
  inputs, labels = digits
  masks = jax.random.bernoulli(jax.random.key(1), 0.5, (3, POOL))
  config = _config(dp_noise_multiplier=1.0, dp_clip_norm=0.5, dp_sampling_rate=0.3,
                   batch_size=10, steps=3)
  key = jax.random.key(2)
  params, losses = training.train_many(key, masks, inputs, labels, config, chunk_size=2)
  for r in range(3):
    one, one_losses = _train_one(jax.random.fold_in(key, r), masks[r], inputs, labels, config)
    jax.tree.map(lambda a, e: np.testing.assert_allclose(a[r], e, rtol=1e-5, atol=1e-6),
                 params, one)
    np.testing.assert_allclose(losses[r], one_losses, rtol=1e-5)
  first = jax.tree.leaves(params)[0]
  assert not np.allclose(first[0], first[1])


def _clipped_sum(params, inputs, labels, clip):
  """Sum over examples of each gradient scaled to L2 norm at most `clip`."""
  grads = _example_gradients(params, inputs, labels)
  flat = np.concatenate([np.asarray(g).reshape(len(inputs), -1) for g in jax.tree.leaves(grads)],
                        axis=1)
  norms = np.linalg.norm(flat, axis=1, keepdims=True)
  return (flat * np.minimum(1.0, clip / norms)).sum(axis=0), norms[:, 0]


def _flat_step(params, initial):
  return np.concatenate([np.asarray(a - b).ravel() for a, b in
                         zip(jax.tree.leaves(params), jax.tree.leaves(initial))])


def test_noise_has_configured_scale(digits):
  # One SGD step with learning rate 1 on a batch of all 8 included examples: the
  # update is -(clipped sum + noise) / 8, with i.i.d. N(0, (sigma C)^2) noise in
  # every coordinate.
  inputs, labels = digits
  sigma, clip, batch, runs = 2.0, 0.7, 8, 4
  config = _config(dp_noise_multiplier=sigma, dp_clip_norm=clip, dp_sampling="fixed",
                   batch_size=batch, steps=1, learning_rate=1.0)
  masks = jnp.tile(jnp.arange(POOL) < batch, (runs, 1))
  key = jax.random.key(11)
  params, _ = training.train_many(key, masks, inputs, labels, config)

  noise = []
  for r in range(runs):
    initial = _initial_params(jax.random.fold_in(key, r), inputs)
    clipped, _ = _clipped_sum(initial, inputs[:batch], labels[:batch], clip)
    step = _flat_step(jax.tree.map(lambda leaf: leaf[r], params), initial)
    noise.append(-batch * step - clipped)
  noise = np.stack(noise)
  n = noise.size  # 4 runs x 650 parameters
  expected = sigma * clip
  # Standard errors of the sample mean and of the sample standard deviation of n normals.
  assert abs(noise.mean()) < 4 * expected / math.sqrt(n)
  assert abs(noise.std() - expected) < 4 * expected / math.sqrt(2 * n)
  # Runs draw independent noise.
  assert abs(np.corrcoef(noise[0], noise[1])[0, 1]) < 4 / math.sqrt(noise.shape[1])


def test_clipping_bounds_each_example(digits):
  # A noiseless batch of one example: the update is its gradient, clipped.
  inputs, labels = digits
  clip = 0.01
  config = _config(dp_clip_norm=clip, dp_sampling="fixed", batch_size=1, steps=1,
                   learning_rate=1.0)
  key = jax.random.key(0)
  params, _ = _train_one(key, jnp.arange(POOL) == 3, inputs, labels, config)
  initial = _initial_params(key, inputs)
  clipped, norms = _clipped_sum(initial, inputs[3:4], labels[3:4], clip)
  assert norms[0] > clip  # The example's gradient is larger than the bound...
  step = _flat_step(params, initial)
  np.testing.assert_allclose(np.linalg.norm(step), clip, rtol=1e-5)  # ...and is cut to it,
  np.testing.assert_allclose(-step, clipped, rtol=1e-3, atol=5e-8)  # keeping its direction.


def test_poisson_batches_have_rate_q():
  config = _config(dp_sampling_rate=0.2, batch_size=4)
  mask = jnp.arange(40) < 20
  size = dpsgd.poisson_max_batch_size(41, 0.2, steps=config.steps)
  keys = jax.random.split(jax.random.key(4), 2000)
  indices, padding = jax.vmap(lambda k: dpsgd.draw_batch(k, mask, config, size))(keys)
  indices, padding = np.asarray(indices), np.asarray(padding)
  counts = np.zeros(40)
  for row, pad in zip(indices, padding):
    np.add.at(counts, row[~pad], 1)
  assert counts[20:].sum() == 0  # Excluded examples are never drawn.
  frequency = counts[:20] / len(keys)
  standard_error = math.sqrt(0.2 * 0.8 / len(keys))
  assert np.abs(frequency - 0.2).max() < 4.5 * standard_error
  # Each real slot contains a distinct example.
  for row, pad in zip(indices[:50], padding[:50]):
    assert len(set(row[~pad].tolist())) == int((~pad).sum())


def test_fixed_batches_are_distinct_included():
  config = _config(dp_sampling="fixed", batch_size=6)
  mask = jnp.arange(30) % 3 == 0  # 10 included examples
  keys = jax.random.split(jax.random.key(8), 20)
  indices, padding = jax.vmap(lambda k: dpsgd.draw_batch(k, mask, config, 6))(keys)
  assert not np.asarray(padding).any()
  for row in np.asarray(indices):
    assert len(set(row.tolist())) == 6
    assert np.all(row % 3 == 0)
  # With fewer included examples than slots, the rest is padding.
  indices, padding = dpsgd.draw_batch(keys[0], jnp.arange(30) < 4, config, 6)
  assert int((~padding).sum()) == 4
  assert set(np.asarray(indices)[~np.asarray(padding)].tolist()) == {0, 1, 2, 3}


def test_poisson_max_batch_size_meets_tolerance():
  size = dpsgd.poisson_max_batch_size(500, 0.1, steps=200, tolerance=1e-9)
  assert 200 * stats.binom.sf(size, 500, 0.1) <= 1e-9
  assert 200 * stats.binom.sf(size - 1, 500, 0.1) > 1e-9
  assert dpsgd.truncation_probability(500, 0.1, 200, size) <= 1e-9


def test_account_matches_dp_accounting():
  config = _config(dp_noise_multiplier=1.1, dp_clip_norm=1.0, dp_sampling_rate=0.05, steps=300)
  summary = dpsgd.account(config, delta=1e-5, max_included=400)

  accountant = rdp.RdpAccountant()
  accountant.compose(dp_accounting.SelfComposedDpEvent(
      dp_accounting.PoissonSampledDpEvent(0.05, dp_accounting.GaussianDpEvent(1.1)), 300))
  assert summary["epsilon"] == pytest.approx(accountant.get_epsilon(1e-5), rel=1e-12)
  assert summary["sampling_rate"] == 0.05
  assert summary["steps"] == 300
  assert summary["truncation_probability"] <= 1e-12
  assert summary["delta_with_truncation"] >= summary["delta"]

  fixed = dpsgd.account(dataclasses.replace(config, dp_sampling="fixed"), delta=1e-5,
                        max_included=400)
  assert fixed["epsilon"] is None


def test_invalid_private_settings():
  with pytest.raises(ValueError, match="infinite"):
    _config(dp_noise_multiplier=1.0, dp_clip_norm=math.inf)
  with pytest.raises(ValueError, match="dp_sampling_rate"):
    _config(dp_sampling_rate=None)
  with pytest.raises(ValueError, match="dp_sampling"):
    _config(dp_sampling="shuffle")
  with pytest.raises(ValueError, match="dp_noise_multiplier"):
    _config(dp_noise_multiplier=-1.0)
  with pytest.raises(ValueError, match="DP-SGD config"):
    dpsgd.account(training.TrainConfig(), delta=1e-5, max_included=10)
