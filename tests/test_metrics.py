"""The ROC kernel against slow references, limiting cases and worked examples."""

import warnings

import numpy as np
import pytest

from causalmia import metrics
from causalmia.errors import ResolutionWarning, UndefinedMetricWarning


# --- Slow references, written for clarity and not speed. ---


def reference_auc(scores, members, weights=None):
  """Pairwise double loop: P(S1 > S0) + P(S1 = S0) / 2, weighted."""
  weights = np.ones(len(scores)) if weights is None else np.asarray(weights, float)
  total = 0.0
  pair_weight = 0.0
  for i in range(len(scores)):
    if not members[i]:
      continue
    for j in range(len(scores)):
      if members[j]:
        continue
      w = weights[i] * weights[j]
      pair_weight += w
      if scores[i] > scores[j]:
        total += w
      elif scores[i] == scores[j]:
        total += 0.5 * w
  return total / pair_weight


def reference_vertices(scores, members, weights=None):
  """One vertex per distinct score, swept from the largest threshold down."""
  scores = np.asarray(scores, float)
  members = np.asarray(members, bool)
  weights = np.ones(len(scores)) if weights is None else np.asarray(weights, float)
  w1, w0 = weights[members].sum(), weights[~members].sum()
  fpr, tpr = [0.0], [0.0]
  for tau in sorted(set(scores.tolist()), reverse=True):
    called = scores >= tau
    tpr.append(weights[called & members].sum() / w1)
    fpr.append(weights[called & ~members].sum() / w0)
  return np.array(fpr), np.array(tpr)


def reference_tpr_step(scores, members, alpha, weights=None):
  """Sorted sweep: the largest TPR among vertices with FPR <= alpha (+ 1e-12)."""
  fpr, tpr = reference_vertices(scores, members, weights)
  return max(t for f, t in zip(fpr, tpr) if f <= alpha + 1e-12)


def reference_tpr_hull(scores, members, alpha, weights=None):
  """Upper concave hull of the vertices (monotone chain), interpolated at alpha."""
  fpr, tpr = reference_vertices(scores, members, weights)
  points = sorted(set(zip(fpr.tolist(), tpr.tolist())))
  hull = []
  for point in points:
    while len(hull) >= 2:
      (x1, y1), (x2, y2) = hull[-2], hull[-1]
      cross = (x2 - x1) * (point[1] - y1) - (y2 - y1) * (point[0] - x1)
      if cross >= 0:
        hull.pop()
      else:
        break
    hull.append(point)
  xs, ys = zip(*hull)
  # At alpha = 0 the hull can hold several points with x = 0; take the highest.
  if alpha <= 0:
    return max(y for x, y in hull if x == 0)
  return float(np.interp(alpha, xs, ys))


def reference_advantage(scores, members, weights=None):
  fpr, tpr = reference_vertices(scores, members, weights)
  return max(np.max(tpr - fpr), 0.0)


# --- Inputs: random, heavily tied and constant, with and without weights. ---

RNG = np.random.default_rng(20261204)
CASES = []
for size in (7, 30):
  CASES.append(("random", RNG.normal(size=size), RNG.random(size) < 0.5))
  CASES.append(("tied", RNG.integers(0, 4, size).astype(float), RNG.random(size) < 0.5))
CASES.append(("constant", np.full(9, 0.3), np.array([1, 0, 1, 0, 0, 1, 1, 0, 1], bool)))
CASES.append(("infinite", np.array([np.inf, -np.inf, 1.0, np.inf, 0.0, -np.inf]),
              np.array([1, 0, 1, 0, 0, 1], bool)))
for name, scores, members in list(CASES):
  members[0], members[1] = True, False  # both groups present
WEIGHTINGS = ["unit", "random", "integer"]


def _weights(kind, size):
  if kind == "unit":
    return None
  generator = np.random.default_rng(size)
  if kind == "random":
    return generator.uniform(0.1, 3.0, size)
  return generator.integers(0, 4, size).astype(float) + (np.arange(size) < 2)


@pytest.mark.parametrize("weighting", WEIGHTINGS)
@pytest.mark.parametrize("case", CASES, ids=[c[0] + str(len(c[1])) for c in CASES])
def test_auc_matches_pairwise_reference(case, weighting):
  _, scores, members = case
  weights = _weights(weighting, len(scores))
  expected = reference_auc(scores, members, weights)
  assert metrics.roc_auc(scores, members, weights) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("weighting", WEIGHTINGS)
@pytest.mark.parametrize("case", CASES, ids=[c[0] + str(len(c[1])) for c in CASES])
def test_curve_matches_sweep_reference(case, weighting):
  _, scores, members = case
  weights = _weights(weighting, len(scores))
  fpr, tpr, _ = metrics.roc_curve(scores, members, weights)
  expected_fpr, expected_tpr = reference_vertices(scores, members, weights)
  np.testing.assert_allclose(fpr, expected_fpr, atol=1e-6)
  np.testing.assert_allclose(tpr, expected_tpr, atol=1e-6)


