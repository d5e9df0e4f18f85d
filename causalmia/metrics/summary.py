"""All scalar metrics of one weighted ROC curve, as one jittable vector.

Estimators and bootstraps call `summarize` on each weight vector; its output
order is fixed by `metric_names`, so replicates stack into a
`[replicates, metrics]` array.
"""

from collections.abc import Sequence

import jax.numpy as jnp
from jaxtyping import Array, Float

from causalmia.metrics import _hull
from causalmia.metrics import _kernel

CONVENTIONS = ("step", "hull")


def metric_names(fprs: Sequence[float]) -> tuple[str, ...]:
  """Names of the entries of `summarize`'s output, in order."""
  return ("auc", "advantage") + tuple(f"tpr@{fpr:g}" for fpr in fprs)


def tpr_at(points: _kernel.CurvePoints, fpr: float, convention: str) -> Float[Array, ""]:
  """TPR at `fpr` under the step or hull convention."""
  if convention == "step":
    return _kernel.tpr_at_fpr_step(points, fpr)
  if convention == "hull":
    return _hull.tpr_at_fpr_hull(points, fpr)
  raise ValueError(f"Unknown convention {convention!r}; expected one of {CONVENTIONS}.")


def summarize(
    points: _kernel.CurvePoints, fprs: Sequence[float], convention: str = "step"
) -> Float[Array, " metrics"]:
  """AUC, advantage and TPR at each of `fprs`, in the order of `metric_names`."""
  values = [_kernel.auc(points), _kernel.advantage(points)]
  values += [tpr_at(points, fpr, convention) for fpr in fprs]
  return jnp.stack(values)
