"""``synthgan fit`` and ``synthgan sample``: CTGAN on a CSV or Parquet table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from synthgan.base import BaseSynthesizer, load
from synthgan.exceptions import DataValidationError
from synthgan.io.atomic import StrPath
from synthgan.io.datasets import is_dataset_source
from synthgan.io.tables import has_table_extension, read_table
from synthgan.tabular import CTGANSynthesizer
from synthgan.workflows._checks import (
    check_device,
    check_model_output,
    check_output,
    check_table_extension,
    save_fitted,
    set_threads,
)
from synthgan.workflows.conditions import match_categories
from synthgan.workflows.metadata import read_metadata

__all__ = ["fit_table", "sample_table"]


def fit_table(
    input_path: StrPath,
    output_path: StrPath,
    *,
    epochs: int,
    discrete_columns: Sequence[str] | None = None,
    metadata_path: StrPath | None = None,
    random_state: int | None = None,
    overwrite: bool = False,
    verbose: bool = True,
    threads: int | None = None,
    read_options: Mapping[str, Any] | None = None,
    resume: bool = False,
    **synthesizer_options: Any,
) -> Path:
    """Fit a :class:`~synthgan.CTGANSynthesizer` on a CSV or Parquet file and save the model.

    The output path is checked before training starts, so a run is never lost to a file that
    cannot be written. The model file is written atomically.

    Parameters
    ----------
    input_path : str or PathLike
        The training table (``.csv``, ``.csv.gz``, ``.tsv``, ``.tsv.gz``, ``.parquet``, ``.pq``),
        read with :func:`synthgan.io.read_table`, or a directory of Parquet files. A Parquet
        input is passed to ``fit`` as a path, which streams it when it is large (the
        ``streaming`` option of :class:`~synthgan.CTGANSynthesizer`).
    output_path : str or PathLike
        Where to write the model file; it must end in ``.synthgan``. It may never be the
        input table or the metadata file, even with ``overwrite=True``.
    epochs : int
        Training epochs.
    discrete_columns : sequence of str, optional
        Columns to model as discrete whatever their dtype (e.g. integer codes).
    metadata_path : str or PathLike, optional
        A JSON file ``{"columns": {name: {"type": "continuous" | "discrete", "min": ..,
        "max": ..}}}`` passed as ``metadata`` to the synthesizer.
    random_state : int, optional
        Seed of the fit; the same table, options and seed give the same model (on CPU).
    overwrite : bool, default=False
        Replace an existing file at ``output_path``.
    verbose : bool, default=True
        Show the training progress bar.
    threads : int, optional
        CPU threads of this and later work in the process
        (:func:`synthgan.core.threads.configure_threads`); None keeps the current choice.
    read_options : mapping, optional
        Keyword arguments of :func:`synthgan.io.read_table` (``sep``, ``na_values`` ...).
    resume : bool, default=False
        Continue the fit checkpointed in ``checkpoint_dir`` (a synthesizer option).
    **synthesizer_options
        Further keyword arguments of :class:`~synthgan.CTGANSynthesizer` (``batch_size``,
        ``max_time``, ``device``, ...).

    Returns
    -------
    pathlib.Path
        The model file written.

    Raises
    ------
    FileExistsError
        ``output_path`` is an input file, or exists and ``overwrite`` is false.
    FileNotFoundError
        The input table or the metadata file does not exist.
    DataValidationError
        The table or the metadata cannot be read or modelled, or ``output_path`` does not end
        in ``.synthgan`` (the message says why).
    """
    inputs = [Path(input_path)] + ([Path(metadata_path)] if metadata_path is not None else [])
    output = check_model_output(output_path, overwrite=overwrite, inputs=inputs)
    check_device(synthesizer_options.get("device"))
    set_threads(threads)
    metadata = None if metadata_path is None else read_metadata(metadata_path)
    data = _training_data(input_path, read_options)
    model = CTGANSynthesizer(
        epochs=epochs,
        discrete_columns=None if discrete_columns is None else list(discrete_columns),
        metadata=metadata,
        random_state=random_state,
        verbose=verbose,
        **synthesizer_options,
    )
    model.fit(data, resume=resume)
    return save_fitted(model, output, overwrite=overwrite)  # rank 0 writes


def _training_data(input_path: StrPath, read_options: Mapping[str, Any] | None):
    """A Parquet file or directory goes to ``fit`` as its path, so that a table larger than
    memory is streamed (``streaming``); anything else is read here."""
    if not read_options and is_dataset_source(input_path) and Path(input_path).exists():
        return str(input_path)
    return read_table(input_path, **dict(read_options or {}))


def sample_table(
    model_path: StrPath,
    output_path: StrPath,
    *,
    n: int,
    conditions: Mapping[str, Any] | None = None,
    random_state: int | None = None,
    overwrite: bool = False,
    workers: int = 1,
    chunk_rows: int | None = None,
    partition_by: str | None = None,
    progress: bool | None = None,
) -> Path:
    """Load a model file, generate ``n`` rows and stream them to CSV or Parquet.

    The rows go through the model's ``sample_to`` (:mod:`synthgan.io.streams`): memory stays
    bounded whatever ``n``, and the output appears under its name only once complete.

    Parameters
    ----------
    model_path : str or PathLike
        A file written by a synthesizer's ``save`` (loaded with :func:`synthgan.load`, which
        never runs code from the file).
    output_path : str or PathLike
        The table to write; the format follows the extension (``.parquet`` keeps the training
        dtypes exactly, ``.csv`` does not carry types). A name without a table extension is a
        directory, written as a Parquet dataset (several files, a manifest and ``_SUCCESS``).
        It may never be the model file.
    n : int
        Number of rows.
    conditions : mapping, optional
        ``{column: value}`` on discrete columns; every row written matches every condition.
        ``None`` asks for the missing value (columns that had missing values in training). A
        string value that is not a category of its column but reads as one of its numeric or
        boolean categories (``"3"`` for the integer 3, ``"True"``) is converted, and so is the
        empty string to the missing value, so the strings of :func:`parse_conditions` work on
        any column type.
    random_state : int, optional
        Seed of the sampling; the same model and seed give the same rows.
    overwrite : bool, default=False
        Replace an existing file at ``output_path``, or a directory written by ``sample_to``.
    workers : int, default=1
        Processes generating rows in parallel.
    chunk_rows : int, optional
        Rows generated and written at a time (default: ``sample_to``'s).
    partition_by : str, optional
        Directory output: Hive-partition the dataset by this discrete column.
    progress : bool, optional
        Show a progress bar (default: on a terminal only).

    Returns
    -------
    pathlib.Path
        The table written.

    Raises
    ------
    FileExistsError
        ``output_path`` is the model file, or exists and ``overwrite`` is false.
    FileNotFoundError
        ``model_path`` does not exist.
    ModelFileError
        The model file is damaged, altered or not a synthgan model.
    DataValidationError
        A condition names an unknown column or value, the conditions are too rare to meet, the
        output extension is not a table format, or the model file holds an image model.
    """
    output = Path(output_path)
    if not output.is_dir():  # never the model file, whatever its name
        check_output(output, overwrite=True, inputs=[Path(model_path)])
    if has_table_extension(output):
        check_output(output, overwrite=overwrite, inputs=[Path(model_path)])
    elif output.suffix:  # "out.txt": a typo is likelier than a directory named so
        check_table_extension(output)
    model = load(model_path)
    _check_table_model(model, model_path)
    if conditions:
        conditions = match_categories(model, conditions)
    sizes = {} if chunk_rows is None else {"chunk_rows": chunk_rows}
    return model.sample_to(
        output, n, conditions=conditions, random_state=random_state, workers=workers,
        partition_by=partition_by, overwrite=overwrite, progress=progress, **sizes,
    )  # fmt: skip


def _check_table_model(model: BaseSynthesizer, model_path: StrPath) -> None:
    if not isinstance(model, CTGANSynthesizer):
        raise DataValidationError(
            f"{model_path!s} holds a {type(model).__name__}, an image model, not a table model: "
            "generate images with 'synthgan sample-images' (or the model's sample(n) in Python)."
        )
