"""`pipeline init` in a fresh clone on real data shipped in PyPI packages: adopt, run green, undo through git.

Issue 8's acceptance: a team adopts the template with `init` and configuration only. The CGM data
(bokeh_sampledata: a glucose monitor's readings every 5 minutes, 2010-03..2010-10) is a regression task cut
into months: its adoption through pipeline, gate, drift, site and the promotion pull request is the guide's
own test (tests/e2e/test_guide.py); here it is undone through git and imported from remote storage. Seattle
weather is the multiclass one, adopted and gated once per session (tests/e2e/conftest.py) and checked here.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.adoptions import packaged
from tests.repos import digest, pipeline, sh, template_clone

pytestmark = pytest.mark.e2e


@pytest.fixture
def cgm(tmp_path) -> Path:
    """The CGM readings, copied where a team would have them (outside the repository)."""
    return Path(shutil.copyfile(packaged("bokeh_sampledata", "CGM.csv.gz"), tmp_path / "CGM.csv.gz"))


def adopt_cgm(repo: Path, cgm: Path, *args: str):
    return pipeline(
        "init",
        "--data",
        str(cgm),
        "--target",
        "glucose",
        "--task",
        "regression",
        "--time",
        "datetime",
        "--through",
        "2010-05",
        *args,
        cwd=repo,
    )


def test_adoption_is_undone_through_git(origin, ran_clone, tmp_path, cgm):
    repo = template_clone(origin, tmp_path / "repo")  # what "Use this template" gives: the example, no data yet
    adopt_cgm(repo, cgm)
    assert sh("git", "status", "--porcelain", cwd=repo).stdout != ""
    sh("git", "checkout", "--", ".", cwd=repo)
    sh("git", "clean", "-fdq", cwd=repo)
    shutil.rmtree(repo / "sources")  # the data itself: ignored by git, tracked by DVC
    pipeline("ingest", cwd=repo)
    assert sh("git", "status", "--porcelain", cwd=repo).stdout == ""
    assert digest(repo / "data") == digest(ran_clone / "data")  # the example's data, as any clone rebuilds it


def test_seattle_weather_multiclass_by_quarter_runs_green_with_its_pages(seattle):
    """The multiclass adoption (tests/e2e/conftest.py, `build_seattle`): init's plan, the run and its site."""
    adopted, repo = seattle.said["init"], seattle.repo
    assert "1461 rows in 16 periods (quarter) 2012-Q1..2015-Q4 released as table 'seattle_weather'" in adopted
    assert "(5 classes: drizzle, fog, rain, snow, sun)" in adopted
    assert "calendar weekday, month" in adopted  # daily dates: no hour; over a year: months recur
    metrics = json.loads((repo / "outputs" / "metrics" / "evaluate.json").read_text())
    assert (metrics["task"], metrics["primary"], metrics["rows"]) == ("multiclass", "f1_macro", 92)
    assert sorted(metrics["per_class"]) == ["drizzle", "fog", "rain", "snow", "sun"]
    assert metrics["model"]["f1_macro"]["value"] > metrics["baseline"]["f1_macro"]["value"]
    assert json.loads((repo / "outputs" / "plots" / "confusion.json").read_text())["confusion"]
    drift = json.loads((repo / "outputs" / "metrics" / "drift.json").read_text())
    assert drift["current"] == "2015-Q4" and drift["prediction"]["test"] == "chi2" and drift["columns"]
    card = (repo / "site" / "build" / "model-card" / "index.html").read_text()
    assert "Confusion matrix" in card and "drizzle" in card and "f1_macro" in card


def test_remote_storage_is_imported_the_dvc_way(origin, tmp_path, cgm):
    """`--import-url`: the data stays in (here a local stand-in for) remote storage; DVC records where it is."""
    storage = tmp_path / "bucket"
    storage.mkdir()
    shutil.move(cgm, storage / "CGM.csv.gz")
    repo = template_clone(origin, tmp_path / "repo")
    pipeline(
        "init",
        "--data",
        str(storage / "CGM.csv.gz"),
        "--import-url",
        "--target",
        "glucose",
        "--task",
        "regression",
        "--time",
        "datetime",
        "--through",
        "2010-04",
        cwd=repo,
    )
    pointer = (repo / "sources" / "cgm.csv.gz.dvc").read_text()
    assert "deps:" in pointer and "bucket/CGM.csv.gz" in pointer  # an import: `dvc update` fetches from there
    assert "released: [2010-03, 2010-04]" in (repo / "data.release.yaml").read_text()
    assert "cgm:" in (repo / "contract.yaml").read_text()
