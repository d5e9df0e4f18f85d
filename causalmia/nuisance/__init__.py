"""Nuisance models of the zero-run estimators: propensity and outcome regressions.

Every fit is a pure JAX function of fixed-shape arrays with row weights, so
cross-fitting folds, thresholds and bootstrap replicates are vmapped, not looped.
"""

from causalmia.nuisance.features import assign_folds
from causalmia.nuisance.features import design_matrix
from causalmia.nuisance.logistic import fit_logistic
from causalmia.nuisance.logistic import predict_logistic
from causalmia.nuisance.outcome import cross_fit_outcome
from causalmia.nuisance.outcome import distribution_regression
from causalmia.nuisance.outcome import gaussian_location_scale
from causalmia.nuisance.propensity import cell_ids
from causalmia.nuisance.propensity import cross_fit_propensity
from causalmia.nuisance.settings import OUTCOME_MODELS
from causalmia.nuisance.settings import PROPENSITY_MODELS
from causalmia.nuisance.settings import NuisanceConfig

__all__ = [
    "OUTCOME_MODELS",
    "PROPENSITY_MODELS",
    "NuisanceConfig",
    "assign_folds",
    "cell_ids",
    "cross_fit_outcome",
    "cross_fit_propensity",
    "design_matrix",
    "distribution_regression",
    "fit_logistic",
    "gaussian_location_scale",
    "predict_logistic",
]
