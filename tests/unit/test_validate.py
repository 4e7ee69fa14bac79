"""The bad-input matrix: each kind of broken batch, made here from a valid two-month sample of the real data,
ends in its documented outcome: rejected with the exact file/column/rule, or accepted with a warning.

Runs `validate` in-process on files written by the embedded source (offline); the e2e tests check that a
rejection through `pipeline run` leaves data, model, metrics and data.dvc untouched.
"""

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.contract import Period, dump_contract, infer_contract, load_contract
from pipeline.engine import Parts
from pipeline.ingest import build
from pipeline.validate import validate

FEB = "data/flights/2013-02.csv"


@pytest.fixture(scope="module")
def sample(tmp_path_factory, params):
    data = tmp_path_factory.mktemp("sample") / "data"
    build(params, ["2013-01", "2013-02"], data)
    return data


@pytest.fixture
def data(sample, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # messages name files relative to the project: data/flights/...
    shutil.copytree(sample, tmp_path / "data")
    return tmp_path / "data"


def edit(path, change):
    """Apply `change` to the file's table: it edits the frame in place or returns a new one."""
    frame = pd.read_csv(path)
    changed = change(frame)
    (frame if changed is None else changed).to_csv(path, index=False)


def set_rows(column, value, rows):
    def change(frame):
        frame[column] = frame[column].astype(object)
        frame.loc[frame.index[:rows], column] = value

    return change


def first_line(path):
    return path.read_bytes().split(b"\n")[0]


# case -> (how to break the February batch, outcome, expected message or None for an accepted batch)
CASES = {
    "below-minimum": (
        lambda d: edit(d / "flights/2013-02.csv", set_rows("distance", -5, 12)),
        "failure",
        f"{FEB}: column 'distance': 12 rows below minimum 0 (rule: ge 0)",
    ),
    "above-maximum": (
        lambda d: edit(d / "flights/2013-02.csv", set_rows("hour", 25, 3)),
        "failure",
        f"{FEB}: column 'hour': 3 rows above maximum 23 (rule: le 23)",
    ),
    "renamed-column": (
        lambda d: edit(d / "flights/2013-02.csv", lambda f: f.rename(columns={"distance": "dist"})),
        "failure",
        f"{FEB}: column 'distance': column absent; the new column 'dist' passes its rules: probably renamed "
        "(rule: column_in_dataframe)",
    ),
    "target-missing": (
        lambda d: edit(d / "flights/2013-02.csv", lambda f: f.drop(columns=["arr_delay"])),
        "failure",
        f"{FEB}: column 'arr_delay': column absent (rule: column_in_dataframe)",
    ),
    "wrong-type": (
        lambda d: edit(d / "flights/2013-02.csv", set_rows("distance", "far", 2)),
        "failure",
        f"{FEB}: column 'distance': 2 rows not of the contract's type (rule: coerce_dtype('float64'))",
    ),
    "nan-flood": (
        lambda d: edit(d / "flights/2013-02.csv", set_rows("dep_time", np.nan, 10000)),
        "failure",
        r"column 'dep_time': 10\d\d\d rows missing, more than the 0.15 share allowed \(rule: missing max",
    ),
    "null-in-required": (
        lambda d: edit(d / "flights/2013-02.csv", set_rows("carrier", np.nan, 1)),
        "failure",
        f"{FEB}: column 'carrier': 1 rows missing (the column may not be) (rule: not_nullable)",
    ),
    "unseen-category-fail": (
        lambda d: edit(d / "flights/2013-02.csv", set_rows("origin", "XXX", 4)),
        "failure",
        f"{FEB}: column 'origin': 4 rows not among the allowed values (rule: isin allowed values)",
    ),
    "unseen-category-warn": (
        lambda d: edit(d / "flights/2013-02.csv", set_rows("carrier", "ZZ", 4)),
        "warning",
        f"{FEB}: column 'carrier': 4 rows not among the allowed values (rule: isin allowed values)",
    ),
    "duplicate-rows": (
        lambda d: _append_duplicates(d / "flights/2013-02.csv", 5),
        "failure",
        f"{FEB}: 5 rows repeat the unique key ['carrier', 'flight', 'time_hour', 'origin'] of an earlier row (5 key "
        "values repeated)",
    ),
    "outside-period": (
        lambda d: edit(d / "flights/2013-02.csv", set_rows("time_hour", "2013-03-15T12:00:00Z", 2)),
        "failure",
        f"{FEB}: column 'time_hour': 2 rows outside the file's period 2013-02",
    ),
    "bad-datetime": (
        lambda d: edit(d / "flights/2013-02.csv", set_rows("time_hour", "yesterday", 1)),
        "failure",
        f"{FEB}: column 'time_hour': 1 rows not ISO 8601 datetimes (rule: datetime ISO8601)",
    ),
    "header-only": (
        lambda d: (d / "flights/2013-02.csv").write_bytes(first_line(d / "flights/2013-02.csv") + b"\n"),
        "failure",
        f"{FEB}: no rows (header only)",
    ),
    "empty-file": (
        lambda d: (d / "flights/2013-02.csv").write_bytes(b""),
        "failure",
        f"{FEB}: empty file (no header, no rows)",
    ),
    "wrong-delimiter": (
        lambda d: (d / "flights/2013-02.csv").write_text((d / "flights/2013-02.csv").read_text().replace(",", ";")),
        "failure",
        f"{FEB}: the header is semicolon-separated; expected commas",
    ),
    "binary-garbage": (
        lambda d: (d / "flights/2013-02.csv").write_bytes(b"PK\x03\x04\x00\x00garbage"),
        "failure",
        f"{FEB}: binary content, not CSV text (NUL byte at offset 4)",
    ),
    "not-utf8": (
        lambda d: (d / "flights/2013-02.csv").write_bytes(
            (d / "flights/2013-02.csv").read_bytes().replace(b"EWR", b"\xe9WR", 1)
        ),
        "failure",
        rf"{FEB}: not UTF-8 text \(invalid byte at offset \d+\)",
    ),
    "truncated": (
        lambda d: (d / "flights/2013-02.csv").write_bytes((d / "flights/2013-02.csv").read_bytes()[:-60]),
        "failure",
        rf"{FEB}: truncated: line 24952 ends after \d+ of 19 fields, without a line end",
    ),
    "too-few-rows": (
        lambda d: edit(d / "flights/2013-02.csv", lambda f: f.head(100)),
        "failure",
        f"{FEB}: 100 rows in the file, outside the bounds (rule: rows in [10000, 60000])",
    ),
    "rows-in-two-periods": (
        lambda d: _copy_rows("flights/2013-01.csv", "flights/2013-02.csv", d, 3),
        "failure",
        r"data/flights: 3 rows appear in more than one period's file",
    ),
    "label-rate": (
        lambda d: edit(d / "flights/2013-02.csv", set_rows("arr_delay", 90.0, 30000)),
        "failure",
        rf"{FEB}: column 'arr_delay': \d+ rows labelled, positive rate 1.000 outside the bounds",
    ),
    "leakage-column": (  # any column, a feature or not; named with its file and the rows it was scored on
        lambda d: edit(d / "flights/2013-02.csv", lambda f: f.insert(0, "delay_x2", f["arr_delay"] * 2)),
        "failure",
        rf"{FEB}: column 'delay_x2': \d{{4,5}} rows scored; the column predicts the target almost",
    ),
    "leakage-label-as-text": (
        lambda d: edit(
            d / "flights/2013-02.csv", lambda f: f.insert(0, "late", np.where(f["arr_delay"] > 15, "late", "on time"))
        ),
        "failure",
        rf"{FEB}: column 'late': \d{{4,5}} rows scored; the column predicts the target almost perfectly alone",
    ),
    "unknown-column": (
        lambda d: edit(d / "flights/2013-02.csv", lambda f: f.insert(0, "<img src=x onerror=alert(1)>", 1)),
        "warning",
        f"{FEB}: column '<img src=x onerror=alert(1)>': column not in the contract (rule: extra warn)",
    ),
    "html-in-value": (
        lambda d: edit(d / "flights/2013-02.csv", set_rows("carrier", "<img src=x onerror=alert(1)>", 1)),
        "warning",
        "not among the allowed values",
    ),
    "missing-reference-file": (
        lambda d: (d / "weather/2013-02.csv").unlink(),
        "failure",
        "data/weather: batches missing for 2013-02|data/weather/2013-02.csv: file not found",
    ),
    "duplicate-reference-key": (
        lambda d: _append_duplicates(d / "planes.csv", 1),
        "failure",
        "data/planes.csv: 1 rows repeat the unique key ['tailnum'] of an earlier row (1 key values repeated) "
        "(rule: unique ['tailnum'])",
    ),
}


def _append_duplicates(path, n):
    lines = path.read_bytes().split(b"\n")
    path.write_bytes(b"\n".join(lines[:-1] + lines[1 : n + 1]) + b"\n")


def _copy_rows(source, dest, data, n):
    rows = (data / source).read_bytes().split(b"\n")[1 : n + 1]
    with (data / dest).open("ab") as out:
        out.write(b"\n".join(rows) + b"\n")


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_batch_matrix(data, params, contract, case):
    corrupt, outcome, message = CASES[case]
    corrupt(data)
    report, _ = validate(Path("data"), params, contract)
    matching = [c for c in report["checks"] if message in c["message"] or re.search(message, c["message"])]
    assert matching, "\n".join(c["message"] for c in report["checks"])
    assert {c["severity"] for c in matching} == {outcome}
    assert report["passed"] is (outcome == "warning")


def test_valid_sample_passes_with_only_known_warnings(data, params, contract):
    report, _ = validate(Path("data"), params, contract)
    assert report["passed"] and report["failures"] == 0
    assert {c["rule"] for c in report["checks"]} == {"in planes.tailnum", "in airports.faa"}  # real gaps


def test_bom_crlf_and_quoted_fields_are_accepted(data, params, contract):
    path = data / "flights/2013-02.csv"
    text = path.read_text().replace(",UA,", ',"UA",')
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    report, _ = validate(Path("data"), params, contract)
    assert report["passed"], [c["message"] for c in report["checks"] if c["severity"] == "failure"]


def test_html_values_are_quoted_in_messages_and_examples(data, params, contract):
    edit(data / "flights/2013-02.csv", set_rows("carrier", "<img src=x onerror=alert(1)>", 1))
    report, _ = validate(Path("data"), params, contract)
    (check,) = [c for c in report["checks"] if c["column"] == "carrier" and c["rule"] == "isin allowed values"]
    assert check["examples"] == ["'<img src=x onerror=alert(1)>'"]


def test_files_checked_together_keep_their_own_failures(data, params, contract):
    """Files alike are checked in one pandera call; each failure still names its own file, and the rules that
    hold per file (the share missing, the file's period, the unique key) are judged per file, not per stack."""
    _copy_rows("flights/2013-01.csv", "flights/2013-02.csv", data, 2)  # January rows in February's file
    edit(data / "flights/2013-01.csv", set_rows("hour", 25, 3))
    edit(data / "flights/2013-02.csv", set_rows("dep_time", np.nan, 4000))  # over 0.15 in February, not in both
    report, _ = validate(Path("data"), params, contract)
    failures = sorted((c["file"], c["rule"], c["failing_rows"]) for c in report["checks"] if c["severity"] == "failure")
    missing = int(pd.read_csv(data / "flights/2013-02.csv")["dep_time"].isna().sum())
    key = "['carrier', 'flight', 'time_hour', 'origin']"
    assert failures == [
        ("data/flights", f"unique {key} across periods", 2),
        ("data/flights/2013-01.csv", "le 23", 3),
        (FEB, "missing max 0.15", missing),
        (FEB, "period 2013-02", 2),
    ]


def test_a_key_column_absent_is_reported_once(data, params, contract):
    """A reference table without its key column: the absence, not every row as a duplicate, nor a crash."""
    edit(data / "planes.csv", lambda f: f.rename(columns={"tailnum": "tail"}))
    report, _ = validate(Path("data"), params, contract)
    planes = [c["message"] for c in report["checks"] if c["file"] == "data/planes.csv"]
    assert planes == [
        "data/planes.csv: column 'tailnum': column absent; the new column 'tail' passes its rules: probably renamed "
        "(rule: column_in_dataframe)",
        "data/planes.csv: column 'tail': column not in the contract; it passes the rules of the absent column "
        "'tailnum': probably renamed (rule: extra warn)",
    ]


# Cases a schema inferred from data can catch (inference cannot know the unique keys, and ranges carry a margin).
INFERRED_CATCHES = [
    "below-minimum",
    "renamed-column",
    "wrong-type",
    "nan-flood",
    "null-in-required",
    "outside-period",
    "bad-datetime",
    "header-only",
    "empty-file",
    "wrong-delimiter",
    "binary-garbage",
    "not-utf8",
    "truncated",
    "too-few-rows",
    "missing-reference-file",
]


@pytest.fixture(scope="module")
def inferred(sample, params):
    per_period = {"flights": True, "weather": True}
    period = Period(column=params.prepare.timestamp, timezone=params.prepare.timezone)
    return infer_contract(
        sample,
        batches="flights",
        per_period=per_period,
        target="arr_delay",
        label=params.task.target,
        leakage=["dep_time", "dep_delay", "arr_time", "air_time"],
        period=period,
    )


def test_inferred_contract_accepts_the_data_it_came_from(data, params, inferred, tmp_path):
    (tmp_path / "contract.yaml").write_text(dump_contract(inferred))
    reloaded = load_contract(tmp_path / "contract.yaml")  # what is written reads back as the same contract
    assert reloaded == inferred
    report, _ = validate(Path("data"), params, reloaded)
    assert report["passed"], [c["message"] for c in report["checks"] if c["severity"] == "failure"]
    assert reloaded.tables["flights"].columns["origin"].values == ["EWR", "JFK", "LGA"]
    assert reloaded.tables["planes"].unique == [["tailnum"]]


@pytest.mark.parametrize("case", INFERRED_CATCHES, ids=INFERRED_CATCHES)
def test_inferred_contract_rejects_what_a_schema_can_catch(data, params, inferred, case):
    CASES[case][0](data)
    report, _ = validate(Path("data"), params, inferred)
    assert not report["passed"]
    assert any(c["severity"] == "failure" and "2013-02" in c["message"] for c in report["checks"])


def test_the_inferred_missing_value_rule_holds_for_the_file_with_the_most_missing():
    """The rule is checked per file, so it is proposed from the worst file, not the average of all of them."""
    from pipeline.contract import infer_table

    quiet, stormy = pd.DataFrame({"x": [1.0] * 98 + [None] * 2}), pd.DataFrame({"x": [1.0] * 80 + [None] * 20})
    rule = infer_table([quiet, stormy], True, None, 50).columns["x"].missing
    assert rule.max >= 0.2 and rule.usual >= 0.2


def test_a_strict_table_refuses_unknown_columns(data, params, contract):
    strict = contract.model_copy(
        update={
            "tables": {**contract.tables, "flights": contract.tables["flights"].model_copy(update={"extra": "fail"})}
        }
    )
    edit(data / "flights/2013-02.csv", lambda f: f.insert(0, "gate", "B12"))
    report, _ = validate(Path("data"), params, strict)
    (check,) = [c for c in report["checks"] if c["column"] == "gate"]
    assert (check["severity"], check["rule"]) == ("failure", "extra fail")
    assert not report["passed"]


def test_a_refused_batch_writes_no_report(data, tmp_path):
    """The stage's outputs are in git: `pipeline validate` on a refused batch leaves them as they were."""
    from pipeline.errors import PipelineError
    from pipeline.validate import main
    from tests.conftest import EXAMPLE

    edit(data / "flights/2013-02.csv", set_rows("dep_delay", "late", 3))
    outputs = {tmp_path / "validate.json": "{}\n", tmp_path / "data_quality.json": "{}\n"}
    for path, text in outputs.items():
        path.write_text(text)
    with pytest.raises(PipelineError, match="invalid input"):
        main(
            data=data,
            contract=EXAMPLE / "contract.yaml",
            report=tmp_path / "validate.json",
            quality=tmp_path / "data_quality.json",
            params_file=EXAMPLE / "params.yaml",
        )
    assert {path: path.read_text() for path in outputs} == outputs


# ---- adoption on messy data: duplicate rows, loose bounds, keys (issue 16) ---------------------------------


def _checked(table, frame):
    from pipeline.validate import check_frames

    return check_frames(table, {"2020": frame}, {"2020": "data/t/2020.csv"})[1]["2020"]


def test_exact_duplicate_rows_warn_above_usual_and_fail_above_max():
    from pipeline.contract import Column, Duplicates, Table

    frame = pd.DataFrame({"a": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] * 2, "b": ["x"] * 20})  # 10 rows repeat an earlier one
    table = Table(per_period=True, columns={"a": Column(type="int"), "b": Column(type="str")})
    (found,) = _checked(table, frame)  # the default: any duplicate warns
    assert found["severity"] == "warning" and found["failing_rows"] == 10
    assert found["message"].startswith("data/t/2020.csv: 10 rows repeat an earlier row exactly (50.0% of the file")
    assert found["rule"] == "duplicate rows usual 0"
    loose = table.model_copy(update={"duplicates": Duplicates(usual=0.6, max=0.8)})
    assert _checked(loose, frame) == []
    strict = table.model_copy(update={"duplicates": Duplicates(usual=0.1, max=0.2)})
    (found,) = _checked(strict, frame)
    assert (found["severity"], found["rule"]) == ("failure", "duplicate rows max 0.2")


