"""The many-model trainer: vmap equals a loop, chunks, masks, scores, compile count."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from causalmia import designs, models, scores, training

EXAMPLES, FEATURES, CLASSES = 60, 5, 3
RNG = np.random.default_rng(0)
INPUTS = jnp.asarray(RNG.normal(size=(EXAMPLES, FEATURES)), jnp.float32)
LABELS = jnp.asarray(RNG.integers(0, CLASSES, EXAMPLES), jnp.int32)
CONFIG = training.TrainConfig(
    model=models.ModelConfig("mlp", (8,)), num_outputs=CLASSES, steps=15, batch_size=8,
    learning_rate=0.05,
)
KEY = jax.random.key(42)
MASKS = designs.sample_masks(jax.random.key(1), designs.Bernoulli(0.5), EXAMPLES, 6)


@pytest.fixture(scope="module")
def trained():
  return training.train_many(KEY, MASKS, INPUTS, LABELS, CONFIG)


def _max_difference(a, b):
  return max(jax.tree.leaves(jax.tree.map(lambda x, y: float(jnp.max(jnp.abs(x - y))), a, b)))


def test_vmapped_equals_loop_over_train_one(trained):
  params, losses = trained
  for run in range(3):
    alone, alone_losses = training.train_one(
        jax.random.fold_in(KEY, run), MASKS[run], INPUTS, LABELS, CONFIG)
    run_params = jax.tree.map(lambda x: x[run], params)
    assert _max_difference(run_params, alone) < 1e-5
    np.testing.assert_allclose(losses[run], alone_losses, rtol=1e-5, atol=1e-6)


def test_runs_differ(trained):
  params, _ = trained
  first = jax.tree.map(lambda x: x[0], params)
  second = jax.tree.map(lambda x: x[1], params)
  assert _max_difference(first, second) > 1e-3


def test_chunked_equals_unchunked(trained):
  params, losses = trained
  chunked, chunked_losses = training.train_many(KEY, MASKS, INPUTS, LABELS, CONFIG, chunk_size=4)
  assert _max_difference(params, chunked) == 0.0
  np.testing.assert_array_equal(losses, chunked_losses)


def test_trainer_compiles_once_per_shape(trained):
  before = training._train_chunk._cache_size()
  other_masks = designs.sample_masks(jax.random.key(9), designs.Bernoulli(0.3), EXAMPLES, 6)
  training.train_many(jax.random.key(5), other_masks, INPUTS, LABELS, CONFIG)
  assert training._train_chunk._cache_size() == before


def test_minibatches_use_only_included_examples():
  # Excluded rows are NaN: drawing any of them would make the loss NaN.
  mask = jnp.arange(EXAMPLES) % 4 == 0
  poisoned = jnp.where(mask[:, None], INPUTS, jnp.nan)
  _, losses = training.train_one(KEY, mask, poisoned, LABELS, CONFIG)
  assert np.isfinite(np.asarray(losses)).all()


def test_run_without_examples_keeps_initial_parameters():
  params, losses = training.train_one(KEY, jnp.zeros(EXAMPLES, bool), INPUTS, LABELS, CONFIG)
  init_key, _ = jax.random.split(KEY)
  initial = training.init_params(init_key, CONFIG, INPUTS)
  assert _max_difference(params, initial) == 0.0
  assert np.isnan(np.asarray(losses)).all()


def test_training_reduces_loss_on_included_examples(trained):
  _, losses = trained
  assert float(losses[:, -3:].mean()) < float(losses[:, :3].mean())


def test_non_finite_loss_names_runs_and_steps():
  losses = np.zeros((3, 10))
  losses[1, 4:7] = np.nan
  with pytest.raises(FloatingPointError, match=r"1 run\(s\) \(first: \[1\]\) at steps 4..6"):
    training.check_finite_losses(losses)


def test_sgd_step_matches_hand_computed_update():
  config = dataclasses.replace(CONFIG, model=models.ModelConfig("linear", ()), optimizer="sgd",
                               steps=1, batch_size=1)
  mask = jnp.zeros(EXAMPLES, bool).at[7].set(True)
  params, _ = training.train_one(KEY, mask, INPUTS, LABELS, config)
  init_key, _ = jax.random.split(KEY)
  initial = training.init_params(init_key, config, INPUTS)
  model = models.build_model(config.model, CLASSES)

  def loss(p):
    logits = model.apply(p, INPUTS[7:8])
    return optax.softmax_cross_entropy_with_integer_labels(logits, LABELS[7:8]).mean()

  expected = jax.tree.map(lambda p, g: p - config.learning_rate * g, initial, jax.grad(loss)(initial))
  assert _max_difference(params, expected) < 1e-6


# --- Scores. ---


def test_logit_confidence_matches_direct_formula():
  logits = jnp.array([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]])
  labels = jnp.array([0, 2])
  got = scores.logit_confidence(lambda p, x: x, None, logits, labels)
  probs = np.asarray(jax.nn.softmax(logits.astype(jnp.float32)), np.float64)
  p_true = probs[[0, 1], [0, 2]]
  np.testing.assert_allclose(got, np.log(p_true) - np.log1p(-p_true), rtol=1e-5)


def test_logit_confidence_stays_finite_when_confident():
  logits = jnp.array([[200.0, 0.0, 0.0]])
  got = scores.logit_confidence(lambda p, x: x, None, logits, jnp.array([0]))
  assert float(got[0]) == pytest.approx(200.0 - np.log(2.0), rel=1e-6)


def test_negative_loss_is_minus_cross_entropy():
  logits = jnp.array([[2.0, 0.5, -1.0]])
  got = scores.negative_loss(lambda p, x: x, None, logits, jnp.array([1]))
  expected = -optax.softmax_cross_entropy_with_integer_labels(logits, jnp.array([1]))
  np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_score_runs_matches_per_run_loop(trained):
  params, _ = trained
  model = models.build_model(CONFIG.model, CLASSES)
  all_scores = scores.score_runs(scores.logit_confidence, model.apply, params, INPUTS, LABELS)
  assert all_scores.shape == (6, EXAMPLES)
  for run in (0, 4):
    one = scores.logit_confidence(model.apply, jax.tree.map(lambda x: x[run], params),
                                  INPUTS, LABELS)
    np.testing.assert_allclose(all_scores[run], one, rtol=1e-5, atol=1e-5)


def test_members_score_higher_after_training(trained):
  params, _ = trained
  model = models.build_model(CONFIG.model, CLASSES)
  all_scores = np.asarray(scores.score_runs(scores.negative_loss, model.apply, params,
                                            INPUTS, LABELS))
  masks = np.asarray(MASKS)
  assert all_scores[masks].mean() > all_scores[~masks].mean()


@pytest.mark.parametrize("kind", ["linear", "mlp", "cnn"])
def test_models_output_shape(kind):
  model = models.build_model(models.ModelConfig(kind, (4,) if kind == "mlp" else ()), 10)
  inputs = jnp.zeros((2, 32, 32, 3))
  params = model.init(jax.random.key(0), inputs)
  assert model.apply(params, inputs).shape == (2, 10)


def test_unknown_options_raise():
  with pytest.raises(ValueError, match="Unknown optimizer"):
    training.TrainConfig(optimizer="lion")
  with pytest.raises(ValueError, match="Unknown model kind"):
    models.build_model(models.ModelConfig("resnet"), 10)
  with pytest.raises(ValueError, match="Unknown score"):
    scores.get_score("entropy")
