"""Class rebalancing for images: :class:`ImageRebalancer` adds generated images to small classes.

A class-conditional GAN (:class:`~synthgan.image.cgan.ConditionalGANSynthesizer` by default) is
fitted on all the images, then asked for exactly the number of images each class lacks. How
many that is follows imbalanced-learn's ``sampling_strategy`` rules (its own
:func:`imblearn.utils.check_sampling_strategy` computes it), so every form imbalanced-learn
accepts works here with its wording of errors.

Why not an imbalanced-learn ``BaseOverSampler`` like the table rebalancer: its ``fit_resample``
validates ``X`` as a 2-D feature matrix and would refuse ``(N, H, W)`` or ``(N, H, W, C)``
images, so only its sampling-strategy logic is reused.
"""

from __future__ import annotations

import errno
import inspect
import os
import shutil
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from imblearn.utils import check_sampling_strategy
from PIL import Image
from sklearn.base import BaseEstimator, clone
from sklearn.utils.multiclass import type_of_target
from tqdm.auto import tqdm

from synthgan.core.random import check_random_state, derive_seed
from synthgan.exceptions import DataValidationError, InvalidParameterError
from synthgan.image.cgan import ConditionalGANSynthesizer
from synthgan.image.labels import label_values
from synthgan.image.readers import IMAGE_EXTENSIONS, read_images
from synthgan.io.atomic import atomic_directory, check_directory_destination
from synthgan.io.images import as_numpy, detect_layout, detect_scale

__all__ = ["ImageRebalancer", "RebalanceSummary"]

_PROGRESS_FROM = 2000  # a progress bar for more files than this, as read_images does on reading
_GENERATED_PREFIX = "synthetic"  # generated files are <class>/synthetic_00000.png ...


