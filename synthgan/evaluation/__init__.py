"""Evaluation of synthetic data: fidelity, utility and privacy leakage, for tables and images.

Every metric takes plain data (DataFrames, image arrays), so it works with the output of any
synthesizer, synthgan's or not. :func:`evaluate` and :func:`evaluate_images` gather every figure
into an :class:`EvaluationReport` (dict, JSON, one-line summary, self-contained HTML).
"""

from synthgan.evaluation.api import evaluate, evaluate_images
from synthgan.evaluation.fidelity import (
    class_balance,
    detection_scores,
    quality_scores,
    sdmetrics_metadata,
)
from synthgan.evaluation.per_class import per_class_scores
from synthgan.evaluation.report import (
    LEAKAGE_THRESHOLDS,
    UTILITY_THRESHOLDS,
    EvaluationReport,
    leakage_verdict,
    utility_verdict,
)
from synthgan.evaluation.utility import (
    REGRESSION_MODELS,
    TSTR_MODELS,
    baseline_scores,
    tstr_scores,
    utility_scores,
)

__all__ = [
    "LEAKAGE_THRESHOLDS",
    "REGRESSION_MODELS",
    "TSTR_MODELS",
    "UTILITY_THRESHOLDS",
    "EvaluationReport",
    "baseline_scores",
    "class_balance",
    "detection_scores",
    "evaluate",
    "evaluate_images",
    "leakage_verdict",
    "per_class_scores",
    "quality_scores",
    "sdmetrics_metadata",
    "tstr_scores",
    "utility_scores",
    "utility_verdict",
]
