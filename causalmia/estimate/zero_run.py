"""Zero-run estimates: one model trained on a fixed member set, adjusted for covariates.

Membership was not randomized, so members and non-members may differ in
covariates X (date, source, topic) that move the scores by themselves. Under
conditional ignorability (membership independent of the potential scores
given X) and overlap (0 < e(X) < 1), the causal ROC of the audit pool is
identified by

  IPW:        F_1(tau) = E[T 1{Y >= tau} / e(X)] / E[T / e(X)]
  G-formula:  F_t(tau) = E[mu_t(tau, X)],  mu_t(tau, x) = P(Y >= tau | T = t, X = x)
  AIPW:       F_1(tau) = E[mu_1(tau, X) + T (1{Y >= tau} - mu_1(tau, X)) / e(X)]

and F_0 symmetrically with 1 - T and 1 - e(X). AIPW is doubly robust: it is
consistent when either the propensity model or the outcome model is right.
"""

import warnings

import jax
import jax.numpy as jnp
import numpy as np

from causalmia import _validation
from causalmia.errors import LowOverlapWarning, PositivityError
from causalmia.estimate import overlap
from causalmia.estimate import zero_run_engine as engine
from causalmia.estimate import zero_run_inputs as inputs_lib
from causalmia.estimate import zero_run_report as packaging
from causalmia.estimate.randomized import DEFAULT_FPRS
from causalmia.estimate.result import EstimateResult
from causalmia.estimate.zero_run_inputs import INTERVALS, METHODS
from causalmia.estimate.zero_run_report import MEAN_DIFFERENCE, metric_names
from causalmia.metrics import _kernel
from causalmia.metrics import roc
from causalmia.nuisance import features as features_lib
from causalmia.nuisance import propensity as propensity_lib
from causalmia.nuisance.settings import NuisanceConfig

__all__ = ["INTERVALS", "MEAN_DIFFERENCE", "METHODS", "metric_names", "zero_run"]

_ESTIMANDS = {
    "pool": ("causal ROC of the audit pool: F_t(tau) = mean over its rows of "
             "P(Y_i(t) >= tau), adjusted for the covariates; AUC with ties counted 1/2"),
    "members": ("causal ROC of the member population: F_t(tau) = mean over members of "
                "P(Y_i(t) >= tau), adjusted for the covariates; AUC with ties counted 1/2"),
}
_NAIVE_ESTIMAND = ("naive comparison of member and non-member scores, not adjusted for "
                   "covariates (causal only when membership was randomized); AUC with ties 1/2")


