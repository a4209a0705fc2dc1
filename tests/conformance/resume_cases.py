"""Tiny fits shared by the kill-and-resume and DP conformance tests and their child process.

The child (``resume_child.py``) must build exactly the model and data the test builds, so both
come from here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits

from synthgan import ConditionalGANSynthesizer, CTGANSynthesizer, DCGANSynthesizer, PrivacyConfig

_TABLE = dict(
    epochs=4, batch_size=40, pac=4, embedding_dim=8, generator_dim=(16, 16),
    discriminator_dim=(16,), verbose=False, random_state=0, autocast=False, n_threads=1,
)  # fmt: skip
_PUBLIC = {
    "columns": {
        "amount": {"min": 0.0, "max": 200.0},
        "age": {"min": 18, "max": 90},
        "colour": {"categories": ["red", "green", "blue"], "missing": False},
    }
}
_IMAGE = dict(
    epochs=4, batch_size=32, latent_dim=8, generator_width=4, discriminator_width=4,
    verbose=False, random_state=0, autocast=False, n_threads=1,
)  # fmt: skip
# n_threads is pinned: the reference, the killed child and the resumed fit run in different
# processes, and the default (the cores left idle when a fit starts) can differ between them on
# a busy machine, and with it the order of floating-point sums.
_DP = PrivacyConfig(target_epsilon=10.0)


def _ctgan(**kwargs):
    return CTGANSynthesizer(**{**_TABLE, **kwargs})


def _ctgan_dp(**kwargs):
    return _ctgan(pac=None, metadata=_PUBLIC, privacy=_DP, **kwargs)


def _dcgan(**kwargs):
    return DCGANSynthesizer(**{**_IMAGE, **kwargs})


def _dcgan_dp(**kwargs):
    return _dcgan(privacy=_DP, **kwargs)


def _cgan(**kwargs):
    return ConditionalGANSynthesizer(**{**_IMAGE, "embedding_dim": 4, **kwargs})


def _cgan_dp(**kwargs):
    return _cgan(privacy=_DP, **kwargs)


# name -> (factory, data kind); every family with and without privacy
CASES = {
    "ctgan": (_ctgan, "table"),
    "ctgan_dp": (_ctgan_dp, "table"),
    "dcgan": (_dcgan, "images"),
    "dcgan_dp": (_dcgan_dp, "images"),
    "conditional_gan": (_cgan, "labelled"),
    "conditional_gan_dp": (_cgan_dp, "labelled"),
}
PRIVATE = sorted(name for name in CASES if name.endswith("_dp"))


def write_data(kind: str, directory: Path) -> Path:
    """The case's training data, written where the child process can read it."""
    if kind == "table":
        rng = np.random.default_rng(0)
        frame = pd.DataFrame(
            {
                "amount": np.round(rng.lognormal(3, 0.5, 400), 2),
                "age": rng.integers(18, 90, 400),
                "colour": rng.choice(["red", "green", "blue"], 400),
            }
        )
        path = directory / "train.parquet"
        frame.to_parquet(path)
        return path
    bunch = load_digits()
    images = np.rint(bunch.images[:240] * (255 / 16)).astype(np.uint8)
    path = directory / "train.npz"
    np.savez(path, images=images, labels=bunch.target[:240])
    return path


def fit_arguments(kind: str, path: Path) -> tuple[tuple, dict]:
    """``(args, kwargs)`` of ``fit`` for the data at ``path``."""
    if kind == "table":
        return (pd.read_parquet(path),), {}
    arrays = np.load(path)
    if kind == "images":
        return (arrays["images"],), {}
    return (arrays["images"], arrays["labels"]), {"classes": list(range(10))}
