"""Evaluation of synthetic data: fidelity (sdmetrics quality) and utility (TSTR).

Every metric takes plain DataFrames, so it works with any synthesizer's ``sample`` output.
"""

from synthgan.evaluation.fidelity import class_balance, quality_scores, sdmetrics_metadata
from synthgan.evaluation.utility import TSTR_MODELS, tstr_scores

__all__ = ["TSTR_MODELS", "class_balance", "quality_scores", "sdmetrics_metadata", "tstr_scores"]
