"""Metrics computed by hand on four rows, intervals and paired differences, slices, the baseline, the curves."""

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import FixedThresholdClassifier

from pipeline.config import Bootstrap, Slices
from pipeline.errors import PipelineError
from pipeline.evaluate import binary_curves, evaluate
from pipeline.metrics import TASKS, calibration_error, paired_difference, slice_metrics, with_intervals
from tests.conftest import synthetic_rows

BINARY, REGRESSION = TASKS["binary"], TASKS["regression"]
BOOT = Bootstrap(resamples=200, confidence=0.95)


def test_binary_metrics_by_hand():
    y, score = np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])
    m = BINARY.compute(y, score, 0.35)
    # Pairs (pos, neg) ranked right: (0.35>0.1), (0.8>0.1), (0.8>0.4); wrong: (0.35<0.4) -> 3/4.
    assert m["roc_auc"] == 0.75
    assert m["base_rate"] == 0.5
    # Called late at score >= 0.35 (scikit-learn's rule): 0.4, 0.35, 0.8.
    assert (m["recall"], m["precision"]) == (1.0, pytest.approx(2 / 3))
    assert m["f1"] == pytest.approx(0.8)
    assert m["brier"] == pytest.approx((0.01 + 0.16 + 0.4225 + 0.04) / 4)


def test_calibration_error_by_hand():
    # Bin [0.1, 0.2): scores 0.1, 0.1, labels 0, 1 -> gap |0.2 - 1| = 0.8 over 2 rows;
    # bin [0.9, 1.0]: scores 0.9, 0.9, labels 1, 1 -> gap |1.8 - 2| = 0.2 over 2 rows. (0.8 + 0.2) / 4 rows.
    assert calibration_error(np.array([0, 1, 1, 1]), np.array([0.1, 0.1, 0.9, 0.9])) == pytest.approx(0.25)
    assert calibration_error(np.array([0, 1] * 50), np.full(100, 0.5)) == 0.0


def test_regression_metrics_by_hand():
    m = REGRESSION.compute(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 5.0]), None)
    assert m["mae"] == pytest.approx(2 / 3)
    assert m["rmse"] == pytest.approx(math.sqrt(4 / 3))
    assert m["r2"] == pytest.approx(-1.0)  # residual sum 4, total sum 2