def zero_run(
    scores,
    members,
    covariates=None,
    *,
    method: str = "aipw",
    target: str = "pool",
    propensity=None,
    propensity_model: str = "logistic",
    outcome_model: str = "distribution",
    folds: int = 5,
    clip=None,
    trim=None,
    thresholds: int = 100,
    fpr=DEFAULT_FPRS,
    convention: str = "step",
    confidence: float = 0.95,
    interval: str = "bootstrap",
    num_replicates: int = 200,
    seed: int = 0,
    key=None,
    covariate_names=None,
    l2: float = 1e-3,
    progress=None,
) -> EstimateResult:
  """Estimates the causal ROC metrics of one model trained on a non-random member set.

  The estimand (target "pool") is the causal ROC of the audit pool,
  `F_t(tau) = (1/N) sum_i P(Y_i(t) >= tau)` for t = 1 (trained on) and t = 0,
  with the AUC `P(Y(1) > Y(0)) + P(Y(1) = Y(0)) / 2`, TPR at FPR and the
  advantage read from it; target "members" averages over the members only.
  The metrics follow `causalmia.metrics`: the rule `score >= tau`, ties
  counted 1/2, TPR at FPR by the step or hull convention. IPW and naive
  curves have a vertex at every distinct score. G-formula and AIPW curves
  are estimated at `thresholds` grid points (every distinct score when there
  are fewer) and projected to valid curves (clipped to [0, 1], then
  isotonic). Their metrics interpolate linearly between grid vertices, which
  counts the scores between two grid thresholds as tied. `mean_difference` is the
  difference of the two adjusted mean scores (Hajek-weighted), the average
  effect of training on the score.

  Assumptions: conditional ignorability given the covariates; overlap
  (`0 < e(x) < 1`); and, because one model produced all scores, stability of
  training (one example barely moves another's score). The intervals treat
  rows as independent and leave out interference.

  Positivity. Rows without overlap (see `causalmia.estimate.overlap`) make
  the estimate rest on extrapolation. By default they raise
  `PositivityError`, which names the rows and their covariate region.
  `clip=(low, high)` proceeds with clipped propensities and marks the
  result as not causal. `trim="support"` (or `trim=alpha`, which keeps
  `alpha <= e <= 1 - alpha`) drops rows and estimates the causal ROC of the
  overlap region instead.

  Args:
    scores: `[examples]` scores of the one model, larger meaning more
      member-like.
    members: `[examples]` bool (or 0/1) membership in its training set.
    covariates: `[examples, covariates]` (or `[examples]`) covariates that
      drove membership. Needed by every method except "naive" and "ipw" with
      a given `propensity`.
    method: "naive", "ipw", "gformula" or "aipw".
    target: "pool" (all rows) or "members".
    propensity: `[examples]` known propensities, used as given (no fit).
    propensity_model: "logistic", "mlp" or "cells" (see `NuisanceConfig`).
    outcome_model: "distribution" or "gaussian".
    folds: cross-fitting folds K (1: no cross-fitting).
    clip: None, eta (meaning `(eta, 1 - eta)`) or `(low, high)`.
    trim: None, "support" or alpha in (0, 1/2).
    thresholds: grid size of the G-formula and AIPW curves.
    fpr: false-positive rate(s) for TPR at FPR.
    convention: "step" or "hull".
    confidence: interval coverage.
    interval: "bootstrap" (over examples, nuisance models refit in every
      replicate) or "influence" (AIPW only: Wald intervals from influence
      functions of the cross-fitted estimate).
    num_replicates: bootstrap replicates B; 0 skips the bootstrap.
    seed: seed of the root key, used when `key` is None.
    key: root key, split into the fold, model and bootstrap keys.
    covariate_names: names of the covariate columns for diagnostics.
    l2: L2 penalty of the regressions (standardized covariates).
    progress: optional callable receiving bootstrap replicates finished.

  Returns:
    An `EstimateResult` with regime "zero-run". For the adjusted methods
    `diagnostics` contains the effective sample sizes, propensity quantiles,
    the share of propensities outside [0.05, 0.95], the overlap report and
    the naive values, plus standardized mean differences when covariates are
    given and, for G-formula and AIPW, how much the projection changed the
    curves. `per_example` contains the propensities and balancing weights
    used (and `kept` after trimming).

  Example:
    >>> result = zero_run([0.9, 0.6, 0.7, 0.1], [1, 1, 0, 0], method="ipw",
    ...                   propensity=[0.5, 0.5, 0.5, 0.5], num_replicates=0)
    >>> float(result["auc"].value)
    0.75

  References:
    Robins, Rotnitzky, Zhao, "Estimation of Regression Coefficients When
    Some Regressors Are Not Always Observed", JASA 1994 (AIPW).
    Chernozhukov, Chetverikov, Demirer, Duflo, Hansen, Newey, Robins,
    "Double/debiased machine learning for treatment and structural
    parameters", The Econometrics Journal 2018 (cross-fitting).
    Chernozhukov, Fernandez-Val, Melly, "Inference on Counterfactual
    Distributions", Econometrica 2013 (distribution regression).
    Crump, Hotz, Imbens, Mitnik, "Dealing with limited overlap in estimation
    of average treatment effects", Biometrika 2009 (trimming by propensity).
  """
  options = inputs_lib.check_options(method, target, interval, fpr, convention, confidence,
                                     num_replicates, thresholds, clip, trim)
  scores = _validation.check_scores(scores)
  if scores.ndim != 1:
    raise ValueError(f"scores must be [examples] for one model, got shape {scores.shape}.")
  members = _validation.check_members(members, scores.shape)
  inputs_lib.check_groups(members)
  covariates, covariate_names = inputs_lib.check_covariates(covariates, covariate_names,
                                                            scores.shape[0])
  propensity = inputs_lib.check_propensity(propensity, scores.shape)
  if covariates is None and method != "naive" and not (method == "ipw" and propensity is not None):
    raise ValueError(f"method {method!r} needs covariates (the variables that drove "
                     "membership); only 'naive', and 'ipw' with given propensities, run without.")
  if method in ("gformula", "aipw") and not np.isfinite(scores).all():
    raise ValueError(f"scores contain infinite values; method {method!r} fits outcome models "
                     "that need finite scores. Replace them by large finite values.")

  root = jax.random.key(seed) if key is None else key
  inputs = dict(scores=scores, members=members, covariates=covariates,
                covariate_names=covariate_names, propensity=propensity, root=root,
                method=method, target=target, propensity_model=propensity_model,
                outcome_model=outcome_model, folds=folds, l2=l2, progress=progress, **options)
  if method == "naive":
    return _naive(**inputs)
  return _adjusted(**inputs)


