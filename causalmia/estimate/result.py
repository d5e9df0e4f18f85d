"""Result objects shared by every estimator: estimates, intervals, counts, notes."""

import dataclasses
import math
from typing import Any

import numpy as np

from causalmia.metrics import summary


@dataclasses.dataclass(frozen=True)
class MetricEstimate:
  """One metric's point estimate and confidence interval.

  Attributes:
    name: "auc", "advantage" or "tpr@<fpr>".
    value: the point estimate (NaN when undefined).
    ci_low: lower end of the confidence interval.
    ci_high: upper end of the confidence interval.
    convention: "step" or "hull" for TPR at FPR, None otherwise.
    fpr: the false-positive rate for TPR at FPR, None otherwise.
    below_resolution: True when `fpr` is positive but below the smallest FPR
      step of the non-member group, so the value is read at FPR 0.
    skipped_replicates: bootstrap replicates where the metric was undefined
      and which the interval leaves out.
  """

  name: str
  value: float
  ci_low: float
  ci_high: float
  convention: str | None = None
  fpr: float | None = None
  below_resolution: bool = False
  skipped_replicates: int = 0


@dataclasses.dataclass(frozen=True)
class EstimateResult:
  """Estimates of the causal ROC metrics under one regime.

  Attributes:
    regime: "multi-run", "one-run" or "zero-run".
    estimand: the quantity estimated, in words and symbols.
    metrics: estimates keyed by metric name.
    confidence: coverage of the intervals, e.g. 0.95.
    interval_method: how the intervals were computed.
    num_replicates: bootstrap replicates B (0 when not bootstrapped).
    counts: sizes: runs, examples, member and non-member rows.
    curve: the estimated ROC as `{"fpr": [...], "tpr": [...]}`.
    per_example: per-example arrays (e.g. memorization) keyed by name.
    diagnostics: regime-specific diagnostics (JSON-serializable).
    notes: plain-language statements a reader must see with the numbers.
  """

  regime: str
  estimand: str
  metrics: dict[str, MetricEstimate]
  confidence: float
  interval_method: str
  num_replicates: int
  counts: dict[str, int]
  curve: dict[str, np.ndarray]
  per_example: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
  diagnostics: dict[str, Any] = dataclasses.field(default_factory=dict)
  notes: tuple[str, ...] = ()

  def __getitem__(self, name: str) -> MetricEstimate:
    return self.metrics[name]

  def to_dict(self, *, include_curve: bool = False) -> dict[str, Any]:
    """JSON-ready dictionary: NaN becomes None, infinities "inf"/"-inf".

    Per-example arrays are left out, and the curve unless `include_curve`;
    the results folder stores both as `.npz`.
    """
    payload = {
        "regime": self.regime,
        "estimand": self.estimand,
        "confidence": self.confidence,
        "interval_method": self.interval_method,
        "num_replicates": self.num_replicates,
        "counts": self.counts,
        "metrics": {k: dataclasses.asdict(v) for k, v in self.metrics.items()},
        "diagnostics": self.diagnostics,
        "notes": list(self.notes),
    }
    if include_curve:
      payload["curve"] = self.curve
    return _jsonable(payload)

  def table(self) -> str:
    """Formats the metrics and their intervals as a plain-text table."""
    level = f"{100 * self.confidence:g}% CI"
    lines = [f"{self.regime}: {self.estimand}", f"  {'metric':<16}{'estimate':>10}   {level}"]
    for metric in self.metrics.values():
      label = metric.name + (f" ({metric.convention})" if metric.convention else "")
      flag = "  below resolution" if metric.below_resolution else ""
      lines.append(
          f"  {label:<16}{_fmt(metric.value):>10}   "
          f"[{_fmt(metric.ci_low)}, {_fmt(metric.ci_high)}]{flag}"
      )
    counts = ", ".join(f"{k}={v}" for k, v in self.counts.items())
    lines.append(f"  counts: {counts}")
    lines.extend(f"  note: {note}" for note in self.notes)
    return "\n".join(lines)


def metric_estimates(values, low, high, skipped, fprs, convention, nonmember_count):
  """Builds `MetricEstimate`s keyed by name from arrays in `metric_names(fprs)` order.

  `nonmember_count` sets the resolution `1 / n0` below which a TPR at FPR
  is flagged.
  """
  resolution = 1.0 / nonmember_count if nonmember_count else np.nan
  metrics = {}
  for i, name in enumerate(summary.metric_names(fprs)):
    fpr = fprs[i - 2] if i >= 2 else None
    metrics[name] = MetricEstimate(
        name=name,
        value=float(values[i]),
        ci_low=float(low[i]),
        ci_high=float(high[i]),
        convention=convention if fpr is not None else None,
        fpr=fpr,
        below_resolution=bool(fpr is not None and 0 < fpr < resolution),
        skipped_replicates=int(skipped[i]),
    )
  return metrics


def _fmt(value: float) -> str:
  return "nan" if value is None or math.isnan(value) else f"{value:.4f}"


def _jsonable(value):
  if isinstance(value, dict):
    return {str(k): _jsonable(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [_jsonable(v) for v in value]
  if isinstance(value, np.ndarray):
    return _jsonable(value.tolist())
  if isinstance(value, (np.floating, float)):
    value = float(value)
    if math.isinf(value):
      return "inf" if value > 0 else "-inf"
    return None if math.isnan(value) else value
  if isinstance(value, np.integer):
    return int(value)
  if isinstance(value, np.bool_):
    return bool(value)
  return value
