"""Conditions for conditional sampling of tables, as the command line gives them.

:func:`parse_conditions` turns ``COLUMN=VALUE`` strings into a mapping; :func:`match_categories`
matches its string values to the fitted categories they stand for (``"3"`` is the integer 3).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from synthgan.base import BaseSynthesizer
from synthgan.exceptions import DataValidationError

__all__ = ["match_categories", "parse_conditions"]


def parse_conditions(
    items: Iterable[str] | None, missing: Iterable[str] | None = None
) -> dict[str, str | None]:
    """Turn ``["income=>50K", "sex=Female"]`` into ``{"income": ">50K", "sex": "Female"}``.

    Each item is split on its first ``=``, so values may contain ``=`` themselves (as in
    ``income=>50K``, whose value is ``>50K``). Values stay strings; :func:`sample_table`
    converts them to the column's type, and an empty value (``workclass=``) to the missing
    value. The columns of ``missing`` are conditioned on the missing value (None).

    Parameters
    ----------
    items : iterable of str or None
        ``COLUMN=VALUE`` strings.
    missing : iterable of str, optional
        Columns whose value must be missing.

    Returns
    -------
    dict
        Column name to value, in the order given (``missing`` last).

    Raises
    ------
    DataValidationError
        An item has no ``=`` or an empty column name, or a column is given twice.

    Examples
    --------
    >>> parse_conditions(["income=>50K", "education=Some-college"])
    {'income': '>50K', 'education': 'Some-college'}
    >>> parse_conditions(["sex=Male"], missing=["workclass"])
    {'sex': 'Male', 'workclass': None}
    """
    conditions: dict[str, str | None] = {}
    pairs = [_split_condition(item) for item in items or ()]
    pairs += [(column.strip(), None) for column in missing or ()]
    for column, value in pairs:
        if not column:
            raise DataValidationError("A condition names no column; give COLUMN=VALUE.")
        if column in conditions:
            raise DataValidationError(
                f"Column {column!r} is conditioned twice ({conditions[column]!r} and "
                f"{value!r}); give one value per column."
            )
        conditions[column] = value
    return conditions


def _split_condition(item: str) -> tuple[str, str]:
    column, sep, value = item.partition("=")
    if not sep or not column.strip():
        raise DataValidationError(
            f"Condition {item!r} is not of the form COLUMN=VALUE; write for example "
            "income=>50K (in a shell, quote it: --condition 'income=>50K'; an empty value, "
            "--condition 'workclass=', asks for a missing value)."
        )
    return column.strip(), value


def match_categories(model: BaseSynthesizer, conditions: Mapping[str, Any]) -> dict[str, Any]:
    """Replace string values by the fitted category they stand for (``"3"`` -> ``3``).

    Values that match nothing are passed on unchanged (the empty string as None, the missing
    value), so the model's own error (which names the column and lists its valid values)
    reaches the user.
    """
    transformer = getattr(model, "transformer_", None)
    encoders = {e.name: e for e in getattr(transformer, "encoders_", [])}
    matched = dict(conditions)
    for column, value in conditions.items():
        if isinstance(value, str) and column in encoders:
            known = _known_values(encoders[column])
            unmatched = None if value == "" else value  # empty: the missing value, always
            matched[column] = next(
                (c for c in _readings(value) if any(_same(c, k) for k in known)), unmatched
            )
    return matched


def _known_values(encoder: Any) -> list[Any]:
    # Discrete encoders list their one-hot categories and, for a compacted column, the rare
    # values sharing the "other" slot; a constant column has its single value.
    if hasattr(encoder, "categories"):
        return [*encoder.categories, *(encoder.other_values or [])]
    return [getattr(encoder, "value", None)]


def _readings(text: str) -> list[Any]:
    """The values a command-line string may stand for, the string itself first."""
    readings: list[Any] = [text]
    if text == "":
        readings.append(None)  # an empty value on the command line: the missing category
    if text.strip().lower() in ("true", "false"):
        readings.append(text.strip().lower() == "true")
    for convert in (int, float):
        try:
            readings.append(convert(text))
        except ValueError:  # not a number of this kind
            continue
    return readings


def _same(candidate: Any, category: Any) -> bool:
    # Exact type match: 1 == True and 1 == 1.0 in Python, but "1" must not pick a bool category.
    return type(candidate) is type(category) and candidate == category