def _naive(*, scores, members, covariates, covariate_names, root, fprs, convention,
           confidence, num_replicates, progress, **_):
  plan = engine.Plan("naive", "pool", NuisanceConfig(), False, None, fprs, convention)
  data = _data(scores, members, None, None, None, None, np.zeros(1))
  _, model_key, bootstrap_key = jax.random.split(root, 3)
  values = np.asarray(engine.point_estimate(plan, data, data.scores)["metrics"])
  replicates = None
  if num_replicates:
    replicates, _ = engine.bootstrap_replicates(plan, data, bootstrap_key, model_key,
                                                num_replicates, progress=progress)
  ones = np.ones(scores.shape)
  diagnostics = overlap.overlap_diagnostics(covariates, covariate_names, members,
                                            np.full(scores.shape, members.mean()), ones)
  diagnostics.pop("propensity_quantiles")
  metrics = packaging.package(values, replicates, None, fprs, convention, confidence,
                              roc.resolution(members))
  return EstimateResult(
      regime="zero-run",
      estimand=_NAIVE_ESTIMAND,
      metrics=metrics,
      confidence=confidence,
      interval_method=packaging.interval_text("naive", "bootstrap", num_replicates),
      num_replicates=num_replicates,
      counts=packaging.counts(members),
      curve=packaging.kernel_curve(scores, members, ones),
      diagnostics=diagnostics,
      notes=packaging.skipped_notes(metrics, num_replicates) + (
          "Not adjusted for covariates: the difference mixes the effect of training with "
          "any difference between the groups' covariates.",),
  )


_sort_scores = jax.jit(_kernel.sort_scores)


def _data(scores, members, features, fold_ids, cells, propensity, grid) -> engine.Data:
  n = scores.shape[0]
  dtype = jax.dtypes.canonicalize_dtype(np.float64)
  scores_j = jnp.asarray(scores, dtype)
  members_j = jnp.asarray(members)
  return engine.Data(
      scores=scores_j,
      members=members_j,
      features=jnp.asarray(features if features is not None else np.ones((n, 1)), dtype),
      fold_ids=jnp.asarray(fold_ids if fold_ids is not None else np.zeros(n), jnp.int32),
      cells=jnp.asarray(cells if cells is not None else np.zeros(n), jnp.int32),
      given_propensity=jnp.asarray(propensity if propensity is not None else np.zeros(n), dtype),
      grid=jnp.asarray(grid, dtype),
      sorted_scores=_sort_scores(scores_j, members_j),
  )


