"""The multiclass task type: its label, metrics by hand, intervals over a score matrix, per-class metrics, the
confusion plots file, slices, the gate's comparison and drift; and the regression task's slices and drift."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.dummy import DummyClassifier

from pipeline.config import Bootstrap, Params, Slices
from pipeline.datatests import new_classes
from pipeline.drift import label_rate, performance, plot_timeline
from pipeline.engine import Parts
from pipeline.errors import PipelineError
from pipeline.evaluate import confusion_rows, evaluate
from pipeline.features import LABEL, add_label
from pipeline.gate import Decision, compare
from pipeline.metrics import (
    PERIOD_METRIC,
    TASKS,
    paired_difference,
    per_class,
    percentile_interval,
    slice_metrics,
    with_intervals,
)
from pipeline.train import check_hyperparameters, train_model

MULTICLASS, REGRESSION = TASKS["multiclass"], TASKS["regression"]
BOOT = Bootstrap(resamples=100, confidence=0.95)
CLASSES = ("a", "b", "c")


def task_params(params: Params, task: str) -> Params:
    """The template's params for a small numeric problem (x1, x2, group) of the given task type."""
    raw = params.model_dump(mode="json")
    raw["task"] = {"type": task, "target": {"column": "y"}}
    raw["features"] = {"categorical": ["group"], "numeric": ["x1", "x2"], "identifiers": []}
    raw["train"] |= {"monotonic": {}, "hyperparameters": {"max_iter": 50}}
    raw["model_checks"] = {"invariant": [], "directional": []}  # the example's checks name its own columns
    raw["evaluate"]["slices"] = {"columns": ["group"], "bands": {}, "min_rows": 100}
    raw["evaluate"]["bootstrap"] = BOOT.model_dump()
    raw["drift"]["critical"] = []
    raw["gate"] |= {"min_rows": 10}
    return Params.model_validate(raw)


