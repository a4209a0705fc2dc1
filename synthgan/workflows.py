"""What the ``synthgan`` command does: fit, sample, evaluate, describe a model file, run the demo.

Each command of :mod:`synthgan.cli` is one function here, so everything the command line can do
is also a plain Python call (and tested as one). The functions read and write files through
:mod:`synthgan.io`: tables through pyarrow, model files as zip of JSON and safetensors, every
write atomic, and an input file is never written over.

Examples
--------
>>> from synthgan.workflows import fit_table, parse_conditions, sample_table
>>> fit_table("adult.csv", "adult.synthgan", epochs=300)  # doctest: +SKIP
PosixPath('adult.synthgan')
>>> conditions = parse_conditions(["income=>50K", "sex=Female"])
>>> conditions
{'income': '>50K', 'sex': 'Female'}
>>> sample_table("adult.synthgan", "rich.parquet", n=1000, conditions=conditions)  # doctest: +SKIP
PosixPath('rich.parquet')
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from synthgan.base import BaseSynthesizer, load
from synthgan.exceptions import DataValidationError
from synthgan.io.atomic import (
    StrPath,
    atomic_write_bytes,
    check_destination,
    check_directory_destination,
    same_file,
)
from synthgan.io.tables import SUPPORTED_EXTENSIONS, read_table, write_table
from synthgan.tabular import CTGANSynthesizer

__all__ = [
    "evaluate_image_sets",
    "evaluate_tables",
    "fit_images",
    "fit_summary",
    "fit_table",
    "format_model_info",
    "model_info",
    "parse_conditions",
    "run_demo",
    "sample_images",
    "sample_table",
    "table_metadata",
]

DEMO_EPOCHS = 100  # 0.9 to 1.3 s per epoch on 2 CPU cores with the default speed options
DEMO_OPTIONS: dict[str, Any] = {}  # synthgan's defaults
DEMO_OUTPUT = "synthetic_adult.parquet"
DEMO_REPORT = "evaluation_report.html"
MODEL_EXTENSION = ".synthgan"
GRID_EXTENSIONS = (".png", ".jpg", ".jpeg")  # sample_images writes one grid image
HTML_EXTENSIONS = (".html", ".htm")


# ---------------------------------------------------------------------------------------------
# fit
# ---------------------------------------------------------------------------------------------
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
        read with :func:`synthgan.io.read_table`.
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
    output = _check_model_output(output_path, overwrite=overwrite, inputs=inputs)
    _check_device(synthesizer_options.get("device"))
    _set_threads(threads)
    metadata = None if metadata_path is None else _read_metadata(metadata_path)
    data = read_table(input_path, **dict(read_options or {}))
    model = CTGANSynthesizer(
        epochs=epochs,
        discrete_columns=None if discrete_columns is None else list(discrete_columns),
        metadata=metadata,
        random_state=random_state,
        verbose=verbose,
        **synthesizer_options,
    )
    model.fit(data, resume=resume)
    return model.save(output, overwrite=overwrite)


def fit_summary(model_path: StrPath) -> dict[str, str | None]:
    """What to tell the user after a fit: ``kinds`` (a one-line summary of the column kinds
    used, None for an image model) and ``privacy_report`` (None without differential privacy).
    """
    model = load(model_path)
    kinds = getattr(model, "column_kinds_", None)
    report = model.privacy_report() if getattr(model, "privacy_spent_", None) else None
    return {"kinds": None if kinds is None else _format_kinds(kinds), "privacy_report": report}


def _format_kinds(kinds: Mapping[str, Any]) -> str:
    from synthgan.tabular.metadata import format_kinds

    return format_kinds(kinds)


def _set_threads(threads: int | None) -> None:
    if threads is not None:
        from synthgan.core.threads import configure_threads

        configure_threads(threads)


def _check_device(device: str | None) -> None:
    """Refuse a CUDA device on a machine without one before any work (torch's own error comes
    late and reads "Torch not compiled with CUDA enabled")."""
    import torch

    if device is not None and str(device).startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was asked for, but torch sees no CUDA GPU on this machine "
            "(torch.cuda.is_available() is False); use device='cpu'."
        )


def _read_metadata(path: StrPath) -> dict[str, Any]:
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


# ---------------------------------------------------------------------------------------------
# sample
# ---------------------------------------------------------------------------------------------
def sample_table(
    model_path: StrPath,
    output_path: StrPath,
    *,
    n: int,
    conditions: Mapping[str, Any] | None = None,
    random_state: int | None = None,
    overwrite: bool = False,
) -> Path:
    """Load a model file, generate ``n`` rows and write them to CSV or Parquet.

    Parameters
    ----------
    model_path : str or PathLike
        A file written by a synthesizer's ``save`` (loaded with :func:`synthgan.load`, which
        never runs code from the file).
    output_path : str or PathLike
        The table to write; the format follows the extension (``.parquet`` keeps the training
        dtypes exactly, ``.csv`` does not carry types). It may never be the model file.
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
        Replace an existing file at ``output_path``.

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
    output = _check_output(output_path, overwrite=overwrite, inputs=[Path(model_path)])
    _check_table_extension(output)
    model = load(model_path)
    _check_table_model(model, model_path)
    if conditions:
        conditions = _match_categories(model, conditions)
    frame = model.sample(n, conditions=conditions, random_state=random_state)
    return write_table(frame, output, overwrite=overwrite, protect=[model_path])