def _adjusted(*, scores, members, covariates, covariate_names, propensity, root, method,
              target, propensity_model, outcome_model, folds, l2, progress, fprs, convention,
              confidence, interval, num_replicates, thresholds, clip, trim, row_ids=None):
  fold_key, model_key, bootstrap_key = jax.random.split(root, 3)
  fit_propensity = propensity is None
  cells, num_cells = (None, 0)
  if covariates is not None and propensity_model == "cells":
    cells, num_cells = propensity_lib.cell_ids(covariates)
  nuisance = NuisanceConfig(propensity_model=propensity_model, outcome_model=outcome_model,
                            folds=folds, l2=l2, num_cells=num_cells)
  needs_folds = (fit_propensity and propensity_model != "cells") or method in ("gformula", "aipw")
  if needs_folds:
    inputs_lib.check_folds(members, folds)
  features = features_lib.design_matrix(covariates) if covariates is not None else None
  fold_ids = features_lib.assign_folds(fold_key, members, folds) if needs_folds else None
  grid = (engine.threshold_grid(scores, thresholds) if method in ("gformula", "aipw")
          else np.zeros(1))
  data = _data(scores, members, features, fold_ids, cells, propensity, grid)

  # The unclipped propensities decide positivity; clipping comes after.
  plan = engine.Plan(method, target, nuisance, fit_propensity, clip, fprs, convention)
  raw_propensity = np.asarray(
      engine.fit_propensity(plan, data, jnp.ones_like(data.scores), model_key), np.float64)
  report = overlap.assess_overlap(raw_propensity, members, covariates, covariate_names,
                                  target=target, row_ids=row_ids)
  if trim is not None:
    inputs = dict(scores=scores, members=members, covariates=covariates,
                  covariate_names=covariate_names, propensity=propensity, root=root,
                  method=method, target=target, propensity_model=propensity_model,
                  outcome_model=outcome_model, folds=folds, l2=l2, progress=progress, fprs=fprs,
                  convention=convention, confidence=confidence, interval=interval,
                  num_replicates=num_replicates, thresholds=thresholds, clip=clip)
    return _trimmed(inputs, raw_propensity, report, trim)
  if report.failed and clip is None:
    raise PositivityError(
        f"Positivity fails: {report.description} Pass trim='support' (command line: --trim "
        "support) to estimate the causal ROC of the overlap region, or clip=(low, high) "
        "(--clip LOW,HIGH) to reweight these rows anyway (the result is then an "
        "extrapolation, not a causal estimate).")

  point = jax.device_get(engine.point_estimate(plan, data, jnp.asarray(raw_propensity,
                                                                      data.scores.dtype)))
  used_propensity = np.asarray(point["propensity"], np.float64)
  balancing = np.asarray(point["balancing_weights"], np.float64)
  values = np.asarray(point["metrics"], np.float64)

  replicates, changes = None, None
  if interval == "bootstrap" and num_replicates:
    replicates, changes = engine.bootstrap_replicates(plan, data, bootstrap_key, model_key,
                                                      num_replicates, progress=progress)
  standard_errors = point.get("standard_errors")
  wald = standard_errors if interval == "influence" else None

  diagnostics = overlap.overlap_diagnostics(covariates, covariate_names, members,
                                            used_propensity, balancing)
  diagnostics["naive"] = dict(zip(metric_names(fprs), map(float, point["naive_metrics"])))
  diagnostics["propensity"] = packaging.propensity_summary(
      raw_propensity, used_propensity, members, clip, fit_propensity, nuisance)
  causal = not report.failed
  diagnostics["overlap"] = {**report.to_dict(), "causal": causal}
  notes = []
  if not causal:
    notes.append(
        f"NOT CAUSAL: {report.description} The clipped propensities reweight these rows "
        "anyway, so the numbers extrapolate beyond what the data support. Use "
        "trim='support' for the causal estimate on the overlap region.")
  if report.weak_overlap.any():
    message = (f"Weak overlap: {report.weak_description} Their estimates rest on the models' "
               "extrapolation; trim='support' drops them.")
    warnings.warn(message, LowOverlapWarning, stacklevel=3)
    notes.append(message)
  notes += packaging.ess_notes(diagnostics, members)
  if method in ("gformula", "aipw"):
    diagnostics["projection"] = packaging.projection_summary(point, changes)
    if diagnostics["projection"]["acted"]:
      notes.append(f"The {method} curves left [0, 1] or were not monotone and were projected; "
                   f"the largest change was {diagnostics['projection']['max_change']:.4g}.")
    diagnostics["grid"] = {"thresholds": int(grid.shape[0]),
                           "all_distinct_scores": bool(grid.shape[0] == np.unique(scores).size)}
  if standard_errors is not None:
    diagnostics["influence_standard_errors"] = dict(zip(metric_names(fprs),
                                                        map(float, standard_errors)))

  if method == "ipw":
    resolution = roc.resolution(members, balancing)
    curve = packaging.kernel_curve(scores, members, balancing)
  else:
    curves = np.asarray(point["curves"], np.float64)
    positive = curves[1][curves[1] > 0]
    resolution = float(positive.min()) if positive.size else float("nan")
    curve = {"fpr": np.concatenate([[0.0], curves[1], [1.0]]),
             "tpr": np.concatenate([[0.0], curves[0], [1.0]]),
             "thresholds": np.concatenate([[np.inf], grid, [-np.inf]])}
  metrics = packaging.package(values, replicates, wald, fprs, convention, confidence, resolution)
  notes = (packaging.skipped_notes(metrics, num_replicates) + tuple(notes)
           + packaging.assumption_notes(interval))
  estimand = _ESTIMANDS[target]
  if not causal:
    estimand = "NOT CAUSAL (rows without overlap were reweighted after clipping): " + estimand
  return EstimateResult(
      regime="zero-run",
      estimand=estimand,
      metrics=metrics,
      confidence=confidence,
      interval_method=packaging.interval_text(method, interval, num_replicates),
      num_replicates=num_replicates if interval == "bootstrap" else 0,
      counts=packaging.counts(members),
      curve=curve,
      per_example={"propensity": used_propensity, "balancing_weight": balancing,
                   "no_overlap": report.no_overlap},
      diagnostics=diagnostics,
      notes=notes,
  )