def test_init_measures_the_duplicate_share_and_proposes_a_pair_key():
    from pipeline.contract import infer_table

    years = [pd.DataFrame({"country": ["A", "B", "C", "C"], "year": [y] * 4, "v": [1, 2, 3, 3]}) for y in (2001, 2002)]
    table = infer_table(years, True, Period(column="year", timezone="UTC"), 50)
    assert table.duplicates.usual >= 0.25 * 1.5 and table.duplicates.max >= 0.25 * 3
    assert table.unique == []  # C repeats within a year: no key
    clean = [f.drop_duplicates() for f in years]
    assert infer_table(clean, True, Period(column="year", timezone="UTC"), 50).unique == [["country", "year"]]


def test_inferred_bounds_of_columns_the_model_never_reads_only_warn():
    from pipeline.contract import infer_table

    accepted = [pd.DataFrame({"feature": [1, 5, 7], "outcome": [1, 5, 7]})]
    table = infer_table(accepted, True, None, 50, loose={"outcome"})
    assert table.columns["outcome"].bounds == "warn" and table.columns["feature"].bounds == "fail"
    found = _checked(table, pd.DataFrame({"feature": [2, 3, 4], "outcome": [10, 2, 3]}))
    assert [(f["column"], f["severity"], f["rule"]) for f in found] == [("outcome", "warning", "le 8")]
    found = _checked(table, pd.DataFrame({"feature": [2, 30, 4], "outcome": [1, 2, 3]}))
    assert [(f["column"], f["severity"]) for f in found] == [("feature", "failure")]


