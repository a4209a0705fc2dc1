"""TSTR utility: calibration on Adult and robustness on tiny frames."""

import warnings

import numpy as np
import pandas as pd
import pytest

from synthgan.evaluation import TSTR_MODELS, tstr_scores

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
    with pytest.raises(ValueError, match="Unknown TSTR model"):
        tstr_scores(train, test, "y", models=["svm"])
    with pytest.raises(ValueError, match=r"training frame lacks column\(s\) \['colour'\]"):
        tstr_scores(train.drop(columns="colour"), test, "y")
    with pytest.raises(ValueError, match="Target column 'z'"):
        tstr_scores(train, test, "z")
