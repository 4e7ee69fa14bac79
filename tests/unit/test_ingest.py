"""Releasing periods: which ones, and the release record (the cut itself: test_sources.py)."""

import pytest

from pipeline.errors import PipelineError
from pipeline.ingest import next_periods, read_release, write_release

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


@pytest.mark.parametrize(
    "periods", [["2013-01", "2013-02"], ["2013-Q4", "2014-Q1"], ["2013", "2014"]], ids=["month", "quarter", "year"]
)
def test_release_record_round_trip(tmp_path, periods):
    write_release(tmp_path / "r.yaml", "sources/x.csv", periods)
    assert read_release(tmp_path / "r.yaml") == periods  # a year stays a string, not YAML's integer
    assert read_release(tmp_path / "absent.yaml") == []


def test_release_record_must_list_periods(tmp_path):
    (tmp_path / "r.yaml").write_text("released: 2013-01\n")
    with pytest.raises(PipelineError, match=r"r.yaml: key 'released' must be a list"):
        read_release(tmp_path / "r.yaml")
