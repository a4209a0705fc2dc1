"""Privacy metrics on small crafted frames: copies, ties, encoding, neighbours, risks, errors."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import cdist

from synthgan.evaluation import privacy
from synthgan.evaluation.privacy import privacy_scores


def _people(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "income": np.where(rng.random(n) < 0.1, np.nan, rng.normal(50.0, 10.0, n)),
            "city": rng.choice(["paris", "rome", "oslo", None], n),
        }
    )


def test_exact_copy_rate_on_crafted_frames():
    train = pd.DataFrame({"a": np.arange(30), "b": [np.nan] + [1.5] * 29, "c": [None] + ["x"] * 29})
    synthetic = train.iloc[:4].copy()
    synthetic["a"] = synthetic["a"].astype(float)  # 3.0 equals 3: compared as numbers
    synthetic.loc[2, "c"] = "y"  # row 2 no longer copies anything
    synthetic.loc[3, "a"] = 100.0  # nor does row 3
    holdout = pd.concat([train.iloc[:3], train.iloc[3:].assign(a=-1)], ignore_index=True)
    scores = privacy_scores(train, synthetic, holdout, max_rows=None)
    # Rows 0 (missing equals missing) and 1 are copies.
    assert scores["exact_copy_rate"] == 0.5
    assert scores["exact_copy_rate_holdout_baseline"] == pytest.approx(3 / 30)


def test_exact_copies_are_counted_on_the_full_frames():
    train = _people(300, 0)
    scores = privacy_scores(train, train.iloc[::-1], _people(300, 1), max_rows=20)
    assert scores["exact_copy_rate"] == 1.0
    assert scores["n_rows"]["synthetic_sample"] == 20


def test_equidistant_train_and_holdout_give_exactly_one_half():
    # Holdout holds the same rows as train, so every synthetic row ties: ties count half.
    real = _people(40, 0)
    scores = privacy_scores(real, _people(40, 1), real.copy(), max_rows=None)
    assert scores["dcr"]["share_closer_to_train"] == 0.5
    assert scores["dcr"]["train_quantiles"] == scores["dcr"]["holdout_quantiles"]


def test_copies_are_closer_to_train_and_the_ceiling_reflects_subsampling():
    train, holdout = _people(400, 0), _people(100, 1)
    scores = privacy_scores(train.iloc[:100], train.iloc[:100], holdout, max_rows=None)
    assert scores["dcr"]["share_closer_to_train"] == 1.0
    assert scores["dcr"]["train_quantiles"]["p95"] == 0.0
    assert scores["nndr"]["synthetic_quantiles"]["p95"] == 0.0
    diluted = privacy_scores(train, train, holdout, max_rows=None)["dcr"]
    # Only 100 of the 400 training rows are searched (the holdout size).
    assert diluted["share_closer_to_train_if_copied"] == pytest.approx(0.5 + 0.5 * 100 / 400)


def test_histogram_shares_edges_and_counts_every_distance():
    scores = privacy_scores(_people(60, 0), _people(50, 1), _people(60, 2), n_bins=7)
    histogram = scores["dcr"]["histogram"]
    assert len(histogram["bin_edges"]) == 8 and histogram["bin_edges"][0] == 0.0
    assert sum(histogram["train_counts"]) == sum(histogram["holdout_counts"]) == 50


def test_encoding_of_missing_values_datetimes_and_high_cardinality(mixed_frame):
    frame = mixed_frame.assign(ids=[f"id{i % 120}" for i in range(len(mixed_frame))])
    encoding, (x,) = privacy.encode_for_distance(frame, frame)
    kinds = {c.name: c.kind for c in encoding.columns}
    assert kinds == {
        "i": "numeric",
        "f": "numeric",
        "b": "categorical",
        "c": "categorical",
        "s": "categorical",
        "d": "numeric",
        "n": "numeric",
        "ids": "categorical",
    }
    assert np.isfinite(x).all() and x.shape == (len(frame), encoding.width)
    f = encoding.column("f")
    missing = frame["f"].isna().to_numpy()
    np.testing.assert_array_equal(x[:, f.start + 1], missing)  # the missing flag
    assert (x[missing, f.start] == 0).all()  # imputed at the median
    d = encoding.column("d")  # datetimes: (t - median) / IQR, so the median day maps to 0
    assert np.median(x[:, d.start]) == pytest.approx(0.0)
    assert np.subtract(*np.percentile(x[:, d.start], [75, 25])) == pytest.approx(1.0)
    ids = encoding.column("ids")  # 120 values: the top 50 kept, the rest share "other"
    assert ids.stop - ids.start == privacy._MAX_CATEGORIES + 1
    assert (x[:, ids.stop - 1] > 0).sum() == (~frame["ids"].isin(ids.categories)).sum()


def test_encoding_puts_unseen_categories_in_other_and_mismatches_at_distance_one():
    train = pd.DataFrame({"c": ["a", "b", None, "a"]})
    other = pd.DataFrame({"c": ["zzz", "a", None]})
    encoding, (x, y) = privacy.encode_for_distance(train, train, other)
    assert encoding.column("c").categories == ("a", privacy._MISSING, "b")
    assert y[0, -1] > 0 and y[0, :-1].sum() == 0  # unseen -> "other"
    np.testing.assert_allclose(cdist(x, y), [[1, 0, 1], [1, 1, 1], [1, 1, 0], [1, 0, 1]])


def test_risk_formula_and_interval():
    on_train = np.r_[np.ones(900), np.zeros(100)].astype(bool)
    on_control = np.r_[np.ones(500), np.zeros(500)].astype(bool)
    result = privacy._risk(on_train, on_control)
    assert result["risk"] == pytest.approx((0.9 - 0.5) / (1 - 0.5))
    low, high = result["risk_ci"]
    assert 0 < low < result["risk"] < high < 1
    assert privacy._risk(on_control, on_train)["risk"] == 0.0  # clipped at 0
    constant = privacy._risk(on_train, np.ones(10, dtype=bool))
    assert constant["risk"] is None and constant["risk_ci"][0] == 0.0


def test_wilson_interval_matches_its_formula():
    low, high = privacy._wilson(8, 10, 1.96)
    centre = (0.8 + 1.96**2 / 20) / (1 + 1.96**2 / 10)
    assert (low + high) / 2 == pytest.approx(centre)
    assert low < 0.8 < high and privacy._wilson(0, 10, 1.96)[0] == 0.0


def test_output_is_json_serialisable_and_complete(mixed_frame):
    train, synthetic, holdout = mixed_frame.iloc[:150], mixed_frame.iloc[150:300], mixed_frame[300:]
    scores = privacy_scores(train, synthetic, holdout, max_rows=100)
    json.dumps(scores, allow_nan=False)  # plain types only, no NaN
    assert set(scores) == {
        "exact_copy_rate",
        "exact_copy_rate_holdout_baseline",
        "dcr",
        "nndr",
        "membership_inference",
        "attribute_inference",
        "linkability",
        "n_rows",
        "n_encoded_features",
    }
    assert scores["n_rows"]["train_sample"] == scores["n_rows"]["holdout_sample"] == 100
    mia = scores["membership_inference"]
    assert mia["n_members"] == mia["n_non_members"] == mia["n_reference"] == 50
    assert set(scores["attribute_inference"]["per_secret"]) == set(mixed_frame.columns)
    for value in (mia["auc"], mia["distance_attack_auc"]):
        assert 0.0 <= value <= 1.0


def test_seeded_and_options_respected():
    train, synthetic, holdout = _people(80, 0), _people(80, 1), _people(80, 2)
    first = privacy_scores(train, synthetic, holdout, secrets=["city"], link_columns=["city"])
    assert first == privacy_scores(
        train, synthetic, holdout, secrets=["city"], link_columns=["city"]
    )
    assert list(first["attribute_inference"]["per_secret"]) == ["city"]
    assert first["linkability"]["columns_a"] == ["city"]
    assert first["linkability"]["columns_b"] == ["age", "income"]


def test_single_column_frames_skip_the_attribute_attacks():
    one = pd.DataFrame({"x": np.arange(40.0)})
    scores = privacy_scores(one, one + 0.5, one + 0.25)
    assert "skipped" in scores["linkability"] and "skipped" in scores["attribute_inference"]
    assert not math.isnan(scores["membership_inference"]["auc"])


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        (([1, 2], "synth", "hold"), {}, TypeError, "train must be a pandas DataFrame"),
        (("train", {"x": [1]}, "hold"), {}, TypeError, "synthetic must be a pandas DataFrame"),
        (
            ("train", "drop_age", "hold"),
            {},
            ValueError,
            r"synthetic frame lacks column\(s\) \['age'\]",
        ),
        (("train", "synth", "empty"), {}, ValueError, "holdout frame is empty"),
        (("train", "synth", "tiny"), {}, ValueError, "holdout has 5 rows.*at least 20"),
        (("train", "synth", "hold"), {"max_rows": 5}, ValueError, "max_rows must be"),
        (("train", "synth", "hold"), {"secrets": ["zip"]}, ValueError, r"secrets.*\['zip'\]"),
        (
            ("train", "synth", "hold"),
            {"link_columns": ["age", "income", "city"]},
            ValueError,
            "link_columns",
        ),
        (("train", "synth", "hold"), {"n_bins": 0}, ValueError, "n_bins"),
    ],
)
def test_errors_name_the_argument(args, kwargs, error, match):
    frames = {
        "train": _people(50, 0),
        "synth": _people(50, 1),
        "hold": _people(50, 2),
        "drop_age": _people(50, 1).drop(columns="age"),
        "empty": _people(50, 2).iloc[:0],
        "tiny": _people(5, 2),
    }
    resolved = [frames.get(a, a) if isinstance(a, str) else a for a in args]
    with pytest.raises(error, match=match):
        privacy_scores(*resolved, **kwargs)
