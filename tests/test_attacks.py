"""LiRA and RMIA scores against slow per-pair references written with Python loops."""

import warnings

import jax
import numpy as np
import pytest
from scipy import stats

from causalmia import attacks
from causalmia import models
from causalmia import scores as scores_lib
from causalmia.errors import MissingReferenceWarning
from causalmia.estimate import multi_run

RUNS, EXAMPLES, POPULATION = 7, 9, 6


# --- slow references ---------------------------------------------------------------------------


def _reference_groups(values, masks, r, i):
  others = [s for s in range(values.shape[0]) if s != r]
  ins = [values[s, i] for s in others if masks[s, i]]
  outs = [values[s, i] for s in others if not masks[s, i]]
  return np.array(ins), np.array(outs)


def _pooled_variance(values, masks, r, member):
  squares, degrees = 0.0, 0
  for j in range(values.shape[1]):
    group = _reference_groups(values, masks, r, j)[0 if member else 1]
    if len(group):
      squares += float(np.sum((group - group.mean()) ** 2))
      degrees += max(len(group) - 1, 0)
  return squares / degrees


def _lira_shift(values, masks, r):
  differences = []
  for j in range(values.shape[1]):
    ins, outs = _reference_groups(values, masks, r, j)
    if len(ins) and len(outs):
      differences.append(ins.mean() - outs.mean())
  return float(np.mean(differences))


def slow_lira(confidences, masks, *, online, variance):
  """LiRA from its definition, one (run, example) pair at a time, in float64."""
  confidences = np.asarray(confidences, np.float64)
  runs, examples = confidences.shape
  scores = np.zeros((runs, examples))
  for r in range(runs):
    pooled_in = _pooled_variance(confidences, masks, r, member=True) if online else None
    pooled_out = _pooled_variance(confidences, masks, r, member=False)
    shift = _lira_shift(confidences, masks, r)
    for i in range(examples):
      ins, outs = _reference_groups(confidences, masks, r, i)
      mu_in = ins.mean() if len(ins) else outs.mean() + shift
      mu_out = outs.mean() if len(outs) else ins.mean() - shift
      var_in, var_out = pooled_in, pooled_out
      if variance == "per-example" and len(outs) >= 2:
        var_out = outs.var(ddof=1)
      if variance == "per-example" and online and len(ins) >= 2:
        var_in = ins.var(ddof=1)
      x = confidences[r, i]
      if online:
        scores[r, i] = (stats.norm.logpdf(x, mu_in, np.sqrt(var_in))
                        - stats.norm.logpdf(x, mu_out, np.sqrt(var_out)))
      else:
        scores[r, i] = (x - mu_out) / np.sqrt(var_out)
  return scores


def slow_rmia(log_probs, masks, population_log_probs, *, online, gamma, offline_a):
  """RMIA from its definition in probability space, one pair at a time, in float64."""
  probs = np.exp(np.asarray(log_probs, np.float64))
  population = np.exp(np.asarray(population_log_probs, np.float64))
  runs, examples = probs.shape
  scores = np.zeros((runs, examples))
  for r in range(runs):
    others = [s for s in range(runs) if s != r]
    pr_z = population[others].mean(axis=0)
    if not online:
      pr_z = (1 + offline_a) / 2 * pr_z + (1 - offline_a) / 2
      log_ratios = []
      for j in range(examples):
        ins, outs = _reference_groups(probs, masks, r, j)
        if len(ins) and len(outs):
          log_ratios.append(np.log(ins.mean()) - np.log(outs.mean()))
      ratio = np.exp(np.mean(log_ratios))
    for i in range(examples):
      if online:
        pr_x = probs[others, i].mean()
      else:
        ins, outs = _reference_groups(probs, masks, r, i)
        out_mean = outs.mean() if len(outs) else ins.mean() / ratio
        pr_x = (1 + offline_a) / 2 * out_mean + (1 - offline_a) / 2
      passed = 0
      for j in range(population.shape[1]):
        likelihood_ratio = (probs[r, i] / pr_x) / (population[r, j] / pr_z[j])
        passed += likelihood_ratio >= gamma
      scores[r, i] = passed / population.shape[1]
  return scores


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_runs():
  """A tiny multi-run: confidences with a membership effect, and random masks."""
  rng = np.random.default_rng(7)
  masks = rng.random((RUNS, EXAMPLES)) < 0.5
  difficulty = rng.normal(0.0, 2.0, EXAMPLES)
  confidences = difficulty + 1.5 * masks + rng.normal(0.0, 1.0, (RUNS, EXAMPLES))
  log_probs = -np.log1p(np.exp(-confidences))  # log sigmoid: a probability per pair
  population = -np.log1p(np.exp(-(rng.normal(0.0, 2.0, POPULATION)
                                   + rng.normal(0.0, 1.0, (RUNS, POPULATION)))))
  return confidences.astype(np.float32), masks, log_probs.astype(np.float32), \
      population.astype(np.float32)


