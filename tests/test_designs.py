"""Inclusion designs: shapes, per-run reproducibility and invalid settings."""

import jax
import numpy as np
import pytest

from causalmia import designs


def test_bernoulli_masks_shape_and_rate():
  masks = designs.sample_masks(jax.random.key(0), designs.Bernoulli(0.3), 500, 40)
  assert masks.shape == (40, 500)
  assert masks.dtype == bool
  rate = float(masks.mean())
  assert abs(rate - 0.3) < 4 * np.sqrt(0.3 * 0.7 / masks.size)


def test_complete_includes_exactly_m():
  masks = designs.sample_masks(jax.random.key(1), designs.Complete(7), 20, 5)
  assert np.asarray(masks.sum(axis=1)).tolist() == [7] * 5


@pytest.mark.parametrize("design", [designs.Bernoulli(0.5), designs.Complete(4)])
def test_any_run_reproduces_alone(design):
  key = jax.random.key(2)
  masks = designs.sample_masks(key, design, 10, 6)
  for run in (0, 3, 5):
    alone = designs.sample_masks(key, design, 10, run_indices=[run])
    np.testing.assert_array_equal(alone[0], masks[run])
  assert not np.array_equal(masks[0], masks[1])


@pytest.mark.parametrize("p", [0.0, 1.0, -0.1, 1.5])
def test_bernoulli_rejects_probability_outside_open_interval(p):
  with pytest.raises(ValueError, match=r"must lie in \(0, 1\)"):
    designs.Bernoulli(p)


def test_complete_rejects_all_included():
  with pytest.raises(ValueError, match="num_included < num_examples"):
    designs.sample_masks(jax.random.key(0), designs.Complete(5), 5, 2)
  with pytest.raises(ValueError, match="at least 1"):
    designs.Complete(0)


def test_from_config_names():
  assert designs.from_config("bernoulli", 0.25) == designs.Bernoulli(0.25)
  assert designs.from_config("complete", 3) == designs.Complete(3)
  with pytest.raises(ValueError, match="Unknown design"):
    designs.from_config("poisson", 0.5)
