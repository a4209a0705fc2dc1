"""Adult fixtures for the evaluation tests (read from the shared data folder, never copied)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

# tests/unit/evaluation/conftest.py -> repo root is parents[3]; shared data sits beside it.
DATA_DIR = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"


def load_adult() -> pd.DataFrame:
    path = DATA_DIR / "adult.csv"
    if not path.is_file():
        raise FileNotFoundError(
            f"Adult data not found at {path.resolve()}. The evaluation tests read the shared copy "
            "at ../shared/data/adult.csv next to the repository root (see shared/data/README.md)."
        )
    # Cells carry a leading space and "?" marks a missing value.
    return pd.read_csv(path, skipinitialspace=True, na_values="?")


@pytest.fixture(scope="session")
def adult() -> pd.DataFrame:
    return load_adult()


@pytest.fixture(scope="session")
def adult_split(adult):
    """The standard split (test_size=0.2, random_state=0, stratified on income)."""
    train, holdout = train_test_split(
        adult, test_size=0.2, random_state=0, stratify=adult["income"]
    )
    return train.reset_index(drop=True), holdout.reset_index(drop=True)