class ImageRebalancer(BaseEstimator):
    """Rebalance the classes of an image set with a class-conditional GAN.

    ``fit_resample(images, labels)`` fits a clone of ``synthesizer`` on all the images, then
    generates exactly as many images per class as ``sampling_strategy`` asks for and returns the
    real images, unchanged and first, followed by the generated ones.
    ``fit_resample_folder(src, dst)`` does the same for a folder of class sub-folders.

    Parameters
    ----------
    synthesizer : estimator, optional
        A class-conditional image synthesizer: ``fit(images, labels)`` and
        ``sample(labels={class: count}, random_state=...)`` returning uint8 ``(n, H, W, C)``
        images. None means ``ConditionalGANSynthesizer()`` with its defaults. It is never fitted
        itself: a :func:`sklearn.base.clone` of it is (see ``synthesizer_``).
    sampling_strategy : float, str, dict or callable, default="auto"
        How many images each class should have after rebalancing, with imbalanced-learn's
        over-sampling meaning: ``"auto"`` (the same as ``"not majority"``), ``"minority"``,
        ``"not minority"``, ``"not majority"`` and ``"all"`` bring the chosen classes to the
        majority's count; a float ``r`` (two classes only) brings the minority class to ``r``
        times the majority's count; a dict ``{class: count}`` gives the wanted total (real plus
        generated) of the classes named, each at least its current count; a callable takes the
        labels and returns such a dict.
    random_state : int, numpy Generator or None, default=None
        Seed of the rebalancing. When given, it also seeds the synthesizer's fit (the clone's
        ``random_state`` is set from it), so the same seed gives the same images; with None the
        clone keeps the synthesizer's own ``random_state`` and the sampling is unseeded.

    Attributes
    ----------
    synthesizer_ : estimator or None
        The fitted clone of ``synthesizer``; it can sample more images of any class. None when
        there was nothing to generate (no GAN is trained then).
    sampling_strategy_ : OrderedDict
        The number of images generated per class (classes sorted), as imbalanced-learn's
        samplers store it: ``labels_res`` holds the original count of each class plus this.

    Notes
    -----
    The synthesizer learns from every image, of every class, so a class of a handful of images
    borrows what the model learned from the others; generated images of a class with very few
    real ones may still look like other classes. Check them (:func:`synthgan.evaluate_images`)
    before training on them.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from synthgan.augmentation import ImageRebalancer
    >>> from synthgan.image import ConditionalGANSynthesizer
    >>> digits = load_digits()
    >>> keep = (digits.target != 1) | (np.arange(len(digits.target)) % 4 == 0)  # fewer 1s
    >>> images = np.rint(digits.images[keep] * 255 / 16).astype(np.uint8)  # (N, 8, 8) uint8
    >>> labels = digits.target[keep]
    >>> gan = ConditionalGANSynthesizer(epochs=2, generator_width=16, verbose=False)
    >>> rebalancer = ImageRebalancer(gan, sampling_strategy={1: 150}, random_state=0)
    >>> images_res, labels_res = rebalancer.fit_resample(images, labels)
    >>> images_res.shape[1:], int((labels_res == 1).sum()), int(rebalancer.sampling_strategy_[1])
    ((8, 8), 150, 105)
    """

    def __init__(
        self,
        synthesizer: Any = None,
        sampling_strategy: float | str | Mapping | Callable = "auto",
        *,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.synthesizer = synthesizer
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state

    def fit_resample(self, images: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
        """Fit the synthesizer and return the images and labels with the generated ones added.

        Parameters
        ----------
        images : ndarray or Tensor
            ``(N, H, W)``, ``(N, H, W, C)`` or ``(N, C, H, W)`` with ``C`` in {1, 3}: integers
            in 0..255, or floats in [0, 1] or [-1, 1], in a size the synthesizer accepts (for
            the conditional GAN a square side of :func:`~synthgan.image.supported_sizes`).
        labels : array-like of shape (N,)
            The class of every image: integers or strings (whole-number floats are read as
            integers), at least two classes, none missing.

        Returns
        -------
        images_res : ndarray
            The real images as given (same dtype and layout) followed by the generated ones,
            converted to that dtype, layout and value range.
        labels_res : ndarray
            ``labels`` followed by the class of every generated image (in the dtype of
            ``labels``), classes in sorted order.

        Raises
        ------
        DataValidationError
            Labels missing, continuous, of a single class or not one per image; images of a
            shape or value range the synthesizers cannot read.
        ValueError
            A ``sampling_strategy`` imbalanced-learn refuses (a class not in ``labels``, a
            count below the current one, a float for more than two classes ...).
        InvalidParameterError
            A synthesizer that cannot generate images of a chosen class.
        """
        template = _conditional_synthesizer(self.synthesizer)
        array, layout, scale = _check_images(images)
        y = _check_labels(labels, len(array))
        self.sampling_strategy_ = _new_per_class(self.sampling_strategy, y)
        wanted = {label: int(n) for label, n in self.sampling_strategy_.items() if n > 0}
        rng = check_random_state(self.random_state)
        if not wanted:  # already as balanced as asked: no GAN to train
            self.synthesizer_ = None
            return array.copy(), y.copy()
        self.synthesizer_ = self._fit_clone(template, array, y, rng)
        generated = _sample(self.synthesizer_, wanted, derive_seed(rng))
        new_labels = np.repeat(np.asarray(list(wanted), dtype=y.dtype), list(wanted.values()))
        new_images = _as_input_form(generated, layout, scale, array.dtype)
        return np.concatenate([array, new_images]), np.concatenate([y, new_labels])

    def _fit_clone(self, template, images: np.ndarray, labels: np.ndarray, rng):
        synthesizer = clone(template)  # the user's object is never fitted
        seed = derive_seed(rng)
        if self.random_state is not None and "random_state" in synthesizer.get_params():
            synthesizer.set_params(random_state=seed)
        return synthesizer.fit(images, labels)

    def fit_resample_folder(
        self,
        src: str | os.PathLike[str],
        dst: str | os.PathLike[str],
        *,
        include_real: bool = True,
        overwrite: bool = False,
        progress: bool = True,
    ) -> RebalanceSummary:
        """Rebalance a folder of class sub-folders into a new folder of the same layout.

        Parameters
        ----------
        src : str or PathLike
            A folder with one sub-folder per class (torchvision's ``ImageFolder`` layout, as
            :func:`~synthgan.image.read_images` reads it); the class of an image is its
            sub-folder's name, a string, so a ``sampling_strategy`` dict names classes as
            ``{"cat": 500}``. Never written.
        dst : str or PathLike
            The folder to write: ``dst/<class>/`` gets the generated images as PNG files
            ``synthetic_00000.png``, ``synthetic_00001.png`` ... and, with ``include_real``, a
            byte-for-byte copy of the real image files (same names and sub-folders as in
            ``src``). Written atomically: a temporary folder renamed into place when complete,
            so a failure leaves ``dst`` as it was. It must not exist or be empty, and be
            neither inside ``src`` nor hold it.
        include_real : bool, default=True
            Copy the real images alongside the generated ones (``dst`` is then the whole
            rebalanced set); with False, ``dst`` holds only the generated images (classes
            that need none get no sub-folder).
        overwrite : bool, default=False
            Replace an existing non-empty ``dst``, provided it holds only image files (and
            hidden files), as a previous output does: a folder holding anything else is never
            deleted.
        progress : bool, default=True
            Show a progress bar while writing more than 2,000 files.

        Returns
        -------
        RebalanceSummary
            The folder written and the real and generated images per class.
        """
        source, target = Path(src), Path(dst)
        _check_folder_paths(source, target, overwrite)
        data = read_images(source, name="src")
        if data.labels is None:
            raise DataValidationError(
                f"src ({source}) holds images directly, without class sub-folders; "
                "fit_resample_folder needs one sub-folder per class (src/<class>/<image>)."
            )
        images = data.images.permute(0, 2, 3, 1).numpy()  # (N, C, H, W) -> (N, H, W, C) uint8
        labels = np.asarray(data.classes)[data.labels.numpy()]  # the class folder names
        resampled, resampled_labels = self.fit_resample(images, labels)
        generated, generated_labels = resampled[len(images) :], resampled_labels[len(images) :]
        summary = RebalanceSummary(
            path=target,
            real=_class_counts(labels),
            generated={str(k): int(self.sampling_strategy_.get(k, 0)) for k in data.classes},
            include_real=include_real,
        )
        real_files = _real_files(source) if include_real else []
        _write_folder(source, target, real_files, generated, generated_labels, overwrite, progress)
        return summary


@dataclass(frozen=True)
class RebalanceSummary:
    """What :meth:`ImageRebalancer.fit_resample_folder` wrote.

    Attributes
    ----------
    path : pathlib.Path
        The folder written.
    real : dict
        Real images per class (class folder name to count), as read from ``src``.
    generated : dict
        Images generated per class, written to ``path/<class>/`` (0 for a class that needed
        none).
    include_real : bool
        Whether the real images were copied into ``path`` as well.
    """

    path: Path
    real: dict[str, int]
    generated: dict[str, int]
    include_real: bool

    @property
    def counts(self) -> dict[str, int]:
        """Images per class after rebalancing (real plus generated)."""
        return {label: n + self.generated.get(label, 0) for label, n in self.real.items()}

    @property
    def written(self) -> dict[str, int]:
        """Image files written per class (only the classes given a folder)."""
        if self.include_real:
            return self.counts
        return {label: n for label, n in self.generated.items() if n}


# -- checks ---------------------------------------------------------------------------------------
def _conditional_synthesizer(synthesizer: Any) -> Any:
    """The synthesizer to clone: the default conditional GAN, or the given one once checked."""
    if synthesizer is None:
        return ConditionalGANSynthesizer()
    if isinstance(synthesizer, type):
        raise InvalidParameterError(
            f"synthesizer is the class {synthesizer.__name__}; pass an instance, such as "
            f"{synthesizer.__name__}(epochs=50)."
        )
    sample = getattr(synthesizer, "sample", None)
    if not callable(getattr(synthesizer, "fit", None)) or not callable(sample):
        raise InvalidParameterError(
            f"synthesizer must be an image synthesizer with fit and sample methods, got "
            f"{type(synthesizer).__name__}; use ConditionalGANSynthesizer (the default)."
        )
    if not _takes_labels(sample):
        raise InvalidParameterError(
            f"synthesizer {type(synthesizer).__name__} cannot generate images of a chosen class "
            "(its sample method takes no labels=); rebalancing needs a class-conditional model. "
            "Use synthgan.ConditionalGANSynthesizer (the default with synthesizer=None)."
        )
    return synthesizer


def _takes_labels(method: Callable) -> bool:
    try:
        parameters = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):  # no signature to read (a builtin): trust it
        return True
    return any(p.name == "labels" or p.kind is p.VAR_KEYWORD for p in parameters)


def _check_images(images: Any) -> tuple[np.ndarray, str, str]:
    """The images as a numpy array, with their layout and value range (as the readers see them)."""
    if isinstance(images, (str, os.PathLike)):
        raise TypeError(
            f"images is the path {os.fspath(images)!r}; fit_resample takes an array of images. "
            "For a folder with one sub-folder per class use fit_resample_folder(src, dst)."
        )
    if images is None:
        raise DataValidationError("images is None; pass a batch of images (N, H, W[, C]).")
    array = as_numpy(images, "images")
    layout = detect_layout(array.shape, "images")
    return array, layout, detect_scale(array, "images")


def _check_labels(labels: Any, n_images: int) -> np.ndarray:
    """``labels`` as a 1-D numpy array of at least two classes, one per image, none missing."""
    if labels is None:
        raise DataValidationError(
            "labels is None; rebalancing needs the class of every image: "
            "fit_resample(images, labels)."
        )
    y = as_numpy(labels, "labels")
    if y.ndim != 1:
        raise DataValidationError(
            f"labels has shape {y.shape}; pass one class label per image, a 1-D array "
            "(np.ravel a column vector)."
        )
    if len(y) != n_images:
        raise DataValidationError(
            f"images holds {n_images} images but labels has {len(y)} entries; pass exactly "
            "one label per image."
        )
    _check_not_missing(y)
    if type_of_target(y) == "continuous":
        raise DataValidationError(
            f"labels are continuous numbers (such as {y[y != np.round(y)][0]!r}); rebalancing "
            "is for classification: pass class labels (integers or strings), or bin a "
            "continuous target first (np.digitize)."
        )
    label_values(y, "labels")  # refuses mixed kinds (ints and strings) and other dtypes
    classes = np.unique(y)
    if len(classes) < 2:
        raise DataValidationError(
            f"labels hold a single class ({classes[0]!r}); rebalancing needs at least two "
            "classes. To generate more images of one class, fit a DCGANSynthesizer on them."
        )
    return y


def _check_not_missing(y: np.ndarray) -> None:
    missing = np.flatnonzero(pd.isna(y))  # None, NaN, pd.NA in any dtype
    if len(missing):
        raise DataValidationError(
            f"labels has {len(missing)} missing value(s) (None or NaN, first at position "
            f"{missing[0]}); every image needs a class. Drop those images or label them."
        )


def _new_per_class(sampling_strategy: Any, y: np.ndarray):
    """Images to generate per class, as imbalanced-learn's over-samplers compute them."""
    resolved = check_sampling_strategy(sampling_strategy, y, "over-sampling")
    if resolved is None:  # a type imbalanced-learn silently passes over (a tuple, say)
        raise InvalidParameterError(
            f"sampling_strategy must be a float, one of 'auto', 'minority', 'not minority', "
            f"'not majority', 'all', a dict {{class: count}} or a callable; got "
            f"{type(sampling_strategy).__name__} {sampling_strategy!r}."
        )
    return resolved


# -- generation -----------------------------------------------------------------------------------
def _sample(synthesizer: Any, wanted: dict, seed: int) -> np.ndarray:
    """Exactly ``wanted`` images per class, in the order of ``wanted``, uint8 (n, H, W, C)."""
    labels = {_model_label(label): n for label, n in wanted.items()}
    images = as_numpy(synthesizer.sample(labels=labels, random_state=seed), "generated images")
    total = sum(wanted.values())
    if images.dtype != np.uint8 or images.ndim != 4 or len(images) != total:
        raise RuntimeError(
            f"{type(synthesizer).__name__}.sample(labels=...) returned {images.dtype} images of "
            f"shape {images.shape}; expected uint8 (n, H, W, C) with n = {total}, as "
            "ConditionalGANSynthesizer returns."
        )
    return images


def _model_label(label: Any) -> Any:
    """A class as the synthesizer knows it: a python value, booleans as 0 and 1."""
    value = label.item() if isinstance(label, np.generic) else label
    return int(value) if isinstance(value, bool) else value


def _as_input_form(generated: np.ndarray, layout: str, scale: str, dtype: np.dtype) -> np.ndarray:
    """uint8 (n, H, W, C) images in the layout, value range and dtype of the real ones."""
    if layout == "NHW":
        pixels = generated[..., 0]  # (n, H, W, 1) -> (n, H, W)
    elif layout == "NCHW":
        pixels = generated.transpose(0, 3, 1, 2)  # (n, H, W, C) -> (n, C, H, W)
    else:
        pixels = generated
    if scale == "uint8":
        return np.ascontiguousarray(pixels, dtype=dtype)
    if dtype == np.bool_:
        return np.ascontiguousarray(pixels >= 128)
    unit = pixels.astype(np.float64) / 255.0  # [0, 1]
    values = unit * 2.0 - 1.0 if scale == "signed" else unit  # [-1, 1] for tanh-range images
    return np.ascontiguousarray(values, dtype=dtype)


def _class_counts(labels: np.ndarray) -> dict[str, int]:
    return {str(label): int(n) for label, n in sorted(Counter(labels.tolist()).items())}


# -- folders --------------------------------------------------------------------------------------
def _check_folder_paths(source: Path, target: Path, overwrite: bool) -> None:
    """Refuse a destination that would write into the input, delete it, or delete other files."""
    src, dst = source.resolve(), target.resolve()
    if dst == src or dst.is_relative_to(src):
        raise FileExistsError(
            errno.EEXIST,
            f"dst is src or inside it ({src}); the input is never written. Choose a dst "
            "outside src",
            str(target),
        )
    if src.is_relative_to(dst):
        raise FileExistsError(
            errno.EEXIST,
            "src is inside dst, so writing dst would replace the input; choose another dst",
            str(target),
        )
    check_directory_destination(target, overwrite=overwrite)
    if overwrite and target.is_dir():
        _check_replaceable(target)


def _check_replaceable(target: Path) -> None:
    """Replace only a folder of images (a previous output); anything else is not ours to delete."""
    for path in target.rglob("*"):
        if path.is_file() and not _is_image_or_hidden(path.relative_to(target)):
            raise FileExistsError(
                errno.EEXIST,
                f"refusing to replace a folder that holds other files than images (such as "
                f"{path}), even with overwrite=True; choose another dst or empty it",
                str(target),
            )


def _is_image_or_hidden(relative: Path) -> bool:
    hidden = any(part.startswith(".") for part in relative.parts)
    return hidden or relative.suffix.lower() in IMAGE_EXTENSIONS


def _real_files(source: Path) -> list[Path]:
    """Every image file read_images read from the class folders, relative to ``source``."""
    files = []
    for folder in sorted(p for p in source.iterdir() if p.is_dir() and p.name[0] != "."):
        for directory, subfolders, names in os.walk(folder):
            subfolders[:] = sorted(sub for sub in subfolders if sub[0] != ".")  # as read_images
            files.extend(Path(directory, name).relative_to(source) for name in sorted(names))
    return [path for path in files if path.name[0] != "."]


def _generated_names(labels: np.ndarray, taken: list[Path]) -> list[Path]:
    """``<class>/synthetic_<i>.png`` per generated image, with a prefix no real file uses."""
    used = {str(path).casefold() for path in taken}
    width = max(5, len(str(len(labels))))
    for attempt in range(1, len(used) + 2):  # one prefix is free by then
        prefix = _GENERATED_PREFIX if attempt == 1 else f"{_GENERATED_PREFIX}{attempt}"
        seen: Counter = Counter()
        names = []
        for label in labels.tolist():
            names.append(Path(str(label), f"{prefix}_{seen[label]:0{width}d}.png"))
            seen[label] += 1
        if not any(str(name).casefold() in used for name in names):
            return names
    raise AssertionError("unreachable: a free prefix always exists")


def _write_folder(source, target, real_files, generated, labels, overwrite, progress) -> None:
    """Copy the real files and write the generated PNGs into ``target``, atomically."""
    names = _generated_names(labels, real_files)
    total = len(real_files) + len(names)
    bar = tqdm(total=total, desc=f"writing {target}", unit="image",
               disable=not progress or total <= _PROGRESS_FROM)  # fmt: skip
    with atomic_directory(target, overwrite=overwrite) as tmp, bar:
        for folder in {path.parent for path in [*real_files, *names]}:
            (tmp / folder).mkdir(parents=True, exist_ok=True)
        for relative in real_files:
            shutil.copy2(source / relative, tmp / relative)  # the file as it is, not re-encoded
            bar.update()
        for name, image in zip(names, generated, strict=True):
            grey = image.shape[2] == 1
            Image.fromarray(image[:, :, 0] if grey else image).save(tmp / name, format="PNG")
            bar.update()
