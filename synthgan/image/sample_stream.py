"""``sample_to`` for the image synthesizers: a folder of PNG files or of ``.npz`` shards,
written chunk by chunk (see :mod:`synthgan.io.streams` for the seeds, workers and atomic
completion)."""

from __future__ import annotations

from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from synthgan.core.params import check_int
from synthgan.exceptions import DataValidationError
from synthgan.io.streams import file_entry, stream_to

__all__ = ["DEFAULT_CHUNK_IMAGES", "ImageBlocks", "StreamedImageSampling"]

DEFAULT_CHUNK_IMAGES = 16_384  # one seed block: 48 MB of 64x64 colour images
_FORMATS = ("png", "npz")


class ImageBlocks:
    """The block producer of images: ``(images, labels)``, uint8 ``(rows, H, W, C)`` and the
    class of each (None for an unconditional model).

    ``counts`` (conditional models) fixes the classes of the whole stream: the first
    ``counts[0][1]`` images are of class ``counts[0][0]``, and so on; without it the classes
    are drawn in the training proportions, block by block.
    """

    def __init__(self, counts: list[tuple[Any, int]] | None = None) -> None:
        self.counts = counts

    def __call__(self, model, rows: int, start: int, rng):
        if not hasattr(model, "sample_with_labels"):
            return model.sample(rows, random_state=rng), None
        if self.counts is None:
            return model.sample_with_labels(rows, random_state=rng)
        classes = [value for value, _ in self.counts]
        bounds = np.cumsum([count for _, count in self.counts])
        codes = np.searchsorted(bounds, np.arange(start, start + rows), side="right")
        labels = [classes[code] for code in codes.tolist()]
        return model.sample_with_labels(labels=labels, random_state=rng)

    def concat(self, parts):
        images = np.concatenate([images for images, _ in parts])
        labels = None if parts[0][1] is None else np.concatenate([lab for _, lab in parts])
        return images, labels

    def slice(self, payload, lo: int, hi: int):
        images, labels = payload
        return images[lo:hi], None if labels is None else labels[lo:hi]

    def rows(self, payload) -> int:
        return len(payload[0])


class PngFolderSink:
    """One PNG per image, named by its position in the stream (``00000042.png``), under a
    folder per class for a conditional model (the folder names of
    :func:`synthgan.image.writers.write_images`, so :func:`read_images` reads it back)."""

    def __init__(self, root: Path, n: int, classes) -> None:
        from synthgan.image.writers import class_folders

        self.root, self.width = root, max(5, len(str(n - 1)))
        self.folders = class_folders(list(classes)) if classes is not None else None
        self.position, self.per_folder = 0, {}

    def write(self, payload) -> None:
        images, labels = payload
        for offset, image in enumerate(images):
            folder = "" if labels is None else self.folders[labels[offset]]
            if folder not in self.per_folder:
                (self.root / folder).mkdir(exist_ok=True)
                self.per_folder[folder] = 0
            name = self.root / folder / f"{self.position + offset:0{self.width}d}.png"
            Image.fromarray(image[:, :, 0] if image.shape[2] == 1 else image).save(name, "PNG")
            self.per_folder[folder] += 1
        self.position += len(images)

    def close(self) -> dict[str, Any]:
        # Counts per folder: listing every PNG would make a huge manifest.
        return {"folders": {folder or ".": count for folder, count in self.per_folder.items()}}


class NpzShardSink:
    """One compressed ``shard-00000.npz`` per chunk: ``images`` uint8 ``(k, H, W, C)`` and,
    for a conditional model, ``labels`` (read back by :func:`read_images`, shard by shard)."""

    def __init__(self, root: Path) -> None:
        self.root, self.files = root, []

    def write(self, payload) -> None:
        images, labels = payload
        arrays = {"images": images} if labels is None else {"images": images, "labels": labels}
        path = self.root / f"shard-{len(self.files):05d}.npz"
        with open(path, "wb") as handle:  # a handle: numpy would append ".npz" to a name
            np.savez_compressed(handle, **arrays)
        self.files.append(file_entry(self.root, path, len(images)))

    def close(self) -> dict[str, Any]:
        return {"files": self.files}