def test_a_row_repeated_in_training_and_evaluation_is_a_leakage_warning(params, tmp_path):
    from pipeline.datatests import straddling_duplicates

    time = params.prepare.timestamp
    older = pd.DataFrame({time: ["2013-01-05T10:00:00Z", "2013-01-06T10:00:00Z"], "x": [1, 2], "y": [0, 1]})
    newer = pd.DataFrame({time: ["2013-02-05T10:00:00Z", "2013-02-06T10:00:00Z"], "x": [1, 3], "y": [0, 1]})
    (found,) = straddling_duplicates(Parts.here({"2013-01": older, "2013-02": newer}), params, tmp_path / "flights")
    assert found["severity"] == "warning" and found["failing_rows"] == 1 and found["file"].endswith("2013-02.csv")
    assert "(leakage)" in found["message"]
    assert (
        straddling_duplicates(Parts.here({"2013-01": older, "2013-02": newer.assign(x=[5, 3])}), params, tmp_path) == []
    )


def test_a_repeat_is_found_across_files_that_read_a_number_differently(params, tmp_path):
    """Each file is hashed alone (the history is never stacked): a count read as an integer in one month and as
    a float in the next (a month with a gap) is still the same value."""
    from pipeline.datatests import straddling_duplicates

    time = params.prepare.timestamp
    older = pd.DataFrame({time: ["2013-01-05T10:00:00Z", "2013-01-06T10:00:00Z"], "x": [1, 2], "y": ["a", "b"]})
    newer = pd.DataFrame({time: ["2013-02-05T10:00:00Z", "2013-02-06T10:00:00Z"], "x": [2.0, np.nan], "y": ["b", "b"]})
    (found,) = straddling_duplicates(Parts.here({"2013-01": older, "2013-02": newer}), params, tmp_path)
    assert found["failing_rows"] == 1 and found["file"].endswith("2013-02.csv")


