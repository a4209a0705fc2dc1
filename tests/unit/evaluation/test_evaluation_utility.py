"""TSTR utility: calibration on Adult and robustness on tiny frames."""

import warnings

import numpy as np
import pandas as pd
import pytest

from synthgan.evaluation import REGRESSION_MODELS, TSTR_MODELS, tstr_scores, utility_scores

MODELS = tuple(TSTR_MODELS)


@pytest.fixture(scope="module")
def adult_parts(adult_split):
    """Two disjoint 4000-row real training parts and a 3000-row real holdout."""
    train, holdout = adult_split
    return train.iloc[:4000], train.iloc[4000:8000], holdout.iloc[:3000]


def test_real_training_data_matches_trtr(adult_parts):
    part_a, part_b, holdout = adult_parts
    trtr = tstr_scores(part_a, holdout, "income")
    tstr = tstr_scores(part_b, holdout, "income")  # "synthetic" = fresh real rows
    majority = (holdout["income"] == "<=50K").mean()
    assert set(trtr) == set(MODELS)
    for model in MODELS:
        assert set(tstr[model]) == {"accuracy", "macro_f1", "roc_auc"}
        assert tstr[model]["accuracy"] > majority + 0.05
        assert tstr[model]["roc_auc"] > 0.85
        for metric in ("accuracy", "macro_f1", "roc_auc"):
            assert tstr[model][metric] == pytest.approx(trtr[model][metric], abs=0.03)


def test_shuffled_labels_give_the_majority_baseline(adult_parts):
    part_a, _, holdout = adult_parts
    noise = part_a.copy()
    noise["income"] = np.random.default_rng(0).permutation(noise["income"].to_numpy())
    scores = tstr_scores(noise, holdout, "income")
    majority = (holdout["income"] == "<=50K").mean()
    for model in MODELS:
        assert scores[model]["accuracy"] == pytest.approx(majority, abs=0.04)
        assert scores[model]["accuracy"] < majority + 0.01
        assert 0.4 < scores[model]["roc_auc"] < 0.6


def _toy(n: int, seed: int, classes=("no", "yes")) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    colour = rng.choice(["red", "green", None], size=n)
    y = np.where(x + (colour == "red") > 0.3, classes[-1], classes[0])
    return pd.DataFrame({"x": x, "colour": colour, "y": y})


def test_single_class_synthetic_gives_nan_auc_and_warnings():
    train, test = _toy(200, 0), _toy(100, 1)
    train = train[train["y"] == "no"]
    with pytest.warns(UserWarning) as record:
        scores = tstr_scores(train, test, "y")
    messages = " | ".join(str(w.message) for w in record)
    assert "holds only one class" in messages
    assert "roc_auc is NaN: the training frame lacks class(es) ['yes']" in messages
    for model in MODELS:
        assert np.isnan(scores[model]["roc_auc"])
        assert scores[model]["accuracy"] == pytest.approx((test["y"] == "no").mean())


def test_synthetic_missing_one_of_three_classes():
    train = _toy(300, 0, classes=("a", "b"))
    test = _toy(150, 1, classes=("a", "b"))
    test.loc[test.index[:30], "y"] = "c"  # a class the synthetic frame never produced
    with pytest.warns(UserWarning, match=r"lacks class\(es\) \['c'\]"):
        scores = tstr_scores(train, test, "y")
    for model in MODELS:
        assert np.isnan(scores[model]["roc_auc"])
        assert 0.0 < scores[model]["macro_f1"] < 1.0


def test_multiclass_and_test_lacking_a_class():
    train = _toy(300, 0, classes=("a", "b"))
    train.loc[train.index[:60], "y"] = "c"
    test = _toy(150, 1, classes=("a", "b"))  # never "c"
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        scores = tstr_scores(train, test, "y", models=["logistic_regression"])
    assert 0.5 < scores["logistic_regression"]["roc_auc"] <= 1.0


def test_unseen_categories_missing_values_and_mixed_types():
    train, test = _toy(200, 0), _toy(100, 1)
    test.loc[test.index[:5], "colour"] = "purple"  # unknown category: ignored, not an error
    test.loc[test.index[5:10], "x"] = np.nan  # imputed
    train["x"] = train["x"].round(1).astype(str)  # generator emitted numbers as strings
    scores = tstr_scores(train, test, "y", models=["hist_gradient_boosting"])
    assert 0.0 <= scores["hist_gradient_boosting"]["accuracy"] <= 1.0


