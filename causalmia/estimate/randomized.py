"""Estimators for randomized designs: multi-run and one-run.

Both estimate the design estimand: for a threshold tau,

  F1(tau) = (1/N) sum_i P(Y_i(1, T_-i) >= tau),
  F0(tau) = (1/N) sum_i P(Y_i(0, T_-i) >= tau),

where T_-i, the inclusion of the other audit examples, is drawn from the
design. Under randomized inclusion the pooled member and non-member score
distributions are unbiased for F1 and F0 (Hajek ratios), and every metric is
read off the pooled ROC with `causalmia.metrics` conventions.
"""

import functools
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from causalmia import _validation
from causalmia.errors import UndefinedMetricWarning
from causalmia.estimate import bootstrap
from causalmia.estimate import result as result_lib
from causalmia.estimate.result import EstimateResult
from causalmia.metrics import _kernel
from causalmia.metrics import summary

DEFAULT_FPRS = (0.01, 0.001)

_ESTIMAND = (
    "causal ROC of the design: F1(tau) = mean_i P(Y_i(1, T_-i) >= tau), "
    "F0(tau) = mean_i P(Y_i(0, T_-i) >= tau); AUC with ties counted 1/2"
)


@functools.partial(jax.jit, static_argnames=("fprs", "convention"))
def _point_estimate(scores, members, fprs, convention):
  sorted_scores = _kernel.sort_scores(scores, members)
  points = _kernel.curve_points(sorted_scores, jnp.ones_like(scores))
  return sorted_scores, points, summary.summarize(points, fprs, convention)


def _check_options(fpr, convention, confidence, num_replicates):
  fprs = _validation.check_rates(fpr)
  if convention not in summary.CONVENTIONS:
    raise ValueError(f"Unknown convention {convention!r}; expected one of {summary.CONVENTIONS}.")
  if not 0.0 < confidence < 1.0:
    raise ValueError(f"confidence must lie in (0, 1), got {confidence}.")
  if num_replicates < 0:
    raise ValueError(f"num_replicates must be non-negative, got {num_replicates}.")
  return fprs


def _curve(sorted_scores, points):
  sorted_scores, points = jax.device_get((sorted_scores, points))
  ends = np.flatnonzero(np.asarray(sorted_scores.block_end) == np.arange(len(sorted_scores.scores)))
  with np.errstate(all="ignore"):
    fpr = np.concatenate([[0.0], points.fp_after[ends] / points.nonmember_weight])
    tpr = np.concatenate([[0.0], points.tp_after[ends] / points.member_weight])
  return {"fpr": fpr, "tpr": tpr}


def _package(values, replicates, fprs, convention, confidence, nonmember_count):
  names = summary.metric_names(fprs)
  if replicates is None:
    low = high = np.full(len(names), np.nan)
    skipped = np.zeros(len(names), int)
  else:
    low, high, skipped = bootstrap.percentile_interval(replicates, confidence)

  return result_lib.metric_estimates(values, low, high, skipped, fprs, convention,
                                     nonmember_count)


def _warn_undefined(members, regime):
  if members.all() or not members.any():
    empty = "non-member" if members.all() else "member"
    warnings.warn(
        f"{regime}: there is no {empty} row, so every metric is undefined (NaN).",
        UndefinedMetricWarning,
        stacklevel=3,
    )


def _skipped_notes(metrics, num_replicates):
  skipped = max((m.skipped_replicates for m in metrics.values()), default=0)
  if not skipped:
    return ()
  return (f"{skipped} of {num_replicates} bootstrap replicates had an empty group "
          "and were left out of the intervals.",)


