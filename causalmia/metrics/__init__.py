"""Weighted two-sample ROC metrics: the causal ROC, AUC, TPR at FPR and advantage."""

from causalmia.metrics._kernel import CurvePoints
from causalmia.metrics._kernel import SortedScores
from causalmia.metrics._kernel import curve_points
from causalmia.metrics._kernel import sort_scores
from causalmia.metrics.roc import advantage
from causalmia.metrics.roc import resolution
from causalmia.metrics.roc import roc_auc
from causalmia.metrics.roc import roc_curve
from causalmia.metrics.roc import tpr_at_fpr
from causalmia.metrics.summary import CONVENTIONS
from causalmia.metrics.summary import metric_names
from causalmia.metrics.summary import summarize

__all__ = [
    "CONVENTIONS",
    "CurvePoints",
    "SortedScores",
    "advantage",
    "curve_points",
    "metric_names",
    "resolution",
    "roc_auc",
    "roc_curve",
    "sort_scores",
    "summarize",
    "tpr_at_fpr",
]
