"""Source tables: cutting a file by its time column byte for byte, reading compressed files, folders of periods."""

import gzip
import zipfile

import pandas as pd
import pytest

from pipeline.errors import PipelineError
from pipeline.sources import cut_by_time, iso_times, open_table, parse_times, read_source, replace_field

NY = "America/New_York"


def cut(text: str, kind: str = "month", timezone: str = "UTC", column: str = "t"):
    return cut_by_time(text.encode(), path="src.csv", column=column, kind=kind, timezone=timezone)


def written(table, period: str) -> str:
    return table.header + "".join(table.chunks[period])


def test_cut_keeps_every_byte_of_iso_utc_lines_in_source_order():
    text = (
        'x,t,note\r\n1,2013-01-31T23:00:00Z,"a,b"\r\n2,2013-02-01T00:00:00Z,"two\nlines"\r\n'
        "3,2013-01-01T00:00:00Z,  spaced  \r\n"
    )
    table = cut(text)
    assert table.periods == ["2013-01", "2013-02"]
    assert (
        written(table, "2013-01") == 'x,t,note\r\n1,2013-01-31T23:00:00Z,"a,b"\r\n3,2013-01-01T00:00:00Z,  spaced  \r\n'
    )
    assert written(table, "2013-02") == 'x,t,note\r\n2,2013-02-01T00:00:00Z,"two\nlines"\r\n'


@pytest.mark.parametrize(
    ("value", "timezone", "expected", "period"),
    [
        ("2013-03-31 23:30:00", NY, "2013-04-01T03:30:00Z", "2013-03"),  # naive = local: still March in New York
        ("2013-04-01T02:00:00Z", NY, "2013-04-01T02:00:00Z", "2013-03"),  # UTC kept; its local day is 31 March
        ("2013-04-01T02:00:00+02:00", NY, "2013-04-01T00:00:00Z", "2013-03"),  # an offset of its own
        ("2013/04/01", "UTC", "2013-04-01T00:00:00Z", "2013-04"),  # another format, inferred
        ("2013-11-03 01:30:00", NY, "2013-11-03T05:30:00Z", "2013-11"),  # lived twice: the first (EDT)
        ("2013-03-10 02:30:00", NY, "2013-03-10T07:00:00Z", "2013-03"),  # skipped: moved forward to 03:00 EDT
    ],
    ids=["naive-local", "utc-kept", "offset", "slashes", "dst-doubled-hour", "dst-skipped-hour"],
)
def test_cut_rewrites_only_the_time_field(value, timezone, expected, period):
    table = cut(f'a,t,b\n"x,1",{value},7\n', timezone=timezone)
    assert table.chunks == {period: [f'"x,1",{expected},7\n']}


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("quarter", {"2013-Q1": [1, 2], "2013-Q2": [3], "2014-Q1": [4]}), ("year", {"2013": [1, 2, 3], "2014": [4]})],
    ids=["quarter", "year"],
)
def test_cut_by_quarter_and_year_in_local_time(kind, expected):
    # row 2 is 1 April 03:00 UTC, still 31 March (Q1) in New York
    text = "n,t\n1,2013-01-05\n2,2013-04-01T03:00:00Z\n3,2013-04-01 00:00\n4,2014-02-01\n"
    table = cut(text, kind=kind, timezone=NY)
    assert {p: [int(line.split(",")[0]) for line in lines] for p, lines in table.chunks.items()} == expected
    assert table.periods[0] == next(iter(expected)) and table.periods[-1] == list(expected)[-1]


def test_periods_span_from_first_to_last_including_empty_ones():
    assert cut("t\n2013-03-02\n2013-01-02\n").periods == ["2013-01", "2013-02", "2013-03"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "a,t\n1,2013-01-01\n2,soon\n3,later\n",
            r"src.csv: column 't': 2 row\(s\) with a time that does not parse, "
            r"e.g. 'soon' on line 3",
        ),
        ('a,t\n"x\ny",2013-01-01\n2,\n', r"src.csv: column 't': 1 row\(s\) .* e.g. '' on line 4"),
        ("a,b\n1,2\n", r"src.csv: no time column 't' to cut by \(found: 'a', 'b'\)"),
    ],
    ids=["unparsable", "empty-after-multiline-record", "no-column"],
)
def test_cut_refuses(text, message):
    with pytest.raises(PipelineError, match=message):
        cut(text)


