"""The no-interference estimand from leave-one-in runs, and the stability constant beta.

A leave-one-in run trains on the base set D0 plus a single audit example z_i.
Its score of z_i is a draw of `Y_i(1, 0)`: the effect of adding z_i alone,
with no other audit example included. Runs on D0 alone give `Y_i(0, 0)`.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from causalmia import _validation
from causalmia.estimate import bootstrap
from causalmia.estimate.randomized import DEFAULT_FPRS
from causalmia.estimate.result import EstimateResult
from causalmia.interference import _metrics
from causalmia.interference import ridge
from causalmia.metrics import _kernel
from causalmia.metrics import summary

ESTIMAND = (
    "no-interference causal ROC: F1(tau) = mean_i P(Y_i(1, 0) >= tau), "
    "F0(tau) = mean_i P(Y_i(0, 0) >= tau), each audit example added alone to the base set; "
    "AUC with ties counted 1/2"
)


@dataclasses.dataclass(frozen=True, eq=False)
class LeaveOneIn:
  """Scores of leave-one-in runs and of base-only runs on one audit pool.

  Attributes:
    own_scores: `[examples]` score of z_i under the model trained on D0 + {z_i}.
    base_scores: `[base_runs, examples]` scores under models trained on D0
      alone (one row per run; a deterministic algorithm needs one row).
    added_scores: optional `[examples, examples]`, row i holding the scores
      of every audit example under the model trained on D0 + {z_i}. Needed
      only to measure the stability constant.
  """

  own_scores: np.ndarray
  base_scores: np.ndarray
  added_scores: np.ndarray | None = None

  def __post_init__(self):
    own = _validation.check_scores(self.own_scores, "own_scores")
    if own.ndim != 1:
      raise ValueError(f"own_scores must be [examples], got shape {own.shape}.")
    base = _validation.check_scores(self.base_scores, "base_scores")
    if base.ndim == 1:
      base = base[None, :]
    if base.ndim != 2 or base.shape[1] != own.shape[0]:
      raise ValueError(
          f"base_scores must be [base_runs, {own.shape[0]}] to match own_scores, "
          f"got shape {np.shape(self.base_scores)}."
      )
    object.__setattr__(self, "own_scores", own)
    object.__setattr__(self, "base_scores", base)
    if self.added_scores is not None:
      added = _validation.check_scores(self.added_scores, "added_scores")
      if added.shape != (own.shape[0], own.shape[0]):
        raise ValueError(
            f"added_scores must be [examples, examples] = {(own.shape[0],) * 2}, "
            f"got shape {added.shape}."
        )
      object.__setattr__(self, "added_scores", added)

  @property
  def num_examples(self) -> int:
    return int(self.own_scores.shape[0])

  @classmethod
  def from_ridge(cls, problem: ridge.RidgeProblem, regularization: float) -> "LeaveOneIn":
    """Computes the exact leave-one-in scores of a ridge problem (without `added_scores`)."""
    result = jax.device_get(jax.jit(ridge.leave_one_in)(problem, regularization))
    return cls(own_scores=np.asarray(result.own_scores), base_scores=np.asarray(result.base_scores))


def stability_constant(base_scores, added_scores) -> float:
  """Measured stability: `max over i != j of |added_scores[i, j] - base_scores[j]|`.

  The largest change of any other example's score when one example joins
  the base set. For a randomized training algorithm, the base run and the
  leave-one-in runs should share their randomness (same key), or the
  change mixes the effect of z_i with training noise.

  Example:
    >>> stability_constant([0.0, 0.0], [[5.0, 0.5], [-0.25, 9.0]])
    0.5
  """
  base = _validation.check_scores(base_scores, "base_scores").reshape(-1)
  added = _validation.check_scores(added_scores, "added_scores")
  if added.shape != (base.shape[0], base.shape[0]):
    raise ValueError(
        f"added_scores must be [examples, examples] = {(base.shape[0],) * 2}, "
        f"got shape {added.shape}."
    )
  change = np.abs(added - base[None, :])
  np.fill_diagonal(change, 0.0)
  return float(change.max()) if change.size > 1 else 0.0


def no_interference(
    leave_one_in: LeaveOneIn,
    *,
    fpr=DEFAULT_FPRS,
    convention: str = "step",
    confidence: float = 0.95,
    num_replicates: int = 1000,
    seed: int = 0,
    key=None,
    progress=None,
) -> EstimateResult:
  """Estimates the no-interference causal ROC metrics from leave-one-in runs.

  Estimand: the causal ROC with `T_-i = 0`,

    F1(tau) = (1/N) sum_i P(Y_i(1, 0) >= tau),  F0(tau) = (1/N) sum_i P(Y_i(0, 0) >= tau),

  and AUC `P(Y_I(1, 0) > Y_J(0, 0)) + P(=)/2` with I, J independent and
  uniform on the pool, read off the ROC of the rule `score >= tau` (TPR at
  FPR in the step or hull convention). The own scores are the member rows
  and the base-only scores the non-member rows; with several base runs each
  example's non-member rows share its weight equally. The interval comes
  from a cluster bootstrap over audit examples. For a deterministic
  algorithm (ridge) and the whole pool the estimate is the estimand itself.

  Args:
    leave_one_in: the scores of the leave-one-in and base-only runs.
    fpr, convention, confidence, num_replicates, seed, key, progress: as in
      `causalmia.estimate.multi_run`.

  Returns:
    An `EstimateResult` with regime "leave-one-in".

  Example:
    >>> runs = LeaveOneIn(own_scores=np.array([2.0, 1.0]), base_scores=np.array([0.0, 1.5]))
    >>> float(no_interference(runs, num_replicates=0)["auc"].value)
    0.75

  References:
    Bousquet, Elisseeff, "Stability and Generalization", JMLR 2002 (uniform
    stability, the constant beta that bounds the interference).
  """
  fprs = _validation.check_rates(fpr)
  if convention not in summary.CONVENTIONS:
    raise ValueError(f"Unknown convention {convention!r}; expected one of {summary.CONVENTIONS}.")
  if not 0.0 < confidence < 1.0:
    raise ValueError(f"confidence must lie in (0, 1), got {confidence}.")

  examples = leave_one_in.num_examples
  base_runs = leave_one_in.base_scores.shape[0]
  scores = np.concatenate([leave_one_in.own_scores, leave_one_in.base_scores.reshape(-1)])
  members = np.concatenate([np.ones(examples, bool), np.zeros(base_runs * examples, bool)])
  weights = np.concatenate([np.ones(examples), np.full(base_runs * examples, 1.0 / base_runs)])
  cluster = np.concatenate([np.arange(examples), np.tile(np.arange(examples), base_runs)])

  scores, members, weights = (jnp.asarray(a) for a in (scores, members, weights))
  values = jax.jit(_metrics.point_metrics, static_argnums=(2, 3))(
      scores, members, fprs, convention, weights)
  replicates = None
  if num_replicates:
    sorted_scores = _kernel.sort_scores(scores, members)
    sampler = bootstrap.ClusterSampler(jnp.asarray(cluster)[sorted_scores.order], examples)
    replicates = bootstrap.replicate_metrics(
        jax.random.key(seed) if key is None else key, sorted_scores, sampler, num_replicates,
        fprs=fprs, convention=convention, base_weights=weights[sorted_scores.order],
        progress=progress,
    )
  low, high, skipped = _metrics.interval(replicates, confidence, len(summary.metric_names(fprs)))
  metrics = _metrics.package(np.asarray(values), low, high, skipped, fprs, convention, examples)
  diagnostics = {
      "mean_member_score": float(leave_one_in.own_scores.mean()),
      "mean_nonmember_score": float(leave_one_in.base_scores.mean()),
  }
  if leave_one_in.added_scores is not None:
    diagnostics["stability"] = stability_constant(
        leave_one_in.base_scores.mean(axis=0), leave_one_in.added_scores)
  return EstimateResult(
      regime="leave-one-in",
      estimand=ESTIMAND,
      metrics=metrics,
      confidence=confidence,
      interval_method=(
          "percentile cluster bootstrap over audit examples" if num_replicates else "none"),
      num_replicates=num_replicates,
      counts={"runs": examples + base_runs, "examples": examples,
              "member_rows": examples, "nonmember_rows": base_runs * examples},
      curve=_metrics.curve(scores, members, weights),
      diagnostics=diagnostics,
  )