def noisy_scores(n, noise, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    return y, np.clip(y * 0.3 + 0.35 + rng.normal(scale=noise, size=n), 0, 1)


def test_intervals_contain_the_value_narrow_with_rows_and_repeat_with_the_seed():
    y, score = noisy_scores(400, 0.2, 1)
    fewer = Bootstrap(resamples=100, confidence=0.95)  # enough to see the width halve
    small = with_intervals(BINARY, y=y, score=score, setting=0.5, bootstrap=fewer, seed=7)
    assert small["roc_auc"]["low"] < small["roc_auc"]["value"] < small["roc_auc"]["high"]
    assert "low" not in small["base_rate"]  # exact counts get no interval
    y4, score4 = np.tile(y, 4), np.tile(score, 4)
    large = with_intervals(BINARY, y=y4, score=score4, setting=0.5, bootstrap=fewer, seed=7)
    width = {name: r["roc_auc"]["high"] - r["roc_auc"]["low"] for name, r in (("small", small), ("large", large))}
    assert width["large"] < 0.7 * width["small"]  # about 1/sqrt(4) as wide
    assert with_intervals(BINARY, y=y, score=score, setting=0.5, bootstrap=fewer, seed=7) == small
    assert with_intervals(BINARY, y=y, score=score, setting=0.5, bootstrap=fewer, seed=8) != small


def test_paired_difference_sees_a_better_model_and_is_zero_for_the_same_one():
    y, good = noisy_scores(2000, 0.15, 2)
    _, worse = noisy_scores(2000, 0.15, 2)
    worse = np.clip(worse + np.random.default_rng(3).normal(scale=0.3, size=2000), 0, 1)
    better = paired_difference(
        BINARY, metric="roc_auc", y=y, score_a=good, score_b=worse, setting_a=0.5, setting_b=0.5, bootstrap=BOOT, seed=1
    )
    assert better.delta > 0 and better.low > 0
    same = paired_difference(
        BINARY, metric="roc_auc", y=y, score_a=good, score_b=good, setting_a=0.5, setting_b=0.5, bootstrap=BOOT, seed=1
    )
    assert (same.delta, same.low, same.high) == (0.0, 0.0, 0.0)


def test_paired_difference_is_signed_so_positive_means_better_for_error_metrics():
    rng = np.random.default_rng(4)
    y = rng.normal(size=500)
    close, far = y + rng.normal(scale=0.1, size=500), y + rng.normal(scale=1.0, size=500)
    diff = paired_difference(
        REGRESSION,
        metric="mae",
        y=y,
        score_a=close,
        score_b=far,
        setting_a=None,
        setting_b=None,
        bootstrap=BOOT,
        seed=1,
    )
    assert diff.a < diff.b and diff.delta > 0 and diff.low > 0


def test_slices_mark_small_groups_and_measure_the_gap():
    rng = np.random.default_rng(5)
    n = 1000
    rows = pd.DataFrame(
        {
            "carrier": np.where(np.arange(n) < 980, np.where(np.arange(n) % 2, "AA", "BB"), "ZZ"),
            "distance": rng.uniform(0, 3000, n),
        }
    )
    y = rng.integers(0, 2, n)
    # Carrier AA is scored well, BB at random: the gap between them is what the slices must show.
    score = np.where(rows["carrier"] == "AA", 0.2 + 0.6 * y, rng.uniform(size=n))
    out = slice_metrics(
        BINARY,
        rows=rows,
        y=y,
        score=score,
        setting=0.5,
        slices=Slices(columns=["carrier", "distance"], bands={"distance": [0, 1000, 5000]}, min_rows=100),
    )
    carrier = out["columns"]["carrier"]
    groups = {g["group"]: g for g in carrier["groups"]}
    assert groups["ZZ"]["judged"] is False and groups["ZZ"]["rows"] == 20
    assert (carrier["best"], carrier["worst"]) == ("AA", "BB")
    assert carrier["gap"] == pytest.approx(1.0 - groups["BB"]["roc_auc"])
    assert [g["group"] for g in out["columns"]["distance"]["groups"]] == ["0–1000", "1000–5000"]  # band order


def test_model_beats_the_baseline_which_has_no_skill(params):
    train, test = synthetic_rows(params, 3000, 1), synthetic_rows(params, 3000, 2)
    inputs = params.features.numeric
    unbanded = [c for c in params.evaluate.slices.columns if c in inputs and c not in params.evaluate.slices.bands]
    for rows in (train, test):  # a handful of values, as a month column has (not 3,000 one-row groups)
        rows[unbanded] = rows[unbanded].round()
    model = FixedThresholdClassifier(LogisticRegression(), threshold=0.4).fit(train[inputs], train["label"])
    evaluation = params.evaluate.model_copy(update={"bootstrap": Bootstrap(resamples=50, confidence=0.95)})
    narrow = params.model_copy(
        update={"features": params.features.model_copy(update={"categorical": []}), "evaluate": evaluation}
    )
    results, slices, curves = evaluate(model, train, test, narrow)
    assert results["baseline"]["roc_auc"]["value"] == 0.5
    assert results["model"]["roc_auc"]["low"] > 0.7
    assert results["rows"] == 3000 and results["threshold"] == 0.4 and results["format"] == 2
    assert set(slices["columns"]) == set(params.evaluate.slices.columns)
    assert len(curves["roc"]) == params.evaluate.curve_points
    assert curves["roc"][-1] == {"fpr": 1.0, "tpr": 1.0}


def test_curves_are_monotone_where_they_must_be():
    y = np.array([0, 1] * 50)
    score = np.linspace(0, 1, 100)
    curves = binary_curves(y, score, points=21)
    tpr = [point["tpr"] for point in curves["roc"]]
    assert tpr == sorted(tpr)
    assert all(0 <= p["observed"] <= 1 for p in curves["calibration"])


@pytest.mark.parametrize(
    ("size", "label", "message"), [(0, None, "no labelled rows"), (20, 1, "one class only")], ids=["empty", "one-class"]
)
def test_evaluate_refuses_undecidable_periods(params, size, label, message):
    train = synthetic_rows(params, 200, 1)
    test = synthetic_rows(params, 200, 2).head(size).assign(label=label)
    model = LogisticRegression().fit(train[params.features.numeric], train["label"])
    with pytest.raises(PipelineError, match=message):
        evaluate(model, train, test, params)
