"""Small helpers shared by the evaluation metrics (private)."""

from __future__ import annotations

import pandas as pd
from pandas.api import types as ptypes
from sklearn.utils import check_random_state


def subsample(df: pd.DataFrame, max_rows: int | None, random_state=0) -> pd.DataFrame:
    """Return at most ``max_rows`` rows of ``df``, drawn without replacement (seeded).

    Frames that are already small enough are returned unchanged, so a metric on a small
    table sees every row. ``max_rows=None`` disables subsampling.
    """
    if max_rows is None or len(df) <= max_rows:
        return df
    if max_rows < 1:
        raise ValueError(f"max_rows must be a positive integer or None, got {max_rows!r}.")
    # A RandomState keeps us off the global numpy RNG.
    return df.sample(n=max_rows, random_state=check_random_state(random_state))


def is_numeric_feature(series: pd.Series) -> bool:
    """True for int/float columns; booleans, strings and categoricals count as discrete."""
    return ptypes.is_numeric_dtype(series.dtype) and not ptypes.is_bool_dtype(series.dtype)


def check_columns(frame: pd.DataFrame, required: list, frame_name: str) -> None:
    """Raise a ``ValueError`` naming the columns of ``required`` that ``frame`` lacks."""
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValueError(
            f"The {frame_name} frame lacks column(s) {missing}; it has {list(frame.columns)}. "
            "Pass frames with the same columns (the synthesizer should preserve the schema)."
        )
