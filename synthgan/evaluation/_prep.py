"""Small helpers shared by the evaluation metrics (private)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from pandas.api import types as ptypes
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils import check_random_state


def json_safe(value):
    """Plain Python types throughout (numpy scalars converted, mappings keyed by str), with
    non-finite floats as None: JSON has no NaN."""
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


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


# -- features for the downstream models (utility, detection) ------------------------------------
MISSING = "__missing__"
MAX_CATEGORIES = 50  # one-hot width cap per column; rarer values share an "infrequent" column


def _is_model_numeric(series: pd.Series) -> bool:
    return is_numeric_feature(series) or ptypes.is_datetime64_any_dtype(series.dtype)


def split_numeric(frame: pd.DataFrame, features: list, *others: pd.DataFrame) -> tuple[list, list]:
    """Split ``features`` into (numeric, categorical).

    A column is numeric (numbers and datetimes) only if it is numeric in every frame given;
    otherwise every frame compares it as strings, so a generator that writes "3" where the
    data had 3 is not penalised by a type mismatch.
    """
    frames = (frame, *others)
    numeric = [c for c in features if all(_is_model_numeric(f[c]) for f in frames)]
    return numeric, [c for c in features if c not in numeric]


def as_model_frame(frame: pd.DataFrame, categorical: list) -> pd.DataFrame:
    """A copy the sklearn preprocessing accepts: datetimes as float seconds since the epoch,
    categorical columns as strings with missing values as their own category."""
    out = frame.copy()
    for col in out.columns:
        if ptypes.is_datetime64_any_dtype(out[col].dtype):
            stamps = out[col]
            if getattr(stamps.dt, "tz", None) is not None:
                stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
            seconds = stamps.astype("datetime64[ns]").astype("int64").astype(float) / 1e9
            out[col] = seconds.where(stamps.notna(), np.nan)
        elif col in categorical:
            values = out[col].astype(object)
            out[col] = values.where(values.notna(), MISSING).astype(str)
        elif ptypes.is_extension_array_dtype(out[col].dtype):  # Int64 etc.: float with NaN
            out[col] = out[col].astype("float64")
    return out


def feature_preprocessor(numeric: list, categorical: list) -> ColumnTransformer:
    """Median-impute and standardise numbers; one-hot categories (unknown ones ignored, at most
    ``MAX_CATEGORIES`` columns per feature so ID-like columns keep memory bounded)."""
    num = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    cat = OneHotEncoder(
        handle_unknown="infrequent_if_exist", max_categories=MAX_CATEGORIES, sparse_output=False
    )
    return ColumnTransformer([("num", num, numeric), ("cat", cat, categorical)])