def _quiet(function, *args, **kwargs):
  with warnings.catch_warnings():
    warnings.simplefilter("ignore", MissingReferenceWarning)
    return function(*args, **kwargs)


# --- LiRA --------------------------------------------------------------------------------------


@pytest.mark.parametrize("online", [True, False])
@pytest.mark.parametrize("variance", ["per-example", "global"])
def test_lira_matches_slow_reference(tiny_runs, online, variance):
  confidences, masks, _, _ = tiny_runs
  expected = slow_lira(confidences, masks, online=online, variance=variance)
  actual = _quiet(attacks.lira, confidences, masks, online=online, variance=variance)
  assert actual.shape == (RUNS, EXAMPLES)
  np.testing.assert_allclose(actual, expected, rtol=2e-4, atol=2e-4)


def test_lira_warns_on_missing_references(tiny_runs):
  confidences, masks, _, _ = tiny_runs
  missing = sum(
      not (len(ins) and len(outs))
      for r in range(RUNS) for i in range(EXAMPLES)
      for ins, outs in [_reference_groups(confidences, masks, r, i)]
  )
  assert missing > 0  # The fixture exercises the imputation.
  with pytest.warns(MissingReferenceWarning) as record:
    attacks.lira(confidences, masks)
  messages = [str(warning.message) for warning in record]
  assert any(f"{missing} of {RUNS * EXAMPLES} (run, example) pairs had no reference run" in m
             for m in messages)


def test_lira_ignores_target_mask(tiny_runs):
  confidences, masks, _, _ = tiny_runs
  flipped = masks.copy()
  flipped[2] = ~flipped[2]
  before = _quiet(attacks.lira, confidences, masks)
  after = _quiet(attacks.lira, confidences, flipped)
  np.testing.assert_array_equal(before[2], after[2])
  assert not np.allclose(before[3], after[3])


def test_lira_shift_per_example_invariant(tiny_runs):
  confidences, masks, _, _ = tiny_runs
  shifted = confidences + np.linspace(-3.0, 3.0, EXAMPLES, dtype=np.float32)
  for online in (True, False):
    np.testing.assert_allclose(_quiet(attacks.lira, shifted, masks, online=online),
                               _quiet(attacks.lira, confidences, masks, online=online),
                               rtol=1e-3, atol=1e-3)


def test_lira_separates_memorized_examples():
  # Every example gains +4 confidence when included: LiRA must rank all members first.
  rng = np.random.default_rng(3)
  masks = np.tile([True, False], (12, 5)) ^ (np.arange(12)[:, None] % 2 == 1)
  confidences = rng.normal(0.0, 3.0, 10) + 4.0 * masks + rng.normal(0.0, 0.3, masks.shape)
  result = multi_run(attacks.lira(confidences, masks), masks, num_replicates=0)
  assert result["auc"].value == 1.0


def test_lira_rejects_single_run_and_nan():
  with pytest.raises(ValueError, match="at least 2"):
    attacks.lira(np.zeros((1, 3)), np.zeros((1, 3), bool))
  with pytest.raises(ValueError, match="NaN"):
    attacks.lira(np.array([[0.0, np.nan], [1.0, 2.0]]), np.eye(2, dtype=bool))
  with pytest.raises(ValueError, match="variance"):
    attacks.lira(np.zeros((2, 2)), np.eye(2, dtype=bool), variance="pooled")


def test_lira_without_any_variance_raises():
  # Two runs leave one reference per pair, so no group has two scores of an example.
  with pytest.raises(ValueError, match="Train more runs"):
    _quiet(attacks.lira, np.array([[0.0, 1.0], [1.0, 2.0]]), np.eye(2, dtype=bool))


# --- RMIA --------------------------------------------------------------------------------------


@pytest.mark.parametrize("online,gamma,offline_a", [
    (True, 1.0, 0.3), (True, 2.0, 0.3), (False, 1.0, 0.3), (False, 1.5, 0.0), (False, 1.0, 1.0),
])
def test_rmia_matches_slow_reference(tiny_runs, online, gamma, offline_a):
  _, masks, log_probs, population = tiny_runs
  expected = slow_rmia(log_probs, masks, population, online=online, gamma=gamma,
                       offline_a=offline_a)
  actual = _quiet(attacks.rmia, log_probs, masks, population, online=online, gamma=gamma,
                  offline_a=offline_a)
  assert actual.shape == (RUNS, EXAMPLES)
  np.testing.assert_allclose(actual, expected, atol=1e-6)


