"""`pipeline init` in a fresh clone on real data shipped in PyPI packages: adopt, run green, undo through git.

Issue 8's acceptance: a team adopts the template with `init` and configuration only. The CGM data
(bokeh_sampledata: a glucose monitor's readings every 5 minutes, 2010-03..2010-10) is a regression task cut
into months: its adoption through pipeline, gate, drift, site and the promotion pull request is the guide's
own test (tests/e2e/test_guide.py); here it is undone through git and imported from remote storage. Seattle
weather is the multiclass one, adopted and gated here.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pytest

from tests.repos import clone, digest, pipeline, sh

pytestmark = pytest.mark.e2e


def package_file(package: str, name: str) -> Path:
    """A data file inside an installed package (found without importing it)."""
    return Path(next(iter(importlib.util.find_spec(package).submodule_search_locations))) / "_data" / name


@pytest.fixture
def cgm(tmp_path) -> Path:
    """The CGM readings, copied where a team would have them (outside the repository)."""
    return Path(shutil.copyfile(package_file("bokeh_sampledata", "CGM.csv.gz"), tmp_path / "CGM.csv.gz"))


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


def test_adoption_is_undone_through_git(origin, tmp_path, cgm):
    repo = clone(origin, tmp_path / "repo")
    example = digest(repo / "data")
    adopt_cgm(repo, cgm)
    assert sh("git", "status", "--porcelain", cwd=repo).stdout != ""
    sh("git", "checkout", "--", ".", cwd=repo)
    sh("git", "clean", "-fdq", cwd=repo)
    shutil.rmtree(repo / "sources")  # the data itself: ignored by git, tracked by DVC
    pipeline("ingest", cwd=repo)
    assert sh("git", "status", "--porcelain", cwd=repo).stdout == ""
    assert digest(repo / "data") == example


def test_seattle_weather_multiclass_by_quarter_runs_green_and_its_next_quarter_is_gated(origin, tmp_path):
    """vega_datasets' Seattle weather (daily, 2012-2015, dates like 2012/01/01): five classes, cut by quarter.

    A team adopts it up to 2015-Q3, stores the data in a DVC remote and pushes; a fresh clone then does what
    continuous training does with the next quarter: release it, re-run, and gate the retrained model against
    the one `main` pins, on that same quarter.
    """
    data = Path(shutil.copyfile(package_file("vega_datasets", "seattle-weather.csv"), tmp_path / "seattle-weather.csv"))
    bare = Path(shutil.copytree(origin, tmp_path / "origin.git"))
    repo = clone(bare, tmp_path / "repo")
    adopted = pipeline(
        "init",
        "--data",
        str(data),
        "--target",
        "weather",
        "--task",
        "multiclass",
        "--time",
        "date",
        "--period",
        "quarter",
        "--through",
        "2015-Q3",
        cwd=repo,
    )
    assert "1369 rows in 15 periods (quarter) 2012-Q1..2015-Q3 released as table 'seattle_weather'" in adopted.stdout
    assert "(5 classes: drizzle, fog, rain, snow, sun)" in adopted.stdout
    assert "calendar weekday, month" in adopted.stdout  # daily dates: no hour; over a year: months recur
    pipeline("run", "--no-site", cwd=repo)
    sh(sys.executable, "-m", "dvc", "remote", "add", "-d", "storage", str(tmp_path / "bucket"), cwd=repo)
    sh(sys.executable, "-m", "dvc", "push", "-q", cwd=repo)
    sh("git", "add", "-A", cwd=repo)
    sh("git", "commit", "-qm", "adopt the Seattle weather", cwd=repo)
    sh("git", "push", "-q", "origin", "main", cwd=repo)

    fresh = tmp_path / "fresh"
    sh("git", "clone", "-q", str(bare), str(fresh), cwd=tmp_path)
    released = pipeline("ingest", "--next", cwd=fresh)
    assert "released 2015-Q4" in released.stdout
    pipeline("run", cwd=fresh)
    metrics = json.loads((fresh / "outputs" / "metrics" / "evaluate.json").read_text())
    assert (metrics["task"], metrics["primary"], metrics["rows"]) == ("multiclass", "f1_macro", 92)
    assert sorted(metrics["per_class"]) == ["drizzle", "fog", "rain", "snow", "sun"]
    assert metrics["model"]["f1_macro"]["value"] > metrics["baseline"]["f1_macro"]["value"]
    assert json.loads((fresh / "outputs" / "plots" / "confusion.json").read_text())["confusion"]
    drift = json.loads((fresh / "outputs" / "metrics" / "drift.json").read_text())
    assert drift["current"] == "2015-Q4" and drift["prediction"]["test"] == "chi2" and drift["columns"]
    card = (fresh / "site" / "build" / "model-card" / "index.html").read_text()
    assert "Confusion matrix" in card and "drizzle" in card and "f1_macro" in card

    status = pipeline("gate", "--base", "origin/main", cwd=fresh, check=False).returncode
    decision = json.loads((fresh / "outputs" / "gate" / "decision.json").read_text())
    assert (decision["period"], decision["rows"], decision["primary"]["metric"]) == ("2015-Q4", 92, "f1_macro")
    assert {0: "promote", 3: "reject"}[status] == decision["decision"] and decision["reasons"]
    assert sh("git", "rev-parse", "origin/main", cwd=fresh).stdout.startswith(decision["champion"]["rev"])


def test_remote_storage_is_imported_the_dvc_way(origin, tmp_path, cgm):
    """`--import-url`: the data stays in (here a local stand-in for) remote storage; DVC records where it is."""
    storage = tmp_path / "bucket"
    storage.mkdir()
    shutil.move(cgm, storage / "CGM.csv.gz")
    repo = clone(origin, tmp_path / "repo")
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
