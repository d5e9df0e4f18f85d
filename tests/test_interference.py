"""Tests for causalmia.interference: ridge ground truth, leave-one-in, corrections, diagnostics."""

import itertools
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from causalmia import designs
from causalmia.data.synthetic import make_ridge_family
from causalmia.errors import ExtrapolationWarning
from causalmia.estimate import one_run
from causalmia.interference import (
    LeaveOneIn,
    compute_exposure,
    diagnose,
    exposure_adjusted_one_run,
    extrapolated_one_run,
    fit_extrapolation,
    no_interference,
    rate_masks,
    ridge,
    stability_constant,
)
from causalmia.interference import exposure as exposure_lib
from causalmia.interference import extrapolation as extrapolation_lib

REGULARIZATION = 2.0


@pytest.fixture(scope="module")
def problem():
  base, audit, _ = make_ridge_family(0, num_base=10, num_audit=12, num_features=4)
  return ridge.problem_from_datasets(base, audit)


def _numpy_fit(problem, mask, regularization):
  x = np.concatenate([np.asarray(problem.base_inputs), np.asarray(problem.inputs)[mask]])
  y = np.concatenate([np.asarray(problem.base_labels), np.asarray(problem.labels)[mask]])
  x, y = x.astype(np.float64), y.astype(np.float64)
  return np.linalg.solve(x.T @ x + regularization * np.eye(x.shape[1]), x.T @ y)


def _numpy_scores(problem, theta):
  x, y = np.asarray(problem.inputs, np.float64), np.asarray(problem.labels, np.float64)
  return -np.square(y - x @ theta)


def _pairwise_auc(member_scores, nonmember_scores):
  total = 0.0
  for a, b in itertools.product(member_scores, nonmember_scores):
    if a > b:
      total += 1.0
    elif a == b:
      total += 0.5
  return total / (len(member_scores) * len(nonmember_scores))


# --- closed-form ridge ------------------------------------------------------------


def test_ridge_closed_form_equals_gradient_descent(problem):
  mask = np.arange(12) % 3 != 0
  closed = np.asarray(ridge.fit(problem, jnp.asarray(mask), REGULARIZATION))

  x = jnp.concatenate([problem.base_inputs, problem.inputs[mask]])
  y = jnp.concatenate([problem.base_labels, problem.labels[mask]])

  def objective(theta):
    return jnp.sum(jnp.square(y - x @ theta)) + REGULARIZATION * jnp.sum(jnp.square(theta))

  curvature = 2.0 * float(np.linalg.eigvalsh(np.asarray(x.T @ x)).max() + REGULARIZATION)
  step = jax.jit(lambda theta, _: (theta - jax.grad(objective)(theta) / curvature, None))
  theta, _ = jax.lax.scan(step, jnp.zeros(4), None, length=3000)
  np.testing.assert_allclose(closed, np.asarray(theta), atol=2e-5)
  np.testing.assert_allclose(closed, _numpy_fit(problem, mask, REGULARIZATION), atol=2e-5)


def test_run_scores_equal_loop(problem):
  masks = np.asarray(designs.sample_masks(jax.random.key(1), designs.Bernoulli(0.5), 12, 3))
  vmapped = np.asarray(jax.jit(ridge.run_scores)(problem, jnp.asarray(masks), REGULARIZATION))
  for r in range(3):
    expected = _numpy_scores(problem, _numpy_fit(problem, masks[r], REGULARIZATION))
    np.testing.assert_allclose(vmapped[r], expected, rtol=1e-4, atol=1e-5)
  assert not np.allclose(vmapped[0], vmapped[1])


def test_bernoulli_masks_match_design():
  key = jax.random.key(3)
  ours = ridge.bernoulli_masks(key, 0.3, 5, 40)
  expected = designs.sample_masks(key, designs.Bernoulli(0.3), 40, 5)
  np.testing.assert_array_equal(np.asarray(ours), np.asarray(expected))


def test_problem_from_datasets_rejects_mismatch():
  base, _, _ = make_ridge_family(0, num_base=5, num_audit=5, num_features=3)
  _, audit, _ = make_ridge_family(0, num_base=5, num_audit=5, num_features=4)
  with pytest.raises(ValueError, match="features"):
    ridge.problem_from_datasets(base, audit)


