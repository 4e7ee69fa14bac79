"""`predict` on messy files: times read as ingest reads the source, and row-level rules applied per row.

A tiny project (a batch table `sales` cut by year, joined to that year's `prices`, a small binary model) is built once in a
temporary folder: each test scores a handful of rows in milliseconds.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import typer
import yaml
from typer.testing import CliRunner

from pipeline import predict
from pipeline.artifacts import load_model, save_model
from pipeline.command import guarded
from pipeline.config import load_params
from pipeline.errors import PipelineError
from pipeline.features import LABEL
from pipeline.train import train_model
from tests.conftest import EXAMPLE

CONTRACT = {
    "tables": {
        "sales": {
            "per_period": True,
            "columns": {
                "id": {"type": "int", "min": 1},
                "year": {"type": "datetime"},
                "shop": {"type": "str", "values": ["a", "b"], "unseen": "fail"},
                "distance": {"type": "float", "min": 0, "max": 6000, "missing": {"usual": 0.01, "max": 0.05}},
                "visits": {"type": "int", "min": 0, "max": 100},
                "sold": {"type": "float"},
            },
            "unique": [["id"]],
            "period": {"column": "year", "timezone": "UTC"},
            "rows": {"min": 100},
        }
    },
    "target": {"column": "sold"},
    "leakage": ["sold", "refund"],
}


def tiny_params(root) -> dict:
    """The example's params.yaml, cut down to a batch table `sales` (by year) joined to that year's `prices`."""
    raw = yaml.safe_load((EXAMPLE / "params.yaml").read_text(encoding="utf-8"))
    raw["paths"] |= {"data": str(root / "data"), "contract": str(root / "contract.yaml")}
    raw["paths"]["model"] = str(root / "model.skops")
    raw["ingest"] = {"period": "year", "source": {"tables": {"sales": {"path": "sales.csv", "time": "year"}}}}
    prices = {"table": "prices", "per_period": True, "keys": ["shop"], "columns": {"price": "price"}}
    raw["prepare"] = {"batches": "sales", "timestamp": "year", "timezone": "UTC", "calendar": [], "joins": [prices]}
    raw["task"] = {"type": "binary", "target": {"column": "sold", "threshold": 0}}
    raw["features"] = {"categorical": ["shop"], "numeric": ["distance", "visits", "price"], "identifiers": ["id"]}
    raw["train"] |= {"hyperparameters": {"max_iter": 20}, "monotonic": {}}
    raw["evaluate"]["slices"] = {"columns": [], "min_rows": 10}
    raw["model_checks"] = {}
    return raw


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The tiny project's folder: params.yaml, contract.yaml, data/sales/, data/prices/ and a trained model."""
    root = tmp_path_factory.mktemp("tiny")
    (root / "params.yaml").write_text(yaml.safe_dump(tiny_params(root)), encoding="utf-8")
    (root / "contract.yaml").write_text(yaml.safe_dump(CONTRACT), encoding="utf-8")
    (root / "data" / "sales").mkdir(parents=True)
    (root / "data" / "sales" / "2002.csv").write_text("id\n1\n", encoding="utf-8")  # only its name is read
    (root / "data" / "prices").mkdir()
    (root / "data" / "prices" / "2002.csv").write_text("shop,price\na,1.0\nb,2.0\n", encoding="utf-8")
    params = load_params(root / "params.yaml")
    rng = np.random.default_rng(0)
    rows = pd.DataFrame(
        {
            "shop": rng.choice(["a", "b"], 400),
            "distance": rng.uniform(0, 5000, 400),
            "visits": rng.integers(0, 100, 400),
        }
    )
    rows["price"] = rng.uniform(0, 3, 400)
    rows[LABEL] = (rows["distance"] + 1000 * rows["price"] + rng.normal(0, 1000, 400) > 3500).astype("int64")
    save_model(train_model(rows, params), root / "model.skops")
    return root


def six_rows(**columns) -> pd.DataFrame:
    """Six rows to score, of the year 2002 as the source writes it (an integer); `columns` replace columns."""
    rows = pd.DataFrame(
        {
            "id": range(1, 7),
            "year": 2002,
            "shop": ["a", "b", "a", "b", "a", "b"],
            "distance": [100.0, 2000.0, 3000.0, 4000.0, 5000.0, 600.0],
            "visits": [1, 2, 3, 4, 5, 6],
        }
    )
    return rows.assign(**columns)


def run(project, rows: pd.DataFrame, *args: str):
    """`pipeline predict` on `rows` (written as CSV) in the tiny project: the result and the output file."""
    rows.to_csv(project / "score.csv", index=False)
    out = project / "predictions.csv"
    out.unlink(missing_ok=True)
    app = typer.Typer()
    app.command()(guarded(predict.main))
    argv = ["--input", str(project / "score.csv"), "--out", str(out), "--params", str(project / "params.yaml")]
    return CliRunner().invoke(app, [*argv, *args]), out


# ---- one time parser: the time column is read as ingest reads the source ----------------------------------


def test_an_integer_year_is_that_year_not_1970(project):
    params = load_params(project / "params.yaml")
    rows = predict.with_iso_times(pd.DataFrame({"year": [2002, 2002, 2003]}), params, "score.csv")
    assert rows["year"].tolist() == ["2002-01-01T00:00:00Z", "2002-01-01T00:00:00Z", "2003-01-01T00:00:00Z"]
    assert predict.periods_of(rows, params, "year") == ["2002", "2003"]