def multi_run(
    scores,
    masks,
    *,
    fpr=DEFAULT_FPRS,
    convention: str = "step",
    confidence: float = 0.95,
    num_replicates: int = 1000,
    seed: int = 0,
    key=None,
    progress=None,
) -> EstimateResult:
  """Estimates the causal ROC metrics from R randomized training runs.

  Pools the scores of all (run, example) pairs: pairs with `masks = True`
  estimate F1, the others F0 (see the module docstring for the estimand).
  Runs are the independent units, so the interval comes from a cluster
  bootstrap over runs: each replicate draws R runs with replacement, and a
  run drawn twice counts twice.

  Per-example memorization `m_i = mean(s | in) - mean(s | out)` over runs is
  returned in `per_example["memorization"]`. It is NaN (with a warning) for
  an example that is never in or never out. Averages over examples skip
  those, and the result's notes report how many were skipped.

  Args:
    scores: `[runs, examples]` scores, larger meaning more member-like.
    masks: `[runs, examples]` bool inclusion of each example in each run.
    fpr: false-positive rate(s) for TPR at FPR.
    convention: "step" (largest TPR with FPR <= alpha) or "hull".
    confidence: interval coverage.
    num_replicates: bootstrap replicates B; 0 skips the intervals.
    seed: seed of the bootstrap key, used when `key` is None.
    key: the bootstrap key; replicate b uses `fold_in(key, b)`.
    progress: optional callable receiving replicates finished.

  Returns:
    An `EstimateResult` with regime "multi-run".

  Example:
    >>> scores = np.array([[2.0, 0.0], [0.5, 1.0]])
    >>> masks = np.array([[True, False], [False, True]])
    >>> float(multi_run(scores, masks, num_replicates=0)["auc"].value)
    1.0

  References:
    Carlini, Chien, Nasr, Song, Terzis, Tramer, "Membership Inference
    Attacks From First Principles", IEEE S&P 2022 (the multi-run design).
  """
  fprs = _check_options(fpr, convention, confidence, num_replicates)
  scores = _validation.check_scores(scores)
  if scores.ndim != 2:
    raise ValueError(f"scores must be [runs, examples], got shape {scores.shape}.")
  masks = _validation.check_members(masks, scores.shape, name="masks")
  runs, examples = scores.shape
  flat_members = masks.reshape(-1)
  _warn_undefined(flat_members, "multi-run")

  sorted_scores, points, values = _point_estimate(
      jnp.asarray(scores.reshape(-1)), jnp.asarray(flat_members), fprs, convention
  )
  replicates = None
  if num_replicates:
    run_of_row = jnp.repeat(jnp.arange(runs), examples)[sorted_scores.order]
    sampler = bootstrap.ClusterSampler(run_of_row, runs)
    replicates = bootstrap.replicate_metrics(
        jax.random.key(seed) if key is None else key, sorted_scores, sampler, num_replicates,
        fprs=fprs, convention=convention, progress=progress,
    )

  nonmember_rows = int((~flat_members).sum())
  metrics = _package(np.asarray(values), replicates, fprs, convention, confidence, nonmember_rows)
  memorization, never = per_example_memorization(scores, masks)
  notes = _skipped_notes(metrics, num_replicates)
  if never:
    notes += (f"{never} example(s) were never in or never out of training; their "
              "memorization is NaN and the mean over examples skips them.",)
  return EstimateResult(
      regime="multi-run",
      estimand=_ESTIMAND,
      metrics=metrics,
      confidence=confidence,
      interval_method="percentile cluster bootstrap over runs" if num_replicates else "none",
      num_replicates=num_replicates,
      counts={"runs": runs, "examples": examples,
              "member_rows": int(flat_members.sum()), "nonmember_rows": nonmember_rows},
      curve=_curve(sorted_scores, points),
      per_example={"memorization": memorization},
      diagnostics={"mean_memorization": _nanmean(memorization),
                   "examples_without_memorization": never},
      notes=notes,
  )


def _nanmean(values) -> float:
  finite = values[~np.isnan(values)]
  return float(finite.mean()) if finite.size else float("nan")


