"""Design-rate extrapolation: one-run estimates at K inclusion rates, fitted and taken to p -> 0.

Under Bernoulli(p) inclusion, each example's score averages over about
p (N - 1) co-included examples. As p -> 0 the design estimand tends to the
no-interference estimand (T_-i = 0), so a polynomial fit of a metric against
p, evaluated at p = 0, estimates the metric without interference. The K
models are independent one-run trainings, which one vmapped batch can train
together (`rate_masks` gives their masks).
"""

import dataclasses
import functools
import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, PRNGKeyArray

from causalmia import _validation
from causalmia.errors import ExtrapolationWarning
from causalmia.estimate.randomized import DEFAULT_FPRS
from causalmia.estimate.result import EstimateResult
from causalmia.interference import _linalg
from causalmia.interference import _metrics
from causalmia.interference.leave_one_in import ESTIMAND as NO_INTERFERENCE_ESTIMAND
from causalmia.metrics import summary


def rate_masks(key: PRNGKeyArray, rates, num_examples: int) -> Bool[Array, "rates examples"]:
  """Sample one Bernoulli(p_k) inclusion mask per rate, mask k drawn with `fold_in(key, k)`."""
  rates = jnp.asarray(rates)
  keys = jax.vmap(lambda k: jax.random.fold_in(key, k))(jnp.arange(rates.shape[0]))
  return jax.vmap(lambda k, p: jax.random.bernoulli(k, p, (num_examples,)))(keys, rates)


def polynomial_fit(rates, values, degree: int, target: float = 0.0):
  """Least-squares coefficients of `values ~ sum_k c_k (rate - target)^k`; jittable.

  `values` may have leading batch axes; the fit is along the last axis.
  Coefficient 0 is the fitted value at `target`.
  """
  design = jnp.stack([(jnp.asarray(rates) - target) ** k for k in range(degree + 1)], axis=1)
  # Normal equations: a handful of well-separated rates keep them well conditioned.
  projection = _linalg.solve_spd(design.T @ design, design.T)
  return jnp.einsum("ck,...k->...c", projection, values)


@dataclasses.dataclass(frozen=True)
class ExtrapolationFit:
  """A polynomial fit of a metric against the inclusion rate, evaluated at `target`.

  Attributes:
    rates: the inclusion rates p_1 < ... < p_K.
    values: the metric estimated at each rate.
    degree: polynomial degree of the fit.
    target: the rate extrapolated to (0: no interference).
    coefficients: `c_k` of `sum_k c_k (p - target)^k`, lowest power first.
    value: the fitted metric at `target` (equal to `coefficients[0]`).
    standard_error: its standard error (NaN when no uncertainty is available).
    ci_low: lower end of the confidence interval.
    ci_high: upper end of the confidence interval.
    residuals: `values` minus the fit at each rate.
    uncertainty: how the interval was computed.
  """

  rates: tuple[float, ...]
  values: np.ndarray
  degree: int
  target: float
  coefficients: np.ndarray
  value: float
  standard_error: float
  ci_low: float
  ci_high: float
  residuals: np.ndarray
  uncertainty: str

  def to_dict(self) -> dict:
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v)
            for k, v in dataclasses.asdict(self).items()}


def _design(rates, degree, target):
  return np.stack([(rates - target) ** k for k in range(degree + 1)], axis=1)


