"""Estimators of the causal ROC metrics under each regime."""

from causalmia.estimate.custom import estimate_statistic
from causalmia.estimate.randomized import DEFAULT_FPRS
from causalmia.estimate.randomized import multi_run
from causalmia.estimate.randomized import one_run
from causalmia.estimate.randomized import per_example_memorization
from causalmia.estimate.result import EstimateResult
from causalmia.estimate.result import MetricEstimate
from causalmia.estimate.zero_run import zero_run

__all__ = [
    "DEFAULT_FPRS",
    "EstimateResult",
    "MetricEstimate",
    "estimate_statistic",
    "multi_run",
    "one_run",
    "per_example_memorization",
    "zero_run",
]
