"""Stage `evaluate`: score the evaluation period with the model and with a trivial baseline.

Reads:   the model file, `<prepared>/train.parquet` (labels only, to fit the baseline), `<prepared>/test.parquet`.
Writes:  `<metrics>/evaluate.json`, `<metrics>/slices.json` and the curve files for `dvc plots` in `<plots>/`.
Params:  `base.seed`, `task.type`, `features`, `evaluate`.
Metrics: `model.<metric>.{value,low,high}` and `baseline.<metric>...`: binary `roc_auc`, `average_precision`,
         `log_loss`, `brier`, `ece` (expected calibration error), `f1`, `recall`, `precision`, `base_rate`;
         regression `mae`, `rmse`, `r2`; plus `rows`, `threshold` (the model's own, chosen in `train`) and
         `primary`. `slices.json`: per slice column, each group's rows and primary metric, the gap and ratio.

The baseline predicts the training base rate (binary) or mean (regression) for every row: a model that does
not beat it has learned nothing worth deploying. Intervals are seeded bootstrap percentiles over the rows of
the evaluation period (see pipeline.metrics), so the same inputs give the same bytes.
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

from pipeline.config import Params, ParamsFile, load_params
from pipeline.errors import PipelineError
from pipeline.io import load_model, write_json
from pipeline.metrics import TASKS, slice_metrics, threshold_of, with_intervals
from pipeline.prepare import LABEL

log = logging.getLogger(__name__)
FORMAT = 2  # of evaluate.json; 1 had plain numbers and no interval (readers of old commits must accept both)


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


CURVES = {"binary": binary_curves, "regression": regression_curves}  # FORK: a new task type's curves


def evaluate(model, train: pd.DataFrame, test: pd.DataFrame, params: Params) -> tuple[dict, dict, dict]:
    """Metrics with intervals of the model and the baseline on `test`, per-slice metrics, and the curves.

    Raises:
        PipelineError: The evaluation period has no labelled rows, or (binary) only one class.
    """
    if test.empty:
        raise PipelineError("evaluate: the evaluation period has no labelled rows")
    if params.task.type == "binary" and test[LABEL].nunique() < 2:
        raise PipelineError("evaluate: the evaluation period has one class only; ROC AUC is undefined")
    kind, inputs = TASKS[params.task.type], params.features.inputs
    y, threshold = test[LABEL].to_numpy(), threshold_of(model)
    score = kind.score(model, test[inputs])
    baseline = kind.baseline().fit(train[inputs], train[LABEL])
    bootstrap, seed = params.evaluate.bootstrap, params.base.seed
    results = {
        "format": FORMAT,
        "task": params.task.type,
        "primary": kind.primary,
        "rows": len(test),
        "threshold": threshold,
        "model": with_intervals(kind, y, score, threshold, bootstrap, seed),
        "baseline": with_intervals(kind, y, kind.score(baseline, test[inputs]), threshold, bootstrap, seed),
    }
    slices = slice_metrics(kind, test, y, score, threshold, params.evaluate.slices)
    return results, slices, CURVES[params.task.type](y, score, params.evaluate.curve_points)


def main(
    model: Annotated[Path, typer.Option(help="The model file (paths.model).")],
    prepared: Annotated[Path, typer.Option(help="Folder with train.parquet and test.parquet (paths.prepared).")],
    metrics: Annotated[Path, typer.Option(help="JSON file for the metrics.")],
    slices: Annotated[Path, typer.Option(help="JSON file for the per-slice metrics.")],
    plots: Annotated[Path, typer.Option(help="Folder for the curve files (paths.plots).")],
    params_file: ParamsFile = Path("params.yaml"),
) -> None:
    """Score the evaluation period and write metrics and curves."""
    params = load_params(params_file)
    train = pd.read_parquet(prepared / "train.parquet")
    test = pd.read_parquet(prepared / "test.parquet")
    results, by_slice, curves = evaluate(load_model(model), train, test, params)
    write_json(results, metrics)
    write_json(by_slice, slices)
    for name, points in curves.items():
        write_json({name: points}, plots / f"{name}.json")
    log.info("evaluate: %s", {k: round(v["value"], 4) for k, v in results["model"].items()})


if __name__ == "__main__":
    from pipeline.cli import run_alone

    run_alone(main)
