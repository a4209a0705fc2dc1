"""Training images in and out for the image models: the import point of the image data API.

The code lives in modules of one responsibility each, and every name stays importable from
here as it always was:

* :mod:`synthgan.image.dataset`: :class:`ImageData`, the validated image set;
* :mod:`synthgan.image.labels`: label coding (values to codes and a class list);
* :mod:`synthgan.image.readers`: :func:`read_images` (arrays, tensors, lists, datasets,
  folders, ``.npz`` files), which reads images of any size;
* :mod:`synthgan.image.writers`: :func:`write_images` and :func:`write_grid`;
* :mod:`synthgan.image.networks`: :func:`supported_sizes` and :func:`check_size`, the sides the
  DCGAN networks take, which the models check when they fit.
"""

from synthgan.image.dataset import ImageData
from synthgan.image.networks import check_size, supported_sizes
from synthgan.image.readers import IMAGE_EXTENSIONS, read_images
from synthgan.image.writers import write_grid, write_images

__all__ = [
    "IMAGE_EXTENSIONS",
    "ImageData",
    "check_size",
    "read_images",
    "supported_sizes",
    "write_grid",
    "write_images",
]