def test_make_ridge_family_groups_are_blocks():
  _, audit, _ = make_ridge_family(1, num_base=4, num_audit=30, num_features=6, num_groups=3)
  groups = audit.covariates[:, 0].astype(int)
  nonzero_blocks = (audit.inputs != 0).reshape(30, 3, 2).any(axis=2)
  np.testing.assert_array_equal(nonzero_blocks, np.eye(3, dtype=bool)[groups])
  with pytest.raises(ValueError, match="multiple"):
    make_ridge_family(0, num_base=4, num_audit=4, num_features=5, num_groups=2)


# --- leave-one-in and stability ------------------------------------------------------


def _brute_force_leave_one_in(problem):
  base_scores = _numpy_scores(problem, _numpy_fit(problem, np.zeros(12, bool), REGULARIZATION))
  added = np.stack([
      _numpy_scores(problem, _numpy_fit(problem, np.arange(12) == i, REGULARIZATION))
      for i in range(12)
  ])
  return base_scores, added


def test_leave_one_in_equals_brute_force(problem):
  base_scores, added = _brute_force_leave_one_in(problem)
  result = jax.jit(ridge.leave_one_in)(problem, REGULARIZATION)
  np.testing.assert_allclose(np.asarray(result.base_scores), base_scores, rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(np.asarray(result.own_scores), np.diag(added), rtol=1e-4, atol=1e-5)


def test_no_interference_estimand_equals_brute_force(problem):
  base_scores, added = _brute_force_leave_one_in(problem)
  estimate = no_interference(LeaveOneIn.from_ridge(problem, REGULARIZATION), num_replicates=0)
  assert estimate["auc"].value == pytest.approx(_pairwise_auc(np.diag(added), base_scores),
                                                abs=1e-6)
  assert estimate.regime == "leave-one-in"


def test_stability_equals_brute_force(problem):
  base_scores, added = _brute_force_leave_one_in(problem)
  expected = stability_constant(base_scores, added)
  for block_size in (5, 12):
    measured = float(ridge.stability(problem, REGULARIZATION, block_size=block_size))
    assert measured == pytest.approx(expected, rel=1e-3)
  assert ridge.stability_bound(problem, REGULARIZATION)["bound"] >= expected


def test_stability_shrinks_with_large_regularization(problem):
  # Once lambda dominates the base Gram matrix, residuals stop growing with lambda, so
  # beta falls like 1 / lambda. At small lambda a larger penalty can raise the
  # residuals, and beta with them.
  betas = [float(ridge.stability(problem, lam)) for lam in (1e2, 1e3, 1e4)]
  assert betas[0] > betas[1] > betas[2]
  assert betas[1] / betas[2] == pytest.approx(10.0, rel=0.2)


def test_stability_constant_rejects_bad_shape():
  with pytest.raises(ValueError, match="added_scores"):
    stability_constant([0.0, 1.0], [[1.0, 2.0]])


def test_no_interference_with_several_base_runs():
  own = np.array([3.0, 1.0])
  base = np.array([[0.0, 2.0], [2.5, 0.5]])
  estimate = no_interference(LeaveOneIn(own, base), num_replicates=40)
  assert estimate["auc"].value == pytest.approx(_pairwise_auc(own, base.reshape(-1)))
  assert estimate["auc"].ci_low <= estimate["auc"].value <= estimate["auc"].ci_high


def test_leave_one_in_rejects_shape_mismatch():
  with pytest.raises(ValueError, match="base_scores"):
    LeaveOneIn(own_scores=np.zeros(3), base_scores=np.zeros((2, 4)))


# --- exposure ------------------------------------------------------------------------


def _brute_force_exposure(mask, kernel):
  values = []
  for i in range(len(mask)):
    others = [j for j in range(len(mask)) if j != i]
    denominator = sum(kernel(i, j) for j in others)
    numerator = sum(kernel(i, j) * mask[j] for j in others)
    values.append(numerator / denominator if denominator > 0 else 0.0)
  return np.array(values)


def test_same_class_exposure_equals_loop():
  rng = np.random.default_rng(0)
  labels = rng.integers(0, 4, 30)
  labels[0] = 9  # a class of one example has exposure 0
  mask = rng.random(30) < 0.4
  got = compute_exposure(mask, kernel="same_class", labels=labels)
  expected = _brute_force_exposure(mask, lambda i, j: float(labels[i] == labels[j]))
  np.testing.assert_allclose(got, expected, atol=1e-6)


def test_cosine_exposure_blockwise_equals_loop():
  rng = np.random.default_rng(1)
  features = rng.standard_normal((23, 5))
  mask = rng.random(23) < 0.5
  unit = features / np.linalg.norm(features, axis=1, keepdims=True)
  expected = _brute_force_exposure(mask, lambda i, j: max(0.0, unit[i] @ unit[j]) ** 2)
  for block_size in (4, 23, 64):
    got = compute_exposure(mask, kernel="cosine", features=features, power=2.0,
                           block_size=block_size)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_exposure_rejects_bad_arguments():
  mask = np.array([True, False])
  with pytest.raises(ValueError, match="exactly one"):
    compute_exposure(mask)
  with pytest.raises(ValueError, match="labels"):
    compute_exposure(mask, kernel="same_class")
  with pytest.raises(ValueError, match="Unknown kernel"):
    compute_exposure(mask, kernel="rbf")
  with pytest.raises(ValueError, match="kernel_matrix"):
    compute_exposure(mask, kernel_matrix=-np.ones((2, 2)))


@pytest.fixture(scope="module")
def one_run_sample():
  rng = np.random.default_rng(2)
  mask = rng.random(60) < 0.5
  scores = rng.standard_normal(60) + 0.8 * mask
  return scores, mask


def test_zero_kernel_exposure_reproduces_one_run(one_run_sample):
  scores, mask = one_run_sample
  zero = compute_exposure(mask, kernel_matrix=np.zeros((60, 60)))
  np.testing.assert_array_equal(zero, np.zeros(60))
  key = jax.random.key(5)
  adjusted = exposure_adjusted_one_run(scores, mask, zero, key=key, num_replicates=30,
                                       fpr=(0.1,))
  plain = one_run(scores, mask, key=key, num_replicates=30, fpr=(0.1,))
  for name, estimate in plain.metrics.items():
    assert adjusted[name].value == pytest.approx(estimate.value, abs=1e-6)
    assert adjusted[name].ci_low == pytest.approx(estimate.ci_low, abs=1e-6)
    assert adjusted[name].ci_high == pytest.approx(estimate.ci_high, abs=1e-6)


def test_exposure_adjustment_removes_linear_effect(one_run_sample):
  _, mask = one_run_sample
  rng = np.random.default_rng(3)
  scores = 0.3 * rng.standard_normal(60) + 0.5 * mask
  exposure_values = rng.random(60)
  # The exposure moves member scores by -2 E and non-member scores by +1 E.
  shifted = scores + np.where(mask, -2.0, 1.0) * exposure_values
  with warnings.catch_warnings():
    warnings.simplefilter("error")
    adjusted = exposure_adjusted_one_run(shifted, mask, exposure_values, num_replicates=0,
                                         reference_exposure=0.5)
  coefficients = adjusted.diagnostics["coefficients"]
  # Noise 0.3 and about 30 exposures uniform on [0, 1] per group give slope standard
  # errors near 0.2 (non-members) and 0.3 (the difference). The tolerances are three of them.
  assert coefficients["exposure"] == pytest.approx(1.0, abs=0.6)
  assert coefficients["inclusion_x_exposure"] == pytest.approx(-3.0, abs=0.9)
  biased = one_run(shifted, mask, num_replicates=0)["auc"].value
  at_reference = scores + np.where(mask, -2.0, 1.0) * 0.5
  truth = one_run(at_reference, mask, num_replicates=0)["auc"].value
  assert abs(adjusted["auc"].value - truth) < 0.5 * abs(biased - truth)


def test_exposure_outside_range_warns(one_run_sample):
  scores, mask = one_run_sample
  with pytest.warns(ExtrapolationWarning, match="outside the observed"):
    exposure_adjusted_one_run(scores, mask, np.full(60, 0.5) + 0.01 * mask, num_replicates=0)


def test_log_loss_scale_is_increasing():
  scores = jnp.array([-3.0, -1.0, -0.5, -1e-3])
  transformed = np.asarray(exposure_lib.to_model_scale(scores, "log_loss"))
  assert np.all(np.diff(transformed) > 0)
  with pytest.raises(ValueError, match="score scale"):
    exposure_lib.to_model_scale(scores, "logit")


# --- design-rate extrapolation ---------------------------------------------------------


def test_extrapolation_recovers_linear_trend_exactly():
  rates = np.array([0.1, 0.25, 0.4, 0.5])
  fit = fit_extrapolation(rates, 0.7 - 0.3 * rates)
  assert fit.value == pytest.approx(0.7, abs=1e-12)
  np.testing.assert_allclose(fit.coefficients, [0.7, -0.3], atol=1e-12)
  np.testing.assert_allclose(fit.residuals, 0.0, atol=1e-12)
  assert fit.standard_error == pytest.approx(0.0, abs=1e-9)


def test_extrapolation_with_replicates_recovers_trend():
  rates = np.array([0.2, 0.4, 0.6])
  replicates = 0.9 - 0.5 * rates + np.linspace(-0.01, 0.01, 50)[:, None]
  fit = fit_extrapolation(rates, 0.9 - 0.5 * rates, replicates=replicates)
  assert fit.value == pytest.approx(0.9, abs=1e-12)
  assert fit.ci_low < 0.9 < fit.ci_high
  quadratic = fit_extrapolation(rates, 0.5 + rates**2, degree=2)
  assert quadratic.value == pytest.approx(0.5, abs=1e-10)


def test_polynomial_fit_matches_host_fit():
  rates = np.array([0.1, 0.3, 0.5])
  values = np.array([0.8, 0.71, 0.66])
  jitted = np.asarray(jax.jit(extrapolation_lib.polynomial_fit, static_argnums=2)(
      rates, values, 1))
  np.testing.assert_allclose(jitted, fit_extrapolation(rates, values).coefficients, atol=1e-5)


def test_extrapolation_rejects_bad_input():
  with pytest.raises(ValueError, match="distinct"):
    fit_extrapolation([0.1, 0.1], [0.5, 0.6])
  with pytest.raises(ValueError, match="at least 3"):
    fit_extrapolation([0.1, 0.2], [0.5, 0.6], degree=2)


def test_extrapolated_one_run_fits_per_rate_estimates():
  rates = np.array([0.2, 0.35, 0.5])
  masks = np.asarray(rate_masks(jax.random.key(4), rates, 80))
  rng = np.random.default_rng(4)
  # The member shift shrinks as the rate grows, as interference does.
  scores = rng.standard_normal((3, 80)) + (1.0 - rates)[:, None] * masks
  result = extrapolated_one_run(scores, masks, rates, num_replicates=20, fpr=(0.1,))
  per_rate = [one_run(scores[k], masks[k], num_replicates=0)["auc"].value for k in range(3)]
  assert result.diagnostics["values_at_rates"]["auc"] == pytest.approx(per_rate, abs=1e-6)
  expected = fit_extrapolation(rates, per_rate).value
  assert result["auc"].value == pytest.approx(expected, abs=1e-6)
  assert result["auc"].ci_low < result["auc"].ci_high


def test_rate_masks_follow_rates():
  masks = np.asarray(rate_masks(jax.random.key(0), [0.1, 0.9], 2000))
  assert masks.shape == (2, 2000)
  # Three binomial standard errors of a rate estimated from 2000 draws.
  assert abs(masks[0].mean() - 0.1) < 3 * np.sqrt(0.09 / 2000)
  assert abs(masks[1].mean() - 0.9) < 3 * np.sqrt(0.09 / 2000)


# --- diagnostics -------------------------------------------------------------------------


def test_diagnose_reports_bias_and_bound(problem):
  rate = 0.5
  mask = np.asarray(ridge.bernoulli_masks(jax.random.key(7), rate, 1, 12))[0]
  scores = np.asarray(jax.jit(ridge.run_scores)(problem, jnp.asarray(mask[None]),
                                                  REGULARIZATION))[0]
  base_scores, added = _brute_force_leave_one_in(problem)
  runs = LeaveOneIn(np.diag(added), base_scores, added_scores=added)
  result = one_run(scores, mask, num_replicates=0)
  report = diagnose(result, inclusion_rate=rate, leave_one_in=runs, scores=scores, mask=mask,
                    num_replicates=0)
  reference = no_interference(runs, num_replicates=0)
  assert report.metrics["auc"].bias == pytest.approx(
      result["auc"].value - reference["auc"].value, abs=1e-9)
  beta = stability_constant(base_scores, added)
  assert report.stability == pytest.approx(beta)
  assert report.bound == pytest.approx(beta * rate * 11)
  assert report.bound_holds
  assert "stability beta" in report.table()
  assert report.to_dict()["reference_regime"] == "leave-one-in"


def test_diagnose_needs_a_reference(one_run_sample):
  scores, mask = one_run_sample
  result = one_run(scores, mask, num_replicates=0)
  with pytest.raises(ValueError, match="reference"):
    diagnose(result, inclusion_rate=0.5)
  oracle = one_run(scores + 0.1, mask, num_replicates=0)
  report = diagnose(result, inclusion_rate=0.5, reference=oracle)
  assert report.stability is None
  assert report.bound is None