def fit_extrapolation(
    rates, values, *, degree: int = 1, target: float = 0.0, replicates=None,
    standard_errors=None, confidence: float = 0.95,
) -> ExtrapolationFit:
  """Fits `values` against `rates` by a polynomial and evaluates it at `target`.

  The uncertainty comes from the first of these that is available. Given
  `replicates` `[replicates, rates]` (for example bootstrap replicates of
  each rate's estimate), each replicate is fitted the same way, which gives
  a percentile interval and a standard deviation. Given `standard_errors`
  `[rates]`, a weighted fit gives its covariance and a normal interval.
  Otherwise the residual variance of an ordinary fit is used, which needs
  more rates than coefficients. A target outside the rates is
  an extrapolation whose error also includes any misfit of the polynomial.

  Example:
    >>> fit = fit_extrapolation([0.1, 0.2, 0.4], [0.8, 0.7, 0.5])
    >>> round(fit.value, 6)
    0.9
  """
  rates = np.asarray(rates, np.float64)
  values = np.asarray(values, np.float64)
  if rates.ndim != 1 or values.shape != rates.shape:
    raise ValueError(f"rates and values must be 1-D of equal length, got shapes "
                     f"{rates.shape} and {values.shape}.")
  if degree < 0 or rates.size <= degree:
    raise ValueError(f"a degree-{degree} fit needs at least {degree + 1} rates, got {rates.size}.")
  if np.unique(rates).size != rates.size:
    raise ValueError(f"rates must be distinct, got {rates.tolist()}.")
  if not np.isfinite(values).all():
    raise ValueError(f"values must be finite, got {values.tolist()}.")

  design = _design(rates, degree, target)
  weights = np.ones_like(rates)
  if standard_errors is not None and replicates is None:
    standard_errors = np.asarray(standard_errors, np.float64)
    if standard_errors.shape != rates.shape or not (standard_errors > 0).all():
      raise ValueError("standard_errors must be positive, one per rate.")
    weights = 1.0 / standard_errors**2
  root = np.sqrt(weights)[:, None]
  coefficients, *_ = np.linalg.lstsq(design * root, values * root[:, 0], rcond=None)
  residuals = values - design @ coefficients
  value = float(coefficients[0])
  tail = (1.0 - confidence) / 2.0

  if replicates is not None:
    replicates = np.asarray(replicates, np.float64)
    if replicates.ndim != 2 or replicates.shape[1] != rates.size:
      raise ValueError(f"replicates must be [replicates, {rates.size}], got {replicates.shape}.")
    fitted = np.linalg.lstsq(design, replicates.T, rcond=None)[0][0]
    fitted = fitted[np.isfinite(fitted)]
    se = float(np.std(fitted, ddof=1)) if fitted.size > 1 else math.nan
    low, high = (np.quantile(fitted, [tail, 1 - tail]) if fitted.size else (math.nan, math.nan))
    method = f"percentile over {fitted.size} refitted replicates"
  else:
    if standard_errors is not None:
      covariance = np.linalg.inv(design.T @ (design * weights[:, None]))
      method = "weighted least squares with the given standard errors"
    elif rates.size > degree + 1:
      sigma2 = float(residuals @ residuals) / (rates.size - degree - 1)
      covariance = sigma2 * np.linalg.inv(design.T @ design)
      method = "ordinary least squares, residual variance"
    else:
      covariance = np.full((degree + 1, degree + 1), np.nan)
      method = "none: as many rates as coefficients and no replicates"
    se = float(np.sqrt(covariance[0, 0]))
    z = _normal_quantile(1 - tail)
    low, high = value - z * se, value + z * se

  return ExtrapolationFit(
      rates=tuple(float(r) for r in rates), values=values, degree=degree, target=float(target),
      coefficients=coefficients, value=value, standard_error=se, ci_low=float(low),
      ci_high=float(high), residuals=residuals, uncertainty=method,
  )


def _normal_quantile(probability: float) -> float:
  from scipy.stats import norm  # Deferred: scipy.stats is slow to import.

  return float(norm.ppf(probability))


