"""Interference diagnostics: a one-run estimate against a reference, and the stability bound.

Under beta-uniform stability, adding one training example moves any score by
at most beta. The mean score of each group under a design with inclusion
rate p then differs from its no-interference value by at most
`beta * p * (N - 1)`: beta times the expected number of co-included audit
examples.
"""

import dataclasses
import math

import numpy as np

from causalmia import _validation
from causalmia.estimate.result import EstimateResult
from causalmia.interference import leave_one_in as leave_one_in_lib


@dataclasses.dataclass(frozen=True)
class MetricBias:
  """One metric of the one-run estimate compared with the reference.

  Attributes:
    name: the metric name.
    one_run: the one-run estimate.
    reference: the reference estimate.
    bias: `one_run - reference`.
    error: the combined half-widths of both intervals, `sqrt(h1^2 + h2^2)`,
      the sampling error a bias must exceed to be distinguished from it (NaN
      when either interval is missing).
    exceeds_error: True when `|bias| > error`.
  """

  name: str
  one_run: float
  reference: float
  bias: float
  error: float
  exceeds_error: bool


@dataclasses.dataclass(frozen=True)
class InterferenceDiagnostics:
  """The interference bias of a one-run estimate, and its stability bound.

  Attributes:
    reference_regime: regime of the reference ("leave-one-in", "multi-run", ...).
    inclusion_rate: p of the one-run design.
    num_examples: N, the size of the audit pool.
    metrics: per-metric comparison, keyed by name.
    stability: the measured beta, or None.
    bound: `beta * p * (N - 1)`, the bound on each group's mean-score bias, or None.
    mean_score_bias: `{"members", "nonmembers"}` one-run mean score minus the
      no-interference mean score, when scores and leave-one-in runs are given.
    bound_holds: True when both mean-score biases are within the bound.
    notes: statements a reader must see with the numbers.
  """

  reference_regime: str
  inclusion_rate: float
  num_examples: int
  metrics: dict[str, MetricBias]
  stability: float | None = None
  bound: float | None = None
  mean_score_bias: dict[str, float] | None = None
  bound_holds: bool | None = None
  notes: tuple[str, ...] = ()

  def to_dict(self) -> dict:
    payload = dataclasses.asdict(self)
    payload["notes"] = list(self.notes)
    return _finite_or_none(payload)

  def table(self) -> str:
    """Formats a plain-text table: one row per metric, then the bound."""
    lines = [f"interference: one-run (p = {self.inclusion_rate:g}, N = {self.num_examples}) "
             f"against {self.reference_regime}",
             f"  {'metric':<14}{'one-run':>10}{'reference':>11}{'bias':>10}{'error':>9}"]
    for m in self.metrics.values():
      flag = "  *" if m.exceeds_error else ""
      lines.append(f"  {m.name:<14}{m.one_run:>10.4f}{m.reference:>11.4f}{m.bias:>+10.4f}"
                   f"{m.error:>9.4f}{flag}")
    if self.stability is not None:
      lines.append(f"  stability beta = {self.stability:.4g}; bound beta p (N - 1) = "
                   f"{self.bound:.4g} on the mean score of each group")
    if self.mean_score_bias is not None:
      lines.append("  mean-score bias: members {members:+.4g}, non-members {nonmembers:+.4g}"
                   .format(**self.mean_score_bias))
    lines.extend(f"  note: {note}" for note in self.notes)
    return "\n".join(lines)


