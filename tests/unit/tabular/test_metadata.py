"""Column kinds, free text and strict metadata (issue 15, findings 2 and 3)."""

import warnings

import jsonschema
import numpy as np
import pandas as pd
import pytest

from synthgan import load
from synthgan.exceptions import DataValidationError
from synthgan.tabular.metadata import (
    METADATA_SCHEMA,
    detect_metadata,
    format_kinds,
    validate_metadata,
)

N = 120


WORDS = ["late", "delivery", "great", "service", "box", "damaged", "will", "order", "again"]


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(0)
    notes = [" ".join(rng.choice(WORDS, 5)) + f" #{i}" for i in range(N)]
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:07d}" for i in rng.permutation(N)],
            "age": rng.integers(17, 91, N),
            "weight": rng.integers(10_000, 10_000 + 4 * N, N),  # mostly distinct measurements
            "amount": rng.choice(10**9, N, replace=False),  # unique integers, not named as ids
            "score": rng.normal(size=N),
            "when": pd.date_range("2020-01-01", periods=N, freq="D"),
            "flag": rng.random(N) < 0.5,
            "colour": rng.choice(["red", "blue"], N),
            "note": notes,
            "same": 1,
        }
    )


def fit_quietly(model, data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return model.fit(data)


# -- detection ----------------------------------------------------------------------------------
def test_detect_metadata_reports_every_kind_with_reasons_and_validates(table):
    report = detect_metadata(table)
    jsonschema.validate(report, METADATA_SCHEMA)
    kinds = {name: spec["kind"] for name, spec in report["columns"].items()}
    assert kinds == {
        "customer_id": "id",
        "age": "continuous",
        "weight": "continuous",
        "amount": "continuous",  # unique integers, but neither the name nor a sequence says id
        "score": "continuous",
        "when": "datetime",
        "flag": "discrete",
        "colour": "discrete",
        "note": "text",
        "same": "constant",
    }
    assert all(report["columns"][name]["reasons"] for name in kinds)
    assert any("suggests an identifier" in r for r in report["columns"]["amount"]["reasons"])
    text = " ".join(r for spec in report["columns"].values() for r in spec["reasons"])
    assert "C000" not in text and "late" not in text  # counts only, never values


def test_integer_ids_need_a_name_or_a_sequence(table):
    frame = pd.DataFrame({"user_id": table["amount"], "n": np.arange(N) + 500})
    kinds = {k: v["kind"] for k, v in detect_metadata(frame)["columns"].items()}
    assert kinds == {"user_id": "id", "n": "id"}
    few = frame.head(10)  # too few rows for "all distinct" to mean anything
    assert detect_metadata(few)["columns"]["user_id"]["kind"] == "continuous"


def test_detect_metadata_keeps_declarations_and_can_be_passed_back(table, tiny):
    declared = {"columns": {"amount": {"kind": "id"}, "note": {"kind": "text"},
                            "age": {"type": "continuous", "min": 0, "max": 120}}}  # fmt: skip
    report = detect_metadata(table, metadata=declared, discrete_columns=["same"])
    assert report["columns"]["amount"] == {"kind": "id", "reasons": ["declared in the metadata"]}
    assert report["columns"]["age"]["min"] == 0 and "type" not in report["columns"]["age"]
    assert report["columns"]["same"]["reasons"] == ["listed in discrete_columns"]
    model = fit_quietly(tiny(metadata=report), table)
    assert model.column_kinds_["amount"] == "id" and model.column_kinds_["note"] == "text"


def test_format_kinds():
    kinds = {f"c{i}": "continuous" for i in range(6)} | {f"d{i}": "discrete" for i in range(8)}
    assert format_kinds({**kinds, "customer_id": "id"}) == (
        "Columns: 6 continuous, 8 discrete, 1 id (customer_id) generated fresh"
    )
    assert format_kinds({"t": "text", "k": "constant", "w": "datetime"}) == (
        "Columns: 1 datetime, 1 constant (k) reproduced, 1 text (t) excluded"
    )
    assert format_kinds({}) == "Columns: none"


def test_column_kinds_are_learned_saved_and_loaded(table, tmp_path, tiny):
    frame = table.drop(columns=["note"])
    model = fit_quietly(tiny(), frame)
    assert model.column_kinds_["when"] == "datetime" and model.column_kinds_["same"] == "constant"
    again = load(model.save(tmp_path / "m.synthgan"))
    assert again.column_kinds_ == model.column_kinds_
    state, tensors = model._get_state()
    del state["column_kinds"]  # a model file written before column_kinds_ existed
    old = tiny()
    old._set_state(state, tensors)
    assert old.column_kinds_ == model.column_kinds_


# -- free text ----------------------------------------------------------------------------------
def test_undeclared_free_text_is_refused_with_the_ways_out(table, tiny):
    with pytest.raises(DataValidationError, match="'note' looks like free text") as info:
        fit_quietly(tiny(), table)
    message = str(info.value)
    assert "copied verbatim" in message and "drop the column" in message
    assert '"kind": "text"' in message and '"allow_copy": true' in message


def test_declared_text_is_excluded_from_the_model_and_the_output(table, tiny):
    model = tiny(metadata={"columns": {"note": {"kind": "text"}}})
    with pytest.warns(UserWarning, match="'note' is declared free text: it is excluded"):
        model.fit(table)
    out = model.sample(30, random_state=0)
    assert "note" not in out.columns
    assert list(out.columns) == [c for c in table.columns if c != "note"]
    assert "note" not in {span.column for span in model.transformer_.span_table_.spans}


def test_declared_text_with_allow_copy_is_modelled_and_warns(table, tiny):
    model = tiny(metadata={"columns": {"note": {"kind": "text", "allow_copy": True}}})
    with pytest.warns(UserWarning, match="'note'.*real values are copied"):
        model.fit(table)
    out = model.sample(30, random_state=0)
    assert out["note"].isin(table["note"]).all()
    assert model.column_kinds_["note"] == "discrete"


# -- strict metadata ----------------------------------------------------------------------------
def test_typo_keys_are_refused_with_the_valid_keys(table, tiny):
    with pytest.raises(DataValidationError) as info:
        tiny(metadata={"columns": {"age": {"mn": 20}}}).fit(table)
    message = str(info.value)
    assert "column 'age'" in message and "'mn' (did you mean 'min'?)" in message
    for key in ("min", "max", "kind", "type", "pattern", "allow_copy", "categories", "missing"):
        assert key in message
    with pytest.raises(DataValidationError, match=r"unknown key\(s\) 'colums'.*valid keys: "):
        validate_metadata({"columns": {}, "colums": {}})


def test_metadata_without_columns_is_refused(table, tiny):
    with pytest.raises(DataValidationError, match=r"no 'columns' key \(found keys: \['age'\]\)"):
        tiny(metadata={"age": {"kind": "continuous"}}).fit(table)


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ({"missing": "yes"}, r"column 'age', key 'missing': expected true or false, found 'yes'"),
        ({"categories": "ab"}, r"column 'age', key 'categories': expected a list"),
        ({"min": [1]}, r"column 'age', key 'min': expected a number or a string"),
        ({"kind": "idd"}, r"column 'age' has kind 'idd'; expected one of"),
        ({"kind": "id", "type": "continuous"}, r"column 'age' gives kind 'id' and type"),
        ({"pattern": "A[0-9]{3}"}, r"column 'age' has 'pattern'.*kind 'id' only"),
        ({"allow_copy": True}, r"column 'age' has 'allow_copy'.*kind 'text' only"),
        ({"min": 50, "max": 20}, r"column 'age': min \(50\) is above max \(20\)"),
        ({"min": "soon"}, r"column 'age': bound 'soon' is not a number or a date"),
        ({"kind": "constant"}, r"'age' is declared constant but has \d+ distinct values"),
    ],
)
def test_wrong_metadata_values_name_the_column_and_the_key(table, spec, match, tiny):
    with pytest.raises(DataValidationError, match=match):
        tiny(metadata={"columns": {"age": spec}}).fit(table.drop(columns=["note"]))


