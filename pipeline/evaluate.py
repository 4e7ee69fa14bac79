"""Stage `evaluate`: score the evaluation period with the model and with a trivial baseline.

Reads:   the model file, `<prepared>/train.parquet` (to fit the baseline and the simpler model) and
         `<prepared>/test.parquet`.
Writes:  `<metrics>/evaluate.json`, `<metrics>/slices.json`, `<metrics>/importance.json` and the plots files
         for `dvc plots` in `<plots>/`
         (binary: `roc.json`, `precision_recall.json`, `calibration.json`; multiclass: `confusion.json`, one
         `{actual, predicted}` record per row; regression: `residuals.json`).
Params:  `base.seed`, `task.type`, `features`, `evaluate`, `train.threads` (the simpler model's fit), and
         `prepare.calendar`, `prepare.joins` (where each feature comes from).
Metrics: `model.<metric>.{value,low,high}` and `baseline.<metric>...`: binary `roc_auc`, `average_precision`,
         `log_loss`, `brier`, `ece` (expected calibration error), `f1`, `recall`, `precision`, `base_rate`;
         multiclass `accuracy`, `balanced_accuracy`, `f1_macro`, `precision_macro`, `recall_macro`,
         `roc_auc_ovr` (macro one-vs-rest), `log_loss`, and `per_class.<class>.{precision,recall,f1,support}`;
         regression `mae`, `rmse`, `r2`; plus `rows`, `threshold` (binary: the model's own, chosen in `train`)
         and `primary`. `slices.json`: per slice column, each group's rows and primary metric, gap and ratio.

`simpler.<metric>...` is a simpler model (`evaluate.simpler`, the linear one by default), trained on the same
rows, and `versus_simpler` the paired difference of the primary metric, model minus simpler, with its interval:
a model whose extra complexity buys nothing measurable should be the simpler one. `importance.json` is what each
feature contributes (see pipeline.importance).

The baseline predicts the training base rate (binary), the training class shares (multiclass) or the mean
(regression) for every row: a model that does not beat it has learned nothing worth deploying. Intervals are
seeded bootstrap percentiles over the rows of the evaluation period (see pipeline.metrics), so the same inputs
give the same bytes.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from pipeline import engine, health
from pipeline.artifacts import load_model, write_json
from pipeline.config import Params, ParamsFile, load_params
from pipeline.errors import PipelineError
from pipeline.features import LABEL
from pipeline.importance import importance_report
from pipeline.metrics import (
    TASKS,
    Setting,
    TaskKind,
    paired_difference,
    per_class,
    predicted_class,
    slice_metrics,
    threshold_of,
    with_intervals,
)
from pipeline.train import ESTIMATORS, build_model

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
        "precision_recall": [
            {"recall": r, "precision": p}
            for r, p in zip(grid, np.interp(grid, recall[::-1], precision[::-1]), strict=True)
        ],
        "calibration": [{"predicted": p, "observed": o} for p, o in zip(predicted, observed, strict=True)],
    }


def regression_curves(y: np.ndarray, predicted: np.ndarray, points: int) -> dict[str, list[dict]]:
    """Mean actual value and mean residual per quantile bin of the prediction."""
    bins = pd.qcut(predicted, q=min(points, len(np.unique(predicted))), duplicates="drop")
    table = pd.DataFrame({"predicted": predicted, "actual": y, "residual": y - predicted, "bin": bins})
    means = table.groupby("bin", observed=True)[["predicted", "actual", "residual"]].mean()
    return {"residuals": means.to_dict(orient="records")}


def confusion_rows(y: np.ndarray, score: np.ndarray, classes) -> dict[str, list[dict]]:
    """One {actual, predicted} record per row: DVC's `confusion` template counts them into the matrix."""
    predicted = predicted_class(score, classes)
    return {"confusion": [{"actual": str(a), "predicted": str(p)} for a, p in zip(y, predicted, strict=True)]}


# task type -> plots files, from (y, score, the model's setting, points). FORK: a new task type's plots.
CURVES = {
    "binary": lambda y, score, _setting, points: binary_curves(y, score, points),
    "multiclass": lambda y, score, classes, _points: confusion_rows(y, score, classes),
    "regression": lambda y, score, _setting, points: regression_curves(y, score, points),
}


def yardstick_setting(kind: TaskKind, yardstick, model_setting: Setting) -> Setting:
    """How a yardstick (the baseline, the simpler model) decides: as the model does, at its binary threshold.

    A multiclass yardstick scores the classes it was fitted on, which need not be the model's.
    """
    return kind.setting(yardstick) if kind is TASKS["multiclass"] else model_setting


