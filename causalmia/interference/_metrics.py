"""Jittable point estimates and result packaging shared by the interference estimators."""

import jax
import jax.numpy as jnp
import numpy as np

from causalmia.estimate import bootstrap
from causalmia.estimate import result as result_lib
from causalmia.metrics import _kernel
from causalmia.metrics import summary


def point_metrics(scores, members, fprs, convention, weights=None):
  """`summarize` of the weighted ROC of `scores` against `members`, in one sort."""
  sorted_scores = _kernel.sort_scores(scores, members)
  if weights is None:
    weights = jnp.ones_like(scores)
  points = _kernel.curve_points(sorted_scores, weights[sorted_scores.order])
  return summary.summarize(points, fprs, convention)


def one_run_metrics(scores, masks, fprs, convention):
  """Metrics of each run on its own (the one-run estimate of every run), `[runs, metrics]`."""
  return jax.vmap(lambda s, m: point_metrics(s, m, fprs, convention))(scores, masks)


def pooled_metrics(scores, masks, fprs, convention):
  """Metrics of all (run, example) pairs pooled: the multi-run estimate."""
  return point_metrics(scores.reshape(-1), masks.reshape(-1), fprs, convention)


def group_means(scores, masks):
  """Mean member score and mean non-member score over all (run, example) pairs."""
  masks = masks.astype(scores.dtype)
  member = jnp.sum(scores * masks) / jnp.sum(masks)
  nonmember = jnp.sum(scores * (1 - masks)) / jnp.sum(1 - masks)
  return member, nonmember


def package(values, low, high, skipped, fprs, convention, nonmember_count):
  """`MetricEstimate`s keyed by name from value and interval arrays in `metric_names` order."""
  return result_lib.metric_estimates(values, low, high, skipped, fprs, convention,
                                     nonmember_count)


def interval(replicates, confidence, num_metrics):
  """Percentile interval of bootstrap replicates, or NaN bounds when there are none."""
  if replicates is None:
    nan = np.full(num_metrics, np.nan)
    return nan, nan.copy(), np.zeros(num_metrics, int)
  return bootstrap.percentile_interval(replicates, confidence)


def curve(scores, members, weights=None):
  """ROC vertices `{"fpr", "tpr"}` of one weighted sample, as NumPy arrays."""
  scores = jnp.asarray(scores)
  sorted_scores = _kernel.sort_scores(scores, jnp.asarray(members))
  weights = jnp.ones_like(scores) if weights is None else jnp.asarray(weights)
  points = _kernel.curve_points(sorted_scores, weights[sorted_scores.order])
  sorted_scores, points = jax.device_get((sorted_scores, points))
  ends = np.flatnonzero(np.asarray(sorted_scores.block_end) == np.arange(len(sorted_scores.scores)))
  with np.errstate(all="ignore"):
    fpr = np.concatenate([[0.0], points.fp_after[ends] / points.nonmember_weight])
    tpr = np.concatenate([[0.0], points.tp_after[ends] / points.member_weight])
  return {"fpr": fpr, "tpr": tpr}
