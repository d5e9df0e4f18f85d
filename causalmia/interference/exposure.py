"""Exposure adjustment: model each score given its own inclusion and its exposure to others'.

The exposure of audit example i to the inclusion of the others is the
kernel-weighted share of similar examples that were included,

  E_i = sum_{j != i} T_j k(x_i, x_j) / sum_{j != i} k(x_i, x_j),

and 0 when no other example is similar (the denominator is 0). Two kernels
are built in: "same_class" (k = 1 for two examples of the same class, else
0) and "cosine" (k = max(0, cos(x_i, x_j))^power on feature vectors,
computed in row blocks so that the N x N similarity matrix never exists
whole). Any non-negative `[examples, examples]` matrix may be given instead.
"""

import functools
import warnings

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from causalmia import _validation
from causalmia.errors import ExtrapolationWarning
from causalmia.estimate import bootstrap
from causalmia.estimate.randomized import DEFAULT_FPRS
from causalmia.estimate.result import EstimateResult
from causalmia.interference import _linalg
from causalmia.interference import _metrics
from causalmia.metrics import _kernel
from causalmia.metrics import summary

KERNELS = ("same_class", "cosine")

# Replicates evaluated side by side inside `lax.map`; each one sorts its own
# adjusted scores, so a batch costs `batch * n log n`.
_MAP_BATCH = 8


def _ratio(numerator, denominator):
  safe = jnp.where(denominator > 0, denominator, 1.0)
  return jnp.where(denominator > 0, numerator / safe, 0.0)


def same_class_exposure(
    mask: Bool[Array, " examples"], labels: Int[Array, " examples"], num_classes: int
) -> Float[Array, " examples"]:
  """Share of the other examples of i's class that are included; jittable, O(N)."""
  included = mask.astype(jnp.float32)
  per_class = jax.ops.segment_sum(included, labels, num_segments=num_classes)
  sizes = jax.ops.segment_sum(jnp.ones_like(included), labels, num_segments=num_classes)
  return _ratio(per_class[labels] - included, sizes[labels] - 1.0)


