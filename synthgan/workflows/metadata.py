"""Column metadata: reading a metadata file, and ``synthgan metadata`` (detecting the kinds)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from synthgan.exceptions import DataValidationError
from synthgan.io.atomic import StrPath, atomic_write_bytes
from synthgan.io.tables import read_table
from synthgan.workflows._checks import check_extension, check_output

__all__ = ["read_metadata", "table_metadata"]


def read_metadata(path: StrPath) -> dict[str, Any]:
    # A missing file raises FileNotFoundError from open(), naming the path.
    with open(path, encoding="utf-8") as handle:
        try:
            metadata = json.load(handle)
        except json.JSONDecodeError as exc:
            raise DataValidationError(
                f"Metadata file {str(path)!r} is not valid JSON ({exc}). Expected an object such "
                'as {"columns": {"age": {"type": "continuous"}, "sex": {"type": "discrete"}}}.'
            ) from exc
    if not isinstance(metadata, dict):
        raise DataValidationError(
            f"Metadata file {str(path)!r} holds a JSON {type(metadata).__name__}; expected an "
            'object such as {"columns": {"age": {"type": "continuous"}}}.'
        )
    return metadata


def table_metadata(
    input_path: StrPath,
    output_path: StrPath | None = None,
    *,
    metadata_path: StrPath | None = None,
    discrete_columns: Sequence[str] | None = None,
    read_options: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Detect the kind of every column of a table, as metadata to review.

    Parameters
    ----------
    input_path : str or PathLike
        The table, read with :func:`synthgan.io.read_table` and ``read_options``.
    output_path : str or PathLike, optional
        A ``.json`` file to write (atomically; never the input); None writes nothing.
    metadata_path : str or PathLike, optional
        Metadata already written: its declared kinds are kept.
    discrete_columns : sequence of str, optional
        Columns declared discrete.
    read_options : mapping, optional
        As for :func:`fit_table`.
    overwrite : bool, default=False
        Replace an existing output.

    Returns
    -------
    dict
        :func:`synthgan.tabular.metadata.detect_metadata`'s ``{"columns": {name: {"kind": ...,
        "reasons": [...]}}}``, which ``fit_table(metadata_path=...)`` accepts back.
    """
    from synthgan.tabular.metadata import detect_metadata

    inputs = [Path(p) for p in (input_path, metadata_path) if p is not None]
    if output_path is not None:
        check_extension(Path(output_path), (".json",), "The metadata file", "meta.json")
        check_output(output_path, overwrite=overwrite, inputs=inputs)
    metadata = None if metadata_path is None else read_metadata(metadata_path)
    data = read_table(input_path, **dict(read_options or {}))
    detected = detect_metadata(data, metadata=metadata, discrete_columns=discrete_columns)
    if output_path is not None:
        text = json.dumps(detected, indent=2, ensure_ascii=False) + "\n"
        atomic_write_bytes(output_path, text.encode("utf-8"), overwrite=overwrite)
    return detected
