"""`pipeline ingest` on a team's own sources, with real git and DVC: one file cut by quarter (`dvc add`, pulled
when absent), a folder where batch files arrive, and remote storage through `dvc import-url` (updated, so CT
sees new data). Small synthetic CSV files keep each test to a few seconds.
"""

import textwrap
from pathlib import Path

import pytest
import yaml

from pipeline.config import load_params
from pipeline.ingest import tracked
from tests.conftest import EXAMPLE
from tests.repos import pipeline, sh

pytestmark = pytest.mark.e2e

EVENTS = textwrap.dedent("""\
    id,when,value
    1,2013-01-15 10:00,"a,1"
    2,2013-03-31 22:30,2
    3,2013-04-01T01:00:00Z,3
    4,2013-07-02 00:00,4
    """)


def project(root, tables: dict, batches: str, period: str):
    """A git + DVC repository whose params.yaml is the template's with this `ingest` section."""
    root.mkdir()
    params = yaml.safe_load((EXAMPLE / "params.yaml").read_text())
    params["ingest"] = {"period": period, "source": {"tables": tables}}
    params["prepare"] = {**params["prepare"], "batches": batches, "timezone": "America/New_York"}
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    sh("git", "init", "-q", "-b", "main", cwd=root)
    sh("dvc", "init", "-q", cwd=root)
    return root


def commit(repo, message="step"):
    sh("git", "add", "-A", cwd=repo)
    sh("git", "commit", "-qm", message, cwd=repo)


def files(folder):
    return sorted(p.name for p in folder.iterdir())


def test_one_file_cut_by_quarter_is_pulled_when_absent(tmp_path):
    repo = project(tmp_path / "repo", {"events": {"path": "sources/events.csv", "time": "when"}}, "events", "quarter")
    (repo / "sources").mkdir()
    (repo / "sources" / "events.csv").write_text(EVENTS)
    sh("dvc", "add", "-q", "sources/events.csv", cwd=repo)
    sh("dvc", "remote", "add", "-q", "-d", "storage", str(tmp_path / "storage"), cwd=repo)
    sh("dvc", "push", "-q", "sources/events.csv.dvc", cwd=repo)
    commit(repo)
    (repo / "sources" / "events.csv").unlink()  # a fresh clone has the .dvc file, not the data

    result = pipeline("ingest", "--next", cwd=repo)
    assert result.stdout.strip() == "released 2013-Q1; data/ now holds 2013-Q1..2013-Q1 (recorded in data.dvc)"
    assert "pulled sources/events.csv" in result.stderr
    # naive times are New York's, written in UTC; 1 April 01:00 UTC is still 31 March (Q1) in New York
    assert (repo / "data" / "events" / "2013-Q1.csv").read_text() == (
        'id,when,value\n1,2013-01-15T15:00:00Z,"a,1"\n2,2013-04-01T02:30:00Z,2\n3,2013-04-01T01:00:00Z,3\n'
    )

    result = pipeline("ingest", "--through", "2013-Q3", cwd=repo)
    assert result.stdout.strip() == (
        "released 2013-Q2, 2013-Q3; data/ now holds 2013-Q1..2013-Q3 (recorded in data.dvc)"
    )
    assert files(repo / "data" / "events") == ["2013-Q1.csv", "2013-Q2.csv", "2013-Q3.csv"]
    assert (repo / "data" / "events" / "2013-Q2.csv").read_text() == "id,when,value\n"  # no row that quarter
    assert yaml.safe_load((repo / "data.release.yaml").read_text()) == {
        "released": ["2013-Q1", "2013-Q2", "2013-Q3"],
        "source": "sources/events.csv",
    }
    assert pipeline("ingest", "--next", cwd=repo).stdout.strip() == (
        "nothing to release: all 3 periods of the sources/events.csv source are released already"
    )