def cosine_exposure(
    mask: Bool[Array, " examples"], features: Float[Array, "examples features"], *,
    power: float = 1.0, block_size: int = 1024,
) -> Float[Array, " examples"]:
  """Exposure under `k = max(0, cos)^power`, in blocks of `block_size` rows; jittable."""
  features = features.reshape(features.shape[0], -1)
  norms = jnp.linalg.norm(features, axis=1, keepdims=True)
  unit = features / jnp.where(norms > 0, norms, 1.0)
  included = mask.astype(unit.dtype)
  num_examples = unit.shape[0]
  block_size = min(block_size, num_examples)
  padded = -(-num_examples // block_size) * block_size

  def block(start):
    rows = jnp.minimum(start + jnp.arange(block_size), num_examples - 1)
    kernel = jnp.maximum(unit[rows] @ unit.T, 0.0) ** power
    kernel = jnp.where(rows[:, None] == jnp.arange(num_examples)[None, :], 0.0, kernel)
    return _ratio(kernel @ included, kernel.sum(axis=1))

  if padded == block_size:
    return block(0)
  values = jax.lax.map(block, jnp.arange(0, padded, block_size))
  return values.reshape(-1)[:num_examples]


def matrix_exposure(mask, kernel_matrix) -> Float[Array, " examples"]:
  """Exposure under an explicit kernel matrix (its diagonal is ignored); jittable."""
  kernel = kernel_matrix * (1.0 - jnp.eye(kernel_matrix.shape[0], dtype=kernel_matrix.dtype))
  return _ratio(kernel @ mask.astype(kernel.dtype), kernel.sum(axis=1))


def compute_exposure(
    mask, *, kernel: str | None = None, labels=None, features=None, kernel_matrix=None,
    power: float = 1.0, block_size: int = 1024,
) -> np.ndarray:
  """Computes the exposure `E_i` of every audit example; see the module docstring.

  Args:
    mask: `[examples]` bool inclusion of the one run.
    kernel: "same_class" (needs `labels`) or "cosine" (needs `features`);
      None when `kernel_matrix` is given.
    labels: `[examples]` integer class ids.
    features: `[examples, ...]` feature vectors (inputs or embeddings).
    kernel_matrix: `[examples, examples]` non-negative similarities.
    power: exponent of the cosine kernel; larger values weight close
      neighbours more.
    block_size: rows of the cosine similarity computed at a time.

  Returns:
    `[examples]` exposures in [0, 1].

  Example:
    >>> compute_exposure(np.array([1, 0, 1, 1], bool), kernel="same_class", labels=np.array([0, 0, 1, 1]))
    array([0., 1., 1., 1.], dtype=float32)
  """
  mask = np.asarray(mask)
  if mask.ndim != 1:
    raise ValueError(f"mask must be [examples], got shape {mask.shape}.")
  mask = _validation.check_members(mask, mask.shape, name="mask")
  num_examples = mask.shape[0]
  if (kernel_matrix is None) == (kernel is None):
    raise ValueError("give exactly one of kernel ('same_class' or 'cosine') and kernel_matrix.")
  if kernel_matrix is not None:
    matrix = _validation.check_weights(kernel_matrix, (num_examples, num_examples),
                                       name="kernel_matrix")
    return np.asarray(jax.jit(matrix_exposure)(jnp.asarray(mask), jnp.asarray(matrix)))
  if kernel == "same_class":
    if labels is None:
      raise ValueError("the same_class kernel needs labels.")
    labels = np.asarray(labels)
    if labels.shape != (num_examples,) or labels.dtype.kind not in "iu" or labels.min() < 0:
      raise ValueError(f"labels must be [{num_examples}] non-negative integers, "
                       f"got shape {labels.shape} and dtype {labels.dtype}.")
    function = jax.jit(same_class_exposure, static_argnums=2)
    return np.asarray(function(jnp.asarray(mask), jnp.asarray(labels), int(labels.max()) + 1))
  if kernel == "cosine":
    if features is None:
      raise ValueError("the cosine kernel needs features.")
    features = _validation.check_scores(features, "features")
    if features.ndim < 2 or features.shape[0] != num_examples:
      raise ValueError(f"features must be [{num_examples}, ...], got shape {features.shape}.")
    function = jax.jit(cosine_exposure, static_argnames=("power", "block_size"))
    return np.asarray(function(jnp.asarray(mask), jnp.asarray(features), power=float(power),
                               block_size=int(block_size)))
  raise ValueError(f"Unknown kernel {kernel!r}; expected one of {KERNELS}.")


def fit_score_model(scores, mask, exposure_values, weights, interaction: bool = True):
  """Weighted least squares of `score ~ a + b T + c E (+ d T E)`; returns `[a, b, c, d]`.

  Without `interaction`, d is 0. Columns that are identically zero (for
  example E when every exposure is 0) get coefficient 0. Jittable.
  """
  treated = mask.astype(scores.dtype)
  columns = [jnp.ones_like(scores), treated, exposure_values,
             treated * exposure_values if interaction else jnp.zeros_like(scores)]
  design = jnp.stack(columns, axis=1)
  gram = design.T @ (design * weights[:, None])
  # A ridge of 1e-9 times the largest diagonal entry decouples all-zero columns
  # (their coefficient is then exactly 0) and leaves the others unchanged to
  # float precision.
  gram = gram + 1e-9 * jnp.max(jnp.diag(gram)) * jnp.eye(4, dtype=gram.dtype)
  return _linalg.solve_spd(gram, design.T @ (weights * scores))


def adjust_scores(scores, mask, exposure_values, coefficients, reference):
  """Scores moved to the reference exposure under the fitted location model; jittable."""
  slope = coefficients[2] + coefficients[3] * mask.astype(scores.dtype)
  return scores - slope * (exposure_values - reference)


SCALES = ("raw", "log_loss")


def to_model_scale(scores, scale: str):
  """Scores on the scale the exposure model is fitted on; an increasing map, so ROCs agree.

  "raw" keeps the scores. "log_loss" maps a negated loss s < 0 to
  `-log(-s)`, so that an exposure that multiplies the loss (as a change of
  leverage does for a squared residual) shifts the score additively.
  """
  if scale == "raw":
    return scores
  if scale == "log_loss":
    return -jnp.log(-scores)
  raise ValueError(f"Unknown score scale {scale!r}; expected one of {SCALES}.")


def adjusted_metrics(scores, mask, exposure_values, reference, fprs, convention,
                     interaction=True, weights=None):
  """Point metrics of the exposure-adjusted scores, refitting the model with `weights`; jittable.

  `scores` must already be on the model scale (see `to_model_scale`).
  """
  weights = jnp.ones_like(scores) if weights is None else weights
  coefficients = fit_score_model(scores, mask, exposure_values, weights, interaction)
  adjusted = adjust_scores(scores, mask, exposure_values, coefficients, reference)
  return _metrics.point_metrics(adjusted, mask, fprs, convention, weights), coefficients


@functools.partial(jax.jit, static_argnames=("fprs", "convention", "interaction", "count"))
def _replicates(key, first, scores, mask, exposure_values, reference, order, sampler, fprs,
                convention, interaction, count):
  def one(b):
    # The sampler draws multiplicities in the sorted order of the raw scores, as
    # `one_run` does. They are moved back to the input order for the refit.
    weights = jnp.zeros_like(scores).at[order].set(sampler(jax.random.fold_in(key, b)))
    values, _ = adjusted_metrics(scores, mask, exposure_values, reference, fprs, convention,
                                 interaction, weights)
    return values

  return jax.lax.map(one, first + jnp.arange(count), batch_size=_MAP_BATCH)


def exposure_adjusted_one_run(
    scores, mask, exposure_values, *, reference_exposure: float = 0.0, interaction: bool = True,
    fpr=DEFAULT_FPRS, convention: str = "step", confidence: float = 0.95,
    num_replicates: int = 1000, seed: int = 0, key=None, resampling: str = "multinomial",
    chunk: int = 100, progress=None,
) -> EstimateResult:
  """Estimates the causal ROC metrics at a reference exposure from one run.

  Estimand: the causal ROC with every example's exposure set to `e_ref`,
  `F_t(tau) = mean_i P(Y_i(t, E_i = e_ref) >= tau)`; with `e_ref = 0` (no
  similar example included) it is the no-interference estimand. The model
  `Y_i = a + b T_i + (c + d T_i) E_i + noise` is fitted by least squares, and
  each score is moved to the reference exposure, `Y_i - (c + d T_i)(E_i - e_ref)`.
  Metrics (AUC with ties 1/2, advantage, TPR at FPR of the rule
  `score >= tau`, step or hull) are read off the adjusted scores. Assumes
  exposure shifts the score distribution without changing its shape, and that
  the linear model is right down to `e_ref`. The interval comes from a bootstrap
  over examples stratified by membership, the model refitted in each
  replicate; it assumes independent scores, as `one_run` does.

  Args:
    scores: `[examples]` scores of the one model.
    mask: `[examples]` bool inclusion in its training set.
    exposure_values: `[examples]` exposures, for example from `exposure`.
    reference_exposure: the exposure the metrics are evaluated at.
    interaction: let the exposure slope differ between members and non-members.
    fpr, convention, confidence, num_replicates, seed, key, resampling,
      progress: as in `causalmia.estimate.one_run`; with the same key and all
      exposures equal to the reference, the result equals `one_run`'s.
    chunk: replicates per compiled call.

  Returns:
    An `EstimateResult` with regime "one-run (exposure-adjusted)";
    `diagnostics` contains the fitted coefficients and the exposure range.

  Example:
    >>> mask = np.array([1, 0, 1, 0], bool)
    >>> result = exposure_adjusted_one_run(np.array([3.0, 2.0, 1.0, 0.0]), mask,
    ...                                    np.zeros(4), num_replicates=0)
    >>> float(result["auc"].value)
    0.75
  """
  fprs = _validation.check_rates(fpr)
  if convention not in summary.CONVENTIONS:
    raise ValueError(f"Unknown convention {convention!r}; expected one of {summary.CONVENTIONS}.")
  scores = _validation.check_scores(scores)
  if scores.ndim != 1:
    raise ValueError(f"scores must be [examples] for one run, got shape {scores.shape}.")
  mask = _validation.check_members(mask, scores.shape, name="mask")
  exposure_values = _validation.check_scores(exposure_values, "exposure_values")
  if exposure_values.shape != scores.shape:
    raise ValueError(f"exposure_values has shape {exposure_values.shape}, but the scores "
                     f"have shape {scores.shape}.")
  if not 0.0 < confidence < 1.0:
    raise ValueError(f"confidence must lie in (0, 1), got {confidence}.")

  arrays = [jnp.asarray(a) for a in (scores, mask, exposure_values)]
  reference = jnp.asarray(reference_exposure, arrays[0].dtype)
  point = jax.jit(adjusted_metrics, static_argnums=(4, 5, 6))
  values, coefficients = point(*arrays, reference, fprs, convention, interaction)
  replicates = None
  if num_replicates:
    root = jax.random.key(seed) if key is None else key
    sorted_scores = _kernel.sort_scores(arrays[0], arrays[1])
    sampler = bootstrap.example_sampler(sorted_scores.members, resampling)
    chunk = max(1, min(chunk, num_replicates))
    parts = []
    for first in range(0, num_replicates, chunk):
      part = _replicates(root, first, *arrays, reference, sorted_scores.order, sampler, fprs,
                         convention, interaction, chunk)
      parts.append(np.asarray(part)[: num_replicates - first])
      if progress is not None:
        progress(min(chunk, num_replicates - first))
    replicates = np.concatenate(parts)

  low, high, skipped = _metrics.interval(replicates, confidence, len(summary.metric_names(fprs)))
  metrics = _metrics.package(np.asarray(values), low, high, skipped, fprs, convention,
                             int((~mask).sum()))
  coefficients = np.asarray(coefficients, np.float64)
  adjusted = np.asarray(adjust_scores(*arrays, jnp.asarray(coefficients, arrays[0].dtype),
                                      reference))
  observed = (float(exposure_values.min()), float(exposure_values.max()))
  notes = ("Scores moved to exposure %g by the linear model score ~ T + E%s; the interval "
           "assumes independent scores." % (reference_exposure, " + T E" if interaction else ""),)
  if not observed[0] <= reference_exposure <= observed[1]:
    spread = float(exposure_values.std())
    message = (f"the reference exposure {reference_exposure:g} lies outside the observed "
               f"exposures [{observed[0]:.3g}, {observed[1]:.3g}] (standard deviation "
               f"{spread:.3g}); the adjustment extrapolates the linear model.")
    warnings.warn(message[0].upper() + message[1:], ExtrapolationWarning, stacklevel=2)
    notes += (message[0].upper() + message[1:],)
  return EstimateResult(
      regime="one-run (exposure-adjusted)",
      estimand=(f"causal ROC at exposure {reference_exposure:g}: F_t(tau) = mean_i "
                f"P(Y_i(t, E_i = {reference_exposure:g}) >= tau); AUC with ties counted 1/2"),
      metrics=metrics,
      confidence=confidence,
      interval_method=(
          "percentile bootstrap over examples, stratified by membership, model refitted"
          if num_replicates else "none"),
      num_replicates=num_replicates,
      counts={"runs": 1, "examples": int(scores.shape[0]),
              "member_rows": int(mask.sum()), "nonmember_rows": int((~mask).sum())},
      curve=_metrics.curve(adjusted, mask),
      per_example={"exposure": exposure_values, "adjusted_scores": adjusted},
      diagnostics={
          "coefficients": dict(zip(("intercept", "inclusion", "exposure",
                                    "inclusion_x_exposure"), coefficients.tolist())),
          "reference_exposure": reference_exposure,
          "exposure_range": list(observed),
          "exposure_std": float(exposure_values.std()),
          "mean_exposure_members": float(exposure_values[mask].mean()) if mask.any() else None,
          "mean_exposure_nonmembers": (
              float(exposure_values[~mask].mean()) if (~mask).any() else None),
      },
      notes=notes,
  )
