"""Stage `evaluate`: score the evaluation period with the model and with a trivial baseline.

Reads:   the model file, `<prepared>/train.parquet` (labels only, to fit the baseline), `<prepared>/test.parquet`.
Writes:  `<metrics>/evaluate.json` and the curve files for `dvc plots` in `<plots>/`.
Params:  `task.type`, `features.categorical`, `features.numeric`, `evaluate`.
Metrics: `model.*` and `baseline.*`: binary `roc_auc`, `average_precision`, `log_loss`, `brier`, `f1`,
         `recall`, `precision`, `base_rate`; regression `mae`, `rmse`, `r2`; plus `rows` and `threshold`.

The baseline predicts the training base rate (binary) or mean (regression) for every row: a model that does
not beat it has learned nothing worth deploying.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve
from sklearn.dummy import DummyClassifier, DummyRegressor

from pipeline.config import ParamsFile, load_params
from pipeline.errors import PipelineError
from pipeline.io import load_model, write_json
from pipeline.prepare import LABEL

log = logging.getLogger(__name__)


def binary_metrics(y: np.ndarray, score: np.ndarray, threshold: float) -> dict[str, float]:
    """Ranking, probability and decision metrics of predicted probabilities `score` for labels `y`."""
    decided = (score > threshold).astype(int)
    return {
        "roc_auc": skm.roc_auc_score(y, score),
        "average_precision": skm.average_precision_score(y, score),
        "log_loss": skm.log_loss(y, score, labels=[0, 1]),
        "brier": skm.brier_score_loss(y, score),
        "f1": skm.f1_score(y, decided, zero_division=0),
        "recall": skm.recall_score(y, decided, zero_division=0),
        "precision": skm.precision_score(y, decided, zero_division=0),
        "base_rate": float(np.mean(y)),
    }


def regression_metrics(y: np.ndarray, predicted: np.ndarray, threshold: float) -> dict[str, float]:  # noqa: ARG001
    """Error metrics of `predicted` for targets `y` (the threshold is unused: same signature as binary)."""
    return {
        "mae": skm.mean_absolute_error(y, predicted),
        "rmse": skm.root_mean_squared_error(y, predicted),
        "r2": skm.r2_score(y, predicted),
    }


def binary_curves(y: np.ndarray, score: np.ndarray, points: int) -> dict[str, list[dict]]:
    """ROC, precision-recall and calibration curves, resampled to `points` so the files stay small."""
    grid = np.linspace(0, 1, points)
    fpr, tpr, _ = skm.roc_curve(y, score)
    precision, recall, _ = skm.precision_recall_curve(y, score)
    observed, predicted = calibration_curve(y, score, n_bins=10, strategy="quantile")
    return {
        "roc": [{"fpr": f, "tpr": t} for f, t in zip(grid, np.interp(grid, fpr, tpr), strict=True)],
        "precision_recall": [{"recall": r, "precision": p}
                             for r, p in zip(grid, np.interp(grid, recall[::-1], precision[::-1]), strict=True)],
        "calibration": [{"predicted": p, "observed": o} for p, o in zip(predicted, observed, strict=True)],
    }


def regression_curves(y: np.ndarray, predicted: np.ndarray, points: int) -> dict[str, list[dict]]:
    """Mean actual value and mean residual per quantile bin of the prediction."""
    bins = pd.qcut(predicted, q=min(points, len(np.unique(predicted))), duplicates="drop")
    table = pd.DataFrame({"predicted": predicted, "actual": y, "residual": y - predicted, "bin": bins})
    means = table.groupby("bin", observed=True)[["predicted", "actual", "residual"]].mean()
    return {"residuals": means.to_dict(orient="records")}


# task type -> (baseline, how to score, metrics, curves). FORK: add a task type here.
TASKS = {
    "binary": (lambda: DummyClassifier(strategy="prior"), lambda m, x: m.predict_proba(x)[:, 1],
               binary_metrics, binary_curves),
    "regression": (lambda: DummyRegressor(strategy="mean"), lambda m, x: m.predict(x),
                   regression_metrics, regression_curves),
}


def evaluate(model, train: pd.DataFrame, test: pd.DataFrame, inputs: list[str], task_type: str,
             threshold: float, points: int) -> tuple[dict, dict[str, list[dict]]]:
    """Metrics of the model and the baseline on `test`, and the model's curves.

    Raises:
        PipelineError: The evaluation period has no labelled rows, or (binary) only one class.
    """
    if test.empty:
        raise PipelineError("evaluate: the evaluation period has no labelled rows")
    if task_type == "binary" and test[LABEL].nunique() < 2:
        raise PipelineError("evaluate: the evaluation period has one class only; ROC AUC is undefined")
    make_baseline, score, compute, curves = TASKS[task_type]
    y = test[LABEL].to_numpy()
    predicted = score(model, test[inputs])
    baseline = make_baseline().fit(train[inputs], train[LABEL])
    results = {
        "rows": len(test),
        "model": compute(y, predicted, threshold),
        "baseline": compute(y, score(baseline, test[inputs]), threshold),
    }
    if task_type == "binary":
        results["threshold"] = threshold
    return results, curves(y, predicted, points)


def main(
    model: Annotated[Path, typer.Option(help="The model file (paths.model).")],
    prepared: Annotated[Path, typer.Option(help="Folder with train.parquet and test.parquet (paths.prepared).")],
    metrics: Annotated[Path, typer.Option(help="JSON file for the metrics.")],
    plots: Annotated[Path, typer.Option(help="Folder for the curve files (paths.plots).")],
    params_file: ParamsFile = Path("params.yaml"),
) -> None:
    """Score the evaluation period and write metrics and curves."""
    params = load_params(params_file)
    train = pd.read_parquet(prepared / "train.parquet")
    test = pd.read_parquet(prepared / "test.parquet")
    results, curves = evaluate(load_model(model), train, test, params.features.inputs, params.task.type,
                               params.evaluate.threshold, params.evaluate.curve_points)
    write_json(results, metrics)
    for name, points in curves.items():
        write_json({name: points}, plots / f"{name}.json")
    log.info("evaluate: %s", {k: round(v, 4) for k, v in results["model"].items()})


if __name__ == "__main__":
    from pipeline.cli import run_alone

    run_alone(main)
