"""Reading raw files with clear errors; deterministic JSON and model files; refusing untrusted models."""

import json
import subprocess
import sys
import zipfile

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from pipeline.artifacts import load_model, save_model, write_json
from pipeline.batches import period_bounds, period_files, period_of, period_range, read_csv
from pipeline.errors import PipelineError


def touch_batches(folder, names):
    folder.mkdir()
    for name in names:
        (folder / name).write_text("a\n1\n")


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["2013-02.csv", "2013-01.csv", "2012-12.csv"], ["2012-12", "2013-01", "2013-02"]),
        (["2014-Q1.csv", "2013-Q3.csv", "2013-Q4.csv"], ["2013-Q3", "2013-Q4", "2014-Q1"]),
        (["2015.csv", "2013.csv", "2014.csv"], ["2013", "2014", "2015"]),
    ],
    ids=["month", "quarter", "year"],
)
def test_period_files_in_time_order(tmp_path, names, expected):
    touch_batches(tmp_path / "b", names)
    assert list(period_files(tmp_path / "b")) == expected


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["2013-01.csv", "2013-03.csv"], r"batches missing for 2013-02 \(expected one file per month\)"),
        (["2013-Q4.csv", "2014-Q3.csv"], r"batches missing for 2014-Q1, 2014-Q2 \(expected one file per quarter\)"),
        (["2012.csv", "2014.csv"], r"batches missing for 2013 \(expected one file per year\)"),
        (["2013-01.csv", "notes.txt"], r"notes.txt: unexpected file; batches are named YYYY-MM \(month\)"),
        (["2013-13.csv"], r"2013-13.csv: unexpected file"),
        (["2013-Q5.csv"], r"2013-Q5.csv: unexpected file"),
        (
            ["2013-01.csv", "2013-Q1.csv", "2013.csv"],
            r"batch files of different period lengths \(month: 2013-01.csv; quarter: 2013-Q1.csv; year: 2013.csv\)",
        ),
        ([], r"no batch files"),
    ],
    ids=["month-gap", "quarter-gap", "year-gap", "stray-file", "month-13", "quarter-5", "mixed-kinds", "empty"],
)
def test_period_files_refuses(tmp_path, names, message):
    touch_batches(tmp_path / "b", names)
    with pytest.raises(PipelineError, match=message):
        period_files(tmp_path / "b")


@pytest.mark.parametrize(
    ("name", "timezone", "start", "end"),
    [
        ("2013-01", "UTC", "2013-01-01T00:00:00+00:00", "2013-02-01T00:00:00+00:00"),
        ("2013-12", "UTC", "2013-12-01T00:00:00+00:00", "2014-01-01T00:00:00+00:00"),
        ("2013-Q4", "UTC", "2013-10-01T00:00:00+00:00", "2014-01-01T00:00:00+00:00"),
        ("2013", "UTC", "2013-01-01T00:00:00+00:00", "2014-01-01T00:00:00+00:00"),
        # clocks go forward on 10 March 2013 in New York: the month starts at -05:00 and ends at -04:00
        ("2013-03", "America/New_York", "2013-03-01T00:00:00-05:00", "2013-04-01T00:00:00-04:00"),
        ("2013-Q1", "Europe/Paris", "2013-01-01T00:00:00+01:00", "2013-04-01T00:00:00+02:00"),
        # Asuncion skipped the midnight of 1 October 1994: the month began at 01:00 (which ends Q3 there)
        ("1994-10", "America/Asuncion", "1994-10-01T01:00:00-03:00", "1994-11-01T00:00:00-03:00"),
        ("1994-Q3", "America/Asuncion", "1994-07-01T00:00:00-04:00", "1994-10-01T01:00:00-03:00"),
        # Havana lived 00:00-01:00 twice on 1 November 2015: October ends at the first midnight
        ("2015-10", "America/Havana", "2015-10-01T00:00:00-04:00", "2015-11-01T00:00:00-04:00"),
    ],
    ids=[
        "month",
        "december",
        "quarter",
        "year",
        "dst-month",
        "dst-quarter",
        "skipped-midnight",
        "skipped-midnight-end",
        "doubled-midnight",
    ],
)
def test_period_bounds(name, timezone, start, end):
    bounds = period_bounds(name, timezone)
    assert bounds == (pd.Timestamp(start), pd.Timestamp(end))
    assert all(str(b.tz) == timezone for b in bounds)