def test_a_text_target_is_checked_for_leakage_through_its_positive_value(params, contract, tmp_path):
    from pipeline.datatests import leakage

    rng = np.random.default_rng(0)
    target = rng.choice(["alive", "dead"], 400)
    frame = pd.DataFrame(
        {"status": target, "copy": np.where(target == "alive", 1.0, 0.0), "noise": rng.normal(size=400)}
    )
    task = params.task.model_copy(
        update={
            "target": params.task.target.model_copy(update={"column": "status", "threshold": None, "positive": "alive"})
        }
    )
    text = params.model_copy(update={"task": task, "features": params.features.model_copy(update={"identifiers": []})})
    rules = contract.model_copy(
        update={"target": contract.target.model_copy(update={"column": "status"}), "leakage": []}
    )
    found = leakage(Parts.here({"2013-01": frame}), text, rules, tmp_path)
    assert [f["column"] for f in found] == ["copy"]


def test_the_data_tests_across_files_run_where_dask_keeps_the_files(data, params, contract):
    """On Dask each checked file stays on the worker that checked it (a future, never gathered into the stage's
    process), and the data tests across files (a key in two periods, a row repeated across periods, a leaking
    column, references, the quality summary) find on those what they find on the frames pandas holds."""
    from distributed import Client, Future, LocalCluster

    from pipeline.validate import check_table, table_files

    flights = data / "flights/2013-02.csv"
    clean = {}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        dask = params.model_copy(
            update={"engine": params.engine.model_copy(update={"kind": "dask", "address": cluster.scheduler_address})}
        )
        for name, settings in {"pandas": params, "dask": dask}.items():
            clean[name] = validate(Path("data"), settings, contract, summarize=True)
        _copy_rows("flights/2013-01.csv", "flights/2013-02.csv", data, 3)  # keys and rows of January in February
        edit(flights, lambda f: f.assign(copy=f["arr_delay"].fillna(0) > params.task.target.threshold))
        broken = {name: validate(Path("data"), s, contract)[0] for name, s in {"pandas": params, "dask": dask}.items()}
        with Client(cluster) as client:
            parts, _ = check_table(
                contract.tables["flights"], table_files(data, "flights", contract.tables["flights"], []), client
            )
            assert parts.frames and all(isinstance(frame, Future) for frame in parts.frames.values())
    assert clean["dask"] == clean["pandas"] and clean["pandas"][1]["columns"]  # the report and the quality summary
    assert broken["dask"] == broken["pandas"]
    rules = {(c["rule"], c["column"]) for c in broken["dask"]["checks"]}
    key = "['carrier', 'flight', 'time_hour', 'origin']"
    assert {(f"unique {key} across periods", None), ("no duplicate across periods", None)} <= rules
    assert any(rule.startswith("leakage score") and column == "copy" for rule, column in rules)
    assert ("in planes.tailnum", "tailnum") in rules