def _finite_or_none(value):
  if isinstance(value, dict):
    return {k: _finite_or_none(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [_finite_or_none(v) for v in value]
  if isinstance(value, float) and not math.isfinite(value):
    return None
  return value


def _half_width(metric) -> float:
  return 0.5 * (metric.ci_high - metric.ci_low)


def diagnose(
    one_run: EstimateResult,
    *,
    inclusion_rate: float,
    reference: EstimateResult | None = None,
    leave_one_in: leave_one_in_lib.LeaveOneIn | None = None,
    stability: float | None = None,
    scores=None,
    mask=None,
    num_replicates: int = 200,
    seed: int = 0,
) -> InterferenceDiagnostics:
  """Reports the interference bias of a one-run result and the bound `beta p (N - 1)`.

  The reference is `reference` (for example a small multi-run oracle, or a
  multi-run at a low inclusion rate) or, when it is None, the
  no-interference estimate of `leave_one_in`. The bias of each metric is
  `one-run - reference`, flagged when it exceeds the combined interval
  half-widths. beta is `stability` or, when `leave_one_in` has
  `added_scores`, measured from them. With the one run's `scores` and
  `mask` and leave-one-in runs, the mean score of each group is compared
  with its no-interference value, which the bound covers.

  Args:
    one_run: the one-run estimate (`causalmia.estimate.one_run`).
    inclusion_rate: p of its Bernoulli design.
    reference: an estimate of the same metrics to compare with.
    leave_one_in: leave-one-in and base-only runs on the same pool.
    stability: beta, when known (overrides a measured one).
    scores: `[examples]` scores of the one run, for the mean-score bias.
    mask: `[examples]` its inclusion mask.
    num_replicates: bootstrap replicates of the leave-one-in estimate.
    seed: seed of that bootstrap.

  Returns:
    An `InterferenceDiagnostics`.
  """
  if not 0.0 < inclusion_rate < 1.0:
    raise ValueError(f"inclusion_rate must lie in (0, 1), got {inclusion_rate}.")
  if reference is None and leave_one_in is None:
    raise ValueError("give a reference estimate or leave-one-in runs to compare with.")
  num_examples = int(one_run.counts["examples"])
  if leave_one_in is not None and leave_one_in.num_examples != num_examples:
    raise ValueError(f"the leave-one-in runs cover {leave_one_in.num_examples} examples, "
                     f"but the one-run result has {num_examples}.")
  if reference is None:
    fprs = tuple(m.fpr for m in one_run.metrics.values() if m.fpr is not None)
    convention = next((m.convention for m in one_run.metrics.values() if m.convention), "step")
    reference = leave_one_in_lib.no_interference(
        leave_one_in, fpr=fprs, convention=convention, confidence=one_run.confidence,
        num_replicates=num_replicates, seed=seed)

  metrics = {}
  for name, estimate in one_run.metrics.items():
    if name not in reference.metrics:
      continue
    other = reference.metrics[name]
    error = math.hypot(_half_width(estimate), _half_width(other))
    bias = estimate.value - other.value
    metrics[name] = MetricBias(name, estimate.value, other.value, bias, error,
                               bool(math.isfinite(error) and abs(bias) > error))

  notes = []
  if stability is None and leave_one_in is not None and leave_one_in.added_scores is not None:
    stability = leave_one_in_lib.stability_constant(
        leave_one_in.base_scores.mean(axis=0), leave_one_in.added_scores)
  bound = None if stability is None else stability * inclusion_rate * (num_examples - 1)
  if stability is not None:
    notes.append("beta is measured when one example joins the base set; the bound assumes no "
                 "larger change when it joins a larger training set.")

  mean_bias, holds = None, None
  if scores is not None and mask is not None and leave_one_in is not None:
    scores = _validation.check_scores(scores)
    mask = _validation.check_members(mask, scores.shape, name="mask")
    if scores.shape != (num_examples,):
      raise ValueError(f"scores must be [{num_examples}], got shape {scores.shape}.")
    mean_bias = {
        "members": float(scores[mask].mean() - leave_one_in.own_scores[mask].mean()),
        "nonmembers": float(scores[~mask].mean() - leave_one_in.base_scores[:, ~mask].mean()),
    }
    notes.append("Mean-score biases compare each example's one-run score with its own "
                 "leave-one-in score (members) or base-only scores (non-members).")
    if bound is not None:
      holds = bool(max(abs(v) for v in mean_bias.values()) <= bound)
  return InterferenceDiagnostics(
      reference_regime=reference.regime, inclusion_rate=float(inclusion_rate),
      num_examples=num_examples, metrics=metrics, stability=stability, bound=bound,
      mean_score_bias=mean_bias, bound_holds=holds, notes=tuple(notes))
