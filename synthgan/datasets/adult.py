"""The UCI Adult (Census Income) table, bundled for demos and tests.

The file ``data/adult.csv.gz`` is the 32,561-row training split with leading spaces stripped and
``?`` turned into missing cells; see ``data/ADULT_ATTRIBUTION.md`` for its source and license
(CC BY 4.0).
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from synthgan.io.tables import read_table

__all__ = ["ADULT_COLUMNS", "ADULT_CONTINUOUS", "ADULT_TARGET", "adult_metadata", "load_adult"]

_DATA_FILE = "adult.csv.gz"
ADULT_COLUMNS: tuple[str, ...] = (
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education-num",
    "marital-status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital-gain",
    "capital-loss",
    "hours-per-week",
    "native-country",
    "income",
)
ADULT_CONTINUOUS: tuple[str, ...] = (
    "age",
    "fnlwgt",
    "education-num",
    "capital-gain",
    "capital-loss",
    "hours-per-week",
)
ADULT_TARGET = "income"


def load_adult(*, as_frame: bool = True) -> pd.DataFrame | np.ndarray:
    """Load the bundled UCI Adult table (32,561 rows, 15 columns).

    Parameters
    ----------
    as_frame : bool, default=True
        Return a DataFrame; with ``False`` return its values as a 2-D ``object`` array in the
        same column order.

    Returns
    -------
    pandas.DataFrame or numpy.ndarray
        Columns in file order. The six continuous columns (see :func:`adult_metadata`) are
        ``int64``; the others are ``object`` strings with ``NaN`` for missing values (in
        workclass, occupation and native-country). ``income`` is the target, ``"<=50K"`` or
        ``">50K"``.

    Notes
    -----
    Source: UCI Machine Learning Repository, Adult data set (Becker & Kohavi, 1996),
    https://doi.org/10.24432/C5XW20, licensed CC BY 4.0.

    Examples
    --------
    >>> from synthgan.datasets import load_adult
    >>> df = load_adult()
    >>> df.shape
    (32561, 15)
    """
    resource = resources.files("synthgan.datasets").joinpath("data", _DATA_FILE)
    with resources.as_file(resource) as path:
        frame = read_table(path)
    _check_schema(frame)
    return frame if as_frame else frame.to_numpy(dtype=object)


def adult_metadata() -> dict[str, Any]:
    """Describe the Adult columns: which are continuous or discrete, and the target.

    Returns
    -------
    dict
        ``{"columns": {name: {"type": "continuous" | "discrete"}, ...}, "target": "income"}``
        with the columns in file order. A new dict is returned on every call.

    Examples
    --------
    >>> from synthgan.datasets import adult_metadata
    >>> adult_metadata()["columns"]["age"]
    {'type': 'continuous'}
    """
    columns = {
        name: {"type": "continuous" if name in ADULT_CONTINUOUS else "discrete"}
        for name in ADULT_COLUMNS
    }
    return {"columns": columns, "target": ADULT_TARGET}


def _check_schema(frame: pd.DataFrame) -> None:
    # The bundled file is fixed; a mismatch means a broken installation, not bad user input.
    if tuple(frame.columns) != ADULT_COLUMNS:
        raise RuntimeError(
            f"The bundled {_DATA_FILE} has columns {list(frame.columns)}, expected "
            f"{list(ADULT_COLUMNS)}; reinstall synthgan."
        )
    for name in ADULT_CONTINUOUS:
        if frame[name].dtype != np.int64:
            raise RuntimeError(f"The bundled {_DATA_FILE} column {name!r} is not int64.")