def problem(n: int, seed: int, task: str = "multiclass") -> pd.DataFrame:
    """Rows whose class is the largest of x1, x2 and -(x1 + x2), blurred by noise; a regression target alike."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    logits = np.column_stack([x[:, 0], x[:, 1], -x.sum(axis=1)]) + rng.normal(scale=0.5, size=(n, 3))
    label = np.array(CLASSES)[logits.argmax(axis=1)] if task == "multiclass" else 3 * x[:, 0] - x[:, 1]
    return pd.DataFrame(
        {"group": rng.choice(["g1", "g2"], n), "x1": x[:, 0], "x2": x[:, 1], LABEL: label, "period": "2013-Q1"}
    )


# --- label and configuration --------------------------------------------------------------------------------


def test_multiclass_label_is_the_class_as_text_and_missing_targets_are_dropped(params):
    task = task_params(params, "multiclass").task
    rows = pd.DataFrame({"y": ["rain", None, 3.0, "sun ", "", 2]})
    labelled, dropped = add_label(rows, task)
    assert labelled[LABEL].tolist() == ["rain", "3", "sun", "2"]  # 3.0 read from a CSV is the class "3"
    assert dropped == 2


def test_a_threshold_is_refused_for_multiclass(params):
    raw = task_params(params, "multiclass").model_dump(mode="json")
    raw["task"]["target"]["threshold"] = 1.0
    with pytest.raises(ValueError, match="threshold is for binary tasks only"):
        Params.model_validate(raw)


def test_monotonic_constraints_are_refused_for_multiclass(params, tmp_path):
    train = task_params(params, "multiclass").train.model_copy(update={"monotonic": {"x1": 1}})
    with pytest.raises(PipelineError, match=r"key 'train.monotonic': monotonic constraints do not apply"):
        check_hyperparameters(train, "multiclass", tmp_path / "params.yaml")


# --- metrics ------------------------------------------------------------------------------------------------


def test_multiclass_metrics_by_hand():
    y = np.array(["a", "a", "b", "c"])
    score = np.array(
        [
            [0.7, 0.2, 0.1],  # a, right
            [0.2, 0.6, 0.2],  # a, called b
            [0.1, 0.8, 0.1],  # b, right
            [0.3, 0.3, 0.4],
        ]
    )  # c, right
    m = MULTICLASS.compute(y, score, CLASSES)
    assert m["accuracy"] == 0.75
    assert m["balanced_accuracy"] == pytest.approx((0.5 + 1 + 1) / 3)
    # a: precision 1, recall 1/2 -> f1 2/3; b: precision 1/2, recall 1 -> 2/3; c: 1.
    assert m["f1_macro"] == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
    assert (m["precision_macro"], m["recall_macro"]) == (pytest.approx(2.5 / 3), pytest.approx(2.5 / 3))
    # One-vs-rest AUCs: a (0.7, 0.2 against 0.1, 0.3): 3 of 4 pairs ranked right; b and c: all pairs.
    assert m["roc_auc_ovr"] == pytest.approx((0.75 + 1 + 1) / 3)
    assert m["log_loss"] == pytest.approx(-np.mean(np.log([0.7, 0.2, 0.8, 0.4])))


def test_classes_missing_from_the_rows_or_unknown_to_the_model():
    y = np.array(["a", "a", "b", "b", "d"])  # no c; d is a class the model never saw
    score = np.array([[0.8, 0.1, 0.1], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.4, 0.5, 0.1], [0.5, 0.4, 0.1]])
    m = MULTICLASS.compute(y, score, CLASSES)
    assert m["accuracy"] == 0.8  # the row of d is an error: no model can predict what it never saw
    # c has no row, so no ROC curve: the macro mean is over a and b; d's row is a negative of both.
    a = np.mean([s > n for s in (0.8, 0.6) for n in (0.2, 0.4, 0.5)])
    b = np.mean([s > n for s in (0.7, 0.5) for n in (0.1, 0.3, 0.4)])
    assert m["roc_auc_ovr"] == pytest.approx((a + b) / 2)
    assert m["log_loss"] == pytest.approx(-np.mean(np.log([0.8, 0.6, 0.7, 0.5])))  # d has no probability


def test_per_class_metrics_and_confusion_rows_by_hand():
    y = np.array(["a", "a", "b", "c"])
    score = np.array([[0.7, 0.2, 0.1], [0.2, 0.6, 0.2], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]])
    table = per_class(y, score, CLASSES)
    assert table["a"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2, "judged": True}
    assert table["b"] == {"precision": 0.5, "recall": 1.0, "f1": pytest.approx(2 / 3), "support": 1, "judged": True}
    assert table["c"]["support"] == 1
    assert confusion_rows(y, score, CLASSES) == {
        "confusion": [
            {"actual": "a", "predicted": "a"},
            {"actual": "a", "predicted": "b"},
            {"actual": "b", "predicted": "b"},
            {"actual": "c", "predicted": "c"},
        ]
    }


def test_intervals_over_a_score_matrix_contain_the_value_and_repeat_with_the_seed():
    rows = problem(600, 1)
    score = np.eye(3)[rows[LABEL].map({"a": 0, "b": 1, "c": 2})] * 0.6 + 0.4 / 3  # right class favoured
    noisy = np.abs(score + np.random.default_rng(2).normal(scale=0.3, size=score.shape))
    noisy /= noisy.sum(axis=1, keepdims=True)
    out = with_intervals(MULTICLASS, y=rows[LABEL].to_numpy(), score=noisy, setting=CLASSES, bootstrap=BOOT, seed=3)
    for name in MULTICLASS.interval_metrics:
        assert out[name]["low"] <= out[name]["value"] <= out[name]["high"], name
    assert "low" not in out["precision_macro"]
    assert (
        with_intervals(MULTICLASS, y=rows[LABEL].to_numpy(), score=noisy, setting=CLASSES, bootstrap=BOOT, seed=3)
        == out
    )


def test_resampling_row_indices_gives_scipys_paired_intervals():
    """The binary path keeps its numbers: resampling the indices is exactly what `paired=True` does."""
    rng = np.random.default_rng(0)
    y, a, b = rng.integers(0, 2, 300), rng.uniform(size=300), rng.uniform(size=300)

    def statistic(y_, a_, b_):
        return np.mean(a_[y_ == 1]) - np.mean(b_[y_ == 1])

    ours = percentile_interval(statistic, (y, a, b), BOOT, seed=5)
    scipy_paired = stats.bootstrap(
        (y, a, b),
        statistic,
        paired=True,
        vectorized=False,
        method="percentile",
        n_resamples=BOOT.resamples,
        confidence_level=BOOT.confidence,
        rng=np.random.default_rng(5),
    ).confidence_interval
    assert ours == (scipy_paired.low, scipy_paired.high)


def test_paired_difference_compares_models_that_know_different_classes():
    y = np.array(["a", "b", "c"] * 40)
    right = np.eye(3)[np.tile([0, 1, 2], 40)] * 0.8 + 0.2 / 3
    two_classes = np.tile([[0.5, 0.5]], (120, 1))  # a champion trained before c existed, and without skill
    diff = paired_difference(
        MULTICLASS,
        metric="f1_macro",
        y=y,
        score_a=right,
        score_b=two_classes,
        setting_a=CLASSES,
        setting_b=("a", "b"),
        bootstrap=BOOT,
        seed=1,
    )
    assert diff.a == 1.0 and diff.delta > 0.5 and diff.low > 0


# --- train, evaluate, slices, gate ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fitted(params):
    p = task_params(params, "multiclass")
    train, test = problem(1500, 1), problem(600, 2)
    return p, train, test, train_model(train, p)


def test_a_multiclass_model_beats_its_baseline_and_reports_every_class(fitted):
    p, train, test, model = fitted
    results, slices, plots = evaluate(model, train, test, p)
    assert results["primary"] == "f1_macro" and results["threshold"] is None
    assert results["model"]["f1_macro"]["low"] > results["baseline"]["f1_macro"]["high"]
    assert set(results["per_class"]) == set(CLASSES)
    assert sum(c["support"] for c in results["per_class"].values()) == len(test)
    assert len(plots["confusion"]) == len(test)
    np.testing.assert_allclose(model.predict_proba(test[p.features.inputs]).sum(axis=1), 1)
    assert slices["metric"] == "f1_macro"
    assert {g["group"] for g in slices["columns"]["group"]["groups"]} == {"g1", "g2"}


def test_a_slice_is_judged_only_with_enough_rows(fitted):
    p, _, test, model = fitted
    score, rows = MULTICLASS.score(model, test[p.features.inputs]), test.copy()
    rows.loc[rows.index[:20], "group"] = "tiny"
    out = slice_metrics(
        MULTICLASS,
        rows=rows,
        y=rows[LABEL].to_numpy(),
        score=score,
        setting=MULTICLASS.setting(model),
        slices=Slices(columns=["group"], min_rows=50),
    )
    groups = {g["group"]: g for g in out["columns"]["group"]["groups"]}
    assert groups["tiny"] == {**groups["tiny"], "rows": 20, "judged": False}
    assert groups["g1"]["judged"] and "tiny" not in (out["columns"]["group"]["best"], out["columns"]["group"]["worst"])


def test_the_gate_promotes_a_better_multiclass_model_and_has_no_calibration_rule(fitted):
    p, train, test, model = fitted
    no_skill = DummyClassifier(strategy="prior").fit(train[p.features.inputs], train[LABEL])
    no_skill.feature_names_in_ = np.array(p.features.inputs, dtype=object)
    better, worse = Decision("reject", "main"), Decision("reject", "main")
    compare(params=p, kind=MULTICLASS, rows=test, challenger=model, champion=no_skill, decision=better)
    compare(params=p, kind=MULTICLASS, rows=test, challenger=no_skill, champion=model, decision=worse)
    assert [c["check"] for c in better.checks] == ["inputs", "f1_macro", "slices"]
    assert all(c["passed"] for c in better.checks)
    assert better.primary["delta"] > 0 and better.primary["low"] > 0
    assert not next(c for c in worse.checks if c["check"] == "f1_macro")["passed"]


def test_the_gate_on_regression_judges_mae_lower_is_better(params):
    p = task_params(params, "regression")
    train, test = problem(1500, 1, "regression"), problem(600, 2, "regression")
    model = train_model(train, p)
    mean = train_model(train.assign(x1=0.0, x2=0.0), p)  # learns nothing: predicts about the mean
    decision = Decision("reject", "main")
    compare(params=p, kind=REGRESSION, rows=test, challenger=model, champion=mean, decision=decision)
    assert decision.primary["metric"] == "mae" and decision.primary["challenger"] < decision.primary["champion"]
    assert decision.primary["delta"] > 0  # positive means the challenger is better, for an error metric too
    assert [c["check"] for c in decision.checks] == ["inputs", "mae", "slices"]


# --- drift ------------------------------------------------------------------------------------------------


def test_each_task_type_has_its_primary_metric_per_period():
    assert {task: name for task, (_, name, _) in PERIOD_METRIC.items()} == {
        task: kind.primary for task, kind in TASKS.items()
    }
    y = pd.Series(["a", "b", "b", "c"])
    assert performance(y, np.array(["a", "b", "c", "c"]), "multiclass") == {
        "f1_macro": pytest.approx((1 + 2 / 3 + 2 / 3) / 3)
    }
    assert performance(pd.Series([1.0, 3.0]), np.array([2.0, 2.0]), "regression") == {"mae": 1.0}
    assert label_rate(y, "multiclass") is None and label_rate(pd.Series([2.0, 4.0]), "regression") == 3.0


def test_multiclass_prediction_drift_is_tested_on_the_predicted_classes(tmp_path, params, fitted):
    from pipeline.artifacts import read_json, save_model
    from pipeline.drift import main

    p, train, test, model = fitted
    shifted = test.assign(x1=test["x1"] + 2.0, period="2013-Q2")  # more rows of class a predicted
    train.to_parquet(tmp_path / "train.parquet")
    shifted.to_parquet(tmp_path / "test.parquet")
    save_model(model, tmp_path / "model.skops")
    params_file = tmp_path / "params.yaml"
    params_file.write_text(__import__("yaml").safe_dump(p.model_dump(mode="json")), encoding="utf-8")
    main(
        prepared=tmp_path,
        model=tmp_path / "model.skops",
        metrics=tmp_path / "drift.json",
        alert=tmp_path / "alert.md",
        figures=tmp_path / "figures",
        params_file=params_file,
    )
    report = read_json(tmp_path / "drift.json")
    assert report["prediction"]["test"] == "chi2" and report["prediction"]["drifted"] is True
    assert [p_["period"] for p_ in report["timeline"]] == ["2013-Q1", "2013-Q2"]
    assert all(point["label_rate"] is None and 0 <= point["f1_macro"] <= 1 for point in report["timeline"])
    assert "Jensen-Shannon distance" in (tmp_path / "alert.md").read_text()
    assert (tmp_path / "figures" / "prediction.png").exists() and (tmp_path / "figures" / "timeline.png").exists()


def test_the_timeline_of_a_regression_draws_the_metric_on_its_own_axis(tmp_path):
    points = [
        {"period": "2013-01", "share_drifted": 0.0, "label_rate": 120.0, "mae": 14.0},
        {"period": "2013-02", "share_drifted": 0.5, "label_rate": 130.0, "mae": 18.0},
    ]
    plot_timeline(points, "mae", tmp_path / "t.png", one_axis=False)
    assert (tmp_path / "t.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- data tests -------------------------------------------------------------------------------------------


def test_a_class_new_in_the_newest_period_is_a_warning(params, tmp_path):
    p = task_params(params, "multiclass")
    batches = {
        "2013-Q1": pd.DataFrame({"y": ["a", "b"]}),
        "2013-Q2": pd.DataFrame({"y": ["b", 3.0]}),
        "2013-Q3": pd.DataFrame({"y": ["a", "snow", "snow", "3"]}),
    }
    found = new_classes(Parts.here(batches), p, tmp_path)
    assert len(found) == 1
    assert found[0]["severity"] == "warning" and found[0]["failing_rows"] == 2
    assert found[0]["examples"] == ["'snow'"] and found[0]["file"].endswith("2013-Q3.csv")
    assert new_classes(Parts.here(batches), task_params(params, "regression"), tmp_path) == []