def test_numeric_labels_match_across_int_and_float():
    train, test = _toy(200, 0), _toy(100, 1)
    train["y"] = (train["y"] == "yes").astype(float)  # 0.0 / 1.0
    test["y"] = (test["y"] == "yes").astype(int)  # 0 / 1
    scores = tstr_scores(train, test, "y", models=["logistic_regression"])
    assert scores["logistic_regression"]["accuracy"] > 0.7


def test_max_train_rows_and_seed_are_reproducible():
    train, test = _toy(400, 0), _toy(100, 1)
    a = tstr_scores(train, test, "y", models=["random_forest"], max_train_rows=100)
    b = tstr_scores(train, test, "y", models=["random_forest"], max_train_rows=100)
    assert a == b


def test_bad_arguments_are_explained():
    train, test = _toy(50, 0), _toy(50, 1)
    with pytest.raises(ValueError, match="Unknown classification model"):
        tstr_scores(train, test, "y", models=["svm"])
    with pytest.raises(ValueError, match=r"training frame lacks column\(s\) \['colour'\]"):
        tstr_scores(train.drop(columns="colour"), test, "y")
    with pytest.raises(ValueError, match="Target column 'z'"):
        tstr_scores(train, test, "z")


# -- regression targets and the augmentation gain -----------------------------------------------
def _regression_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    group = rng.choice(["a", "b"], size=n)
    day = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    y = 3 * x + np.where(group == "a", 2.0, -2.0) + rng.normal(scale=0.3, size=n)
    return pd.DataFrame({"x": x, "group": group, "day": day, "y": y})


def test_numeric_target_is_scored_as_regression():
    train, test = _regression_frame(600, 0), _regression_frame(300, 1)
    scores = tstr_scores(train, test, "y")
    assert set(scores) == set(REGRESSION_MODELS)
    for metrics in scores.values():
        assert set(metrics) == {"r2", "rmse"}
        assert metrics["r2"] > 0.9
        assert 0 < metrics["rmse"] < 1.0
    noise = train.assign(y=np.random.default_rng(2).permutation(train["y"].to_numpy()))
    assert (
        tstr_scores(noise, test, "y", models=["ridge_regression"])["ridge_regression"]["r2"] < 0.05
    )


def test_task_can_be_forced_and_is_checked():
    train, test = _regression_frame(300, 0), _regression_frame(100, 1)
    train["y"], test["y"] = (train["y"] > 0).astype(int), (test["y"] > 0).astype(int)
    assert (
        "accuracy"
        in tstr_scores(train, test, "y", models=["logistic_regression"])["logistic_regression"]
    )
    with pytest.raises(ValueError, match="task must be"):
        tstr_scores(train, test, "y", task="ranking")


def test_utility_scores_report_tstr_trtr_and_augmentation_gain(adult_parts):
    part_a, part_b, holdout = adult_parts
    # "Synthetic" rows that carry no signal: labels shuffled. Adding them should not help.
    noise = part_b.assign(income=np.random.default_rng(0).permutation(part_b["income"].to_numpy()))
    scores = utility_scores(part_a, noise, holdout, "income", models=["logistic_regression"])
    assert scores["task"] == "classification" and scores["n_test"] == len(holdout)
    trtr, tstr = scores["trtr"]["logistic_regression"], scores["tstr"]["logistic_regression"]
    gap = scores["tstr_minus_trtr"]["logistic_regression"]
    assert gap["accuracy"] == pytest.approx(tstr["accuracy"] - trtr["accuracy"])
    assert gap["roc_auc"] < -0.2  # shuffled labels are useless alone
    assert scores["augmentation_gain"]["logistic_regression"]["roc_auc"] < 0.01
    # Fresh real rows as "synthetic": augmenting with them does not hurt.
    real = utility_scores(part_a, part_b, holdout, "income", models=["logistic_regression"])
    assert real["augmentation_gain"]["logistic_regression"]["roc_auc"] > -0.01
