"""Interference in one-run evaluations: ground truth, diagnostics and corrections.

* `ridge`: closed-form ridge regression, vmapped over runs, with exact
  leave-one-in runs and the stability constant beta.
* `leave_one_in`: the no-interference estimand from leave-one-in runs.
* `diagnostics`: the interference bias of a one-run result and the bound
  `beta p (N - 1)`.
* `extrapolation`: one-run estimates at several inclusion rates,
  extrapolated to p -> 0.
* `exposure`: scores modelled given inclusion and exposure to similar
  included examples, evaluated at a reference exposure.
"""

from causalmia.interference import ridge
from causalmia.interference.diagnostics import InterferenceDiagnostics
from causalmia.interference.diagnostics import MetricBias
from causalmia.interference.diagnostics import diagnose
from causalmia.interference.exposure import KERNELS
from causalmia.interference.exposure import compute_exposure
from causalmia.interference.exposure import exposure_adjusted_one_run
from causalmia.interference.extrapolation import ExtrapolationFit
from causalmia.interference.extrapolation import extrapolated_one_run
from causalmia.interference.extrapolation import fit_extrapolation
from causalmia.interference.extrapolation import rate_masks
from causalmia.interference.leave_one_in import LeaveOneIn
from causalmia.interference.leave_one_in import no_interference
from causalmia.interference.leave_one_in import stability_constant

__all__ = [
    "KERNELS",
    "ExtrapolationFit",
    "InterferenceDiagnostics",
    "LeaveOneIn",
    "MetricBias",
    "diagnose",
    "compute_exposure",
    "exposure_adjusted_one_run",
    "extrapolated_one_run",
    "fit_extrapolation",
    "no_interference",
    "rate_masks",
    "ridge",
    "stability_constant",
]
