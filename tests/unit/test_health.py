"""Numerical health (pipeline/health.py): infinite inputs, inputs missing in every row and non-finite scores
fail the run naming the column; the training run's cost is written beside the outputs."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from pipeline import health
from pipeline.errors import PipelineError
from pipeline.evaluate import evaluate
from pipeline.train import write_cost
from tests.conftest import synthetic_rows


def rows():
    return pd.DataFrame({"temp": [1.0, 2.0, np.nan], "wind": [3.0, 4.0, 5.0], "carrier": ["AA", None, "UA"]})


def test_ordinary_missing_values_pass():
    health.check_inputs(rows(), ["temp", "wind"], "train.parquet")


def test_an_infinite_input_fails_naming_the_file_and_column():
    bad = rows().assign(wind=[3.0, np.inf, -np.inf])
    with pytest.raises(PipelineError, match=r"train.parquet: infinite values in 'wind' \(2 rows\); rule: an infinite"):
        health.check_inputs(bad, ["temp", "wind"], "train.parquet")


def test_an_input_missing_in_every_row_fails():
    bad = rows().assign(carrier=None)
    with pytest.raises(PipelineError, match=r"train.parquet: 'carrier' missing in all 3 rows; rule: an input must"):
        health.check_inputs(bad, ["temp", "wind"], "train.parquet")


def test_non_finite_scores_fail_naming_the_class_column():
    health.check_scores(np.array([0.1, 0.9]), "scores")
    with pytest.raises(PipelineError, match=r"scores: 1 NaN or infinite scores"):
        health.check_scores(np.array([0.1, np.nan]), "scores")
    matrix = np.array([[0.5, 0.5], [np.inf, 0.0]])
    with pytest.raises(PipelineError, match=r"NaN or infinite scores in class 'rain' \(1 rows\)"):
        health.check_scores(matrix, "scores", ["rain", "sun"])


class NaNModel(LogisticRegression):
    """A model whose probabilities are NaN: what a broken numeric pipeline can produce."""

    def predict_proba(self, x):
        return np.full((len(x), 2), np.nan)


def test_evaluate_refuses_a_model_whose_scores_are_not_numbers(params):
    train, test = synthetic_rows(params, 300, 1), synthetic_rows(params, 300, 2)
    inputs = params.features.numeric
    narrow = params.model_copy(update={"features": params.features.model_copy(update={"categorical": []})})
    model = NaNModel().fit(train[inputs], train["label"])
    with pytest.raises(PipelineError, match=r"the model's scores on the evaluation rows: 300 NaN or infinite scores"):
        evaluate(model, train, test, narrow)


def test_the_training_cost_is_written_as_a_run_log(tmp_path):
    model = tmp_path / "model.skops"
    model.write_bytes(b"x" * 1234)
    write_cost(tmp_path / "cost" / "train.json", rows=500, seconds=1.23456, model=model)
    cost = json.loads((tmp_path / "cost" / "train.json").read_text())
    assert cost["rows"] == 500 and cost["fit_seconds"] == 1.235 and cost["model_bytes"] == 1234
    assert cost["peak_mb"] == pytest.approx(health.peak_mb(), rel=0.5) and cost["peak_mb"] > 10