def _check_table_model(model: BaseSynthesizer, model_path: StrPath) -> None:
    if not isinstance(model, CTGANSynthesizer):
        raise DataValidationError(
            f"{model_path!s} holds a {type(model).__name__}, an image model, not a table model: "
            "generate images with 'synthgan sample-images' (or the model's sample(n) in Python)."
        )


# ---------------------------------------------------------------------------------------------
# images
# ---------------------------------------------------------------------------------------------
def fit_images(
    input_path: StrPath,
    output_path: StrPath,
    *,
    conditional: bool = False,
    epochs: int = 25,
    max_time: float | None = None,
    random_state: int | None = None,
    overwrite: bool = False,
    verbose: bool = True,
    classes: Sequence[Any] | None = None,
    threads: int | None = None,
    resume: bool = False,
    **synthesizer_options: Any,
) -> Path:
    """Fit a DCGAN (or, with ``conditional``, a class-conditional GAN) on images and save it.

    Parameters
    ----------
    input_path : str or PathLike
        A folder of images, with one sub-folder per class for the conditional model
        (torchvision's ImageFolder layout), or a ``.npz`` file with ``images`` (or ``x_train``)
        and ``labels`` (or ``y_train``); see :func:`synthgan.image.data.read_images`.
    output_path : str or PathLike
        Model file to write, ending in ``.synthgan``; checked before training starts.
    conditional : bool, default=False
        Fit :class:`~synthgan.ConditionalGANSynthesizer` instead of
        :class:`~synthgan.DCGANSynthesizer`.
    epochs, max_time, random_state, verbose, **synthesizer_options
        Passed to the synthesizer.
    overwrite : bool, default=False
        Replace an existing model file.
    classes : sequence, optional
        The public class list (``fit(..., classes=)``), needed by the conditional model with
        ``privacy``. For a ``.npz`` input, entries that are integer literals (``"3"``) are read
        as integers, like the labels stored there.
    threads : int, optional
        CPU threads, as for :func:`fit_table`.

    Returns
    -------
    pathlib.Path
        The model file written.
    """
    from synthgan.image import ConditionalGANSynthesizer, DCGANSynthesizer

    output = _check_model_output(output_path, overwrite=overwrite, inputs=[Path(input_path)])
    _check_device(synthesizer_options.get("device"))
    _set_threads(threads)
    cls = ConditionalGANSynthesizer if conditional else DCGANSynthesizer
    model = cls(
        epochs=epochs, max_time=max_time, random_state=random_state, verbose=verbose,
        **synthesizer_options,
    )  # fmt: skip
    if classes is not None and Path(input_path).suffix == ".npz":
        classes = [_as_int_if_literal(c) for c in classes]
    classes = None if classes is None else list(classes)
    model.fit(Path(input_path), classes=classes, resume=resume)
    return model.save(output, overwrite=overwrite)


