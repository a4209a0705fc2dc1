"""Reading messy CSV files (issue 15, findings 1 and 2): dialect, missing markers, blanks, codes,
numbers with separators, non-ISO dates."""

from __future__ import annotations

import gzip
import warnings

import numpy as np
import pandas as pd
import pytest

from synthgan.exceptions import DataValidationError
from synthgan.io import read_table
from synthgan.tabular.columns import dtype_info, restore_dtype

SEMICOLON = "age;workclass;hours\n39;State-gov;40\n50;Private;13\n38;Private;40\n"


def _write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _read_quietly(path, **kwargs) -> pd.DataFrame:
    """Read and fail on any warning: the files of these tests read one way only."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return read_table(path, **kwargs)


# -- finding 1: the separator -------------------------------------------------------------------
def test_semicolon_csv_is_sniffed_into_its_columns(tmp_path):
    result = _read_quietly(_write(tmp_path, "semicolon.csv", SEMICOLON))

    assert list(result.columns) == ["age", "workclass", "hours"]
    assert result["age"].tolist() == [39, 50, 38]
    assert result["workclass"].tolist() == ["State-gov", "Private", "Private"]


@pytest.mark.parametrize("sep", ["|", "\t"])
def test_other_separators_and_quotes_are_sniffed(tmp_path, sep):
    text = f'name{sep}note{sep}n\n"Smith, J"{sep}"a {sep} b"{sep}1\nLee{sep}plain{sep}2\n'
    path = _write(tmp_path, "table.csv.gz", "")
    path.write_bytes(gzip.compress(text.encode()))

    result = _read_quietly(path)

    assert list(result.columns) == ["name", "note", "n"]
    assert result["name"].tolist() == ["Smith, J", "Lee"]
    assert result["note"].tolist() == [f"a {sep} b", "plain"]


def test_single_quotes_are_sniffed(tmp_path):
    path = _write(tmp_path, "quotes.csv", "a;b\n'x;y';1\n'z;w';2\n'u;v';3\n")
    result = _read_quietly(path)
    assert result["a"].tolist() == ["x;y", "z;w", "u;v"]


def test_one_column_table_named_with_separators_is_refused(tmp_path):
    # The .tsv extension decides the separator (tab), so this ;-file reads as one column.
    path = _write(tmp_path, "semicolon.tsv", SEMICOLON)

    with pytest.raises(DataValidationError) as excinfo:
        read_table(path)

    message = str(excinfo.value)
    assert "one column named 'age;workclass;hours'" in message
    assert "sep=';'" in message
    assert "--sep ';'" in message


def test_a_wrong_explicit_sep_is_refused_too(tmp_path):
    path = _write(tmp_path, "semicolon.csv", SEMICOLON)
    with pytest.raises(DataValidationError, match=r"probably ';'-separated"):
        read_table(path, sep=",")


def test_sep_overrides_sniffing_and_extension(tmp_path):
    path = _write(tmp_path, "semicolon.tsv", SEMICOLON)

    result = _read_quietly(path, sep=";")

    assert list(result.columns) == ["age", "workclass", "hours"]
    assert result["hours"].tolist() == [40, 13, 40]
    tabbed = _write(tmp_path, "tabbed.csv", "a\tb\n1\t2\n")
    assert list(_read_quietly(tabbed, sep="tab").columns) == ["a", "b"]


@pytest.mark.parametrize("sep", ["", ";;", '"', 3])
def test_bad_sep_is_refused_with_the_expected_form(tmp_path, sep):
    path = _write(tmp_path, "t.csv", "a,b\n1,2\n")
    with pytest.raises(DataValidationError, match="sep must be one character"):
        read_table(path, sep=sep)


def test_one_column_file_is_still_read(tmp_path):
    path = _write(tmp_path, "one.csv", "value\n1\n2\n3\n")
    assert _read_quietly(path)["value"].tolist() == [1, 2, 3]


# -- decimal comma and thousands separators ------------------------------------------------------
def test_decimal_comma_of_a_semicolon_file_is_read_as_numbers(tmp_path):
    path = _write(
        tmp_path, "eu.csv", "price;qty;label\n1,5;2;a\n-0,25;3;b\n10;4;c\n;5;d\n1.234,5;6;e\n"
    )

    result = _read_quietly(path)

    assert result["price"].dtype == np.float64
    np.testing.assert_array_equal(result["price"], [1.5, -0.25, 10.0, np.nan, 1234.5])
    assert result["qty"].dtype == np.int64


def test_thousands_separators_are_read_as_numbers(tmp_path):
    path = _write(
        tmp_path,
        "money.csv",
        'income,ratio,label\n"1,234,567","1,000.5",a\n"12,000",2.5,b\n950,3,c\n,"4,321.25",d\n',
    )

    result = _read_quietly(path)

    assert result["income"].dtype == "Int64"  # integers with a missing cell
    assert result["income"].tolist() == [1_234_567, 12_000, 950, pd.NA]
    np.testing.assert_array_equal(result["ratio"], [1000.5, 2.5, 3.0, 4321.25])


def test_dotted_thousands_with_a_decimal_comma(tmp_path):
    path = _write(tmp_path, "eu.csv", "pop;name\n1.234.567;a\n12.000;b\n7;c\n")
    result = _read_quietly(path)
    assert result["pop"].tolist() == [1_234_567, 12_000, 7]


def test_numbers_that_read_two_ways_follow_the_separator_with_a_warning(tmp_path):
    comma = _write(tmp_path, "comma.csv", 'x,y\n"1,234",a\n"5,678",b\n')
    semicolon = _write(tmp_path, "semicolon.csv", "x;y\n1,234;a\n5,678;b\n")

    with pytest.warns(UserWarning, match=r"'x'.*'1,234'.*thousands comma"):
        assert read_table(comma)["x"].tolist() == [1234, 5678]
    with pytest.warns(UserWarning, match=r"'x'.*decimal comma"):
        assert read_table(semicolon)["x"].tolist() == [1.234, 5.678]


def test_mostly_numeric_text_is_warned_about_with_examples(tmp_path):
    path = _write(tmp_path, "stray.csv", 'n,y\n"1,234",a\n"2,500",b\nunknown,c\n"3,000",d\n')

    with pytest.warns(UserWarning) as record:
        result = read_table(path)

    message = str(record[0].message)
    assert "'n' looks like numbers (3 of 4 distinct values)" in message
    assert "'unknown'" in message
    assert "na_values" in message and "text_columns=['n']" in message
    assert result["n"].dtype == object


# -- na_values and strip_whitespace -------------------------------------------------------------
def test_na_values_are_added_to_the_default_markers(tmp_path):
    path = _write(tmp_path, "adult.csv", "age,workclass\n39,?\n?,Private\nNA,-\n50,Private\n")

    result = _read_quietly(path, na_values=["?", "-"])

    assert result["age"].dtype == "Int64"
    assert result["age"].tolist() == [
        39,
        pd.NA,
        pd.NA,
        50,
    ]  # "NA" still missing: added, not replaced
    assert result["workclass"].isna().tolist() == [True, False, True, False]
    with pytest.warns(UserWarning, match=r"'age' looks like numbers.*'\?'.*na_values"):
        assert read_table(path)["workclass"].tolist() == ["?", "Private", "-", "Private"]


def test_na_values_must_be_a_list(tmp_path):
    path = _write(tmp_path, "t.csv", "a\n1\n")
    with pytest.raises(DataValidationError, match=r"na_values must be a list.*\['\?'\]"):
        read_table(path, na_values="?")


def test_strip_whitespace_strips_names_and_string_cells(tmp_path):
    path = _write(
        tmp_path,
        "raw_adult.csv",
        "age, workclass , sex\n39, State-gov, Male\n50, ?,Female \n38,  Private, Male\n",
    )

    result = _read_quietly(path, strip_whitespace=True, na_values=["?"])

    assert list(result.columns) == ["age", "workclass", "sex"]
    assert result["age"].tolist() == [39, 50, 38]
    assert result["workclass"].tolist() == ["State-gov", np.nan, "Private"]
    assert result["sex"].tolist() == ["Male", "Female", "Male"]
    untouched = _read_quietly(path)
    assert list(untouched.columns) == ["age", " workclass ", " sex"]
    assert untouched[" sex"].tolist() == [" Male", "Female ", " Male"]


# -- leading zeros and text_columns -------------------------------------------------------------
def test_leading_zeros_are_kept_as_text_with_a_warning(tmp_path):
    path = _write(tmp_path, "codes.csv", "zip,n\n02134,1\n10001,2\n,3\n00501,4\n")

    with pytest.warns(UserWarning, match=r"'zip'.*'02134'.*text_columns=\['zip'\]"):
        result = read_table(path)

    assert result["zip"].tolist() == ["02134", "10001", np.nan, "00501"]
    assert result["n"].tolist() == [1, 2, 3, 4]


def test_text_columns_keep_values_exactly_as_written(tmp_path):
    path = _write(tmp_path, "ids.csv", "id,code,when,amount\n001,7,2020-01-01,1.50\n010,8,x,2\n")

    result = _read_quietly(path, text_columns=["id", "code", "amount"])

    assert result["id"].tolist() == ["001", "010"]
    assert result["code"].tolist() == ["7", "8"]
    assert result["amount"].tolist() == ["1.50", "2"]
    assert result["when"].tolist() == ["2020-01-01", "x"]


def test_text_columns_after_stripping_names(tmp_path):
    path = _write(tmp_path, "ids.csv", " id ,n\n 001 ,1\n")
    result = _read_quietly(path, text_columns=["id"], strip_whitespace=True)
    assert result["id"].tolist() == ["001"]


def test_unknown_text_columns_are_named(tmp_path):
    path = _write(tmp_path, "ids.csv", "id,n\n1,2\n")
    with pytest.raises(
        DataValidationError, match=r"text_columns names \['ID', 'zip'\].*\['id', 'n'\]"
    ):
        read_table(path, text_columns=["zip", "ID", "id"])


def test_csv_options_are_refused_for_parquet(tmp_path):
    path = tmp_path / "t.parquet"
    pd.DataFrame({"a": [1]}).to_parquet(path)
    with pytest.raises(DataValidationError, match="CSV files only"):
        read_table(path, sep=";")


# -- dates --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("written", "expected"),
    [
        (["24/08/2015", "01/09/2015", "3/1/2016"], ["2015-08-24", "2015-09-01", "2016-01-03"]),
        (["08/24/2015", "09/01/2015", "1/3/2016"], ["2015-08-24", "2015-09-01", "2016-01-03"]),
        (["24.08.2015", "01.09.2015", "03.01.2016"], ["2015-08-24", "2015-09-01", "2016-01-03"]),
        (["2015/08/24", "2015/09/01", "2016/01/03"], ["2015-08-24", "2015-09-01", "2016-01-03"]),
    ],
)
def test_common_date_formats_are_parsed_when_unambiguous(tmp_path, written, expected):
    path = _write(tmp_path, "dates.csv", "when,n\n" + "".join(f"{d},1\n" for d in written))

    result = _read_quietly(path)

    assert result["when"].dtype == "datetime64[ns]"
    assert result["when"].tolist() == [pd.Timestamp(d) for d in expected]


def test_dates_with_times_and_missing_cells(tmp_path):
    path = _write(tmp_path, "dates.csv", "when,n\n24/08/2015 13:45,1\n,2\n01/09/2015 08:00,3\n")
    result = _read_quietly(path)
    assert result["when"][0] == pd.Timestamp("2015-08-24 13:45")
    assert pd.isna(result["when"][1])


def test_ambiguous_day_month_order_is_warned_and_kept_as_text(tmp_path):
    path = _write(tmp_path, "dates.csv", "when,n\n05/08/2015,1\n01/09/2015,2\n")

    with pytest.warns(UserWarning) as record:
        result = read_table(path)

    message = str(record[0].message)
    assert "'when'" in message and "'05/08/2015'" in message
    assert "'%d/%m/%Y'" in message and "'%m/%d/%Y'" in message
    assert "ISO" in message
    assert result["when"].dtype == object


def test_dates_that_fit_no_single_format_are_warned_about(tmp_path):
    path = _write(tmp_path, "dates.csv", "when\n24/08/2015\n25/08/2015\n31/02/2015\n26/08/2015\n")

    with pytest.warns(UserWarning, match=r"'when' looks like dates in the format '%d/%m/%Y'"):
        result = read_table(path)

    assert result["when"].dtype == object


# -- date-only columns come back as dates -------------------------------------------------------
def test_dtype_info_records_the_resolution_and_restore_rounds_to_it():
    dates = pd.Series(pd.to_datetime(["2018-09-01", "2019-01-31", None]))
    seconds = pd.Series(pd.to_datetime(["2018-09-01 10:00:01", "2018-09-01 10:00:02"]))
    local = pd.Series(pd.to_datetime(["2018-09-01", "2018-12-01"]).tz_localize("Europe/Paris"))
    generated = pd.to_datetime(
        ["2018-09-01 02:25:50.059104256", "2018-09-03 13:00:00.000000000"]
    ).asi8

    assert dtype_info(dates)["resolution"] == "day"
    assert dtype_info(seconds)["resolution"] == "second"
    assert dtype_info(local)["resolution"] == "day"  # local midnight, not UTC midnight
    assert "resolution" not in dtype_info(dates, resolution=False)

    restored = restore_dtype(generated.astype(float), dtype_info(dates), "d")
    assert restored.tolist() == [pd.Timestamp("2018-09-01"), pd.Timestamp("2018-09-04")]
    restored = restore_dtype(generated.astype(float), dtype_info(local), "d")
    assert (restored.dt.tz_localize(None) == restored.dt.tz_localize(None).dt.normalize()).all()
    legacy = {"dtype": "datetime64[ns]"}  # a model file written before the key existed
    assert restore_dtype(generated.astype(float), legacy, "d")[0] == pd.Timestamp(generated[0])


def test_date_only_csv_column_is_sampled_as_dates(tmp_path, tiny):
    rng = np.random.default_rng(0)
    days = pd.Timestamp("2018-01-01") + pd.to_timedelta(rng.integers(0, 900, 60), unit="D")
    frame = pd.DataFrame({"joined": days.strftime("%Y-%m-%d"), "n": rng.integers(0, 5, 60)})
    path = tmp_path / "dates.csv"
    frame.to_csv(path, index=False)
    data = read_table(path)
    assert data["joined"].dtype == "datetime64[ns]"

    model = tiny().fit(data)
    sampled = model.sample(50, random_state=0)["joined"].dropna()

    assert len(sampled) > 0
    assert (sampled == sampled.dt.normalize()).all()
