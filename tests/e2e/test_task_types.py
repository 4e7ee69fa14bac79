"""Multiclass and regression end to end on real data: what the pipeline, the pages and `predict` show per task.

Both projects are adoptions of real data shipped in PyPI packages, built once per session (tests/e2e/conftest.py)
and read here:

- multiclass: vega_datasets' seattle-weather (1,461 days, 2012-2015): `weather` from precipitation,
  temperatures, wind and the calendar, in quarters, adopted through 2015-Q4.
- regression: bokeh_sampledata's CGM (a glucose monitor's readings, 2010-03..10): `glucose` from the sensor
  signal `isig` and the calendar, in months; the README guide's replay, after continuous training released
  2010-09.

The assertions read what the pages show: the task's metrics, its figure, its per-period metric, and none of
the other task types' sections.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from pipeline.artifacts import read_json
from tests.conftest import command_env


@pytest.fixture(scope="module")
def multiclass(seattle) -> Path:
    return seattle.repo


@pytest.fixture(scope="module")
def regression(guide_run) -> Path:
    return guide_run.repo


def run(*args: str, cwd: Path) -> str:
    done = subprocess.run(args, cwd=cwd, env=command_env(), capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def page(project: Path, name: str) -> str:
    return (project / "site" / "docs" / name).read_text(encoding="utf-8")


def test_multiclass_metrics_are_macro_per_class_and_a_confusion_matrix(multiclass):
    evaluate = read_json(multiclass / "outputs" / "metrics" / "evaluate.json")
    assert evaluate["task"] == "multiclass" and evaluate["primary"] == "f1_macro" and evaluate["threshold"] is None
    assert {"accuracy", "balanced_accuracy", "f1_macro", "roc_auc_ovr", "log_loss"} <= set(evaluate["model"])
    prepare = read_json(multiclass / "outputs" / "metrics" / "prepare.json")
    assert prepare["periods"]["evaluation"] == "2015-Q4" and prepare["periods"]["reference"][0] == "2012-Q1"
    assert sum(c["support"] for c in evaluate["per_class"].values()) == evaluate["rows"] == prepare["rows"]["test"]
    confusion = read_json(multiclass / "outputs" / "plots" / "confusion.json")["confusion"]
    assert len(confusion) == evaluate["rows"]
    assert not (multiclass / "outputs" / "plots" / "roc.json").exists()  # no binary curves
    plots = run(sys.executable, "-m", "dvc", "plots", "show", "--json", cwd=multiclass)
    assert "confusion.json" in plots


def test_the_multiclass_model_card_shows_classes_and_the_confusion_figure(multiclass):
    card = page(multiclass, "model-card.md")
    per_class = card.split("## Per class", 1)[1].split("##", 1)[0]
    for name in read_json(multiclass / "outputs" / "metrics" / "evaluate.json")["per_class"]:
        assert f"| {name} |" in per_class
    assert "![Confusion matrix" in card and (multiclass / "site" / "docs" / "figures" / "confusion.png").exists()
    assert "Decision threshold" not in card and "Calibration" not in card
    assert "| f1\\_macro |" in card and "<code>weather</code>" in card  # Markdown-escaped
    assert (multiclass / "site" / "build" / "model-card" / "index.html").exists()


def test_multiclass_drift_tests_the_predicted_classes_per_quarter(multiclass):
    drift = read_json(multiclass / "outputs" / "metrics" / "drift.json")
    assert drift["prediction"]["test"] == "chi2"
    assert [p["period"] for p in drift["timeline"]][-1] == "2015-Q4" and len(drift["timeline"]) == 16
    assert all(p["f1_macro"] is not None for p in drift["timeline"])
    assert "Jensen-Shannon distance" in page(multiclass, "drift.md")
    assert "| f1_macro |" not in page(multiclass, "drift.md")
    assert "f1\\_macro" in page(multiclass, "drift.md")  # the per-period column, escaped for Markdown


def test_regression_metrics_residuals_and_pages(regression):
    evaluate = read_json(regression / "outputs" / "metrics" / "evaluate.json")
    assert evaluate["primary"] == "mae" and set(evaluate["model"]) == {"mae", "rmse", "r2"}
    assert evaluate["model"]["mae"]["value"] < evaluate["baseline"]["mae"]["value"]  # isig tracks glucose
    assert "per_class" not in evaluate
    card = page(regression, "model-card.md")
    assert "![Residuals" in card and (regression / "site" / "docs" / "figures" / "residuals.png").exists()
    assert "## Per class" not in card and "Decision threshold" not in card
    assert "in the units of <code>glucose</code>" in card
    drift = read_json(regression / "outputs" / "metrics" / "drift.json")
    assert drift["prediction"]["test"] == "ks" and drift["current"] == "2010-09"
    assert all(p["mae"] > 0 for p in drift["timeline"])
    assert "mean glucose" in page(regression, "drift.md")


def test_multiclass_predictions_name_the_class_and_its_probability(multiclass, tmp_path):
    rows = pd.read_csv(multiclass / "data" / "seattle_weather" / "2015-Q4.csv").drop(columns="weather")
    rows.to_csv(tmp_path / "new.csv", index=False)  # the label is not known yet
    run(
        sys.executable,
        "-m",
        "pipeline",
        "predict",
        "--input",
        str(tmp_path / "new.csv"),
        "--out",
        str(tmp_path / "out.csv"),
        cwd=multiclass,
    )
    out = pd.read_csv(tmp_path / "out.csv")
    assert list(out.columns) == ["date", "score", "decision", "model_version", "problem"]
    assert out["date"].tolist() == rows["date"].tolist()
    classes = set(read_json(multiclass / "outputs" / "metrics" / "evaluate.json")["per_class"])
    assert set(out["decision"]) <= classes and out["score"].between(1 / len(classes), 1).all()
    confusion = read_json(multiclass / "outputs" / "plots" / "confusion.json")["confusion"]
    assert out["decision"].tolist() == [r["predicted"] for r in confusion]  # what evaluate judged