def test_rmia_dominant_target_keeps_precision():
  # The target gives probability ~1 where every reference gives ~e^-40: leaving the
  # target out of a total that it dominates must not cancel the references away.
  log_probs = np.full((4, 3), -40.0, np.float32)
  log_probs[0, 0] = 0.0
  masks = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1]], bool)
  population = np.log(np.full((4, 5), 0.5, np.float32))
  population[0] = np.log(np.linspace(0.1, 0.9, 5))
  expected = slow_rmia(log_probs, masks, population, online=True, gamma=1.0, offline_a=0.3)
  np.testing.assert_allclose(attacks.rmia(log_probs, masks, population), expected, atol=1e-6)
  assert expected[0, 0] == 1.0


def test_rmia_scores_are_population_fractions(tiny_runs):
  _, masks, log_probs, population = tiny_runs
  scores = attacks.rmia(log_probs, masks, population)
  assert scores.min() >= 0.0
  assert scores.max() <= 1.0
  np.testing.assert_allclose(scores * POPULATION, np.round(scores * POPULATION), atol=1e-5)


def test_rmia_ignores_target_mask(tiny_runs):
  _, masks, log_probs, population = tiny_runs
  flipped = masks.copy()
  flipped[1] = ~flipped[1]
  before = _quiet(attacks.rmia, log_probs, masks, population, online=False)
  after = _quiet(attacks.rmia, log_probs, flipped, population, online=False)
  np.testing.assert_array_equal(before[1], after[1])


def test_rmia_rejects_invalid_input(tiny_runs):
  _, masks, log_probs, population = tiny_runs
  with pytest.raises(ValueError, match="same models"):
    attacks.rmia(log_probs, masks, population[:3])
  with pytest.raises(ValueError, match="gamma"):
    attacks.rmia(log_probs, masks, population, gamma=0.0)
  with pytest.raises(ValueError, match="offline_a"):
    attacks.rmia(log_probs, masks, population, offline_a=1.5)
  with pytest.raises(ValueError, match="no population example"):
    attacks.rmia(log_probs, masks, population[:, :0])


# --- from models -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def linear_models():
  """Four random linear models on random inputs, stacked along `runs`."""
  model = models.build_model(models.ModelConfig("linear"), 3)
  inputs = jax.random.normal(jax.random.key(0), (8, 4))
  labels = jax.random.randint(jax.random.key(1), (8,), 0, 3)
  params = jax.vmap(lambda k: model.init(k, inputs[:1]))(jax.random.split(jax.random.key(2), 4))
  masks = np.array(jax.random.bernoulli(jax.random.key(3), 0.5, (4, 6)))
  return model, params, inputs, labels, masks


def test_attack_scores_from_models(linear_models):
  model, params, inputs, labels, masks = linear_models
  pool, pool_labels = inputs[:6], labels[:6]
  confidences = scores_lib.score_runs(scores_lib.logit_confidence, model.apply, params, pool,
                                      pool_labels)
  np.testing.assert_allclose(
      _quiet(attacks.attack_scores, "lira-offline", model.apply, params, pool, pool_labels, masks,
             variance="global"),
      _quiet(attacks.lira, np.asarray(confidences), masks, online=False, variance="global"))

  log_probs = scores_lib.score_runs(scores_lib.negative_loss, model.apply, params, pool,
                                    pool_labels)
  population = scores_lib.score_runs(scores_lib.negative_loss, model.apply, params, inputs[6:],
                                     labels[6:])
  np.testing.assert_allclose(
      attacks.attack_scores("rmia", model.apply, params, pool, pool_labels, masks,
                            population_inputs=inputs[6:], population_labels=labels[6:]),
      attacks.rmia(np.asarray(log_probs), masks, np.asarray(population)))


def test_attack_scores_rmia_needs_population(linear_models):
  model, params, inputs, labels, masks = linear_models
  with pytest.raises(ValueError, match="population"):
    attacks.attack_scores("rmia", model.apply, params, inputs[:6], labels[:6], masks)
  with pytest.raises(ValueError, match="Unknown attack"):
    attacks.attack_scores("lira-global", model.apply, params, inputs[:6], labels[:6], masks)
