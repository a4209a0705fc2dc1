"""The validated image set the image synthesizers train on (DESIGN.md §1, §5).

:class:`ImageData` holds ``uint8`` images ``(N, C, H, W)`` and, when labelled, integer label
codes with the original label values beside them. Build it with
:func:`~synthgan.image.readers.read_images`, which checks everything once, so the models can
trust what they receive.

Images are stored as 8-bit integers whatever they came as: 8 bits is what images are displayed
and saved as, so nothing a viewer could see is lost, and 60,000 MNIST digits take 47 MB instead
of 188 MB as float32. The models read batches through :meth:`ImageData.to_model_range`.
"""

from __future__ import annotations

import numbers
import re
from dataclasses import dataclass, replace

import numpy as np
import torch

from synthgan.exceptions import DataValidationError
from synthgan.image.labels import class_list, shorten

__all__ = ["ImageData"]


@dataclass(frozen=True)
class ImageData:
    """A validated set of images of one size, with optional class labels.

    Build it with :func:`~synthgan.image.readers.read_images`, which checks everything below.
    The images need not be square (image-to-image translators take any size); models that need
    square images read :attr:`size`, which refuses non-square ones.

    Parameters
    ----------
    images : Tensor
        ``uint8`` images ``(N, C, H, W)`` on the CPU, contiguous, ``C`` in {1, 3}.
    labels : Tensor or None
        ``int64`` codes ``(N,)`` in ``0 .. n_classes - 1`` indexing ``classes``; None when the
        images are unlabelled.
    classes : tuple
        The original label values (python ``int`` or ``str``, so they serialise to JSON),
        sorted; ``labels[i]`` is image ``i``'s position in it. Empty when unlabelled.
    source : str
        What the images were read from, for messages: ``"numpy array"``, ``"folder /x/y"``,
        ``"dataset MNIST"`` ...

    Attributes
    ----------
    n_images, channels, height, width, n_classes : int
        Number of images, channels (1 or 3), height and width in pixels and number of classes
        (0 when unlabelled).
    size : int
        Side of square images in pixels; reading it raises for non-square images.

    Examples
    --------
    >>> import numpy as np
    >>> from synthgan.image.readers import read_images
    >>> data = read_images(np.zeros((4, 8, 8), np.uint8), labels=["a", "b", "a", "b"])
    >>> data.images.shape, data.classes, data.labels.tolist()
    (torch.Size([4, 1, 8, 8]), ('a', 'b'), [0, 1, 0, 1])
    """

    images: torch.Tensor
    labels: torch.Tensor | None
    classes: tuple
    source: str

    def __post_init__(self) -> None:
        images, labels = self.images, self.labels
        if not (isinstance(images, torch.Tensor) and images.dtype == torch.uint8):
            raise TypeError("ImageData.images must be a uint8 tensor; build it with read_images.")
        if images.ndim != 4 or images.shape[1] not in (1, 3):
            raise ValueError(f"ImageData.images must be (N, C, H, W), got {tuple(images.shape)}.")
        if labels is not None and (labels.dtype != torch.int64 or labels.shape != images.shape[:1]):
            raise ValueError("ImageData.labels must be int64 codes, one per image, or None.")

    @property
    def n_images(self) -> int:
        """Number of images."""
        return int(self.images.shape[0])

    @property
    def channels(self) -> int:
        """Channels per image: 1 (grayscale) or 3 (RGB)."""
        return int(self.images.shape[1])

    @property
    def height(self) -> int:
        """Height of the images in pixels."""
        return int(self.images.shape[2])

    @property
    def width(self) -> int:
        """Width of the images in pixels."""
        return int(self.images.shape[3])

    @property
    def size(self) -> int:
        """Side of square images in pixels, for the models that need square images.

        Raises
        ------
        DataValidationError
            The images are not square (the message says how to crop them).
        """
        height, width = self.height, self.width
        if height != width:
            raise DataValidationError(
                f"the images ({self.source}) are {height}x{width} (height x width), and the "
                "image synthesizers need square images. Crop or resize them first, e.g. with "
                f"torchvision.transforms.CenterCrop({min(height, width)})."
            )
        return height

    @property
    def n_classes(self) -> int:
        """Number of classes; 0 when the images are unlabelled."""
        return len(self.classes)

    def to_model_range(self, index: torch.Tensor | None = None) -> torch.Tensor:
        """Images ``index`` (all when None) as float32 ``(n, C, H, W)`` in [-1, 1].

        [-1, 1] is the range of the generator's tanh output: ``x / 127.5 - 1`` maps 0 to -1
        and 255 to 1.
        """
        batch = self.images if index is None else self.images[index]
        return batch.float().div_(127.5).sub_(1.0)

    def encode_labels(self, values) -> torch.Tensor:
        """Codes (``int64`` tensor, one per value) of original label values, e.g. a user's.

        ``values`` is one label or a sequence of them. For integer classes, strings of digits
        (``"3"``, as typed on a command line) are accepted too; for string classes (a folder's
        ``"0"``, ``"1"`` ...), integers are.

        Raises
        ------
        DataValidationError
            The images are unlabelled, or a value is not one of ``classes`` (the message lists
            them).
        """
        if not self.classes:
            raise DataValidationError(
                f"the images ({self.source}) are unlabelled, so there are no classes to "
                "condition on; read labelled images (pass labels=) to use class labels."
            )
        lookup = {value: code for code, value in enumerate(self.classes)}
        items = values.tolist() if isinstance(values, (np.ndarray, torch.Tensor)) else values
        items = list(items) if isinstance(items, (list, tuple)) else [items]
        return torch.tensor([self._code(value, lookup) for value in items], dtype=torch.int64)

    def decode_labels(self, codes) -> list:
        """The original label values of ``codes`` (a sequence or tensor of class codes)."""
        codes = codes.tolist() if isinstance(codes, (np.ndarray, torch.Tensor)) else list(codes)
        if any(not 0 <= int(code) < self.n_classes for code in codes):
            raise DataValidationError(
                f"label codes must lie in 0..{self.n_classes - 1} (one per class), got {codes}."
            )
        return [self.classes[int(code)] for code in codes]

    def with_classes(self, classes) -> ImageData:
        """The same images with their labels re-coded against a given class list.

        ``classes`` (ints or strings, no duplicates) becomes ``classes`` in the given order, so
        it may hold classes that no image has; ``labels[i]`` is image i's position in it. The
        int / string leniency of :meth:`encode_labels` applies (a folder's ``"3"`` is class 3).

        Raises
        ------
        DataValidationError
            The images are unlabelled, ``classes`` is not a list of distinct ints or strings, or
            a label is not in it.
        """
        if self.labels is None:
            raise DataValidationError(
                f"the images ({self.source}) are unlabelled; classes= re-codes labels, so pass "
                "labels= (or a dataset or class folders that carry them) as well."
            )
        given = class_list(classes)
        recoded = replace(self, classes=given)
        lookup = {value: code for code, value in enumerate(given)}
        table = []
        for value in self.classes:
            try:
                table.append(recoded._code(value, lookup))
            except DataValidationError:
                raise DataValidationError(
                    f"the labels hold {value!r}, which is not among the given classes "
                    f"{shorten(given)}; add it to classes= or drop those images."
                ) from None
        codes = torch.tensor(table, dtype=torch.int64)[self.labels]  # (N,)
        return replace(recoded, labels=codes)

    def _code(self, value, lookup: dict) -> int:
        # Digits typed on a command line name integer classes; integers name the string
        # classes "0", "1" ... that a folder of class sub-folders gives.
        if isinstance(value, str) and isinstance(self.classes[0], int):
            value = int(value) if re.fullmatch(r"\s*-?\d+\s*", value) else value
        elif isinstance(value, numbers.Integral) and isinstance(self.classes[0], str):
            value = str(int(value))
        try:
            return lookup[value]
        except (KeyError, TypeError):  # TypeError: an unhashable value
            raise DataValidationError(
                f"unknown class label {value!r}; the images' classes are {shorten(self.classes)}."
            ) from None
