"""Identifier columns are generated fresh in their format, never copied (issue 15, finding 2)."""

import re
import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest

from synthgan import PrivacyConfig, load
from synthgan.exceptions import DataValidationError
from synthgan.tabular.identifiers import MAX_COINCIDENCE_RATE, fit_identifier, parse_pattern

N = 200


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "customer_id": [f"CUST-{i:06d}" for i in rng.permutation(N)],
            "account": rng.choice(10**12, N, replace=False) + 10**12,  # 13-digit integers
            "order_id": np.arange(1, N + 1),
            "x": rng.normal(size=N),
            "c": rng.choice(["a", "b"], N),
        }
    )


@pytest.fixture(scope="module")
def fitted(table, tiny):
    metadata = {"columns": {"account": {"kind": "id"}}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the widening warnings, tested below
        return tiny(metadata=metadata).fit(table)


def test_id_columns_are_never_copied_and_keep_their_format(table, fitted):
    assert fitted.column_kinds_["customer_id"] == "id"
    assert fitted.column_kinds_["order_id"] == "id"
    assert fitted.column_kinds_["account"] == "id"
    out = fitted.sample(500, random_state=1)
    for name in ("customer_id", "account", "order_id"):
        assert out[name].isin(table[name]).mean() == 0.0, name  # exact-copy rate
        assert out[name].is_unique, name
    assert out["customer_id"].str.fullmatch(r"CUST-\d{9}").all()  # widened by 3 digits
    assert out["account"].dtype == np.int64 and out["order_id"].dtype == np.int64
    assert out["account"].between(10**12, 10**13 - 1).all()  # 13 digits: format kept exactly
    assert (out["order_id"] > 0).all()


def test_identifiers_take_no_span_and_the_model_file_holds_no_real_value(table, fitted, tmp_path):
    columns = {span.column for span in fitted.transformer_.span_table_.spans}
    assert columns == {"x", "c"}
    path = fitted.save(tmp_path / "m.synthgan")
    with zipfile.ZipFile(path) as archive:
        content = b"".join(archive.read(name) for name in archive.namelist())
    for value in table["customer_id"]:
        assert value.encode() not in content
    assert str(table["account"].iloc[0]).encode() not in content


def test_save_and_load_reproduce_the_identifiers(fitted, tmp_path):
    path = fitted.save(tmp_path / "m.synthgan")
    again = load(path)
    assert again.column_kinds_ == fitted.column_kinds_
    pd.testing.assert_frame_equal(
        fitted.sample(40, random_state=3), again.sample(40, random_state=3)
    )


def test_a_small_format_is_widened_with_a_warning_naming_the_column(table):
    with pytest.warns(UserWarning, match=r"Column 'customer_id' is an identifier.*3 character"):
        encoder = fit_identifier(table["customer_id"])
    assert encoder.format.prefix == "CUST-"
    assert encoder.format.coincidence_rate(N) <= MAX_COINCIDENCE_RATE
    big = pd.Series([f"AB-{i:010d}" for i in range(0, 10**10, 10**10 // N)], name="code")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a large format: no widening, no warning
        wide = fit_identifier(big)
    drawn = wide.decode(300, np.random.default_rng(0))
    assert drawn.str.fullmatch(r"AB-\d{10}").all() and not drawn.isin(big).any()


def test_hexadecimal_tokens_keep_their_alphabet():
    rng = np.random.default_rng(0)
    values = pd.Series(["".join(rng.choice(list("0123456789abcdef"), 16)) for _ in range(50)])
    drawn = fit_identifier(values).decode(100, rng)
    assert drawn.str.fullmatch(r"[0-9a-f]{16}").all()


def test_a_declared_pattern_is_followed(table, tiny):
    pattern = "CUST-[0-9]{12}"
    model = tiny(metadata={"columns": {"customer_id": {"kind": "id", "pattern": pattern}}})
    with pytest.warns(UserWarning, match="do not match its pattern"):  # 6 digits, not 12
        model.fit(table)
    out = model.sample(300, random_state=0)
    assert out["customer_id"].str.fullmatch(pattern).all()
    assert not out["customer_id"].isin(table["customer_id"]).any()


def test_a_small_declared_pattern_warns_with_the_chance_rate(table, tiny):
    metadata = {"columns": {"customer_id": {"kind": "id", "pattern": r"CUST-\d{6}"}}}
    with pytest.warns(UserWarning, match=r"'customer_id' matches about 1e\+06 values.*0.0002"):
        model = tiny(metadata=metadata).fit(table)
    assert model.sample(50, random_state=0)["customer_id"].str.fullmatch(r"CUST-\d{6}").all()


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        ("[A-Z]+", r"'\+' at position 5"),
        ("(AB){2}", "'\\(' at position 0"),
        ("[^a]{3}", "negated classes"),
        ("A.{3}", "'\\.' at position 1"),
        (r"\w{4}", r"\\w is not supported"),
        ("[a-z{3}", "not closed"),
        ("A{3,1}", "empty or reversed"),
    ],
)
def test_patterns_outside_the_subset_are_refused(pattern, why):
    with pytest.raises(DataValidationError, match=f"column 'code'.*{why}.*support"):
        parse_pattern(pattern, column="code")


def test_pattern_pieces():
    pieces = parse_pattern(r"^ID-[A-C0-2]{2,3}\-x$")
    assert [p.alphabet for p in pieces] == ["I", "D", "-", "012ABC", "-", "x"]
    assert (pieces[3].low, pieces[3].high) == (2, 3)
    with pytest.warns(UserWarning, match="matches about 252 values"):
        encoder = fit_identifier(pd.Series(["ID-A0-x"] * 3, name="s"), pattern="ID-[A-C0-2]{2,3}-x")
    drawn = encoder.decode(30, np.random.default_rng(0))
    assert drawn.map(lambda v: re.fullmatch(r"ID-[A-C0-2]{2,3}-x", v) is not None).all()


def test_nullable_integer_ids_keep_missing_cells_and_dtype():
    values = pd.Series(pd.array([*range(1000, 1000 + 90), *([None] * 10)], dtype="Int64"), name="k")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        encoder = fit_identifier(values)
    drawn = encoder.decode(400, np.random.default_rng(0))
    assert drawn.dtype == "Int64" and 0 < drawn.isna().mean() < 0.25
    assert not drawn.dropna().isin(values.dropna()).any()


def test_identifier_dtypes_that_cannot_be_generated_are_refused():
    with pytest.raises(DataValidationError, match="'f' is declared an identifier but holds floats"):
        fit_identifier(pd.Series(np.arange(30.0), name="f"))
    with pytest.raises(DataValidationError, match="other than digits"):
        fit_identifier(pd.Series(np.arange(30), name="n"), pattern="A[0-9]{3}")


def test_private_identifiers_need_a_pattern_and_spend_nothing(table, tiny):
    table = table.drop(columns=["order_id"])
    public = {
        "x": {"min": -5, "max": 5},
        "c": {"categories": ["a", "b"], "missing": False},
        "account": {"kind": "text"},  # excluded: not read at all
    }
    options = dict(pac=None, privacy=PrivacyConfig(target_epsilon=10.0))
    metadata = {"columns": {**public, "customer_id": {"kind": "id"}}}
    with pytest.raises(DataValidationError, match=r"'customer_id'.*public pattern"):
        tiny(metadata=metadata, **options).fit(table)
    metadata["columns"]["customer_id"]["pattern"] = "C[0-9]{14}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = tiny(metadata=metadata, **options).fit(table)
    assert not any("customer_id" in k or "account" in k for k in model.privacy_spent_.breakdown)
    out = model.sample(100, random_state=0)
    assert "account" not in out.columns
    assert out["customer_id"].str.fullmatch("C[0-9]{14}").all()
    assert model.column_kinds_["customer_id"] == "id"


def test_sample_to_warns_when_identifiers_may_repeat_across_blocks(table, tiny, tmp_path):
    from synthgan.io import streams

    metadata = {"columns": {"customer_id": {"kind": "id", "pattern": r"CUST-\d{6}"}}}
    with pytest.warns(UserWarning, match="matches about"):
        model = tiny(metadata=metadata).fit(table)
    assert model.transformer_.encoders_[0].pair_probability() == pytest.approx(1e-6)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(streams, "BLOCK_ROWS", 64)
        # 3,000 rows in 47 blocks: about 4.4 million cross-block pairs, 4.4 expected repeats
        with pytest.warns(UserWarning, match=r"'customer_id': about 4 pairs of the 3,000 rows"):
            model.sample_to(tmp_path / "small", 3000, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # one block: distinct by construction, no warning
            model.sample_to(tmp_path / "one_block", 64, random_state=0)
    with pytest.warns(UserWarning, match="Generated values are made"):
        wide = tiny().fit(table)  # learned formats are widened until repeats are negligible
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        wide.sample_to(tmp_path / "wide", 3000, random_state=0)
