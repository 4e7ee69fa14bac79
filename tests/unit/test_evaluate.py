"""Metrics computed by hand on four rows, the baseline, and the curve files."""

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from pipeline.errors import PipelineError
from pipeline.evaluate import binary_curves, binary_metrics, evaluate, regression_metrics


def test_binary_metrics_by_hand():
    y, score = np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])
    m = binary_metrics(y, score, threshold=0.3)
    # Pairs (pos, neg) ranked right: (0.35>0.1), (0.8>0.1), (0.8>0.4); wrong: (0.35<0.4) -> 3/4.
    assert m["roc_auc"] == 0.75
    assert m["base_rate"] == 0.5
    assert (m["recall"], m["precision"]) == (1.0, pytest.approx(2 / 3))  # decided late: 0.4, 0.35, 0.8
    assert m["f1"] == pytest.approx(0.8)
    assert m["brier"] == pytest.approx((0.01 + 0.16 + 0.4225 + 0.04) / 4)


def test_regression_metrics_by_hand():
    m = regression_metrics(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 5.0]), threshold=0.5)
    assert m["mae"] == pytest.approx(2 / 3)
    assert m["rmse"] == pytest.approx(math.sqrt(4 / 3))
    assert m["r2"] == pytest.approx(-1.0)  # residual sum 4, total sum 2


def rows(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame({"x": x, "label": (x + rng.normal(size=n) > 0.5).astype(int)})


def test_model_beats_the_baseline_which_has_no_skill():
    train, test = rows(500, 1), rows(500, 2)
    model = LogisticRegression().fit(train[["x"]], train["label"])
    results, curves = evaluate(model, train, test, ["x"], "binary", threshold=0.5, points=11)
    assert results["baseline"]["roc_auc"] == 0.5
    assert results["model"]["roc_auc"] > 0.7
    assert results["rows"] == 500 and results["threshold"] == 0.5
    assert len(curves["roc"]) == 11
    assert curves["roc"][0] == {"fpr": 0.0, "tpr": pytest.approx(curves["roc"][0]["tpr"])}
    assert curves["roc"][-1] == {"fpr": 1.0, "tpr": 1.0}


def test_curves_are_monotone_where_they_must_be():
    y = np.array([0, 1] * 50)
    score = np.linspace(0, 1, 100)
    curves = binary_curves(y, score, points=21)
    tpr = [point["tpr"] for point in curves["roc"]]
    assert tpr == sorted(tpr)
    assert all(0 <= p["observed"] <= 1 for p in curves["calibration"])


@pytest.mark.parametrize(
    ("test", "message"),
    [
        (pd.DataFrame({"x": [], "label": []}), "no labelled rows"),
        (pd.DataFrame({"x": [1.0, 2.0], "label": [1, 1]}), "one class only"),
    ],
    ids=["empty", "one-class"],
)
def test_evaluate_refuses_undecidable_periods(test, message):
    train = rows(50, 1)
    model = LogisticRegression().fit(train[["x"]], train["label"])
    with pytest.raises(PipelineError, match=message):
        evaluate(model, train, test, ["x"], "binary", threshold=0.5, points=11)