def _trimmed(inputs, raw_propensity, report, trim):
  scores, members, covariates = inputs["scores"], inputs["members"], inputs["covariates"]
  if trim == "support":
    keep = overlap.overlap_subset(covariates, members, raw_propensity, target=inputs["target"]) \
        if covariates is not None else (raw_propensity > 0) & (raw_propensity < 1)
    rule = "rows outside the other group's covariate range or with propensity 0 or 1"
  else:
    keep = (raw_propensity >= trim) & (raw_propensity <= 1 - trim)
    rule = f"rows with propensity outside [{trim:g}, {1 - trim:g}]"
  kept_members = members[keep]
  if kept_members.all() or not kept_members.any():
    raise PositivityError(
        f"No overlap region: after dropping {rule}, {int(keep.sum())} row(s) remain and they "
        f"are all in one group. {report.description} The data cannot support a causal "
        "estimate for any part of this pool.")
  subset = dict(inputs, scores=scores[keep], members=members[keep], trim=None,
                covariates=covariates[keep] if covariates is not None else None,
                propensity=(inputs["propensity"][keep] if inputs["propensity"] is not None
                            else None))
  inputs_lib.check_groups(subset["members"])
  result = _adjusted(**subset, row_ids=np.flatnonzero(keep))

  dropped = np.flatnonzero(~keep)
  per_example = {name: packaging.expand(values, keep)
                 for name, values in result.per_example.items()}
  per_example["kept"] = keep
  diagnostics = dict(result.diagnostics)
  diagnostics["trim"] = {
      "rule": rule, "rows_kept": int(keep.sum()), "rows_dropped": int(dropped.size),
      "members_dropped": int((~keep & members).sum()),
      "nonmembers_dropped": int((~keep & ~members).sum()),
      "rows_dropped_listed": dropped[:50].tolist(),
      "overlap_before_trim": report.to_dict(),
  }
  counts = dict(result.counts, examples_before_trim=int(scores.shape[0]),
                trimmed_rows=int(dropped.size))
  note = (f"Estimated on the overlap region: {dropped.size} of {scores.shape[0]} rows were "
          f"dropped ({rule}), so the estimand is the causal ROC of the remaining rows, not of "
          "the whole pool.")
  return EstimateResult(
      regime=result.regime,
      estimand=result.estimand.replace("the audit pool", "the overlap region of the audit pool"),
      metrics=result.metrics, confidence=result.confidence,
      interval_method=result.interval_method, num_replicates=result.num_replicates,
      counts=counts, curve=result.curve, per_example=per_example, diagnostics=diagnostics,
      notes=(note,) + result.notes)


