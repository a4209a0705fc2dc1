"""Tabular synthesis: the CTGAN synthesizer and its building blocks."""

from synthgan.tabular.ctgan import CTGANSynthesizer
from synthgan.tabular.transformer import TableTransformer

__all__ = ["CTGANSynthesizer", "TableTransformer"]