def test_rows_of_an_integer_year_are_scored_with_that_years_tables(project):
    result, out = run(project, six_rows())
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(out)
    assert scored["year"].tolist() == [2002] * 6  # the time as the input wrote it
    params, model = load_params(project / "params.yaml"), load_model(project / "model.skops")
    rows = six_rows().assign(price=six_rows()["shop"].map({"a": 1.0, "b": 2.0}))  # the prices of 2002
    assert np.allclose(scored["score"], model.predict_proba(rows[params.features.inputs])[:, 1])


def test_us_style_dates_are_read_as_the_source_writes_them(project):
    params = load_params(project / "params.yaml")
    local = params.model_copy(update={"prepare": params.prepare.model_copy(update={"timezone": "America/New_York"})})
    rows = predict.with_iso_times(pd.DataFrame({"year": ["11/8/2016", "12/31/2016"]}), local, "score.csv")
    assert rows["year"].tolist() == ["2016-11-08T05:00:00Z", "2016-12-31T05:00:00Z"]  # midnight in New York
    assert predict.periods_of(rows, local, "month") == ["2016-11", "2016-12"]


def test_rows_copied_from_data_keep_their_iso_times_whatever_the_source_format(project):
    params = load_params(project / "params.yaml")
    us = params.model_copy(update={"prepare": params.prepare.model_copy(update={"time_format": "%m/%d/%Y"})})
    rows = predict.with_iso_times(pd.DataFrame({"year": ["2016-11-08T05:00:00Z", "11/9/2016"]}), us, "score.csv")
    assert rows["year"].tolist() == ["2016-11-08T05:00:00Z", "2016-11-09T00:00:00Z"]


def test_an_unreadable_time_names_the_column_and_an_example(project):
    params = load_params(project / "params.yaml")
    with pytest.raises(PipelineError, match=r"score\.csv: column 'year': 1 row\(s\) .*e\.g\. 'soon'"):
        predict.with_iso_times(pd.DataFrame({"year": ["2002", "soon", "2003"]}), params, "score.csv")


# ---- row-level rules per row; batch statistics are validate's --------------------------------------------


@pytest.mark.parametrize("column", ["distance", "visits"])  # a float column, and an int column (pandas: float)
def test_missing_values_in_a_feature_are_scored(project, column):
    rows = six_rows(**{column: six_rows()[column].where(lambda v: ~v.index.isin([1, 4]))})  # 2 of 6: over 5 %
    result, out = run(project, rows)
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(out)
    assert scored["score"].notna().all() and scored["problem"].isna().all()
    assert scored["year"].tolist() == [2002] * 6  # the time as the input wrote it


def test_a_row_out_of_range_is_not_scored_and_says_why(project, caplog):
    rows = six_rows(distance=[100.0, 99999.0, 3000.0, 4000.0, 5000.0, 600.0])
    with caplog.at_level(logging.WARNING):
        result, out = run(project, rows)
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(out, keep_default_na=False)
    assert list(scored.columns) == ["id", "year", "score", "decision", "positive_class", "model_version", "problem"]
    assert scored["id"].tolist() == [1, 2, 3, 4, 5, 6]  # every input row, in order
    assert scored["problem"].tolist() == ["", "column 'distance': le 6000 (value 99999.0)", "", "", "", ""]
    assert scored.loc[1, ["score", "decision"]].tolist() == ["", ""]
    assert (scored.drop(index=1)["score"] != "").all() and set(scored.drop(index=1)["decision"]) <= {"0", "1"}
    assert "1 of 6 rows not scored" in caplog.text


def test_strict_refuses_the_whole_file_and_writes_nothing(project):
    result, out = run(project, six_rows(distance=[100.0, 99999.0, 3000.0, 4000.0, 5000.0, 600.0]), "--strict")
    assert result.exit_code == 1
    assert "invalid input, nothing was scored:" in result.output
    assert "score.csv: row 2: column 'distance': le 6000 (value 99999.0)" in result.output
    assert not out.exists()


def test_text_in_a_number_column_and_an_unknown_category_are_row_problems(project):
    # pandera cannot compare 'far' with 6000: the range of the other rows is checked once 'far' is set aside
    rows = six_rows(distance=["far", "99999", "3000", "4000", "5000", "600"], shop=["a", "b", "z", "b", "a", "b"])
    result, out = run(project, rows)
    assert result.exit_code == 0, result.output
    problems = pd.read_csv(out, keep_default_na=False)["problem"].tolist()
    assert problems[:3] == [
        "column 'distance': coerce_dtype('float64') (value 'far')",
        "column 'distance': le 6000 (value 99999.0)",
        "column 'shop': isin allowed values (value 'z')",
    ]
    assert problems[3:] == ["", "", ""]


def test_a_file_without_a_scorable_row_is_refused(project):
    result, out = run(project, six_rows(visits=[200, 300, 400, 500, 600, 700]))
    assert result.exit_code == 1 and "row 6: column 'visits': le 100 (value 700)" in result.output
    assert not out.exists()


def test_batch_statistics_do_not_apply_to_a_file_to_score(project):
    rows = six_rows(id=[1, 1, 1, 2, 2, 2])  # repeats the unique key; six rows, under the contract's 100
    result, out = run(project, rows)
    assert result.exit_code == 0, result.output
    assert pd.read_csv(out)["score"].notna().all()
