"""`pipeline init` in a fresh clone on real data shipped in PyPI packages: adopt, run green, undo through git.

Issue 8's acceptance: a team adopts the template with `init` and configuration only. The CGM data
(bokeh_sampledata: a glucose monitor's readings every 5 minutes, 2010-03..2010-10) is a regression task cut
into months; the window is kept to three months (two to learn from) so the run stays short.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
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


def test_cgm_regression_adopted_runs_green_and_is_undone_by_git(origin, tmp_path, cgm):
    repo = clone(origin, tmp_path / "repo")
    example = digest(repo / "data")
    adopted = pipeline("init", "--data", str(cgm), "--target", "glucose", "--task", "regression",
                       "--time", "datetime", "--through", "2010-05", "--title", "Glucose", cwd=repo)
    assert "17710 rows in 3 periods (month) 2010-03..2010-05 released as table 'cgm' (of 8 available)" in adopted.stdout
    assert "features: numeric isig; categorical (none); calendar weekday, hour" in adopted.stdout
    assert sorted(p.name for p in (repo / "data" / "cgm").iterdir()) == ["2010-03.csv", "2010-04.csv", "2010-05.csv"]
    assert (repo / "site" / "mkdocs.yml").read_text().startswith("site_name: Glucose\n")
    assert "TODO" in (repo / "site" / "model_card.md").read_text()
    assert not (repo / "dvc.lock").exists()

    pipeline("run", cwd=repo)
    metrics = json.loads((repo / "outputs" / "metrics" / "evaluate.json").read_text())
    assert metrics["task"] == "regression" and metrics["rows"] == 8411
    assert metrics["model"]["mae"]["value"] < metrics["baseline"]["mae"]["value"]  # learns from isig
    assert json.loads((repo / "outputs" / "metrics" / "drift.json").read_text())["columns"]
    assert "glucose" in (repo / "site" / "build" / "model-card" / "index.html").read_text()

    sh("git", "checkout", "--", ".", cwd=repo)
    sh("git", "clean", "-fdq", cwd=repo)
    shutil.rmtree(repo / "sources")
    pipeline("ingest", cwd=repo)
    assert sh("git", "status", "--porcelain", cwd=repo).stdout == ""
    assert digest(repo / "data") == example


def test_seattle_weather_multiclass_by_year_runs_green(origin, tmp_path):
    """vega_datasets' Seattle weather (daily, 2012-2015, dates like 2012/01/01): five classes, cut by year."""
    data = Path(shutil.copyfile(package_file("vega_datasets", "seattle-weather.csv"), tmp_path / "seattle-weather.csv"))
    repo = clone(origin, tmp_path / "repo")
    adopted = pipeline("init", "--data", str(data), "--target", "weather", "--task", "multiclass", "--time", "date",
                       "--period", "year", "--through", "2014", cwd=repo)
    assert "1096 rows in 3 periods (year) 2012..2014 released as table 'seattle_weather' (of 4 available)" in adopted.stdout
    assert "(5 classes: drizzle, fog, rain, snow, sun)" in adopted.stdout
    assert "calendar weekday, month" in adopted.stdout  # daily dates: no hour; over a year: months recur
    pipeline("run", cwd=repo)
    metrics = json.loads((repo / "outputs" / "metrics" / "evaluate.json").read_text())
    assert (metrics["task"], metrics["rows"]) == ("multiclass", 365)
    assert sorted(metrics["per_class"]) == ["drizzle", "fog", "rain", "snow", "sun"]
    assert metrics["model"]["f1_macro"]["value"] > metrics["baseline"]["f1_macro"]["value"]
    assert (repo / "site" / "build" / "index.html").exists()
