"""Shared fixtures: real data from ../shared/data and small synthetic frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def load_shared_adult() -> pd.DataFrame:
    path = SHARED_DATA / "adult.csv"
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: the tests read real data from ../shared/data beside the repo."
        )
    return pd.read_csv(path, skipinitialspace=True, na_values="?")


@pytest.fixture(scope="session")
def adult() -> pd.DataFrame:
    """The full UCI Adult table (32,561 rows), strings stripped, '?' as missing."""
    return load_shared_adult()


@pytest.fixture(scope="session")
def adult_small(adult: pd.DataFrame) -> pd.DataFrame:
    """3,000 Adult rows (fixed sample) for quick fits."""
    return adult.sample(3000, random_state=0).reset_index(drop=True)


@pytest.fixture
def mixed_frame() -> pd.DataFrame:
    """Every supported dtype, with missing values, in 400 rows."""
    rng = np.random.default_rng(0)
    n = 400
    frame = pd.DataFrame(
        {
            "i": rng.integers(0, 100, n),
            "f": np.where(rng.random(n) < 0.1, np.nan, rng.normal(5, 2, n)),
            "b": rng.random(n) < 0.3,
            "c": pd.Categorical(rng.choice(["x", "y", "z"], n)),
            "s": np.where(rng.random(n) < 0.05, None, rng.choice(["red", "blue"], n)).astype(
                object
            ),
            "d": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1000, n), unit="D"),
            "n": pd.array(
                np.where(rng.random(n) < 0.2, None, rng.integers(0, 5, n)), dtype="Int64"
            ),
        }
    )
    return frame


TINY_CTGAN = dict(
    epochs=1,
    generator_dim=(8,),
    discriminator_dim=(8,),
    batch_size=20,
    pac=2,
    embedding_dim=8,
    verbose=False,
    random_state=0,
)


@pytest.fixture(scope="session")
def tiny():
    """A factory of CTGAN synthesizers small enough to fit in a fraction of a second."""
    from synthgan import CTGANSynthesizer

    def make(**kwargs):
        return CTGANSynthesizer(**{**TINY_CTGAN, **kwargs})

    return make
