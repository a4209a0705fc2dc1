"""The table rebalancer: imbalanced-learn's contract, exact counts, types kept, clear errors."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from imblearn.pipeline import Pipeline
from imblearn.utils.estimator_checks import estimator_checks_generator
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from synthgan import CTGANSynthesizer, DCGANSynthesizer, PrivacyConfig, Rebalancer, rebalance
from synthgan.augmentation._filters import classifier_filter, distance_filter, realism_filter
from synthgan.exceptions import DataValidationError, InvalidParameterError

FAST = dict(
    epochs=1,
    max_modes=2,
    mixture_max_rows=100,
    generator_dim=(8,),
    discriminator_dim=(8,),
    batch_size=20,
    pac=2,
    embedding_dim=8,
    verbose=False,
    random_state=0,
)


def fast(**kwargs) -> CTGANSynthesizer:
    return CTGANSynthesizer(**{**FAST, **kwargs})


@pytest.fixture
def imbalanced(mixed_frame):
    """400 mixed-type rows (every dtype, missing values) and a 3-class target, 10 % / 20 %."""
    rng = np.random.default_rng(1)
    y = pd.Series(rng.choice(["a", "b", "c"], len(mixed_frame), p=[0.7, 0.2, 0.1]), name="y")
    return mixed_frame, y


# imbalanced-learn's own checks of a sampler, on its own data (numbers, pandas, lists, ...):
# parametrize_with_checks' cases, listed (it passes pytest a generator, which pytest deprecates).
# The checks test the sampler's contract (types, shapes, strategies), which the filter does not
# change: they run without it (it costs a classifier fit per check; its tests are below).
CHECKS = list(
    estimator_checks_generator(Rebalancer(fast(), filter=None, random_state=0), mark="xfail")
)


@pytest.mark.parametrize(
    "estimator, check", CHECKS, ids=[getattr(c, "func", c).__name__ for _, c in CHECKS]
)
def test_imbalanced_learn_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tiny fits warn (one epoch, few rows per mode)
        check(estimator)


@pytest.mark.parametrize(
    "strategy",
    ["auto", "minority", "not minority", "not majority", "all", {"b": 150, "c": 120}],
)
def test_counts_match_the_strategy_exactly(imbalanced, strategy):
    X, y = imbalanced
    sampler = Rebalancer(fast(), strategy, random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    before = y.value_counts()
    expected = {c: before[c] + sampler.sampling_strategy_.get(c, 0) for c in before.index}
    assert y_res.value_counts().to_dict() == expected
    assert sum(sampler.sampling_strategy_.values()) == len(X_res) - len(X) > 0
    assert {c: d["kept"] for c, d in sampler.draws_.items()} == {
        c: n for c, n in sampler.sampling_strategy_.items() if n > 0
    }


def test_float_and_callable_strategies_on_a_binary_target(imbalanced):
    X, y = imbalanced
    binary = y.where(y == "c", "rest")  # 10 % "c"
    _, y_res = Rebalancer(fast(), 0.5, random_state=0).fit_resample(X, binary)
    counts = y_res.value_counts()
    assert counts["c"] == int(0.5 * counts["rest"])  # imbalanced-learn's float: ratio after
    _, y_res = Rebalancer(fast(), lambda t: {"c": 77}, random_state=0).fit_resample(X, binary)
    assert y_res.value_counts()["c"] == 77


def test_real_rows_come_back_unchanged_then_the_new_ones_with_the_same_dtypes(imbalanced):
    X, y = imbalanced
    X = X.set_axis(range(1000, 1000 + len(X)))  # any index
    X_res, y_res = Rebalancer(fast(), random_state=0).fit_resample(X, y)
    assert isinstance(X_res, pd.DataFrame) and isinstance(y_res, pd.Series)
    assert list(X_res.columns) == list(X.columns) and y_res.name == "y"
    assert X_res.dtypes.to_dict() == X.dtypes.to_dict()
    pd.testing.assert_frame_equal(X_res.iloc[: len(X)], X.reset_index(drop=True))
    np.testing.assert_array_equal(y_res.iloc[: len(y)].to_numpy(), y.to_numpy())
    assert set(y_res.iloc[len(y) :]) == {"b", "c"}  # only the classes that needed rows
    assert X_res.index.equals(y_res.index)


def test_arrays_in_arrays_out_and_the_same_seed_the_same_rows():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = (rng.random(300) < 0.15).astype(int)
    first = Rebalancer(fast(), random_state=3).fit_resample(X, y)
    second = Rebalancer(fast(), random_state=3).fit_resample(X, y)
    assert isinstance(first[0], np.ndarray) and first[0].dtype == X.dtype
    np.testing.assert_array_equal(first[0][:300], X)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert np.bincount(first[1]).tolist() == [np.sum(y == 0)] * 2


def test_the_given_synthesizer_is_cloned_not_fitted(imbalanced):
    X, y = imbalanced
    given = fast()
    sampler = Rebalancer(given, random_state=0)
    sampler.fit_resample(X, y)
    assert not hasattr(given, "generator_")
    assert sampler.synthesizer_ is not given and hasattr(sampler.synthesizer_, "generator_")
    assert "y" in sampler.synthesizer_.discrete_columns
    assert clone(sampler).get_params()["synthesizer"] is not given


def test_resampling_happens_in_fit_only_inside_a_pipeline():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    y = (X[:, 0] + 0.3 * rng.normal(size=300) > 1.2).astype(int)
    steps = [("rebalance", Rebalancer(fast(), random_state=0)), ("lr", LogisticRegression())]
    pipe = Pipeline(steps)
    pipe.fit(X, y)
    assert len(pipe.predict(X)) == 300  # no resampling at predict time
    assert pipe.named_steps["rebalance"].sampling_strategy_[1] == np.sum(y == 0) - np.sum(y == 1)


def test_fit_on_minority_fits_only_the_resampled_classes(imbalanced):
    X, y = imbalanced
    sampler = Rebalancer(fast(), {"b": 100, "c": 100}, fit_on="minority", random_state=0)
    _, y_res = sampler.fit_resample(X, y)
    assert set(sampler.synthesizer_.category_counts("y").index) == {"b", "c"}
    assert y_res.value_counts()[["b", "c"]].tolist() == [100, 100]
    with pytest.warns(UserWarning, match="constant"):  # one class: a constant column
        _, y_res = Rebalancer(fast(), {"c": 90}, fit_on="minority").fit_resample(X, y)
    assert y_res.value_counts()["c"] == 90


def test_the_filters_drop_what_they_should():
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"x": np.r_[rng.normal(-3, 0.3, 100), rng.normal(3, 0.3, 100)]})
    table["t"] = ["neg"] * 100 + ["pos"] * 100
    keep = classifier_filter(table, "t", 0.9, Rebalancer(random_state=0))
    rows = pd.DataFrame({"x": [-3.0, 3.0]})
    passed, score = keep(rows, "neg")
    assert passed.tolist() == [True, False] and score[0] > 0.9 > score[1]  # x=3 is "pos"
    far = distance_filter(table, "t", 0.05)
    copies = pd.DataFrame({"x": [table.x[0], -10.0]})
    assert far(copies, "neg")[0].tolist() == [False, True]  # an exact copy is dropped
    auto = distance_filter(table, "t", "auto")  # the 5th percentile of real-to-real spacing
    near = pd.DataFrame({"x": [table.x[0] + 1e-9, table.x[0] + 0.5]})
    assert auto(near, "neg")[0].tolist() == [False, True]


def test_the_realism_filter_drops_rows_a_detector_tells_from_the_real_ones():
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"x": rng.normal(0, 1, 300), "t": ["a"] * 300})

    class Drifted:  # a "model" whose rows of class a sit far from the real ones
        def sample(self, n, conditions, random_state):
            assert conditions == {"t": "a"}
            return pd.DataFrame({"x": np.random.default_rng(random_state).normal(6, 1, n)})

    keep = realism_filter(table, "t", 0.9, Rebalancer(random_state=0), Drifted())
    passed, score = keep(pd.DataFrame({"x": [0.1, -0.5, 6.0, 7.0]}), "a")
    assert passed.tolist() == [True, True, False, False] and score[0] > score[2]


def test_filtered_draws_still_meet_the_counts(imbalanced):
    X, y = imbalanced
    sampler = Rebalancer(fast(), {"c": 90}, filter="classifier", filter_confidence=0.6,
                         min_distance=0.01, random_state=0)  # fmt: skip
    _, y_res = sampler.fit_resample(X, y)
    assert y_res.value_counts()["c"] == 90
    stats = sampler.draws_["c"]
    assert stats["kept"] == 90 - (y == "c").sum() and stats["generated"] >= stats["kept"]


def test_a_strict_filter_tops_up_from_its_best_rejected_rows_with_a_warning(imbalanced):
    X, y = imbalanced
    sampler = Rebalancer(fast(), {"c": 90}, filter="classifier", filter_confidence=0.01,
                         max_rounds=1, random_state=0)  # fmt: skip
    with pytest.warns(UserWarning, match=r"Class 'c': the filter passed \d+ of \d+"):
        _, y_res = sampler.fit_resample(X, y)
    assert y_res.value_counts()["c"] == 90 and sampler.draws_["c"]["topped_up"] > 0


def test_an_impossible_filter_fails_saying_how_many_rows_it_kept(imbalanced):
    X, y = imbalanced
    sampler = Rebalancer(fast(), {"c": 90}, min_distance=1e9, max_rounds=2, random_state=0)
    with pytest.raises(DataValidationError, match=r"Class 'c': the filters kept 0 of \d+"):
        sampler.fit_resample(X, y)


def test_with_privacy_every_row_is_synthetic_and_counted_from_the_release(imbalanced):
    X, y = imbalanced
    privacy = PrivacyConfig(target_epsilon=5.0, target_delta=1e-5)
    meta = {"columns": {"y": {"kind": "discrete", "categories": ["a", "b", "c"]}}}
    sampler = Rebalancer(fast(pac=1, metadata=meta), privacy=privacy, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X_res, y_res = sampler.fit_resample(X, y)
    released = sampler.synthesizer_.category_counts("y").to_dict()
    assert sampler.class_counts_ == {c: n for c, n in released.items() if n > 0}
    top = max(released.values())
    assert y_res.value_counts().to_dict() == {c: top for c in released if released[c] > 0}
    assert sampler.privacy_spent_.epsilon <= 5.0 + 1e-9
    copies = np.isin(X_res["f"].dropna(), X["f"].dropna())  # continuous values: no real ones
    assert len(X_res) == len(y_res) and copies.mean() < 0.05


def test_privacy_refuses_what_reads_the_real_rows_and_warns_about_returning_them(imbalanced):
    X, y = imbalanced
    privacy = PrivacyConfig(target_epsilon=5.0)
    with pytest.raises(InvalidParameterError, match="refused with privacy"):
        Rebalancer(fast(pac=1), privacy=privacy, filter="classifier").fit_resample(X, y)
    with pytest.raises(InvalidParameterError, match="needs the classes named in a dict"):
        Rebalancer(fast(pac=1), privacy=privacy, fit_on="minority").fit_resample(X, y)
    sampler = Rebalancer(fast(pac=1), privacy=privacy, return_real=True, random_state=0)
    with pytest.warns(UserWarning, match="voids|covers only the synthetic rows"):
        sampler.fit_resample(X, y)


@pytest.mark.parametrize(
    "y, message",
    [
        (np.array(["a"] * 50), "single class"),
        (np.r_[np.array(["a", "b"] * 24, dtype=object), [None, np.nan]], "2 missing value"),
        (np.linspace(0, 1, 50), "looks continuous"),
    ],
)
def test_targets_that_cannot_be_rebalanced(y, message):
    X = np.random.default_rng(0).normal(size=(50, 2))
    with pytest.raises(DataValidationError, match=message):
        Rebalancer(fast()).fit_resample(X, y)


def test_strategy_errors_keep_imbalanced_learn_wording(imbalanced):
    X, y = imbalanced
    with pytest.raises(ValueError, match="are not present in the data"):
        Rebalancer(fast(), {"zzz": 500}).fit_resample(X, y)
    with pytest.raises(ValueError, match="should be greater or equal to the original"):
        Rebalancer(fast(), {"a": 3}).fit_resample(X, y)


def test_bad_options_and_synthesizers_are_named(imbalanced):
    X, y = imbalanced
    with pytest.raises(InvalidParameterError, match=r"cannot sample with conditions.*CTGAN"):
        Rebalancer(DCGANSynthesizer()).fit_resample(X, y)
    with pytest.raises(InvalidParameterError, match="fit_on must be one of"):
        Rebalancer(fast(), fit_on="some").fit_resample(X, y)
    with pytest.raises(
        InvalidParameterError, match=r"filter must be one of \['auto', None, 'classifier'"
    ):
        Rebalancer(fast(), filter="critic").fit_resample(X, y)
    with pytest.raises(InvalidParameterError, match="min_distance must be a number"):
        Rebalancer(fast(), min_distance="far").fit_resample(X, y)
    with pytest.raises(InvalidParameterError, match="filter_confidence"):
        Rebalancer(fast(), filter="classifier", filter_confidence=1.0).fit_resample(X, y)
    with pytest.raises(InvalidParameterError, match="fit_on='all'"):
        Rebalancer(fast(), fit_on="minority", return_real=False).fit_resample(X, y)


def test_rebalance_one_frame(imbalanced):
    X, y = imbalanced
    df = X.assign(y=y)[["i", "y", "f", "b", "c", "s", "d", "n"]]  # target in the middle
    out = rebalance(df, "y", synthesizer=fast(), random_state=0)
    assert list(out.columns) == list(df.columns) and out.dtypes.equals(df.dtypes)
    pd.testing.assert_frame_equal(out.iloc[: len(df)], df)
    assert out["y"].value_counts().nunique() == 1  # balanced
    with pytest.raises(DataValidationError, match="target 'label' is not a column"):
        rebalance(df, "label")
