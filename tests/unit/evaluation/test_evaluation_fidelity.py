"""Fidelity metrics: sdmetrics quality scores and class balance, with calibration on Adult."""

import numpy as np
import pandas as pd
import pytest

from synthgan.evaluation import class_balance, detection_scores, quality_scores, sdmetrics_metadata


def _shuffle_columns(df: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Permute every column independently: marginals kept, all dependence destroyed."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({c: rng.permutation(df[c].to_numpy()) for c in df.columns})


def test_metadata_inferred_from_dtypes():
    df = pd.DataFrame(
        {
            "i": [1, 2],
            "f": [0.5, np.nan],
            "b": [True, False],
            "s": ["x", None],
            "c": pd.Categorical(["u", "v"]),
            "d": pd.to_datetime(["2020-01-01", "2021-06-30"]),
        }
    )
    sdtypes = {k: v["sdtype"] for k, v in sdmetrics_metadata(df)["columns"].items()}
    assert sdtypes == {
        "i": "numerical",
        "f": "numerical",
        "b": "boolean",
        "s": "categorical",
        "c": "categorical",
        "d": "datetime",
    }


def test_metadata_mapping_overrides_dtypes():
    df = pd.DataFrame({"code": [1, 2, 1], "x": [0.1, 0.2, 0.3], "when": ["2020-01-01"] * 3})
    meta = {
        "columns": {
            "code": {"type": "discrete"},
            "when": {"type": "datetime", "format": "%Y-%m-%d"},
            "absent": {"type": "continuous"},  # columns not in the data are ignored
        }
    }
    columns = sdmetrics_metadata(df, meta)["columns"]
    assert columns == {
        "code": {"sdtype": "categorical"},
        "x": {"sdtype": "numerical"},
        "when": {"sdtype": "datetime", "datetime_format": "%Y-%m-%d"},
    }


def test_metadata_unknown_type_names_the_column():
    with pytest.raises(ValueError, match=r"'code'.*'weird'"):
        sdmetrics_metadata(pd.DataFrame({"code": [1]}), {"columns": {"code": {"type": "weird"}}})


def test_real_holdout_scores_high(adult_split):
    train, holdout = adult_split
    scores = quality_scores(train, holdout, max_rows=3000)
    assert set(scores) >= {"overall", "column_shapes", "column_pair_trends", "n_rows_used"}
    assert scores["n_rows_used"] == 3000
    assert scores["column_shapes"] > 0.95
    assert scores["column_pair_trends"] > 0.9
    assert scores["overall"] > 0.93


def test_shuffled_columns_keep_shapes_but_lose_pairs(adult_split):
    train, holdout = adult_split
    real = quality_scores(train, holdout, max_rows=3000)
    shuffled = quality_scores(train, _shuffle_columns(train), max_rows=3000)
    assert shuffled["column_shapes"] > 0.95
    assert shuffled["column_pair_trends"] < real["column_pair_trends"] - 0.1


def test_subsampling_is_seeded_and_small_frames_are_used_whole(adult_split):
    train, holdout = adult_split
    small = holdout.iloc[:400]
    a = quality_scores(train, small, max_rows=800, random_state=1)
    b = quality_scores(train, small, max_rows=800, random_state=1)
    assert a == b
    assert a["n_rows_used"] == 800
    assert a["n_synthetic_rows_used"] == 400


def test_quality_uses_given_metadata():
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"code": rng.integers(0, 3, 300), "x": rng.normal(size=300)})
    synth = real.sample(frac=1.0, random_state=0).reset_index(drop=True)
    meta = {"columns": {"code": {"type": "discrete"}, "x": {"type": "continuous"}}}
    scores = quality_scores(real, synth, meta, max_rows=None)
    assert scores["column_shapes"] == pytest.approx(1.0)


def test_missing_synthetic_column_is_explained():
    real = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    with pytest.raises(ValueError, match=r"synthetic frame lacks column\(s\) \['b'\]"):
        quality_scores(real, real[["a"]])


def test_class_balance():
    df = pd.DataFrame({"y": ["a", "b", "a", None]})
    assert class_balance(df, "y") == {"a": 0.5, "b": 0.25, "NaN": 0.25}
    assert class_balance(df.iloc[:0], "y") == {}
    with pytest.raises(ValueError, match="lacks column"):
        class_balance(df, "income")


def test_class_balance_on_adult(adult):
    shares = class_balance(adult, "income")
    assert shares[">50K"] == pytest.approx(0.241, abs=0.001)
    assert sum(shares.values()) == pytest.approx(1.0)


# -- per-column / per-pair details and detection ------------------------------------------------
def test_quality_details_list_every_column_and_scored_pairs(adult_split):
    train, holdout = adult_split
    scores = quality_scores(train, holdout, max_rows=2000, details=True)
    assert set(scores["columns"]) == set(train.columns)
    assert all(0 <= c["score"] <= 1 for c in scores["columns"].values())
    scored = [p["score"] for p in scores["pairs"] if p["score"] is not None]
    assert scored and all(0 <= s <= 1 for s in scored)
    n = train.shape[1]
    assert len(scores["pairs"]) == n * (n - 1) // 2
    # The property score is the mean of the scored pairs.
    assert np.mean(scored) == pytest.approx(scores["column_pair_trends"], abs=1e-9)


def test_detection_cannot_tell_real_holdout_from_train(adult_split):
    train, holdout = adult_split
    scores = detection_scores(train, holdout, max_rows=3000)
    for model in ("logistic_regression", "gradient_boosting"):
        assert abs(scores[model]["roc_auc"] - 0.5) < 0.05
    assert scores["score"] > 0.85
    assert scores["n_rows_used"] == 3000


def test_detection_catches_shuffled_columns(adult_split):
    train, _ = adult_split
    scores = detection_scores(train, _shuffle_columns(train), max_rows=3000)
    # Marginals are perfect, so only a model of interactions can tell: boosting does.
    assert scores["gradient_boosting"]["roc_auc"] > 0.75
    assert scores["score"] < 0.5


def test_detection_handles_dates_missing_values_and_ids(mixed_frame):
    frame = mixed_frame.assign(id=[f"user-{i}" for i in range(len(mixed_frame))])
    shifted = frame.assign(f=frame["f"] + 10.0, id=[f"other-{i}" for i in range(len(frame))])
    scores = detection_scores(frame, shifted, max_rows=None)
    assert scores["gradient_boosting"]["roc_auc"] > 0.9  # the mean shift of "f" is visible
    with pytest.raises(ValueError, match="detection model"):
        detection_scores(frame, frame, models=["svm"])
    with pytest.raises(ValueError, match="at least 6 rows"):
        detection_scores(frame.iloc[:2], frame.iloc[:2])
