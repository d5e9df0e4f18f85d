"""Packaging of zero-run results: metrics with intervals, curves, diagnostics and notes."""

import warnings

import numpy as np
import scipy.stats

from causalmia.errors import LowOverlapWarning, UndefinedMetricWarning
from causalmia.estimate import bootstrap
from causalmia.estimate import overlap
from causalmia.estimate.result import MetricEstimate
from causalmia.metrics import summary

MEAN_DIFFERENCE = "mean_difference"
# Changes below this are float32 rounding of sums over rows, not a projection.
PROJECTION_TOLERANCE = 1e-5


def metric_names(fprs) -> tuple[str, ...]:
  """Names of the zero-run metrics, in order: `summary.metric_names` and the mean difference."""
  return summary.metric_names(fprs) + (MEAN_DIFFERENCE,)


def expand(values, keep):
  """Places per-row values of the kept rows into a full-length array (NaN or False elsewhere)."""
  values = np.asarray(values)
  full = np.full(keep.shape, False if values.dtype == bool else np.nan,
                 dtype=bool if values.dtype == bool else np.float64)
  full[keep] = values
  return full


def propensity_summary(raw, used, members, clip, fitted, nuisance) -> dict:
  """Describes where the propensities came from and how many rows clipping changed per group."""
  if fitted:
    source = nuisance.propensity_model
    if nuisance.propensity_model != "cells":
      source += (f", cross-fitted over {nuisance.folds} folds" if nuisance.folds > 1
                 else ", fitted and evaluated on all rows")
  else:
    source = "given"
  summary_ = {"source": source, "clip": list(clip) if clip else None}
  if clip is not None:
    changed = used != raw
    summary_["clipped"] = {"members": int((changed & members).sum()),
                           "nonmembers": int((changed & ~members).sum())}
  return summary_


def ess_notes(diagnostics, members) -> list[str]:
  """Warns about, and returns notes for, groups whose effective sample size is low."""
  notes = []
  for name, rows in (("members", int(members.sum())), ("nonmembers", int((~members).sum()))):
    ess = diagnostics["effective_sample_size"][name]
    if overlap.is_low_ess(ess, rows):
      message = (f"Low overlap: the effective sample size of the {name} is {ess:.3g} of "
                 f"{rows} rows, so a few rows carry the weighted estimate; intervals and "
                 "low-FPR metrics are unreliable.")
      warnings.warn(message, LowOverlapWarning, stacklevel=4)
      notes.append(message)
  return notes


def projection_summary(point, changes) -> dict:
  """Reports whether the curve projection acted, at the point estimate and in replicates."""
  change = float(point["projection_change"])
  result = {"acted": bool(change > PROJECTION_TOLERANCE), "max_change": change}
  if changes is not None:
    result["share_of_replicates_projected"] = float(np.mean(changes > PROJECTION_TOLERANCE))
  return result


def assumption_notes(interval) -> tuple[str, ...]:
  """Notes on the assumptions behind the numbers and the interval method."""
  notes = ("Causal under ignorability given the covariates; one shared model, so the "
           "intervals assume no interference between examples.",)
  if interval == "influence":
    notes += ("Influence-function intervals of the advantage and TPR at FPR hold the selected "
              "threshold fixed and can be too narrow.",)
  return notes


def interval_text(method, interval, num_replicates) -> str:
  """Names the interval method of a result."""
  if interval == "influence":
    return "Wald interval from influence functions of the cross-fitted AIPW estimate"
  if not num_replicates:
    return "none"
  refit = "" if method == "naive" else ", nuisance models refit in every replicate"
  return f"percentile bootstrap over examples{refit}"


def counts(members) -> dict[str, int]:
  """Row counts of a one-model result."""
  return {"runs": 1, "examples": int(members.shape[0]), "member_rows": int(members.sum()),
          "nonmember_rows": int((~members).sum())}


def kernel_curve(scores, members, weights) -> dict[str, np.ndarray]:
  """Weighted ROC vertices, one per distinct score, as `roc.roc_curve` returns them."""
  order = np.argsort(-scores, kind="stable")
  sorted_scores, sorted_members, sorted_weights = scores[order], members[order], weights[order]
  tp = np.cumsum(np.where(sorted_members, sorted_weights, 0.0))
  fp = np.cumsum(np.where(sorted_members, 0.0, sorted_weights))
  ends = np.flatnonzero(np.append(sorted_scores[1:] != sorted_scores[:-1], True))
  return {"fpr": np.concatenate([[0.0], fp[ends] / fp[-1]]),
          "tpr": np.concatenate([[0.0], tp[ends] / tp[-1]]),
          "thresholds": np.concatenate([[np.inf], sorted_scores[ends]])}


def package(values, replicates, standard_errors, fprs, convention, confidence, resolution):
  """Builds the `MetricEstimate`s from point values and bootstrap replicates or standard errors.

  Wald intervals of proportions are clipped to [0, 1]; the mean difference is not.
  """
  names = metric_names(fprs)
  skipped = np.zeros(len(names), int)
  if replicates is not None:
    low, high, skipped = bootstrap.percentile_interval(replicates, confidence)
  elif standard_errors is not None:
    z = scipy.stats.norm.ppf(0.5 + confidence / 2)
    standard_errors = np.asarray(standard_errors, np.float64)
    low, high = values - z * standard_errors, values + z * standard_errors
    bounded = np.array([name != MEAN_DIFFERENCE for name in names])
    low = np.where(bounded, np.clip(low, 0.0, 1.0), low)
    high = np.where(bounded, np.clip(high, 0.0, 1.0), high)
  else:
    low = high = np.full(len(names), np.nan)
  metrics = {}
  for i, name in enumerate(names):
    rate = fprs[i - 2] if 2 <= i < 2 + len(fprs) else None
    metrics[name] = MetricEstimate(
        name=name, value=float(values[i]), ci_low=float(low[i]), ci_high=float(high[i]),
        convention=convention if rate is not None else None, fpr=rate,
        below_resolution=bool(rate is not None and 0 < rate < resolution),
        skipped_replicates=int(skipped[i]))
  return metrics


def skipped_notes(metrics, num_replicates) -> tuple[str, ...]:
  """Warns about, and returns a note for, bootstrap replicates left out as undefined."""
  skipped = max((m.skipped_replicates for m in metrics.values()), default=0)
  if not skipped:
    return ()
  warnings.warn(f"{skipped} of {num_replicates} bootstrap replicates gave an undefined "
                "metric and were left out of the intervals.", UndefinedMetricWarning,
                stacklevel=4)
  return (f"{skipped} of {num_replicates} bootstrap replicates gave an undefined metric "
          "(an empty group, or a propensity of 0 or 1 after resampling) and were left out "
          "of the intervals.",)
