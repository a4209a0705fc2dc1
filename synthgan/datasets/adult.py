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


# Category lists as published in the data set's documentation (adult.names, UCI), so they are
# public knowledge, not read from the records; "?" (missing) is documented for these three.
_ADULT_DOMAINS: dict[str, tuple[str, ...]] = {
    "workclass": ("Private", "Self-emp-not-inc", "Self-emp-inc", "Federal-gov", "Local-gov",
                  "State-gov", "Without-pay", "Never-worked"),
    "education": ("Bachelors", "Some-college", "11th", "HS-grad", "Prof-school", "Assoc-acdm",
                  "Assoc-voc", "9th", "7th-8th", "12th", "Masters", "1st-4th", "10th",
                  "Doctorate", "5th-6th", "Preschool"),
    "marital-status": ("Married-civ-spouse", "Divorced", "Never-married", "Separated",
                       "Widowed", "Married-spouse-absent", "Married-AF-spouse"),
    "occupation": ("Tech-support", "Craft-repair", "Other-service", "Sales", "Exec-managerial",
                   "Prof-specialty", "Handlers-cleaners", "Machine-op-inspct", "Adm-clerical",
                   "Farming-fishing", "Transport-moving", "Priv-house-serv", "Protective-serv",
                   "Armed-Forces"),
    "relationship": ("Wife", "Own-child", "Husband", "Not-in-family", "Other-relative",
                     "Unmarried"),
    "race": ("White", "Asian-Pac-Islander", "Amer-Indian-Eskimo", "Other", "Black"),
    "sex": ("Female", "Male"),
    "native-country": ("United-States", "Cambodia", "England", "Puerto-Rico", "Canada",
                       "Germany", "Outlying-US(Guam-USVI-etc)", "India", "Japan", "Greece",
                       "South", "China", "Cuba", "Iran", "Honduras", "Philippines", "Italy",
                       "Poland", "Jamaica", "Vietnam", "Mexico", "Portugal", "Ireland",
                       "France", "Dominican-Republic", "Laos", "Ecuador", "Taiwan", "Haiti",
                       "Columbia", "Hungary", "Guatemala", "Nicaragua", "Scotland", "Thailand",
                       "Yugoslavia", "El-Salvador", "Trinadad&Tobago", "Peru", "Hong",
                       "Holand-Netherlands"),
    "income": ("<=50K", ">50K"),
}  # fmt: skip
_ADULT_MISSING = ("workclass", "occupation", "native-country")


def adult_metadata(*, public_domains: bool = False) -> dict[str, Any]:
    """Describe the Adult columns: which are continuous or discrete, and the target.

    Parameters
    ----------
    public_domains : bool, default=False
        Also give every discrete column's category list and whether it can be missing, as
        published in the data set's documentation (``adult.names``): public metadata for
        differential privacy, so the category lists need not be estimated from the records.
        Continuous bounds are not documented there and are left out (estimated under DP).

    Returns
    -------
    dict
        ``{"columns": {name: {"type": "continuous" | "discrete", ...}, ...}, "target":
        "income"}`` with the columns in file order. A new dict is returned on every call.

    Examples
    --------
    >>> from synthgan.datasets import adult_metadata
    >>> adult_metadata()["columns"]["age"]
    {'type': 'continuous'}
    >>> adult_metadata(public_domains=True)["columns"]["sex"]
    {'type': 'discrete', 'categories': ['Female', 'Male'], 'missing': False}
    """
    columns: dict[str, dict[str, Any]] = {
        name: {"type": "continuous" if name in ADULT_CONTINUOUS else "discrete"}
        for name in ADULT_COLUMNS
    }
    if public_domains:
        for name, domain in _ADULT_DOMAINS.items():
            columns[name]["categories"] = list(domain)
            columns[name]["missing"] = name in _ADULT_MISSING
        for name in ADULT_CONTINUOUS:
            columns[name]["missing"] = False
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
