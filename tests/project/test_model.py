"""Model tests on the model dvc.lock pins, judged on the newest period it never saw, for any task type.

Each asserts a property a reviewer would demand before deploying: it is the artifact the lock pins, reloads
identically in a fresh process, beats its baseline by more than the uncertainty and a simpler model by the
paired interval, scores a row alone as in a batch, ignores identifiers, moves the way domain knowledge says
(`model_checks` in params.yaml), and predicts valid values for its task. A fork states its own domain
knowledge in `model_checks`, not here.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import warnings

import numpy as np
import pytest
import yaml

from pipeline.artifacts import load_model
from pipeline.config import load_params
from pipeline.evaluate import beats_simpler
from pipeline.metrics import TASKS
from tests.conftest import ROOT, command_env
from tests.properties import identifier_gap, mean_shift, scores, single_row_gap

PARAMS = load_params(ROOT / "params.yaml")  # read at collection: one test per configured column and check
INVARIANT = [*PARAMS.features.identifiers, *PARAMS.model_checks.invariant]
SAMPLE = 200  # rows for the row-by-row checks: enough to catch a batch effect, fast on any model


@pytest.fixture(scope="module")
def model(project):
    return load_model(project.root / project.params.paths.model)


@pytest.fixture(scope="module")
def test_rows(project):
    return project.rows("test")


def task(project) -> str:
    return project.params.task.type


def test_the_model_is_the_one_dvc_lock_pins(project):
    lock = yaml.safe_load(project.lock_after)
    path = project.params.paths.model.as_posix()
    pinned = [out["md5"] for stage in lock["stages"].values() for out in stage.get("outs", []) if out["path"] == path]
    assert pinned == [hashlib.md5((project.root / path).read_bytes()).hexdigest()]


def test_reloads_in_a_fresh_process_with_identical_scores(project, model, test_rows, tmp_path):
    rows = tmp_path / "rows.parquet"
    test_rows.head(SAMPLE).to_parquet(rows)
    script = (
        "import sys, numpy as np, pandas as pd; from pathlib import Path; from pipeline.artifacts import load_model; "
        "from tests.properties import scores; m = load_model(Path(sys.argv[1])); "
        "np.save(sys.argv[3], scores(m, pd.read_parquet(sys.argv[2]), sys.argv[4]))"
    )
    model_file = project.root / project.params.paths.model
    command = [sys.executable, "-c", script, str(model_file), str(rows), str(tmp_path / "s.npy"), task(project)]
    subprocess.run(command, check=True, env=command_env(), cwd=project.root)
    assert np.array_equal(np.load(tmp_path / "s.npy"), scores(model, test_rows.head(SAMPLE), task(project)))


def test_beats_the_baseline_by_more_than_the_uncertainty(project):
    """The primary metric's interval lies wholly on the better side of the baseline's value."""
    metrics = json.loads((project.root / project.params.paths.metrics / "evaluate.json").read_text())
    kind, primary = TASKS[task(project)], metrics["primary"]
    model, baseline = metrics["model"][primary], metrics["baseline"][primary]["value"]
    bound = model["low"] if kind.better(primary) > 0 else model["high"]
    assert kind.better(primary) * (bound - baseline) > 0, f"{primary}: model {model}, baseline {baseline}"


def test_beats_the_simpler_model_by_the_paired_interval(project):
    """The model's extra complexity must buy something measurable over `evaluate.simpler` (linear by default),
    scored on the same rows: else the simpler model is the one to deploy (set `train.estimator` to it). A project
    whose evaluation period is too small to show it either way sets `model_checks.simpler: warn` (init does)."""
    metrics = json.loads((project.root / project.params.paths.metrics / "evaluate.json").read_text())
    problem = beats_simpler(metrics)
    if problem and project.params.model_checks.simpler == "warn":  # too few rows to show it: said, not failed
        warnings.warn(problem, stacklevel=1)
        return
    assert problem is None, problem


def test_one_row_scores_as_in_a_batch(project, model, test_rows):
    rows = test_rows.sample(min(SAMPLE, len(test_rows)), random_state=0)
    assert single_row_gap(model, rows, task(project)) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("column", INVARIANT)
def test_an_identifier_or_invariant_column_does_not_change_predictions(project, model, test_rows, column):
    assert identifier_gap(model, test_rows, [column], task(project)) == 0.0


@pytest.mark.parametrize("check", PARAMS.model_checks.directional, ids=lambda c: f"{c.feature}-{c.effect}")
def test_a_feature_moves_predictions_the_way_domain_knowledge_says(project, model, test_rows, check):
    shift = mean_shift(
        model, test_rows, check.feature, low=check.low, high=check.high, task=task(project), label=check.label
    )
    assert shift * (1 if check.effect == "increase" else -1) >= 0, f"{check}: mean prediction moved by {shift:+.4f}"


def test_predictions_are_valid_for_the_task(project, model, test_rows):
    score = scores(model, test_rows, task(project))
    assert len(score) == len(test_rows) and np.isfinite(score).all()
    if task(project) == "binary":
        assert ((score >= 0) & (score <= 1)).all() and 0 < model.threshold < 1
    elif task(project) == "multiclass":
        assert ((score >= 0) & (score <= 1)).all() and np.allclose(score.sum(axis=1), 1.0)
        trained = set(project.rows("train")["label"].astype(str))
        assert {str(c) for c in model.classes_} == trained
