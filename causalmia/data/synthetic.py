"""Synthetic regression data with a known ground truth."""

from __future__ import annotations

import numpy as np

from causalmia.data.dataset import Dataset

_MAX_COVARIATES = 4


def make_ridge(
  seed: int,
  *,
  num_examples: int,
  num_features: int,
  noise_std: float = 0.5,
  weight_std: float = 1.0,
) -> tuple[Dataset, np.ndarray]:
  """Sample a linear-Gaussian regression dataset and return it with its true weights.

  Draws x ~ N(0, I), w ~ N(0, weight_std**2 / num_features * I) and
  y = x @ w + noise_std * N(0, 1), so that the signal variance is about
  weight_std**2 whatever num_features is. Arrays are identical for equal
  seeds (numpy's default_rng). Inputs and labels are float32. The weights
  are returned as float64, the precision used to compute the labels. The
  covariates are the first min(4, num_features) input columns, named x0, x1, ...
  """
  _check_positive_int("num_examples", num_examples)
  _check_positive_int("num_features", num_features)
  _check_non_negative("noise_std", noise_std)
  _check_non_negative("weight_std", weight_std)

  rng = np.random.default_rng(seed)
  inputs = rng.standard_normal((num_examples, num_features))
  weights = rng.normal(0.0, weight_std / np.sqrt(num_features), size=num_features)
  noise = rng.normal(0.0, noise_std, size=num_examples)
  labels = inputs @ weights + noise

  num_covariates = min(_MAX_COVARIATES, num_features)
  dataset = Dataset(
    inputs=inputs,
    labels=labels,
    num_classes=None,
    name="ridge",
    covariates=inputs[:, :num_covariates],
    covariate_names=tuple(f"x{column}" for column in range(num_covariates)),
  )
  return dataset, weights


def _check_positive_int(field: str, value: object) -> None:
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
    raise ValueError(f"{field} must be a positive int, got {value!r}")


def _check_non_negative(field: str, value: float) -> None:
  if not np.isfinite(value) or value < 0:
    raise ValueError(f"{field} must be a finite number >= 0, got {value!r}")