def _as_int_if_literal(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return value


def sample_images(
    model_path: StrPath,
    output_path: StrPath,
    *,
    n: int,
    labels: Sequence[str] | None = None,
    random_state: int | None = None,
    overwrite: bool = False,
    nrow: int | None = None,
) -> Path:
    """Generate ``n`` images from an image model file into a ``.npz`` file, a PNG folder or
    one grid image.

    Parameters
    ----------
    model_path : str or PathLike
        A file written by ``DCGANSynthesizer.save`` or ``ConditionalGANSynthesizer.save``.
    output_path : str or PathLike
        ``*.npz`` (``images`` uint8 ``(n, H, W, C)`` and ``labels``); ``*.png``, ``*.jpg`` or
        ``*.jpeg`` (one image: the ``n`` images in a grid, by class for a conditional model);
        or a folder name without an extension (PNG files, one sub-folder per class for a
        conditional model) that does not exist yet or is empty. Any other extension is refused.
    n : int
        Number of images.
    labels : sequence of str, optional
        Conditional models only: generate only these classes, ``n`` split evenly between
        them (the first ones get one more when it does not divide). Strings are matched to the
        model's classes (``"3"`` is the class 3). Without it, classes follow the training
        proportions.
    random_state : int, optional
        Seed; the same model and seed give the same images.
    overwrite : bool, default=False
        Replace an existing output.
    nrow : int, optional
        Grid output only: images per row (default: a square grid, ``ceil(sqrt(n))``).

    Returns
    -------
    pathlib.Path
        What was written.
    """
    from synthgan.image.data import write_grid, write_images

    output = Path(output_path)
    form = _image_output_form(output)
    if form == "folder":
        check_directory_destination(output, overwrite=overwrite)
    else:
        _check_output(output, overwrite=overwrite, inputs=[Path(model_path)])
    images, values = _generate_images(load(model_path), model_path, n, labels, random_state)
    if form != "grid":
        return write_images(output, images, labels=values, overwrite=overwrite)
    order = np.argsort(values, kind="stable") if values is not None else np.arange(len(images))
    pixels = torch.from_numpy(images[order]).permute(0, 3, 1, 2).contiguous()  # (n, C, H, W)
    per_row = nrow if nrow is not None else math.ceil(math.sqrt(len(images)))
    return write_grid(output, pixels, nrow=per_row, overwrite=overwrite)


def _image_output_form(path: Path) -> str:
    """``"npz"``, ``"grid"`` or ``"folder"`` from the extension; refuses any other."""
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return "npz"
    if suffix in GRID_EXTENSIONS:
        return "grid"
    if not suffix or path.is_dir():
        return "folder"
    raise DataValidationError(
        f"Cannot tell what to write to {str(path)!r} from its extension {suffix!r}. Give "
        "images.npz (an archive of the images and their labels), a folder name without an "
        "extension (one PNG file per image) or grid.png / grid.jpg (one image of them all)."
    )


def _generate_images(model, model_path, n, labels, random_state):
    """``(images, labels)``: uint8 ``(n, H, W, C)`` and the class of each (None when
    unconditional)."""
    from synthgan.image import ConditionalGANSynthesizer, DCGANSynthesizer

    if not isinstance(model, DCGANSynthesizer):
        raise DataValidationError(
            f"{model_path!s} holds a {type(model).__name__}, not an image model; use "
            "'synthgan sample' for tables."
        )
    if not isinstance(model, ConditionalGANSynthesizer):
        if labels:
            raise DataValidationError(
                f"{model_path!s} holds an unconditional DCGAN: it cannot sample by class. Fit "
                "with --conditional to choose classes."
            )
        return model.sample(n, random_state=random_state), None
    wanted = _split_evenly(n, [_match_class(model.classes_, label) for label in labels or []])
    images, values = model.sample_with_labels(
        None if wanted else n, labels=wanted or None, random_state=random_state
    )
    return images, values.tolist()


def _match_class(classes: Sequence[Any], text: str) -> Any:
    """The class of ``classes`` that ``text`` names (``"3"`` names the integer class 3)."""
    for known in classes:
        if str(known) == str(text):
            return known
    raise DataValidationError(f"Unknown class {text!r}; the model knows {list(classes)}.")


def _split_evenly(n: int, classes: Sequence[Any]) -> dict[Any, int]:
    """``{class: count}`` splitting ``n`` over ``classes`` (the first get the remainder)."""
    if not classes:
        return {}
    base, extra = divmod(n, len(classes))
    return {label: base + (i < extra) for i, label in enumerate(dict.fromkeys(classes))}


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
    _set_threads(threads)
    metadata = _read_metadata(metadata_path) if metadata_path else None
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

    The images are read with :func:`synthgan.image.data.read_images`, labels included (class
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
    from synthgan.image.data import read_images

    paths = [p for p in (real_path, generated_path, holdout_path, model_path) if p is not None]
    _check_report_outputs(
        html_path, json_path, overwrite=overwrite, inputs=[Path(p) for p in paths]
    )
    _set_threads(threads)
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
        _check_output(p, overwrite=overwrite, inputs=inputs) for p in (html_path, json_path) if p
    ]
    if html_path is not None:
        _check_extension(Path(html_path), HTML_EXTENSIONS, "The HTML report", "report.html")
    if json_path is not None:
        _check_extension(Path(json_path), (".json",), "The JSON file of figures", "report.json")
    if len(outputs) == 2 and same_file(*outputs):
        raise ValueError("The HTML and JSON outputs must be different files.")


def _write_report(report, html_path, json_path, *, overwrite: bool):
    if html_path is not None:
        report.to_html(html_path, overwrite=overwrite)
    if json_path is not None:
        report.to_json(json_path, overwrite=overwrite)
    return report


def _check_extension(path: Path, allowed: Sequence[str], what: str, example: str) -> None:
    if path.suffix.lower() not in allowed:
        raise DataValidationError(
            f"{what} {str(path)!r} must end in {' or '.join(allowed)}, not "
            f"{path.suffix or 'no extension'!r}: the file would not open as what it holds. "
            f"Name it for example {example}."
        )


# ---------------------------------------------------------------------------------------------
# metadata and info
# ---------------------------------------------------------------------------------------------
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
        _check_extension(Path(output_path), (".json",), "The metadata file", "meta.json")
        _check_output(output_path, overwrite=overwrite, inputs=inputs)
    metadata = None if metadata_path is None else _read_metadata(metadata_path)
    data = read_table(input_path, **dict(read_options or {}))
    detected = detect_metadata(data, metadata=metadata, discrete_columns=discrete_columns)
    if output_path is not None:
        text = json.dumps(detected, indent=2, ensure_ascii=False) + "\n"
        atomic_write_bytes(output_path, text.encode("utf-8"), overwrite=overwrite)
    return detected


def model_info(model_path: StrPath) -> dict[str, Any]:
    """Describe a model file: kind, data, training settings, timings, privacy.

    Parameters
    ----------
    model_path : str or PathLike
        A file written by a synthesizer's ``save``.

    Returns
    -------
    dict
        JSON-able: ``file``, ``kind``, ``synthesizer`` (class name), ``synthgan_version`` (of
        the writer), ``hyperparameters`` (every ``__init__`` argument, as stored), ``columns``
        (tables: ``[{"name", "kind"}]``, the kind used in the fit) or ``images`` (size,
        channels, classes and their counts), ``training`` (``epochs_planned``, ``epochs_run``,
        ``stopped_early``, the last epoch's losses and ``timings``: the model's ``timings_``,
        in seconds but for counts and rates such as ``images_per_second``) and ``privacy`` (ε, δ,
        their breakdown and the plain-language ``report``; None without differential privacy).
    """
    from synthgan.io.serialization import read_model

    written = read_model(model_path)
    model = load(model_path)
    info: dict[str, Any] = {
        "file": str(model_path),
        "kind": written.kind,
        "synthesizer": type(model).__name__,
        "synthgan_version": written.library_version,
        "hyperparameters": written.params,
    }
    info.update(_data_info(model))
    info["training"] = _training_info(model)
    info["privacy"] = _privacy_info(model)
    return info


def _data_info(model: BaseSynthesizer) -> dict[str, Any]:
    if isinstance(model, CTGANSynthesizer):
        # Every column with the kind the fit used (id and text columns have no encoder).
        kinds = getattr(model, "column_kinds_", None) or {
            e.name: e.kind for e in model.transformer_.encoders_
        }
        return {"columns": [{"name": n, "kind": _kind_name(k)} for n, k in kinds.items()]}
    config = model.network_config_.to_json()
    images = {key: config[key] for key in ("side", "channels") if key in config}
    if hasattr(model, "classes_"):
        images["classes"] = dict(zip(map(str, model.classes_), model.class_counts_, strict=True))
    return {"images": images}


def _kind_name(kind: Any) -> str:
    # A column kind is a name, or a mapping with the name under "kind" (and the reasons).
    return str(kind.get("kind")) if isinstance(kind, Mapping) else str(kind)


def _training_info(model: BaseSynthesizer) -> dict[str, Any]:
    history = model.loss_history_
    planned, run = int(model.epochs), len(history)
    last = history.iloc[-1].to_dict() if run else {}
    losses = {k: float(v) for k, v in last.items() if k.endswith("loss")}
    return {
        "epochs_planned": planned,
        "epochs_run": run,
        "stopped_early": run < planned,
        "last_epoch_losses": losses,
        "timings": {k: round(float(v), 3) for k, v in dict(model.timings_).items()},
    }


def _privacy_info(model: BaseSynthesizer) -> dict[str, Any] | None:
    spent = getattr(model, "privacy_spent_", None)
    if spent is None:
        return None
    return {**spent.to_dict(), "report": spent.report()}


def _timing(name: str, value: float) -> str:
    if name == "epochs":  # a count among the timings of image models
        return f"{name} {value:g}"
    return f"{name} {value:.1f}" + ("" if "per_second" in name else " s")


def format_model_info(info: Mapping[str, Any]) -> str:
    """The text ``synthgan info`` prints, from the dict of :func:`model_info`."""
    training = info["training"]
    stopped = " (stopped early)" if training["stopped_early"] else ""
    lines = [
        f"{info['file']}: {info['synthesizer']} model (kind {info['kind']!r}, written by "
        f"synthgan {info['synthgan_version']})",
        f"  epochs          {training['epochs_run']} of {training['epochs_planned']}{stopped}",
        "  timings         " + ", ".join(_timing(k, v) for k, v in training["timings"].items()),
    ]
    if "columns" in info:
        lines.append(f"  columns         {len(info['columns'])}")
        lines += [f"    {c['name']:<20} {c['kind']}" for c in info["columns"]]
    else:
        lines += [f"  {k:<15} {v}" for k, v in info["images"].items()]
    lines.append("  hyperparameters")
    lines += [f"    {k:<20} {v!r}" for k, v in info["hyperparameters"].items()]
    privacy = info["privacy"]
    lines.append("  privacy         " + ("none (fitted without differential privacy)"
                                       if privacy is None else privacy["report"]))  # fmt: skip
    return "\n".join(lines)


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


def _match_categories(model: BaseSynthesizer, conditions: Mapping[str, Any]) -> dict[str, Any]:
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


# ---------------------------------------------------------------------------------------------
# demo
# ---------------------------------------------------------------------------------------------
def run_demo(
    output_dir: StrPath = ".",
    *,
    epochs: int = DEMO_EPOCHS,
    rows: int | None = None,
    random_state: int = 0,
    verbose: bool = True,
) -> dict[str, Any]:
    """Fit CTGAN on the bundled Adult table, write a synthetic copy and an evaluation report.

    Adult is split 80/20 (stratified on ``income``, seeded): the model is fitted on the 80%,
    samples as many rows, and :func:`synthgan.evaluate` scores them against the training rows
    with the 20% as the holdout (utility on ``income``, privacy leakage). With the defaults this
    takes about 2 to 3 minutes on 2 CPU cores: 100 epochs on 26,048 rows with synthgan's
    default options. Outputs (replacing an earlier demo's) in ``output_dir``:
    ``synthetic_adult.parquet``, ``evaluation_report.html`` and ``evaluation_report.json``.

    Parameters
    ----------
    output_dir : str or PathLike, default="."
        Folder of the outputs; created when missing.
    epochs : int, default=100
        Training epochs.
    rows : int, optional
        Use a seeded random subset of this many Adult rows instead of all of them (for a
        quick smoke run).
    random_state : int, default=0
        Seed of the subset, the split, the fit, the sampling and the evaluation.
    verbose : bool, default=True
        Show the progress bar and print a summary.

    Returns
    -------
    dict
        ``output_path``, ``report_path``, ``rows``, ``holdout_rows``, ``columns``, ``epochs``,
        ``fit_seconds``, ``sample_seconds``, ``evaluate_seconds``, ``quality`` (the dict of
        :func:`~synthgan.evaluation.quality_scores`), ``report`` (the
        :class:`~synthgan.evaluation.EvaluationReport`) and ``income_share``
        (``{"real": ..., "synthetic": ...}``, the share of ``>50K``).
    """
    from synthgan.datasets import adult_metadata, load_adult
    from synthgan.evaluation import class_balance, evaluate

    real, holdout = _demo_split(_demo_rows(load_adult(), rows, random_state), random_state)
    metadata = adult_metadata()
    if verbose:
        hint = " (a few minutes on 2 CPU cores)" if epochs * len(real) >= 1_000_000 else ""
        print(
            f"Fitting CTGAN on {len(real):,} rows of the bundled UCI Adult table for {epochs} "
            f"epochs{hint}...",
            flush=True,
        )
    model = CTGANSynthesizer(
        epochs=epochs, metadata=metadata, random_state=random_state, verbose=verbose, **DEMO_OPTIONS
    )
    fit_seconds, _ = _timed(model.fit, real)
    sample_seconds, synthetic = _timed(model.sample, len(real), random_state=random_state)
    folder = Path(output_dir)
    output = write_table(synthetic, folder / DEMO_OUTPUT, overwrite=True)
    if verbose:
        print("Evaluating (fidelity, utility on income, privacy leakage)...", flush=True)
    evaluate_seconds, report = _timed(
        evaluate, real, synthetic, holdout, "income", metadata, random_state
    )
    report_path = report.to_html(folder / DEMO_REPORT, overwrite=True)
    report.to_json(folder / DEMO_REPORT.replace(".html", ".json"), overwrite=True)
    summary = {
        "output_path": output.resolve(),
        "report_path": report_path.resolve(),
        "rows": len(real),
        "holdout_rows": len(holdout),
        "columns": real.shape[1],
        "epochs": epochs,
        "fit_seconds": fit_seconds,
        "sample_seconds": sample_seconds,
        "evaluate_seconds": evaluate_seconds,
        "quality": report["fidelity"]["quality"],
        "report": report,
        "income_share": {
            "real": class_balance(real, "income").get(">50K", 0.0),
            "synthetic": class_balance(synthetic, "income").get(">50K", 0.0),
        },
    }
    if verbose:
        print(_format_demo_summary(summary))
    return summary


def _format_demo_summary(summary: Mapping[str, Any]) -> str:
    """The text :func:`run_demo` prints, from the dict it returns."""
    quality, share = summary["quality"], summary["income_share"]
    head = summary["report"]["headline"]
    verdict = summary["report"]["verdict"]
    lines = [
        "synthgan demo: CTGAN on the UCI Adult table (bundled copy, CC BY 4.0)",
        f"  training rows        {summary['rows']:,} x {summary['columns']} columns, "
        f"{summary['epochs']} epochs ({summary['holdout_rows']:,} rows held out)",
        f"  fit time             {summary['fit_seconds']:.1f} s",
        f"  sampling time        {summary['sample_seconds']:.1f} s for {summary['rows']:,} rows",
        f"  quality overall      {quality['overall']:.3f}  (sdmetrics QualityReport, 1 is ideal, "
        f"{quality['n_rows_used']:,} rows each)",
        f"    column shapes      {quality['column_shapes']:.3f}",
        f"    column pair trends {quality['column_pair_trends']:.3f}",
        f"  detection ROC-AUC    {head['detection_auc']:.3f}  (0.5 is ideal)",
        f"  TSTR accuracy        {head['tstr_accuracy']:.3f}  (real data: "
        f"{head['trtr_accuracy']:.3f}; best of 3 models, predicting income on the holdout)",
        f"  membership inference {head['membership_inference_auc']:.3f}  ROC-AUC (0.5 is ideal)",
        f"  leakage verdict      {verdict['level']}",
        f"  share of >50K        real {share['real']:.1%}, synthetic {share['synthetic']:.1%}",
        f"  written              {summary['output_path']}",
        f"  report               {summary['report_path']} "
        f"(evaluation {summary['evaluate_seconds']:.0f} s)",
    ]
    return "\n".join(lines)


def _demo_split(adult: pd.DataFrame, random_state: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The standard Adult split: 20% holdout, stratified on income when every class allows."""
    from sklearn.model_selection import train_test_split

    counts = adult["income"].value_counts()
    stratify = adult["income"] if len(counts) > 1 and counts.min() >= 2 else None
    train, holdout = train_test_split(
        adult, test_size=0.2, random_state=random_state, stratify=stratify
    )
    return train.reset_index(drop=True), holdout.reset_index(drop=True)


def _demo_rows(adult: pd.DataFrame, rows: int | None, random_state: int) -> pd.DataFrame:
    if rows is None:
        return adult
    if isinstance(rows, bool) or not isinstance(rows, int) or not 1 <= rows <= len(adult):
        raise ValueError(f"rows must be an integer from 1 to {len(adult)}, got {rows!r}.")
    return adult.sample(rows, random_state=random_state).reset_index(drop=True)


def _timed(function: Any, *args: Any, **kwargs: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


# ---------------------------------------------------------------------------------------------
# output checks, done before any long work
# ---------------------------------------------------------------------------------------------
def _check_output(path: StrPath, *, overwrite: bool, inputs: Iterable[Path]) -> Path:
    output = Path(path)
    check_destination(output, overwrite=overwrite, protect=inputs)
    return output


def _check_model_output(path: StrPath, *, overwrite: bool, inputs: Iterable[Path]) -> Path:
    output = _check_output(path, overwrite=overwrite, inputs=inputs)
    if output.suffix.lower() != MODEL_EXTENSION:
        raise DataValidationError(
            f"The model file {str(output)!r} must end in {MODEL_EXTENSION}, so that it is not "
            f"taken for a table or an image; name it for example {output.stem or 'model'}"
            f"{MODEL_EXTENSION}."
        )
    return output


def _check_table_extension(path: Path) -> None:
    name = path.name.lower()
    if not any(name.endswith(ext) and name != ext for ext in SUPPORTED_EXTENSIONS):
        raise DataValidationError(
            f"Cannot tell the table format of {str(path)!r} from its extension; use one of "
            f"{', '.join(SUPPORTED_EXTENSIONS)} (e.g. synthetic.parquet or synthetic.csv)."
        )
