"""Numerical health (pipeline/health.py): infinite inputs, inputs missing in every row and non-finite scores
fail the run naming the column; the training run's cost is written beside the outputs."""

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.linear_model import LogisticRegression

from pipeline import health, predict, train
from pipeline.errors import PipelineError
from pipeline.evaluate import evaluate
from pipeline.train import write_cost
from tests.conftest import EXAMPLE, synthetic_rows
from tests.unit import test_predict_rows as tiny


def rows():
    return pd.DataFrame({"temp": [1.0, 2.0, np.nan], "wind": [3.0, 4.0, 5.0], "carrier": ["AA", None, "UA"]})


def test_ordinary_missing_values_pass():
    health.check_inputs(rows(), ["temp", "wind"], "train.parquet")


def test_an_infinite_input_fails_naming_the_file_and_column():
    bad = rows().assign(wind=[3.0, np.inf, -np.inf])
    with pytest.raises(PipelineError, match=r"train.parquet: infinite values in 'wind' \(2 rows\); rule: an infinite"):
        health.check_inputs(bad, ["temp", "wind"], "train.parquet")


@pytest.mark.parametrize("column", ["temp", "carrier"])  # a numeric and a categorical input
def test_an_input_missing_in_every_row_fails(column):
    bad = rows().assign(**{column: None})
    with pytest.raises(PipelineError, match=rf"train.parquet: '{column}' missing in all 3 rows; rule: an input must"):
        health.check_inputs(bad, ["temp", "wind"], "train.parquet")


def test_non_finite_scores_fail_naming_the_class_column():
    health.check_scores(np.array([0.1, 0.9]), "scores")
    with pytest.raises(PipelineError, match=r"scores: 1 NaN or infinite scores"):
        health.check_scores(np.array([0.1, np.nan]), "scores")
    matrix = np.array([[0.5, 0.5], [np.inf, 0.0]])
    with pytest.raises(PipelineError, match=r"NaN or infinite scores in class 'rain' \(1 rows\)"):
        health.check_scores(matrix, "scores", ["rain", "sun"])
    with pytest.raises(PipelineError, match=r"scores: NaN or infinite scores in class 1 \(2 rows\); rule: every"):
        health.check_scores(np.array([[0.5, np.nan], [0.5, -np.inf]]), "scores")  # no class names: the column


class NaNModel(LogisticRegression):
    """A model whose probabilities are NaN: what a broken numeric pipeline can produce."""

    def predict_proba(self, x):
        return np.full((len(x), 2), np.nan)


def test_evaluate_refuses_a_model_whose_scores_are_not_numbers(params):
    train, test = synthetic_rows(params, 300, 1), synthetic_rows(params, 300, 2)
    inputs = params.features.numeric
    narrow = params.model_copy(update={"features": params.features.model_copy(update={"categorical": []})})
    model = NaNModel().fit(train[inputs], train["label"])
    with pytest.raises(PipelineError, match=r"the model's scores on prepared/test.parquet: 300 NaN or infinite scores"):
        evaluate(model, train, test, narrow, "prepared/test.parquet")  # evaluate's main names its file


def test_the_training_cost_is_written_as_a_run_log(tmp_path):
    model = tmp_path / "model.skops"
    model.write_bytes(b"x" * 1234)
    write_cost(tmp_path / "cost" / "train.json", rows=500, seconds=1.23456, model=model)
    cost = json.loads((tmp_path / "cost" / "train.json").read_text())
    assert cost["rows"] == 500 and cost["fit_seconds"] == 1.235 and cost["model_bytes"] == 1234
    assert cost["peak_mb"] == pytest.approx(health.peak_mb(), rel=0.5) and cost["peak_mb"] > 10


def test_peak_memory_is_a_positive_number_of_megabytes():
    # This process has imported pandas and scikit-learn (tens of MB) and is far below 100 GB: kilobytes read as
    # bytes (a thousandth) or bytes read as kilobytes (a thousand times) fall outside.
    assert 10 < health.peak_mb() < 100_000


def train_project(tmp_path, rows: pd.DataFrame):
    """A folder with prepared/train.parquet and a params file whose run logs go to `<tmp_path>/cost`."""
    raw = yaml.safe_load((EXAMPLE / "params.yaml").read_text(encoding="utf-8"))
    raw["paths"]["cost"] = str(tmp_path / "cost")
    raw["train"]["hyperparameters"] = {"max_iter": 20}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    (tmp_path / "prepared").mkdir()
    rows.to_parquet(tmp_path / "prepared" / "train.parquet")
    return tmp_path / "prepared", tmp_path / "params.yaml"


def test_train_writes_its_cost_beside_the_model(tmp_path, params):
    prepared, params_file = train_project(tmp_path, synthetic_rows(params, 600, 1))
    model = tmp_path / "model" / "model.skops"
    train.main(prepared=prepared, model=model, params_file=params_file)
    cost = json.loads((tmp_path / "cost" / "train.json").read_text(encoding="utf-8"))
    assert set(cost) == {"format", "fit_seconds", "rows", "peak_mb", "model_bytes"}
    assert cost["rows"] == 600 and cost["fit_seconds"] > 0 and cost["peak_mb"] > 0
    assert cost["model_bytes"] == model.stat().st_size


def test_train_refuses_an_infinite_input_before_fitting(tmp_path, params):
    bad = synthetic_rows(params, 600, 1)
    bad.loc[[3, 7], "temp"] = [np.inf, -np.inf]
    prepared, params_file = train_project(tmp_path, bad)
    model = tmp_path / "model.skops"
    with pytest.raises(PipelineError, match=r"prepared/train.parquet: infinite values in 'temp' \(2 rows\)"):
        train.main(prepared=prepared, model=model, params_file=params_file)
    assert not model.exists() and not (tmp_path / "cost").exists()


class NaNScores:
    """A fitted-looking binary model whose every probability is NaN."""

    classes_ = np.array([0, 1])

    def predict_proba(self, x):
        return np.full((len(x), 2), np.nan)


def test_predict_refuses_a_model_whose_scores_are_not_numbers(tmp_path, monkeypatch):
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(tiny.tiny_params(tmp_path)), encoding="utf-8")
    (tmp_path / "contract.yaml").write_text(yaml.safe_dump(tiny.CONTRACT), encoding="utf-8")
    for table, text in {"sales": "id\n1\n", "prices": "shop,price\na,1.0\nb,2.0\n"}.items():
        (tmp_path / "data" / table).mkdir(parents=True)
        (tmp_path / "data" / table / "2002.csv").write_text(text, encoding="utf-8")
    monkeypatch.setattr(predict, "load_model", lambda _path: NaNScores())
    result, out = tiny.run(tmp_path, tiny.six_rows())
    assert result.exit_code == 1 and not out.exists()
    assert "the model's scores on " in result.output
    assert "score.csv: 6 NaN or infinite scores; rule: every score is a finite number" in result.output
