"""``synthgan evaluate`` and ``synthgan evaluate-images``: read, evaluate, write the reports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from synthgan.base import load
from synthgan.io.atomic import StrPath, same_file
from synthgan.io.tables import read_table
from synthgan.workflows._checks import check_extension, check_output, set_threads
from synthgan.workflows.metadata import read_metadata

__all__ = ["HTML_EXTENSIONS", "evaluate_image_sets", "evaluate_tables"]

HTML_EXTENSIONS = (".html", ".htm")


def evaluate_tables(
    real_path: StrPath,
    synthetic_path: StrPath,
    *,
    html_path: StrPath | None = None,
    json_path: StrPath | None = None,
    holdout_path: StrPath | None = None,
    target: str | None = None,
    metadata_path: StrPath | None = None,
    random_state: int = 0,
    overwrite: bool = False,
    threads: int | None = None,
    read_options: Mapping[str, Any] | None = None,
    verbose: bool = True,
):
    """Read the real, synthetic (and holdout) tables, evaluate, and write the report.

    At least one of ``html_path`` (ending in ``.html`` or ``.htm``) and ``json_path`` (ending
    in ``.json``) is needed. The outputs are checked before the (long) evaluation starts and
    may never be one of the input tables. ``threads`` and ``read_options`` are as for
    :func:`fit_table`; ``verbose`` shows the evaluation's progress bar.

    Returns
    -------
    EvaluationReport
    """
    from synthgan.evaluation import evaluate

    inputs = [Path(p) for p in (real_path, synthetic_path, holdout_path) if p is not None]
    _check_report_outputs(html_path, json_path, overwrite=overwrite, inputs=inputs)
    set_threads(threads)
    metadata = read_metadata(metadata_path) if metadata_path else None
    options = dict(read_options or {})
    real = read_table(real_path, **options)
    synthetic = read_table(synthetic_path, **options)
    holdout = read_table(holdout_path, **options) if holdout_path is not None else None
    report = evaluate(real, synthetic, holdout, target, metadata, random_state, verbose=verbose)
    return _write_report(report, html_path, json_path, overwrite=overwrite)


def evaluate_image_sets(
    real_path: StrPath,
    generated_path: StrPath,
    *,
    html_path: StrPath | None = None,
    json_path: StrPath | None = None,
    holdout_path: StrPath | None = None,
    model_path: StrPath | None = None,
    random_state: int = 0,
    overwrite: bool = False,
    threads: int | None = None,
    **options: Any,
):
    """Read real and generated images (folders or ``.npz``), evaluate, and write the report.

    The images are read with :func:`synthgan.image.readers.read_images`, labels included (class
    sub-folders, or ``labels`` in a ``.npz``); labels are matched across the sets by their
    text, so the folders that ``sample_images`` writes (class ``"3"``) match an ``.npz`` of
    integer labels (class ``3``). The outputs are checked as in :func:`evaluate_tables`.

    Parameters
    ----------
    real_path, generated_path : str or PathLike
        The real training images and the generated ones.
    html_path, json_path : str or PathLike, optional
        The HTML report (``.html`` / ``.htm``) and the JSON figures (``.json``); one at least.
    holdout_path : str or PathLike, optional
        Real images the generator never saw (memorisation check, test set).
    model_path : str or PathLike, optional
        The model file that generated the images: its privacy guarantee (when it was fitted
        with differential privacy) goes into the report.
    random_state : int, default=0
        Seed of the subsamples and classifiers.
    overwrite : bool, default=False
        Replace existing outputs.
    threads : int, optional
        CPU threads, as for :func:`fit_table`.
    **options
        Passed to :func:`synthgan.evaluation.evaluate_images` (``feature_extractor``,
        ``max_images``, ``classifier_epochs``, ``k``).

    Returns
    -------
    EvaluationReport
    """
    from synthgan.evaluation.api import evaluate_images
    from synthgan.image.readers import read_images

    paths = [p for p in (real_path, generated_path, holdout_path, model_path) if p is not None]
    _check_report_outputs(
        html_path, json_path, overwrite=overwrite, inputs=[Path(p) for p in paths]
    )
    set_threads(threads)
    privacy = None if model_path is None else getattr(load(model_path), "privacy_spent_", None)
    sets = [read_images(Path(p)) for p in (real_path, generated_path, holdout_path) if p]
    codes = _shared_label_codes(sets)
    holdout = (sets[2].images, codes[2]) if len(sets) == 3 else (None, None)
    report = evaluate_images(
        sets[0].images, sets[1].images, codes[0], codes[1], *holdout,
        privacy_spent=None if privacy is None else privacy.to_dict(),
        random_state=random_state, **options,
    )  # fmt: skip
    return _write_report(report, html_path, json_path, overwrite=overwrite)


def _shared_label_codes(sets: Sequence[Any]) -> list[np.ndarray | None]:
    """Integer labels of every image set on one class list (matched by the label's text)."""
    names: dict[str, int] = {}
    for data in sets:
        for value in data.classes:
            names.setdefault(str(value), len(names))
    codes = []
    for data in sets:
        if data.labels is None:
            codes.append(None)
            continue
        table = np.asarray([names[str(value)] for value in data.classes], dtype=np.int64)
        codes.append(table[data.labels.numpy()])
    return codes


def _check_report_outputs(html_path, json_path, *, overwrite: bool, inputs: list[Path]) -> None:
    """Before any evaluation: an output is given, with the right extension, writable, not an
    input, and not the same file twice."""
    if html_path is None and json_path is None:
        raise ValueError("Give an output: an HTML report path (-o) and/or a JSON path (--json).")
    outputs = [
        check_output(p, overwrite=overwrite, inputs=inputs) for p in (html_path, json_path) if p
    ]
    if html_path is not None:
        check_extension(Path(html_path), HTML_EXTENSIONS, "The HTML report", "report.html")
    if json_path is not None:
        check_extension(Path(json_path), (".json",), "The JSON file of figures", "report.json")
    if len(outputs) == 2 and same_file(*outputs):
        raise ValueError("The HTML and JSON outputs must be different files.")


def _write_report(report, html_path, json_path, *, overwrite: bool):
    if html_path is not None:
        report.to_html(html_path, overwrite=overwrite)
    if json_path is not None:
        report.to_json(json_path, overwrite=overwrite)
    return report
