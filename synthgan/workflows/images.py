"""``synthgan fit-images`` and ``synthgan sample-images``: DCGAN and conditional GAN on images."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from synthgan.base import load
from synthgan.exceptions import DataValidationError
from synthgan.io.atomic import StrPath
from synthgan.workflows._checks import (
    check_device,
    check_model_output,
    check_output,
    save_fitted,
    set_threads,
)

__all__ = ["GRID_EXTENSIONS", "fit_images", "sample_images"]

GRID_EXTENSIONS = (".png", ".jpg", ".jpeg")  # sample_images writes one grid image


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
        and ``labels`` (or ``y_train``); see :func:`synthgan.image.readers.read_images`.
    output_path : str or PathLike
        Model file to write, ending in ``.synthgan``; checked before training starts.
    conditional : bool, default=False
        Fit :class:`~synthgan.ConditionalGANSynthesizer` instead of
        :class:`~synthgan.DCGANSynthesizer`.
    epochs, max_time, random_state, verbose, **synthesizer_options
        Passed to the synthesizer. Options not given keep the synthesizer's defaults, so with
        ``privacy`` the "auto" ones (``batch_size``, ``discriminator_steps``,
        ``discriminator_width``, ``mode_seeking``) take the DP recipe.
    overwrite : bool, default=False
        Replace an existing model file.
    classes : sequence, optional
        The public class list (``fit(..., classes=)``), needed by the conditional model with
        ``privacy``. For a ``.npz`` input, entries that are integer literals (``"3"``) are read
        as integers, like the labels stored there.
    threads : int, optional
        CPU threads, as for :func:`fit_table`.
    resume : bool, default=False
        Continue the fit checkpointed in ``checkpoint_dir`` (a synthesizer option).

    Returns
    -------
    pathlib.Path
        The model file written.
    """
    from synthgan.image import ConditionalGANSynthesizer, DCGANSynthesizer

    output = check_model_output(output_path, overwrite=overwrite, inputs=[Path(input_path)])
    check_device(synthesizer_options.get("device"))
    set_threads(threads)
    cls = ConditionalGANSynthesizer if conditional else DCGANSynthesizer
    model = cls(
        epochs=epochs, max_time=max_time, random_state=random_state, verbose=verbose,
        **synthesizer_options,
    )  # fmt: skip
    if classes is not None and Path(input_path).suffix == ".npz":
        classes = [_as_int_if_literal(c) for c in classes]
    classes = None if classes is None else list(classes)
    model.fit(Path(input_path), classes=classes, resume=resume)
    return save_fitted(model, output, overwrite=overwrite)  # rank 0 writes


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
    shards: bool = False,
    workers: int = 1,
    chunk_images: int | None = None,
    progress: bool | None = None,
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
    shards : bool, default=False
        Folder output: ``.npz`` shards of ``chunk_images`` images instead of PNG files.
    workers, chunk_images, progress
        Folder output, which is streamed by the model's ``sample_to`` (bounded memory, a
        manifest, atomic completion): processes, images per chunk, progress bar.

    Returns
    -------
    pathlib.Path
        What was written.
    """
    from synthgan.image.writers import write_grid, write_images

    output = Path(output_path)
    form = _image_output_form(output)
    if form == "folder":
        model = _image_model(load(model_path), model_path, labels)
        sizes = {} if chunk_images is None else {"chunk_images": chunk_images}
        return model.sample_to(
            output, n, labels=_wanted_classes(model, n, labels) or None, random_state=random_state,
            format="npz" if shards else "png", workers=workers, overwrite=overwrite,
            progress=progress, **sizes,
        )  # fmt: skip
    if shards:
        raise DataValidationError("--shards needs a folder output (a name without extension).")
    check_output(output, overwrite=overwrite, inputs=[Path(model_path)])
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


def _image_model(model, model_path, labels):
    """``model``, once it is known to be an image model that can honour ``labels``."""
    from synthgan.image import ConditionalGANSynthesizer, DCGANSynthesizer

    if not isinstance(model, DCGANSynthesizer):
        raise DataValidationError(
            f"{model_path!s} holds a {type(model).__name__}, not an image model; use "
            "'synthgan sample' for tables."
        )
    if labels and not isinstance(model, ConditionalGANSynthesizer):
        raise DataValidationError(
            f"{model_path!s} holds an unconditional DCGAN: it cannot sample by class. Fit "
            "with --conditional to choose classes."
        )
    return model


def _wanted_classes(model, n: int, labels) -> dict[Any, int]:
    """``{class: count}`` for the classes named in ``labels`` (``n`` split evenly)."""
    return _split_evenly(n, [_match_class(model.classes_, label) for label in labels or []])


def _generate_images(model, model_path, n, labels, random_state):
    """``(images, labels)``: uint8 ``(n, H, W, C)`` and the class of each (None when
    unconditional)."""
    from synthgan.image import ConditionalGANSynthesizer

    model = _image_model(model, model_path, labels)
    if not isinstance(model, ConditionalGANSynthesizer):
        return model.sample(n, random_state=random_state), None
    wanted = _wanted_classes(model, n, labels)
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