def test_period_bounds_refuses_a_name_that_is_no_period():
    with pytest.raises(PipelineError, match=r"'2013-1' is not a period name: expected YYYY-MM \(month\)"):
        period_bounds("2013-1", "UTC")


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("month", ["2013-03", "2013-03", "2013-04", "2013-12", "2014-01"]),
        ("quarter", ["2013-Q1", "2013-Q1", "2013-Q2", "2013-Q4", "2014-Q1"]),
        ("year", ["2013", "2013", "2013", "2013", "2014"]),
    ],
    ids=["month", "quarter", "year"],
)
def test_period_of_counts_in_local_time(kind, expected):
    # 03:30 UTC on 1 April is still 31 March in New York; 04:30 UTC on 1 January 2014 is still 2013 there
    times = pd.Series(
        pd.to_datetime(
            [
                "2013-03-31T23:00:00Z",
                "2013-04-01T03:30:00Z",
                "2013-04-01T04:00:00Z",
                "2014-01-01T04:30:00Z",
                "2014-01-01T05:00:00Z",
                None,
            ],
            utc=True,
        )
    )
    found = period_of(times, kind, "America/New_York")
    assert found[:-1].tolist() == expected
    assert pd.isna(found.iloc[-1])  # no time, no period


def test_period_range_spans_years():
    assert period_range("2013-Q3", "2014-Q2") == ["2013-Q3", "2013-Q4", "2014-Q1", "2014-Q2"]
    assert period_range("2012-11", "2013-02") == ["2012-11", "2012-12", "2013-01", "2013-02"]


def test_period_files_missing_folder(tmp_path):
    with pytest.raises(PipelineError, match=r"nowhere: folder of batches not found"):
        period_files(tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", r"empty file \(no header, no rows\)"),
        (b"a,b\n", r"no rows \(header only\)"),
        (b"a,c\n1,2\n", r"missing column\(s\) 'b' \(found: 'a', 'c'\)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe\x00garbage", r"binary content, not CSV text \(NUL byte at offset 8\)"),
    ],
    ids=["empty", "header-only", "missing-column", "binary"],
)
def test_read_csv_refuses(tmp_path, content, message):
    path = tmp_path / "2013-01.csv"
    path.write_bytes(content)
    with pytest.raises(PipelineError, match=message) as info:
        read_csv(path, ["a", "b"])
    assert str(info.value).startswith(str(path))


def test_read_csv_missing_file(tmp_path):
    with pytest.raises(PipelineError, match=r"gone.csv: file not found"):
        read_csv(tmp_path / "gone.csv", ["a"])


def test_write_json_is_sorted_rounded_and_nan_free(tmp_path):
    write_json({"b": np.float64(0.123456789), "a": float("nan"), "c": [np.int64(3)]}, tmp_path / "m.json")
    text = (tmp_path / "m.json").read_text()
    assert text == '{\n  "a": null,\n  "b": 0.123457,\n  "c": [\n    3\n  ]\n}\n'


def model():
    return LogisticRegression().fit(np.eye(4), [0, 1, 1, 0])


def test_model_file_is_byte_identical_across_processes(tmp_path):
    """skops names arrays by id() and stamps times; two separate processes must still write the same bytes.

    This process writes one file and a fresh interpreter (its own ids, hash seed and clock) the other."""
    script = (
        "import sys, numpy as np; from sklearn.linear_model import LogisticRegression;"
        "from pipeline.artifacts import save_model;"
        "from pathlib import Path;"
        "save_model(LogisticRegression().fit(np.eye(4), [0, 1, 1, 0]), Path(sys.argv[1]))"
    )
    save_model(model(), tmp_path / "a.skops")
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "b.skops")], check=True)
    assert (tmp_path / "a.skops").read_bytes() == (tmp_path / "b.skops").read_bytes()


def test_model_round_trip(tmp_path):
    save_model(model(), tmp_path / "m.skops")
    loaded = load_model(tmp_path / "m.skops")
    np.testing.assert_array_equal(loaded.predict_proba(np.eye(4)), model().predict_proba(np.eye(4)))


def test_untrusted_type_is_refused(tmp_path):
    """A model file naming a type outside the trusted list must not load (it could run code)."""
    save_model(model(), tmp_path / "m.skops")
    with zipfile.ZipFile(tmp_path / "m.skops") as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    schema = json.loads(entries["schema.json"])
    schema["__module__"], schema["__class__"] = "os", "system"
    entries["schema.json"] = json.dumps(schema).encode()
    with zipfile.ZipFile(tmp_path / "evil.skops", "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    with pytest.raises(PipelineError, match=r"evil.skops: refusing to load untrusted type\(s\): os.system"):
        load_model(tmp_path / "evil.skops")


def test_not_a_model_file(tmp_path):
    (tmp_path / "m.skops").write_text("not a zip")
    with pytest.raises(PipelineError, match=r"m.skops: cannot load the model"):
        load_model(tmp_path / "m.skops")


def test_read_csv_keeps_types(tmp_path):
    (tmp_path / "t.csv").write_text("a,b\n1,x\n2,\n")
    frame = read_csv(tmp_path / "t.csv", ["a"])
    assert frame["a"].tolist() == [1, 2] and pd.isna(frame["b"].iloc[1])