def per_example_memorization(scores, masks):
  """Per-example `m_i = mean_r(s_ri | T_ri = 1) - mean_r(s_ri | T_ri = 0)`.

  Returns:
    `(memorization, undefined)`: `[examples]` float64 array, NaN for an
    example never in or never out, and the count of such examples. A warning
    of class `UndefinedMetricWarning` is issued when the count is positive.
  """
  scores = np.asarray(scores, np.float64)
  masks = np.asarray(masks, bool)
  in_count = masks.sum(axis=0)
  out_count = (~masks).sum(axis=0)
  with np.errstate(all="ignore"):
    in_mean = np.where(masks, scores, 0.0).sum(axis=0) / in_count
    out_mean = np.where(masks, 0.0, scores).sum(axis=0) / out_count
    memorization = in_mean - out_mean
  undefined = (in_count == 0) | (out_count == 0)
  memorization[undefined] = np.nan
  if undefined.any():
    warnings.warn(
        f"Memorization is undefined for {int(undefined.sum())} example(s) that were never "
        "in or never out of training; they are NaN.",
        UndefinedMetricWarning,
        stacklevel=2,
    )
  return memorization, int(undefined.sum())


def one_run(
    scores,
    mask,
    *,
    fpr=DEFAULT_FPRS,
    convention: str = "step",
    confidence: float = 0.95,
    num_replicates: int = 1000,
    seed: int = 0,
    key=None,
    resampling: str = "multinomial",
    progress=None,
) -> EstimateResult:
  """Estimates the causal ROC metrics from one model trained on a randomized subset.

  The included examples' scores estimate F1 and the others' F0. All N
  scores share one model, so each depends on which other examples were
  included (interference): the estimate targets the design estimand, and it
  is consistent as N grows only when training is stable, meaning one
  example moves another's score by beta = o(N^-1/2). The interval comes
  from a bootstrap over examples stratified by membership; it treats the
  scores as independent and so does not include interference.

  Args:
    scores: `[examples]` scores of the one model.
    mask: `[examples]` bool inclusion in its training set.
    fpr, convention, confidence, num_replicates, seed, key, progress: as in
      `multi_run`.
    resampling: "multinomial" (fixed group sizes, the classical stratified
      bootstrap) or "poisson" (independent Poisson(1) multiplicities, faster
      for millions of examples).

  Returns:
    An `EstimateResult` with regime "one-run".

  Example:
    >>> result = one_run(np.array([3.0, 2.0, 1.0, 0.0]), np.array([1, 0, 1, 0]),
    ...                  num_replicates=0)
    >>> float(result["auc"].value)
    0.75

  References:
    Steinke, Nasr, Jagielski, "Privacy Auditing with One (1) Training Run",
    NeurIPS 2023 (the one-run design).
  """
  fprs = _check_options(fpr, convention, confidence, num_replicates)
  if resampling not in bootstrap.RESAMPLING:
    raise ValueError(f"Unknown resampling {resampling!r}; expected one of {bootstrap.RESAMPLING}.")
  scores = _validation.check_scores(scores)
  if scores.ndim != 1:
    raise ValueError(f"scores must be [examples] for one run, got shape {scores.shape}.")
  mask = _validation.check_members(mask, scores.shape, name="mask")
  _warn_undefined(mask, "one-run")

  sorted_scores, points, values = _point_estimate(
      jnp.asarray(scores), jnp.asarray(mask), fprs, convention
  )
  replicates = None
  if num_replicates:
    sampler = bootstrap.example_sampler(sorted_scores.members, resampling)
    replicates = bootstrap.replicate_metrics(
        jax.random.key(seed) if key is None else key, sorted_scores, sampler, num_replicates,
        fprs=fprs, convention=convention, progress=progress,
    )

  nonmember_rows = int((~mask).sum())
  metrics = _package(np.asarray(values), replicates, fprs, convention, confidence, nonmember_rows)
  notes = _skipped_notes(metrics, num_replicates) + (
      "One shared model: the interval assumes no interference between examples.",
  )
  return EstimateResult(
      regime="one-run",
      estimand=_ESTIMAND,
      metrics=metrics,
      confidence=confidence,
      interval_method=(
          f"percentile bootstrap over examples, stratified by membership ({resampling})"
          if num_replicates else "none"
      ),
      num_replicates=num_replicates,
      counts={"runs": 1, "examples": int(scores.shape[0]),
              "member_rows": int(mask.sum()), "nonmember_rows": nonmember_rows},
      curve=_curve(sorted_scores, points),
      notes=notes,
  )