def evaluate(
    model, train: pd.DataFrame, test: pd.DataFrame, params: Params, where: str = "the evaluation rows"
) -> tuple[dict, dict, dict]:
    """Metrics with intervals of the model and the baseline on `test`, per-slice metrics, and the curves.

    `where` names `test` in an error (its file, when it has one).

    Raises:
        PipelineError: The evaluation period has no labelled rows, or (binary) only one class, or the model
            scores a row NaN or infinite.
    """
    if test.empty:
        raise PipelineError("evaluate: the evaluation period has no labelled rows")
    if params.task.type == "binary" and test[LABEL].nunique() < 2:
        raise PipelineError("evaluate: the evaluation period has one class only; ROC AUC is undefined")
    kind, inputs = TASKS[params.task.type], params.features.inputs
    y, setting = test[LABEL].to_numpy(), kind.setting(model)
    score = kind.score(model, test[inputs])
    health.check_scores(score, f"the model's scores on {where}", getattr(model, "classes_", None))
    baseline = kind.baseline().fit(train[inputs], train[LABEL])
    baseline_setting = yardstick_setting(kind, baseline, setting)
    bootstrap, seed = params.evaluate.bootstrap, params.base.seed
    results = {
        "format": FORMAT,
        "task": params.task.type,
        "primary": kind.primary,
        "rows": len(test),
        "threshold": threshold_of(model),
        "model": with_intervals(kind, y=y, score=score, setting=setting, bootstrap=bootstrap, seed=seed),
        "baseline": with_intervals(
            kind,
            y=y,
            score=kind.score(baseline, test[inputs]),
            setting=baseline_setting,
            bootstrap=bootstrap,
            seed=seed,
        ),
    }
    if params.task.type == "multiclass":
        results["per_class"] = per_class(y, score, setting, min_rows=params.evaluate.slices.min_rows)
    results |= simpler_model_results(train, test, params, score=score, setting=setting)
    slices = slice_metrics(kind, rows=test, y=y, score=score, setting=setting, slices=params.evaluate.slices)
    return results, slices, CURVES[params.task.type](y, score, setting, params.evaluate.curve_points)


def simpler_model_results(train: pd.DataFrame, test: pd.DataFrame, params: Params, *, score, setting) -> dict:
    """The simpler model's metrics and the paired difference of the primary metric (model minus simpler).

    Empty when `evaluate.simpler` is null or is the model's own estimator (nothing simpler to compare with).

    Raises:
        PipelineError: `evaluate.simpler` is not an estimator `train` knows.
    """
    name = params.evaluate.simpler
    if name is None or name == params.train.estimator:
        return {}
    if name not in ESTIMATORS:
        raise PipelineError(f"key 'evaluate.simpler': {name!r} is not an estimator; known: {', '.join(ESTIMATORS)}")
    kind, inputs = TASKS[params.task.type], params.features.inputs
    family = params.train.model_copy(update={"estimator": name, "hyperparameters": {}, "monotonic": {}})
    # One fit, no threshold of its own: it decides at the model's threshold, as the baseline does, and the
    # comparison that counts is the primary metric, which needs none (binary ROC AUC ranks the scores).
    with warnings.catch_warnings(), threadpool_limits(limits=params.train.threads):
        warnings.simplefilter("ignore", ConvergenceWarning)  # a fit stopped at its iteration limit is a fair yardstick
        simpler = build_model(params.model_copy(update={"train": family})).fit(train[inputs], train[LABEL])
    y, simple_score = test[LABEL].to_numpy(), kind.score(simpler, test[inputs])
    bootstrap, seed = params.evaluate.bootstrap, params.base.seed
    simple_setting = yardstick_setting(kind, simpler, setting)
    diff = paired_difference(
        kind,
        metric=kind.primary,
        y=y,
        score_a=score,
        score_b=simple_score,
        setting_a=setting,
        setting_b=simple_setting,
        bootstrap=bootstrap,
        seed=seed,
    )
    return {  # the simpler model's own metrics without intervals: its paired difference is the interval that counts
        "simpler": {name: {"value": value} for name, value in kind.compute(y, simple_score, simple_setting).items()},
        "versus_simpler": {
            "estimator": name,
            "metric": diff.metric,
            "delta": diff.delta,
            "low": diff.low,
            "high": diff.high,
        },
    }


def beats_simpler(results: dict) -> str | None:
    """Why the model does not beat the simpler one by its paired interval (None: it does, or none was scored)."""
    versus = results.get("versus_simpler")
    if versus is None or versus["low"] > 0:
        return None
    return (
        f"the model is not shown better than the simpler {versus['estimator']} model: {versus['metric']} better by "
        f"{versus['delta']:+.4f}, paired interval {versus['low']:+.4f} to {versus['high']:+.4f} (it must lie above 0)"
    )


def main(
    *,
    model: Annotated[Path, typer.Option(help="The model file (paths.model).")],
    prepared: Annotated[Path, typer.Option(help="Folder with train.parquet and test.parquet (paths.prepared).")],
    metrics: Annotated[Path, typer.Option(help="JSON file for the metrics.")],
    slices: Annotated[Path, typer.Option(help="JSON file for the per-slice metrics.")],
    importance: Annotated[Path, typer.Option(help="JSON file for each feature's contribution and cost.")],
    plots: Annotated[Path, typer.Option(help="Folder for the curve files (paths.plots).")],
    params_file: ParamsFile = Path("params.yaml"),
) -> None:
    """Score the evaluation period and write metrics and curves."""
    params = load_params(params_file)
    seed = params.base.seed
    with engine.cluster(params.engine) as client:  # the rows train learnt from: the same sample, if any
        train, available = engine.read_rows(prepared / "train.parquet", params.engine.train_rows, seed, client)
        test, _ = engine.read_rows(prepared / "test.parquet", None, seed, client)
    fitted = load_model(model)
    results, by_slice, curves = evaluate(fitted, train, test, params, str(prepared / "test.parquet"))
    results["training"] = {"rows": len(train), "available": available}
    write_json(results, metrics)
    write_json(by_slice, slices)
    write_json(importance_report(fitted, test, params), importance)  # on a seeded sample of `test`, see there
    for name, points in curves.items():
        write_json({name: points}, plots / f"{name}.json")
    log.info("evaluate: %s", {k: round(v["value"], 4) for k, v in results["model"].items()})


if __name__ == "__main__":
    from pipeline.command import run_alone

    run_alone(main)