@pytest.mark.parametrize("weighting", WEIGHTINGS)
@pytest.mark.parametrize("case", CASES, ids=[c[0] + str(len(c[1])) for c in CASES])
def test_auc_equals_trapezoid_area(case, weighting):
  _, scores, members = case
  weights = _weights(weighting, len(scores))
  fpr, tpr, _ = metrics.roc_curve(scores, members, weights)
  area = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
  assert metrics.roc_auc(scores, members, weights) == pytest.approx(area, abs=1e-6)


ALPHAS = (0.0, 0.01, 0.1, 1 / 3, 0.5, 0.99, 1.0)


@pytest.mark.parametrize("weighting", WEIGHTINGS)
@pytest.mark.parametrize("case", CASES, ids=[c[0] + str(len(c[1])) for c in CASES])
def test_tpr_at_fpr_matches_references(case, weighting):
  _, scores, members = case
  weights = _weights(weighting, len(scores))
  with warnings.catch_warnings():
    warnings.simplefilter("ignore", ResolutionWarning)
    step = metrics.tpr_at_fpr(scores, members, ALPHAS, weights)
    hull = metrics.tpr_at_fpr(scores, members, ALPHAS, weights, convention="hull")
  for alpha, got_step, got_hull in zip(ALPHAS, step, hull):
    assert got_step == pytest.approx(reference_tpr_step(scores, members, alpha, weights), abs=1e-6)
    assert got_hull == pytest.approx(reference_tpr_hull(scores, members, alpha, weights), abs=1e-5)
    assert got_hull >= got_step - 1e-6


@pytest.mark.parametrize("weighting", WEIGHTINGS)
@pytest.mark.parametrize("case", CASES, ids=[c[0] + str(len(c[1])) for c in CASES])
def test_advantage_matches_reference(case, weighting):
  _, scores, members = case
  weights = _weights(weighting, len(scores))
  expected = reference_advantage(scores, members, weights)
  assert metrics.advantage(scores, members, weights) == pytest.approx(expected, abs=1e-6)


# --- Worked examples with known values. ---


def test_worked_example_with_tie():
  fpr, tpr, thresholds = metrics.roc_curve([2, 5, 10, 10], [1, 0, 0, 1])
  assert list(zip(fpr, tpr)) == [(0, 0), (0.5, 0.5), (1, 0.5), (1, 1)]
  assert thresholds[0] == np.inf
  assert metrics.roc_auc([2, 5, 10, 10], [1, 0, 0, 1]) == 0.375


@pytest.mark.parametrize("members", [[1, 0, 1, 0], [0, 1, 0, 1]])
def test_tied_pairs_give_same_curve_either_way(members):
  fpr, tpr, _ = metrics.roc_curve([9, 9, 5, 5], members)
  assert list(zip(fpr, tpr)) == [(0, 0), (0.5, 0.5), (1, 1)]
  assert metrics.roc_auc([9, 9, 5, 5], members) == 0.5
  assert metrics.tpr_at_fpr([9, 9, 5, 5], members, 0.0) == 0.0


def test_constant_scores():
  scores, members = [0.9] * 5, [1, 0, 1, 1, 0]
  assert metrics.roc_auc(scores, members) == 0.5
  assert metrics.advantage(scores, members) == 0.0
  for alpha in (0.0, 0.3, 0.99):
    assert metrics.tpr_at_fpr(scores, members, alpha) == 0.0
  assert metrics.tpr_at_fpr(scores, members, 1.0) == 1.0


def test_infinite_scores_are_ordered_values():
  assert metrics.roc_auc([np.inf, 1, 2, -np.inf], [1, 0, 1, 0]) == 1.0
  assert metrics.roc_auc([np.inf] * 4, [1, 0, 1, 0]) == 0.5


def test_nan_score_raises_with_position():
  with pytest.raises(ValueError, match=r"1 NaN value\(s\) at position\(s\) 2"):
    metrics.roc_auc([0.1, 0.2, np.nan, 0.3], [1, 0, 1, 0])


TEN_MEMBERS = [10, 9, 8, 7, 6, 4.5, 4, 3, 2, 1]
TEN_NONMEMBERS = [5, 0.4, 0.3, 0.2, 0.1, 0.05, 0.04, 0.03, 0.02, 0.01]