def stratified_multiplicities(key, members):
  """Multinomial bootstrap multiplicities stratified by membership, in fixed shapes; jittable.

  Each group of size n_g receives n_g draws with replacement among its own
  rows, as `StratifiedSampler` does. The arrays have length N whatever the
  group sizes, so runs with different member counts share one compiled
  program and can be vmapped.
  """
  num_rows = members.shape[0]
  member_count = jnp.sum(members)
  member_first = jnp.argsort(~members, stable=True)
  nonmember_first = jnp.argsort(members, stable=True)
  member_key, nonmember_key = jax.random.split(key)
  member_slot = jax.random.uniform(member_key, (num_rows,)) * member_count
  nonmember_slot = jax.random.uniform(nonmember_key, (num_rows,)) * (num_rows - member_count)
  # Row i draws for its own group, so each group gets exactly as many draws as it has rows.
  picks = jnp.where(members, member_first[member_slot.astype(jnp.int32)],
                    nonmember_first[nonmember_slot.astype(jnp.int32)])
  return jnp.zeros(num_rows, jnp.float32).at[picks].add(1.0)


@functools.partial(jax.jit, static_argnames=("fprs", "convention", "count"))
def _replicate_chunk(key, first, scores, masks, fprs, convention, count):
  def run(k, run_scores, run_mask):
    run_key = jax.random.fold_in(key, k)

    def one(b):
      weights = stratified_multiplicities(jax.random.fold_in(run_key, b), run_mask)
      return _metrics.point_metrics(run_scores, run_mask, fprs, convention, weights)

    return jax.lax.map(one, first + jnp.arange(count), batch_size=_MAP_BATCH)

  rates = jnp.arange(scores.shape[0])
  return jax.vmap(run, out_axes=1)(rates, scores, masks)


# Replicates evaluated side by side inside `lax.map` for each run.
_MAP_BATCH = 8