def test_a_folder_where_batches_arrive_and_a_whole_reference_table(tmp_path):
    tables = {"batches": {"path": "incoming"}, "shops": {"path": "shops.csv"}}
    repo = project(tmp_path / "repo", tables, "batches", "month")
    (repo / "incoming").mkdir()
    for month in ("2013-01", "2013-02"):
        (repo / "incoming" / f"{month}.csv").write_text(f"shop,when\n1,{month}-03T00:00:00Z\n")
    (repo / "shops.csv").write_text("shop,name\n1,corner\n")
    commit(repo)

    assert "released 2013-01, 2013-02;" in pipeline("ingest", "--through", "2013-02", cwd=repo).stdout
    assert files(repo / "data") == ["batches", "shops.csv"]
    assert files(repo / "data" / "batches") == ["2013-01.csv", "2013-02.csv"]
    assert (repo / "data" / "shops.csv").read_text() == "shop,name\n1,corner\n"
    commit(repo, "released")

    (repo / "incoming" / "2013-03.csv").write_text("shop,when\n1,2013-03-09T00:00:00Z\n")  # a batch arrives
    assert "released 2013-03;" in pipeline("ingest", "--next", cwd=repo).stdout
    assert (repo / "data" / "batches" / "2013-03.csv").read_bytes() == (repo / "incoming" / "2013-03.csv").read_bytes()

    (repo / "incoming" / "2013-05.csv").write_text("shop,when\n1,2013-05-09T00:00:00Z\n")  # April got lost
    before = (repo / "data.dvc").read_text()
    lost = pipeline("ingest", "--next", cwd=repo, check=False)
    assert lost.returncode == 1
    assert lost.stderr.strip() == "error: incoming: batches missing for 2013-04 (expected one file per month)"
    assert (repo / "data.dvc").read_text() == before


def test_import_url_source_is_updated_so_new_data_is_released(tmp_path, monkeypatch):
    remote = tmp_path / "bucket"  # stands in for S3, GCS, Azure, SSH or HTTP storage
    remote.mkdir()
    (remote / "events.csv").write_text("id,when\n1,2013-01-05T10:00:00Z\n")
    repo = project(tmp_path / "repo", {"events": {"path": "sources/events.csv", "time": "when"}}, "events", "month")
    (repo / "sources").mkdir()  # dvc import-url needs the destination's folder
    sh("dvc", "import-url", "-q", str(remote / "events.csv"), "sources/events.csv", cwd=repo)
    commit(repo)
    monkeypatch.chdir(repo)  # source paths are relative to the repository
    assert tracked(load_params("params.yaml")) == [Path("sources/events.csv.dvc")]  # what CT may commit

    assert "released 2013-01;" in pipeline("ingest", "--next", cwd=repo).stdout
    commit(repo, "released 2013-01")
    assert "nothing to release: all 1 periods" in pipeline("ingest", "--next", cwd=repo).stdout

    with (remote / "events.csv").open("a") as more:
        more.write("2,2013-02-07T10:00:00Z\n")  # new data lands in the remote storage
    dvc_file_before = (repo / "sources" / "events.csv.dvc").read_text()
    result = pipeline("ingest", "--next", cwd=repo)
    assert result.stdout.strip() == "released 2013-02; data/ now holds 2013-01..2013-02 (recorded in data.dvc)"
    assert "updated sources/events.csv" in result.stderr
    assert (repo / "data" / "events" / "2013-02.csv").read_text() == "id,when\n2,2013-02-07T10:00:00Z\n"
    assert (repo / "sources" / "events.csv.dvc").read_text() != dvc_file_before  # CT commits it with the release
    commit(repo, "released 2013-02")

    fresh = tmp_path / "fresh"  # a clone has neither data/ nor the import: it is fetched from its URL again
    sh("git", "clone", "-q", str(repo), str(fresh), cwd=tmp_path)
    result = pipeline("ingest", cwd=fresh)
    assert result.stdout.strip() == "rebuilt data/ from the sources/events.csv source (2 periods); it matches data.dvc"
    assert sh("git", "status", "--porcelain", cwd=fresh).stdout == ""