class StreamedImageSampling:
    """Mixin of the image synthesizers: :meth:`sample_to` on top of their ``sample``."""

    def sample_to(
        self,
        path: str | PathLike[str],
        n: int | None = None,
        *,
        labels: Mapping[Any, int] | None = None,
        format: str = "png",
        chunk_images: int = DEFAULT_CHUNK_IMAGES,
        random_state: int | np.random.Generator | None = None,
        workers: int = 1,
        overwrite: bool = False,
        progress: bool | None = None,
    ) -> Path:
        """Generate ``n`` images into a new folder, in chunks, with bounded memory.

        The images are defined by the seed alone: the same seed gives the same images
        whatever ``chunk_images`` and ``workers`` (they differ from :meth:`sample`'s images for
        that seed). The folder is filled under a hidden temporary name and renamed into place
        with a manifest ``_synthgan.json`` and ``_SUCCESS`` once complete; a failed or killed
        run leaves nothing under ``path``.

        Parameters
        ----------
        path : str or PathLike
            The folder to create.
        n : int, optional
            Number of images; may be omitted when ``labels`` gives the counts.
        labels : mapping, optional
            Conditional models: images per class (``{3: 1000, 7: 500}``), in that order.
            Without it, classes follow the training proportions.
        format : {"png", "npz"}, default="png"
            ``"png"``: one PNG file per image (``00000042.png``; a sub-folder per class for a
            conditional model). ``"npz"``: one compressed shard per chunk
            (``shard-00000.npz`` with ``images`` and, when conditional, ``labels``).
        chunk_images : int, default=16384
            Images generated and written at a time (one shard).
        random_state : int, numpy Generator or None
            Seed. With None a fresh one is drawn and recorded in the manifest.
        workers : int, default=1
            Processes that generate chunks in parallel (spawned: call ``sample_to`` under
            ``if __name__ == "__main__":`` in a script).
        overwrite : bool, default=False
            Replace a folder written by ``sample_to`` (never a folder of other files).
        progress : bool or None, default=None
            Show a progress bar with images/s; None shows it on a terminal only.

        Returns
        -------
        pathlib.Path
            ``path``.
        """
        self._check_fitted()
        n, counts = self._stream_counts(n, labels)
        if format not in _FORMATS:
            raise ValueError(f"format must be one of {_FORMATS}, got {format!r}.")
        chunk_images = check_int("chunk_images", chunk_images, minimum=1)
        workers = check_int("workers", workers, minimum=1)
        classes = getattr(self, "classes_", None)
        sink = (lambda root: PngFolderSink(root, n, classes)) if format == "png" else NpzShardSink
        return stream_to(
            self, path, n, producer=ImageBlocks(counts), sink=sink, directory=True,
            chunk_rows=chunk_images, random_state=random_state, workers=workers,
            overwrite=overwrite, progress=progress, manifest={"kind": format}, unit="images",
        )  # fmt: skip

    def _stream_counts(self, n, labels) -> tuple[int, list[tuple[Any, int]] | None]:
        if labels is None:
            return check_int("n", n, minimum=1), None
        if not hasattr(self, "classes_"):
            raise DataValidationError(
                "labels: this is an unconditional model, it cannot generate by class; fit a "
                "ConditionalGANSynthesizer to choose classes."
            )
        if not isinstance(labels, Mapping) or not labels:
            raise DataValidationError(
                "labels must be a non-empty mapping {class: number of images}, e.g. {3: 100}."
            )
        counts = [(self.classes_[self._code(k)], check_int(f"labels[{k!r}]", v, minimum=1))
                  for k, v in labels.items()]  # fmt: skip
        total = sum(count for _, count in counts)
        if n is not None and check_int("n", n, minimum=1) != total:
            raise DataValidationError(f"n={n} but labels ask for {total} images; give one.")
        return total, counts