def test_type_is_an_alias_of_kind(table, tiny):
    frame = table[["age", "colour"]]
    model = tiny(metadata={"columns": {"age": {"type": "categorical", "kind": "discrete"}}})
    assert model.fit(frame).column_kinds_["age"] == "discrete"
    assert (
        tiny(metadata={"columns": {"age": {"type": "categorical"}}}).fit(frame).column_kinds_["age"]
        == "discrete"
    )


def test_bounds_that_exclude_training_values_warn_with_the_count(table, tiny):
    frame = table[["age", "colour"]]
    outside = int((~frame["age"].between(20, 30)).sum())
    message = rf"bounds \[20, 30\] of column 'age' exclude {outside:,} of {N:,} training values"
    model = tiny(metadata={"columns": {"age": {"min": 20, "max": 30}}})
    with pytest.warns(UserWarning, match=message + "; generated values are clipped"):
        model.fit(frame)
    assert model.sample(50, random_state=0)["age"].between(20, 30).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # bounds around every value: nothing to say
        tiny(metadata={"columns": {"age": {"min": 0, "max": 120}}}).fit(frame)


def test_dp_only_keys_warn_without_privacy(table, tiny):
    frame = table[["age", "colour"]]
    metadata = {"columns": {"colour": {"categories": ["red", "blue"], "missing": False}}}
    with pytest.warns(UserWarning) as record:
        tiny(metadata=metadata).fit(frame)
    messages = [str(w.message) for w in record]
    for key in ("categories", "missing"):
        assert any(f"key {key!r} of column 'colour' is read only with privacy" in m
                   for m in messages)  # fmt: skip


def test_detected_metadata_can_be_given_to_the_evaluation(table):
    from synthgan.evaluation import sdmetrics_metadata

    columns = sdmetrics_metadata(table, detect_metadata(table))["columns"]
    assert columns["customer_id"] == {"sdtype": "id"}
    assert (
        columns["when"] == {"sdtype": "datetime"} and columns["colour"]["sdtype"] == "categorical"
    )
    assert columns["note"]["sdtype"] == "categorical"  # text: typed from its dtype


@pytest.mark.parametrize(
    ("metadata", "match"),
    [
        ({"columns": []}, r"metadata, key 'columns': expected an object"),
        ({"columns": {"age": "continuous"}}, r"column 'age': expected an object"),
        ({"columns": {}, "target": 3}, r"metadata, key 'target': expected a string, found 3"),
    ],
)
def test_wrong_metadata_structure_is_named(metadata, match):
    with pytest.raises(DataValidationError, match=match):
        validate_metadata(metadata)
