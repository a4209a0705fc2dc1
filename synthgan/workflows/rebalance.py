"""``synthgan rebalance``: add synthetic rows to the small classes of a CSV or Parquet table."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from synthgan.exceptions import DataValidationError
from synthgan.io.atomic import StrPath
from synthgan.io.tables import read_table, write_table
from synthgan.workflows._checks import check_output, check_table_extension, set_threads
from synthgan.workflows.metadata import read_metadata

__all__ = ["NAMED_STRATEGIES", "parse_strategy", "rebalance_table"]

NAMED_STRATEGIES = ("auto", "minority", "not minority", "not majority", "all")


def parse_strategy(text: str, target: pd.Series) -> str | float | dict:
    """Read a ``--strategy`` value: a name, a float (binary targets) or a JSON object of counts.

    The keys of a JSON object are strings; each is matched to the class of ``target`` that it
    spells (``"1"`` is the integer class 1), so the same command works on CSV and Parquet.

    Examples
    --------
    >>> parse_strategy('{"1": 500}', pd.Series([0, 0, 1]))
    {1: 500}
    """
    text = text.strip()
    if text in NAMED_STRATEGIES:
        return text
    try:
        return float(text)
    except ValueError:
        pass
    try:
        counts = json.loads(text)
    except json.JSONDecodeError:
        counts = None
    if not isinstance(counts, dict) or not all(isinstance(v, int) for v in counts.values()):
        raise DataValidationError(
            f"--strategy {text!r} is not one of {', '.join(NAMED_STRATEGIES)}, a number, or a "
            "JSON object of class counts after resampling such as '{\"fraud\": 500}'."
        )
    spelled = {str(value): value for value in target.dropna().unique()}
    return {spelled.get(key, key): count for key, count in counts.items()}


def rebalance_table(
    input_path: StrPath,
    output_path: StrPath,
    *,
    target: str,
    strategy: str = "auto",
    epochs: int = 300,
    metadata_path: StrPath | None = None,
    privacy=None,
    random_state: int | None = None,
    overwrite: bool = False,
    verbose: bool = True,
    threads: int | None = None,
    read_options: Mapping[str, Any] | None = None,
    **rebalancer_options: Any,
) -> tuple[Path, dict]:
    """Rebalance the classes of ``target`` in a table file and write the result.

    Parameters
    ----------
    input_path, output_path : str or PathLike
        The table to read and the one to write (CSV or Parquet, by extension; never the input).
    target : str
        The class column.
    strategy : str, default="auto"
        As :func:`parse_strategy` reads it.
    epochs : int, default=300
        Training epochs of the CTGAN synthesizer.
    metadata_path : str or PathLike, optional
        Column metadata (JSON) for the synthesizer, e.g. the target's public class list.
    privacy : PrivacyConfig, optional
        Fit with differential privacy; the output is then all synthetic (see
        :class:`~synthgan.Rebalancer`).
    random_state, overwrite, verbose, threads, read_options
        As for :func:`~synthgan.workflows.fit_table`.
    **rebalancer_options
        Further :class:`~synthgan.Rebalancer` keywords (``fit_on``, ``filter`` ...).

    Returns
    -------
    (pathlib.Path, dict)
        The table written, and the class counts before and after.
    """
    from synthgan.augmentation import rebalance
    from synthgan.tabular import CTGANSynthesizer

    inputs = [Path(input_path)] + ([Path(metadata_path)] if metadata_path is not None else [])
    output = check_output(output_path, overwrite=overwrite, inputs=inputs)
    check_table_extension(output)
    set_threads(threads)
    metadata = None if metadata_path is None else read_metadata(metadata_path)
    data = read_table(input_path, **dict(read_options or {}))
    if target not in data.columns:
        raise DataValidationError(
            f"--target {target!r} is not a column of {str(input_path)!r}; its columns: "
            f"{list(data.columns)}."
        )
    model = CTGANSynthesizer(epochs=epochs, metadata=metadata, verbose=verbose)
    options = {"privacy": privacy, "random_state": random_state, **rebalancer_options}
    balanced = rebalance(data, target, parse_strategy(strategy, data[target]), model, **options)
    path = write_table(balanced, output, overwrite=overwrite, protect=inputs)
    counts = {"before": _counts(data[target]), "after": _counts(balanced[target])}
    return path, counts


def _counts(series: pd.Series) -> dict:
    return {str(k): int(v) for k, v in series.value_counts(dropna=False).sort_index().items()}