def test_cut_refuses_text_that_is_not_utf8():
    with pytest.raises(PipelineError, match=r"src.csv: not UTF-8 text \(invalid byte at offset 8\)"):
        cut_by_time(b"t\n2013-0\xff", path="src.csv", column="t", kind="month", timezone="UTC")


def test_data_s_own_iso_form_is_read_as_such_whatever_the_format_says():
    """A row copied from data/ (ISO 8601 UTC) beside the source's own `%Y`: both read, neither in the wrong zone."""
    times = parse_times(pd.Index(["2002", "2003-01-01T00:00:00Z"]), "America/New_York", "%Y")
    assert list(times) == [pd.Timestamp("2002-01-01 05:00", tz="UTC"), pd.Timestamp("2003-01-01 00:00", tz="UTC")]
    written = iso_times(pd.Series(["2003-01-01T00:00:00Z", "2002"]), timezone="UTC", fmt="%Y", source="f", column="t")
    assert written.tolist() == ["2003-01-01T00:00:00Z", "2002-01-01T00:00:00Z"]


def test_replace_field_keeps_quotes_around_other_fields():
    assert replace_field('"a,""b""",x,"c\nd"\n', 1, "NEW") == '"a,""b""",NEW,"c\nd"\n'
    assert replace_field('"a",x,b\r\n', 1, "NEW") == '"a",NEW,b\r\n'
    assert replace_field("a,b,x\r\n", 2, "NEW") == "a,b,NEW\r\n"
    assert replace_field("a,x,,\n", 1, "NEW") == "a,NEW,,\n"
    assert replace_field("x", 0, "NEW") == "NEW"


def test_read_source_unpacks_zip_and_gzip(tmp_path):
    with zipfile.ZipFile(tmp_path / "t.csv.zip", "w") as archive:
        archive.writestr("t.csv", "a\n1\n")
    (tmp_path / "t.csv.gz").write_bytes(gzip.compress(b"a\n2\n"))
    assert read_source(tmp_path / "t.csv.zip") == b"a\n1\n"
    assert read_source(tmp_path / "t.csv.gz") == b"a\n2\n"
    with zipfile.ZipFile(tmp_path / "two.zip", "w") as archive:
        archive.writestr("a.csv", "a\n")
        archive.writestr("b.csv", "b\n")
    with pytest.raises(PipelineError, match=r"two.zip: a zip source must hold exactly one file"):
        read_source(tmp_path / "two.zip")
    with pytest.raises(PipelineError, match=r"absent.csv: source file not found"):
        read_source(tmp_path / "absent.csv")


def test_a_folder_of_other_periods_than_ingest_period_is_refused(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "2013-Q1.csv").write_text("a\n1\n")
    assert open_table(tmp_path / "in", None, "quarter", "UTC").periods == ["2013-Q1"]
    with pytest.raises(PipelineError, match=r"in: holds quarter files \(2013-Q1, ...\) but ingest.period is month"):
        open_table(tmp_path / "in", None, "month", "UTC")


def test_a_folder_writes_only_the_released_periods(tmp_path):
    (tmp_path / "in").mkdir()
    for name in ("2013", "2014", "2015"):
        (tmp_path / "in" / f"{name}.csv").write_text(f"a\n{name}\n")
    open_table(tmp_path / "in", None, "year", "UTC").write(tmp_path / "out", "t", ["2013", "2014"])
    assert sorted(p.name for p in (tmp_path / "out" / "t").iterdir()) == ["2013.csv", "2014.csv"]
    assert (tmp_path / "out" / "t" / "2014.csv").read_text() == "a\n2014\n"