def extrapolated_one_run(
    scores, masks, rates, *, degree: int = 1, target: float = 0.0, fpr=DEFAULT_FPRS,
    convention: str = "step", confidence: float = 0.95, num_replicates: int = 1000,
    seed: int = 0, key=None, chunk: int = 100, progress=None,
) -> EstimateResult:
  """Estimates the no-interference causal ROC metrics by design-rate extrapolation.

  Estimand: the no-interference causal ROC (`T_-i = 0`), the limit of the
  design estimand as the inclusion rate p -> 0. Each of the K runs is a
  one-run experiment at rate `rates[k]`. Its metrics are AUC with ties 1/2,
  advantage, and TPR at FPR for the rule `score >= tau` in the step or hull
  convention. Each metric is fitted by a polynomial of `degree` in p and
  evaluated at `target`. Assumes the metric is smooth in p on [target, p_K]; the bias of
  the fit is not part of the interval, which comes from independent
  membership-stratified bootstraps of each run, each replicate refitted.

  Args:
    scores: `[rates, examples]` scores of the K one-run models.
    masks: `[rates, examples]` their inclusion masks.
    rates: the K distinct inclusion rates, in the order of the rows.
    degree: polynomial degree (1: linear), fewer than K.
    target: the rate to extrapolate to.
    fpr, convention, confidence, num_replicates, seed, key, progress: as in
      `causalmia.estimate.one_run`; replicate b of run k uses
      `fold_in(fold_in(key, k), b)`, and `progress` counts run replicates.
    chunk: replicates per compiled call; all K runs are bootstrapped in it.

  Returns:
    An `EstimateResult` with regime "one-run (design-rate extrapolation)";
    `diagnostics["fits"]` contains each metric's `ExtrapolationFit` as a dict.

  Example:
    >>> masks = np.array([[1, 0, 1, 0], [1, 0, 0, 1]], bool)
    >>> scores = np.array([[3.0, 2.0, 1.0, 0.0], [3.0, 2.0, 1.0, 0.0]])
    >>> result = extrapolated_one_run(scores, masks, [0.25, 0.5], num_replicates=0)
    >>> round(result["auc"].value, 6)
    1.0

  References:
    Steinke, Nasr, Jagielski, "Privacy Auditing with One (1) Training Run",
    NeurIPS 2023 (the one-run design whose rate is varied here).
  """
  fprs = _validation.check_rates(fpr)
  if convention not in summary.CONVENTIONS:
    raise ValueError(f"Unknown convention {convention!r}; expected one of {summary.CONVENTIONS}.")
  scores = _validation.check_scores(scores)
  if scores.ndim != 2:
    raise ValueError(f"scores must be [rates, examples], got shape {scores.shape}.")
  masks = _validation.check_members(masks, scores.shape, name="masks")
  rates = np.asarray(rates, np.float64)
  if rates.shape != (scores.shape[0],):
    raise ValueError(f"rates has shape {rates.shape}, but there are {scores.shape[0]} runs.")
  if ((rates <= 0) | (rates >= 1)).any():
    raise ValueError(f"rates must lie in (0, 1), got {rates.tolist()}.")

  device_scores, device_masks = jnp.asarray(scores), jnp.asarray(masks)
  values = np.asarray(jax.jit(_metrics.one_run_metrics, static_argnums=(2, 3))(
      device_scores, device_masks, fprs, convention))
  replicates = None
  if num_replicates:
    root = jax.random.key(seed) if key is None else key
    chunk = max(1, min(chunk, num_replicates))
    parts = []
    for first in range(0, num_replicates, chunk):
      part = _replicate_chunk(root, first, device_scores, device_masks, fprs, convention, chunk)
      parts.append(np.asarray(part)[: num_replicates - first])
      if progress is not None:
        progress(min(chunk, num_replicates - first) * len(rates))
    replicates = np.concatenate(parts)  # [replicates, rates, metrics]

  names = summary.metric_names(fprs)
  fits = {}
  for m, name in enumerate(names):
    undefined = ~np.isfinite(values[:, m])
    if undefined.any():
      raise ValueError(f"{name} is undefined (NaN) for the runs at rates "
                       f"{rates[undefined].tolist()}; each run needs members and non-members.")
    fits[name] = fit_extrapolation(
        rates, values[:, m], degree=degree, target=target, confidence=confidence,
        replicates=None if replicates is None else replicates[:, :, m])

  point = np.array([fits[n].value for n in names])
  low = np.array([fits[n].ci_low for n in names])
  high = np.array([fits[n].ci_high for n in names])
  skipped = np.zeros(len(names), int)
  if replicates is not None:
    skipped = np.isnan(replicates).any(axis=1).sum(axis=0)
  nonmembers = int((~masks).sum(axis=1).min())
  metrics = _metrics.package(point, low, high, skipped, fprs, convention, nonmembers)

  notes = ("Extrapolated to p = %g from rates %s; the interval leaves out the error of the "
           "polynomial form." % (target, ", ".join(f"{r:g}" for r in rates)),)
  outside = [n for n in names if not 0.0 <= fits[n].value <= 1.0]
  if outside:
    notes += (f"Extrapolated values outside [0, 1] for {outside}; the fit left the range "
              "of a rate.",)
  if target < rates.min() - (rates.max() - rates.min()):
    warnings.warn(
        f"target {target:g} lies farther below the rates than their span "
        f"[{rates.min():g}, {rates.max():g}]; the fit is extrapolated far.",
        ExtrapolationWarning, stacklevel=2)
  return EstimateResult(
      regime="one-run (design-rate extrapolation)",
      estimand=NO_INTERFERENCE_ESTIMAND,
      metrics=metrics,
      confidence=confidence,
      interval_method=(
          "percentile bootstrap over examples of each run, stratified by membership, "
          "each replicate refitted" if num_replicates else "none"),
      num_replicates=num_replicates,
      counts={"runs": int(scores.shape[0]), "examples": int(scores.shape[1]),
              "member_rows": int(masks.sum()), "nonmember_rows": int((~masks).sum())},
      curve={"fpr": np.array([]), "tpr": np.array([])},
      diagnostics={"rates": rates.tolist(), "degree": degree, "target": target,
                   "values_at_rates": {n: values[:, m].tolist() for m, n in enumerate(names)},
                   "fits": {n: fits[n].to_dict() for n in names}},
      notes=notes,
  )