def test_ten_by_ten_example():
  scores = TEN_MEMBERS + TEN_NONMEMBERS
  members = [1] * 10 + [0] * 10
  assert metrics.roc_auc(scores, members) == pytest.approx(0.95)
  assert metrics.tpr_at_fpr(scores, members, 0.1) == 1.0
  assert metrics.tpr_at_fpr(scores, members, 0.1, convention="hull") == pytest.approx(1.0)
  with pytest.warns(ResolutionWarning, match="below the resolution 0.1"):
    assert metrics.tpr_at_fpr(scores, members, 0.001) == 0.5
  with pytest.warns(ResolutionWarning):
    hull = metrics.tpr_at_fpr(scores, members, 0.001, convention="hull")
  assert hull == pytest.approx(0.505, abs=1e-6)


def test_fpr_compared_in_counts():
  # 29 of 100 non-members above the threshold: FPR 0.29 must count as <= 0.29
  # even though 0.29 * 100 rounds below 29 in float32.
  nonmembers = np.arange(100.0)
  members = np.full(10, 70.5)
  scores = np.concatenate([members, nonmembers])
  labels = np.r_[np.ones(10, bool), np.zeros(100, bool)]
  assert metrics.tpr_at_fpr(scores, labels, 0.29) == 1.0
  assert metrics.tpr_at_fpr(scores, labels, 0.28) == 0.0


@pytest.mark.parametrize("members", [[1, 1, 1], [0, 0, 0]])
def test_single_class_is_nan_with_warning(members):
  with pytest.warns(UndefinedMetricWarning):
    assert np.isnan(metrics.roc_auc([0.1, 0.2, 0.3], members))
  with pytest.warns(UndefinedMetricWarning):
    assert np.isnan(metrics.advantage([0.1, 0.2, 0.3], members))
  with pytest.warns(UndefinedMetricWarning):
    assert np.isnan(metrics.tpr_at_fpr([0.1, 0.2, 0.3], members, 0.5))
  with pytest.warns(UndefinedMetricWarning):
    assert np.isnan(metrics.roc_curve([0.1, 0.2, 0.3], members)[0]).all()


def test_zero_weight_group_is_nan():
  with pytest.warns(UndefinedMetricWarning, match="members have zero total weight"):
    assert np.isnan(metrics.roc_auc([1, 2, 3, 4], [1, 1, 0, 0], [0, 0, 1, 1]))


# --- Limiting cases. ---


def test_perfect_inverted_and_constant_scores():
  members = np.array([1, 1, 0, 0, 1, 0], bool)
  perfect = members.astype(float)
  assert metrics.roc_auc(perfect, members) == 1.0
  assert metrics.roc_auc(-perfect, members) == 0.0
  assert metrics.advantage(perfect, members) == 1.0
  assert metrics.advantage(-perfect, members) == 0.0
  assert metrics.roc_auc(np.zeros(6), members) == 0.5


def test_curve_is_monotone_from_origin_to_corner():
  scores = RNG.normal(size=200).round(1)
  members = RNG.random(200) < 0.3
  fpr, tpr, thresholds = metrics.roc_curve(scores, members, RNG.uniform(0, 2, 200))
  assert (fpr[0], tpr[0]) == (0.0, 0.0)
  assert fpr[-1] == pytest.approx(1.0)
  assert tpr[-1] == pytest.approx(1.0)
  assert np.all(np.diff(fpr) >= 0)
  assert np.all(np.diff(tpr) >= 0)
  assert np.all(np.diff(thresholds) < 0)


def test_integer_weights_equal_repeated_rows():
  scores = np.array([0.3, 0.1, 0.7, 0.7, 0.2])
  members = np.array([1, 0, 1, 0, 0], bool)
  counts = np.array([2, 1, 0, 3, 1])
  repeated = np.repeat(np.arange(5), counts)
  assert metrics.roc_auc(scores, members, counts) == pytest.approx(
      metrics.roc_auc(scores[repeated], members[repeated]))
  assert metrics.advantage(scores, members, counts) == pytest.approx(
      metrics.advantage(scores[repeated], members[repeated]))


# --- Bad input. ---


def test_bad_inputs_raise_clear_errors():
  with pytest.raises(ValueError, match="members has shape"):
    metrics.roc_auc([1, 2, 3], [1, 0])
  with pytest.raises(ValueError, match="only 0/1"):
    metrics.roc_auc([1, 2, 3], [1, 0, 2])
  with pytest.raises(ValueError, match="non-negative"):
    metrics.roc_auc([1, 2, 3], [1, 0, 1], [1, -1, 1])
  with pytest.raises(ValueError, match=r"\[0, 1\]"):
    metrics.tpr_at_fpr([1, 2, 3], [1, 0, 1], 1.5)
  with pytest.raises(ValueError, match="Unknown convention"):
    metrics.tpr_at_fpr([1, 2, 3], [1, 0, 1], 0.1, convention="linear")
