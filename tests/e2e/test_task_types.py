"""Multiclass and regression end to end on real data: a small project built by hand (no `pipeline init`), run by
DVC from the template's own dvc.yaml (validate -> prepare -> train -> evaluate, drift, report), then the site.

- multiclass: vega_datasets' seattle-weather (1,461 days, 2012-2015): `weather` from precipitation,
  temperatures, wind and the month, in quarterly batch files (2012-Q1.csv ...).
- regression: bokeh_sampledata's CGM (52k readings of a glucose monitor, 2010-03..10): `glucose` from the
  sensor signal `isig` and the hour, in monthly batch files; its naive times are written ISO 8601 UTC.

The assertions read what the pages show: the task's metrics, its figure, its per-period metric, and none of
the other task types' sections.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from pipeline.artifacts import read_json
from pipeline.batches import period_of
from tests.conftest import EXAMPLE, ROOT, command_env
from tests.repos import shared


def packaged(package: str, name: str) -> Path:
    return Path(importlib.util.find_spec(package).submodule_search_locations[0]) / "_data" / name


def run(*args: str, cwd: Path) -> str:
    done = subprocess.run(args, cwd=cwd, env=command_env(), capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def project_params(
    table: str, target: str, task: str, features: dict, slices: dict, timestamp: str, calendar: list[str]
) -> dict:
    """The template's params.yaml with this project's table, target, task, features and small-data knobs."""
    params = yaml.safe_load((EXAMPLE / "params.yaml").read_text(encoding="utf-8"))
    params["ingest"] = {"period": "month", "source": {"tables": {table: {"path": f"sources/{table}"}}}}
    params["prepare"] = {"batches": table, "timestamp": timestamp, "timezone": "UTC", "calendar": calendar, "joins": []}
    params["task"] = {"type": task, "target": {"column": target}}
    params["features"] = {**features, "identifiers": []}
    params["train"] |= {"monotonic": {}, "hyperparameters": {"max_iter": 50, "learning_rate": 0.1}}
    params["model_checks"] = {"invariant": [], "directional": []}  # the example's checks name its own columns
    params["evaluate"]["bootstrap"]["resamples"] = 50
    params["evaluate"]["slices"] = slices
    params["gate"]["min_rows"] = 50
    return params


def build_project(tmp_path: Path, frame: pd.DataFrame, table: str, period: str, params: dict) -> Path:
    """A git + DVC project: the batch files, params.yaml, an inferred contract, dvc.yaml and the site's sources.

    `period` cuts the rows as `ingest` would cut a single file (by the timestamp, here in UTC).
    """
    project = tmp_path / "project"
    (project / "data" / table).mkdir(parents=True)
    stamp = params["prepare"]["timestamp"]
    periods = period_of(pd.to_datetime(frame[stamp], utc=True), period, "UTC")
    for name, rows in frame.groupby(periods, sort=True):
        rows.to_csv(project / "data" / table / f"{name}.csv", index=False, lineterminator="\n")
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    shutil.copyfile(ROOT / "dvc.yaml", project / "dvc.yaml")
    shutil.copyfile(ROOT / "README.md", project / "README.md")  # the site's guide page is its section
    (project / "pipeline").symlink_to(ROOT / "pipeline")  # the stages' code, a dependency of each stage
    (project / "site").mkdir()
    for name in ("mkdocs.yml", "hooks.py"):
        shutil.copyfile(ROOT / "site" / name, project / "site" / name)
    shutil.copytree(ROOT / "site" / "overrides", project / "site" / "overrides")
    (project / "site" / "model_card.md").write_text("## Intended use\n\nA test project.\n", encoding="utf-8")
    (project / ".gitignore").write_text("/data\n/outputs/prepared\n/outputs/model\n/site/build\n", encoding="utf-8")
    run("git", "init", "--quiet", "-b", "main", cwd=project)
    run("dvc", "init", "--quiet", cwd=project)
    run(sys.executable, "-m", "pipeline", "infer-contract", cwd=project)
    return project


def reproduce(project: Path) -> None:
    run("dvc", "repro", "--quiet", cwd=project)
    run(sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-f", "site/mkdocs.yml", cwd=project)


@pytest.fixture(scope="session")
def seattle(tmp_path_factory) -> Path:
    """The multiclass project, reproduced (once per session, whichever xdist worker asks first; read-only)."""
    return shared(tmp_path_factory, "seattle", build_seattle)


def build_seattle(folder: Path) -> Path:
    frame = pd.read_csv(packaged("vega_datasets", "seattle-weather.csv"))
    frame["date"] = pd.to_datetime(frame["date"], format="%Y/%m/%d").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    params = project_params(
        "days",
        "weather",
        "multiclass",
        {"categorical": [], "numeric": ["precipitation", "temp_max", "temp_min", "wind", "month"]},
        {"columns": ["temp_max"], "bands": {"temp_max": [-10, 10, 20, 40]}, "min_rows": 20},
        "date",
        ["month"],
    )
    project = build_project(folder, frame, "days", "quarter", params)
    reproduce(project)
    return project


@pytest.fixture(scope="session")
def cgm(tmp_path_factory) -> Path:
    """The regression project, reproduced (once per session, whichever xdist worker asks first; read-only)."""
    return shared(tmp_path_factory, "cgm", build_cgm)


def build_cgm(folder: Path) -> Path:
    frame = pd.read_csv(packaged("bokeh_sampledata", "CGM.csv.gz"), na_values=["nil"])  # nil: no reading
    frame["datetime"] = pd.to_datetime(frame["datetime"]).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    params = project_params(
        "readings",
        "glucose",
        "regression",
        {"categorical": [], "numeric": ["isig", "hour", "weekday"]},
        {"columns": ["hour"], "bands": {"hour": [0, 6, 12, 18, 24]}, "min_rows": 200},
        "datetime",
        ["hour", "weekday"],
    )
    project = build_project(folder, frame, "readings", "month", params)
    reproduce(project)
    return project


def page(project: Path, name: str) -> str:
    return (project / "site" / "docs" / name).read_text(encoding="utf-8")


def test_multiclass_metrics_are_macro_per_class_and_a_confusion_matrix(seattle):
    evaluate = read_json(seattle / "outputs" / "metrics" / "evaluate.json")
    assert evaluate["task"] == "multiclass" and evaluate["primary"] == "f1_macro" and evaluate["threshold"] is None
    assert {"accuracy", "balanced_accuracy", "f1_macro", "roc_auc_ovr", "log_loss"} <= set(evaluate["model"])
    prepare = read_json(seattle / "outputs" / "metrics" / "prepare.json")
    assert prepare["periods"]["evaluation"] == "2015-Q4" and prepare["periods"]["reference"][0] == "2012-Q1"
    assert sum(c["support"] for c in evaluate["per_class"].values()) == evaluate["rows"] == prepare["rows"]["test"]
    confusion = read_json(seattle / "outputs" / "plots" / "confusion.json")["confusion"]
    assert len(confusion) == evaluate["rows"]
    assert not (seattle / "outputs" / "plots" / "roc.json").exists()  # no binary curves
    plots = run("dvc", "plots", "show", "--json", cwd=seattle)
    assert "confusion.json" in plots


def test_the_multiclass_model_card_shows_classes_and_the_confusion_figure(seattle):
    card = page(seattle, "model-card.md")
    per_class = card.split("## Per class", 1)[1].split("##", 1)[0]
    for name in read_json(seattle / "outputs" / "metrics" / "evaluate.json")["per_class"]:
        assert f"| {name} |" in per_class
    assert "![Confusion matrix" in card and (seattle / "site" / "docs" / "figures" / "confusion.png").exists()
    assert "Decision threshold" not in card and "Calibration" not in card
    assert "| f1\\_macro |" in card and "<code>weather</code>" in card  # Markdown-escaped
    assert (seattle / "site" / "build" / "model-card" / "index.html").exists()


def test_multiclass_drift_tests_the_predicted_classes_per_quarter(seattle):
    drift = read_json(seattle / "outputs" / "metrics" / "drift.json")
    assert drift["prediction"]["test"] == "chi2"
    assert [p["period"] for p in drift["timeline"]][-1] == "2015-Q4" and len(drift["timeline"]) == 16
    assert all(p["f1_macro"] is not None for p in drift["timeline"])
    assert "Jensen-Shannon distance" in page(seattle, "drift.md") and "| f1_macro |" not in page(seattle, "drift.md")
    assert "f1\\_macro" in page(seattle, "drift.md")  # the per-period column, escaped for Markdown


def test_regression_metrics_residuals_and_pages(cgm):
    evaluate = read_json(cgm / "outputs" / "metrics" / "evaluate.json")
    assert evaluate["primary"] == "mae" and set(evaluate["model"]) == {"mae", "rmse", "r2"}
    assert evaluate["model"]["mae"]["value"] < evaluate["baseline"]["mae"]["value"]  # isig tracks glucose
    assert "per_class" not in evaluate
    card = page(cgm, "model-card.md")
    assert "![Residuals" in card and (cgm / "site" / "docs" / "figures" / "residuals.png").exists()
    assert "## Per class" not in card and "Decision threshold" not in card
    assert "in the units of <code>glucose</code>" in card
    drift = read_json(cgm / "outputs" / "metrics" / "drift.json")
    assert drift["prediction"]["test"] == "ks" and drift["current"] == "2010-10"
    assert all(p["mae"] > 0 for p in drift["timeline"])
    assert "mean glucose" in page(cgm, "drift.md")


def test_multiclass_predictions_name_the_class_and_its_probability(seattle, tmp_path):
    rows = pd.read_csv(seattle / "data" / "days" / "2015-Q4.csv").drop(columns="weather")  # not known yet
    rows.to_csv(tmp_path / "new.csv", index=False)
    run(
        sys.executable,
        "-m",
        "pipeline",
        "predict",
        "--input",
        str(tmp_path / "new.csv"),
        "--out",
        str(tmp_path / "out.csv"),
        cwd=seattle,
    )
    out = pd.read_csv(tmp_path / "out.csv")
    assert list(out.columns) == ["date", "score", "decision", "model_version"]
    assert out["date"].tolist() == rows["date"].tolist()
    classes = set(read_json(seattle / "outputs" / "metrics" / "evaluate.json")["per_class"])
    assert set(out["decision"]) <= classes and out["score"].between(1 / len(classes), 1).all()
    confusion = read_json(seattle / "outputs" / "plots" / "confusion.json")["confusion"]
    assert out["decision"].tolist() == [r["predicted"] for r in confusion]  # what evaluate judged
