"""Model tests on the trained artifact: the model a clone of the template trains (January, judged on February).

Each asserts a property a reviewer would demand before deploying: it reloads safely and identically, scores a
row alone as in a batch, ignores identifiers, moves the way a domain expert expects, beats the baseline with
room to spare, and does not hinge on one hyper-parameter value.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from pipeline.artifacts import load_model, save_model
from pipeline.config import load_params
from pipeline.errors import PipelineError
from pipeline.metrics import TASKS, paired_difference
from pipeline.train import train_model
from tests.conftest import command_env
from tests.properties import identifier_gap, mean_shift, params_with, scores, single_row_gap

BINARY = TASKS["binary"]


@pytest.fixture(scope="module")
def trained(ran_clone):
    """The clone's params, model file, loaded model, and its training and evaluation rows."""
    params = load_params(ran_clone / "params.yaml")
    path = ran_clone / params.paths.model
    prepared = ran_clone / params.paths.prepared
    return (
        params,
        path,
        load_model(path),
        pd.read_parquet(prepared / "train.parquet"),
        pd.read_parquet(prepared / "test.parquet"),
    )


def test_reloads_in_a_fresh_process_with_identical_scores(trained, tmp_path):
    _, path, model, _, test = trained
    rows = tmp_path / "rows.parquet"
    test.head(500).to_parquet(rows)
    script = (
        "import sys, numpy as np, pandas as pd; from pathlib import Path; from pipeline.artifacts import load_model; "
        "m = load_model(Path(sys.argv[1])); x = pd.read_parquet(sys.argv[2]); "
        "np.save(sys.argv[3], m.predict_proba(x[list(m.feature_names_in_)])[:, 1])"
    )
    subprocess.run(
        [sys.executable, "-c", script, str(path), str(rows), str(tmp_path / "s.npy")], check=True, env=command_env()
    )
    assert np.array_equal(np.load(tmp_path / "s.npy"), scores(model, test.head(500)))


def test_an_artifact_carrying_an_untrusted_type_is_refused(trained, tmp_path):
    _, _, model, _, _ = trained
    hooked = Pipeline([("hook", FunctionTransformer(os.system)), ("model", model)])
    save_model(hooked, tmp_path / "hooked.skops")
    with pytest.raises(PipelineError, match=r"refusing to load untrusted type\(s\): .*system"):
        load_model(tmp_path / "hooked.skops")


def test_one_row_scores_as_in_a_batch(trained):
    _, _, model, _, test = trained
    assert single_row_gap(model, test.sample(200, random_state=0)) == 0.0


def test_identifiers_do_not_change_predictions(trained):
    params, _, model, _, test = trained
    assert identifier_gap(model, test, params.features.identifiers) == 0.0


def test_rain_and_poor_visibility_never_lower_the_predicted_risk_on_average(trained):
    _, _, model, _, test = trained
    assert mean_shift(model, test, "precip", low=0.0, high=0.3) >= 0  # 0.3 in/h: heavy rain
    assert mean_shift(model, test, "visib", low=1.0, high=10.0) <= 0  # 1 mile: fog


def test_beats_the_baseline_with_its_interval_clear_of_it(trained):
    params, _, model, train, test = trained
    y = test["label"].to_numpy()
    baseline = np.full(len(y), train["label"].mean())
    diff = paired_difference(
        BINARY,
        metric="roc_auc",
        y=y,
        score_a=scores(model, test),
        score_b=baseline,
        setting_a=model.threshold,
        setting_b=model.threshold,
        bootstrap=params.evaluate.bootstrap,
        seed=params.base.seed,
    )
    assert diff.low > 0, diff


def test_small_hyperparameter_changes_give_small_metric_changes(trained):
    params, _, _, train, test = trained
    y = test["label"].to_numpy()
    rate = params.train.hyperparameters["learning_rate"]
    auc = [
        BINARY.metrics["roc_auc"](y, scores(train_model(train, params_with(params, learning_rate=r)), test), None)
        for r in (rate, rate * 1.1)
    ]
    assert abs(auc[1] - auc[0]) < 0.01, auc


def test_the_artifact_is_the_one_dvc_lock_pins(trained, ran_clone):
    import hashlib

    import yaml

    _, path, _, _, _ = trained
    lock = yaml.safe_load((ran_clone / "dvc.lock").read_text())
    pinned = [o["md5"] for o in lock["stages"]["train"]["outs"] if Path(o["path"]) == Path("outputs/model/model.skops")]
    assert pinned == [hashlib.md5(path.read_bytes()).hexdigest()]
