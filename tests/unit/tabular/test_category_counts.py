"""CTGANSynthesizer.category_counts: the counts a model learned, exact or DP-released."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthgan import NotFittedError, PrivacyConfig
from synthgan.exceptions import DataValidationError


def test_counts_are_the_training_counts_most_frequent_first(tiny, mixed_frame):
    model = tiny().fit(mixed_frame)
    counts = model.category_counts("s")
    expected = mixed_frame["s"].value_counts(dropna=False)
    assert counts.name == "s" and counts.dtype == np.int64
    assert counts.sum() == len(mixed_frame) and list(counts) == sorted(counts, reverse=True)
    assert counts[None] == mixed_frame["s"].isna().sum() and counts["red"] == expected["red"]
    with pytest.raises(DataValidationError, match=r"'f' is not a discrete column.*'s'"):
        model.category_counts("f")
    with pytest.raises(NotFittedError):
        tiny().category_counts("s")


def test_with_privacy_the_counts_are_the_release(tiny):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"x": rng.normal(size=600), "y": rng.choice(["a", "b"], 600, p=[0.8, 0.2])}
    )
    meta = {
        "columns": {
            "x": {"min": -5, "max": 5, "missing": False},
            "y": {"categories": ["a", "b"], "missing": False},
        }
    }
    model = tiny(pac=1, metadata=meta, privacy=PrivacyConfig(target_epsilon=1.0)).fit(frame)
    released = model.category_counts("y")
    exact = frame["y"].value_counts()
    assert set(released.index) == {"a", "b"}
    assert not released.equals(exact.astype(np.int64))  # noisy: not the exact counts
    assert abs(int(released["a"]) - exact["a"]) < 0.1 * len(frame)
