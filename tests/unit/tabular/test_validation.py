"""Bad input gets a clear error (or a warning where the data is still usable)."""

import numpy as np
import pandas as pd
import pytest

from synthgan import CTGANSynthesizer, DataValidationError, NotFittedError


def tiny(**kwargs):
    params = dict(
        epochs=1,
        batch_size=20,
        pac=2,
        embedding_dim=8,
        generator_dim=(16,),
        discriminator_dim=(16,),
        verbose=False,
        random_state=0,
    )
    return CTGANSynthesizer(**{**params, **kwargs})


def good_frame(n=60):
    rng = np.random.default_rng(0)
    return pd.DataFrame({"x": rng.normal(size=n), "c": rng.choice(["a", "b"], n)})


def test_not_a_dataframe():
    with pytest.raises(TypeError, match="DataFrame"):
        tiny().fit(np.zeros((10, 2)))


def test_empty_frame():
    with pytest.raises(DataValidationError, match="no columns"):
        tiny().fit(pd.DataFrame())
    with pytest.raises(DataValidationError, match="0 row"):
        tiny().fit(pd.DataFrame({"x": []}))


def test_one_row():
    with pytest.raises(DataValidationError, match="1 row"):
        tiny().fit(good_frame().head(1))


def test_all_missing_column_warns_and_is_reproduced():
    frame = good_frame().assign(empty=np.nan)
    with pytest.warns(UserWarning, match="'empty' is missing in every row"):
        model = tiny().fit(frame)
    assert model.sample(10, random_state=0)["empty"].isna().all()


def test_constant_column_warns_and_is_reproduced():
    frame = good_frame().assign(k=7)
    with pytest.warns(UserWarning, match="'k' is constant"):
        model = tiny().fit(frame)
    out = model.sample(10, random_state=0)
    assert (out["k"] == 7).all() and out["k"].dtype == np.int64


def test_infinities_are_an_error():
    frame = good_frame()
    frame.loc[3, "x"] = np.inf
    with pytest.raises(DataValidationError, match="'x' contains 1 infinite"):
        tiny().fit(frame)


def test_mixed_types_in_object_column():
    frame = good_frame()
    frame["c"] = frame["c"].astype(object)
    frame.loc[0, "c"] = 5
    with pytest.raises(DataValidationError, match="'c' mixes value types"):
        tiny().fit(frame)


def test_high_cardinality_discrete_column_warns_and_stays_small():
    n = 3000
    frame = pd.DataFrame({"id": [f"id{i}" for i in range(n)], "x": np.arange(n, dtype=float)})
    with pytest.warns(UserWarning, match="'id' has 3000 distinct values"):
        # Declared discrete: left to detection, the column would be an identifier.
        model = tiny(discrete_columns=["id"], high_cardinality_threshold=200, max_categories=50)
        model.fit(frame)
    assert model.transformer_.output_width < 80
    assert model.sample(100, random_state=0)["id"].isin(frame["id"]).all()


def test_unknown_discrete_column_name():
    with pytest.raises(DataValidationError, match="nope"):
        tiny(discrete_columns=["nope"]).fit(good_frame())


def test_bad_metadata_type():
    with pytest.raises(DataValidationError, match="'x' has type 'weird'"):
        tiny(metadata={"columns": {"x": {"type": "weird"}}}).fit(good_frame())


def test_unsupported_dtype():
    frame = good_frame().assign(t=pd.to_timedelta(np.arange(60), unit="s"))
    with pytest.raises(DataValidationError, match="'t' has dtype timedelta"):
        tiny().fit(frame)


@pytest.mark.parametrize("n", [0, -3])
def test_sample_n_must_be_positive(n):
    model = tiny().fit(good_frame())
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        model.sample(n)
    with pytest.raises(TypeError, match="n must be an integer"):
        model.sample(2.5)


def test_sample_before_fit():
    with pytest.raises(NotFittedError, match="not fitted"):
        tiny().sample(5)


def test_condition_errors():
    model = tiny().fit(good_frame())
    with pytest.raises(DataValidationError, match=r"'x' is continuous.*\['c'\]"):
        model.sample(5, conditions={"x": 1.0})
    with pytest.raises(DataValidationError, match=r"Unknown column 'zz'.*\['c'\]"):
        model.sample(5, conditions={"zz": 1})
    with pytest.raises(DataValidationError, match=r"valid values: 'a', 'b'|valid values: 'b', 'a'"):
        model.sample(5, conditions={"c": "q"})


@pytest.mark.parametrize(
    ("param", "value", "error"),
    [
        ("epochs", 0, ValueError),
        ("batch_size", 25, ValueError),
        ("pac", 1.5, TypeError),
        ("loss", "x", ValueError),
        ("generator_lr", 0, ValueError),
    ],
)
def test_bad_hyperparameters(param, value, error):
    with pytest.raises(error, match=param if param != "batch_size" else "multiple of pac"):
        tiny(**{param: value}).fit(good_frame())


def test_fewer_rows_than_pac():
    frame = pd.DataFrame({"x": np.arange(5.0), "c": list("ababa")})
    with pytest.raises(DataValidationError, match="pac"):
        CTGANSynthesizer(epochs=1, verbose=False).fit(frame)
