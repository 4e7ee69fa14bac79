"""Stage `train`: fit one scikit-learn Pipeline, feature transforms first, and save it in a safe format.

Reads:   `<prepared>/train.parquet`.
Writes:  the model file (`paths.model`), a skops archive that loads without running arbitrary code.
Params:  `base.seed`, `task.type`, `features.categorical`, `features.numeric`, `train`.

The learned feature transforms are steps of the saved Pipeline, so scoring one row later runs exactly the
code that training ran: there is no separate preprocessing to drift out of step (training/serving skew).

A multiclass model is the same Pipeline with a multiclass classifier (it predicts the most probable class).
A binary model also carries its decision threshold (a `FixedThresholdClassifier` around the Pipeline). The
threshold is chosen on a validation slice, the newest rows of the reference window, by a probe model fitted
on the older rows; then the model is refitted on the whole window. The evaluation month is never looked at,
so the metrics `evaluate` reports for the decision (f1, recall, precision) are honest.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import get_scorer_names
from sklearn.model_selection import FixedThresholdClassifier, TunedThresholdClassifierCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from pipeline import engine, health
from pipeline.artifacts import save_model, write_json
from pipeline.config import Params, ParamsFile, Train, load_params
from pipeline.errors import PipelineError
from pipeline.features import LABEL

log = logging.getLogger(__name__)


def _trees_features(categorical: list[str], numeric: list[str]) -> ColumnTransformer:
    # Gradient-boosted trees split on category codes natively; rare categories beyond 250 are pooled so any
    # column fits under the 255-bin limit, and categories never seen in training score as missing.
    codes = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan, max_categories=250)
    return ColumnTransformer([("categorical", codes, categorical), ("numeric", "passthrough", numeric)])


def _linear_features(categorical: list[str], numeric: list[str]) -> ColumnTransformer:
    onehot = OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=20)
    scaled = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    return ColumnTransformer([("categorical", onehot, categorical), ("numeric", scaled, numeric)])


# estimator name -> (feature step factory, classifier, regressor). FORK: add a family here.
ESTIMATORS = {
    "hist_gradient_boosting": (_trees_features, HistGradientBoostingClassifier, HistGradientBoostingRegressor),
    "linear": (_linear_features, LogisticRegression, Ridge),
}


def _estimator_class(name: str, task_type: str):
    _, classifier, regressor = ESTIMATORS[name]
    return regressor if task_type == "regression" else classifier


def check_estimator_keys(names, key: str, estimator: str, task_type: str, source: Path) -> None:
    """Fail on a name that is not a hyper-parameter of `estimator`; `key` is where params.yaml lists the names.

    Shared by `train.hyperparameters` and `tune.grid`, so both name the bad key and the known ones alike.

    Raises:
        PipelineError: Naming the key and the estimator's parameters.
    """
    known = _estimator_class(estimator, task_type)().get_params()
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise PipelineError(
            f"{source}: key '{key}.{unknown[0]}': unknown for {estimator} ({task_type}); "
            f"known: {', '.join(sorted(known))}"
        )


def check_hyperparameters(train: Train, task_type: str, source: Path) -> None:
    """Fail at load time on a hyper-parameter the estimator does not have, or an unknown threshold objective.

    Raises:
        PipelineError: Naming the key and the estimator's parameters.
    """
    check_estimator_keys(train.hyperparameters, "train.hyperparameters", train.estimator, task_type, source)
    if train.monotonic and train.estimator != "hist_gradient_boosting":
        raise PipelineError(
            f"{source}: key 'train.monotonic': only hist_gradient_boosting takes monotonic "
            f"constraints, not {train.estimator}; empty it or change the estimator"
        )
    if train.monotonic and task_type == "multiclass":
        raise PipelineError(
            f"{source}: key 'train.monotonic': monotonic constraints do not apply to a multiclass "
            "model (a feature cannot raise every class at once); empty it"
        )
    if train.threshold_objective not in get_scorer_names():
        raise PipelineError(
            f"{source}: key 'train.threshold_objective': {train.threshold_objective!r} is not a "
            "scikit-learn scorer (see sklearn.metrics.get_scorer_names())"
        )


def build_model(params: Params) -> Pipeline:
    """The unfitted Pipeline: feature transforms, then the estimator, seeded from `base.seed`."""
    features, _, _ = ESTIMATORS[params.train.estimator]
    cls = _estimator_class(params.train.estimator, params.task.type)
    estimator = cls(**params.train.hyperparameters)
    if "random_state" in estimator.get_params():
        estimator.set_params(random_state=params.base.seed)
    if params.train.estimator == "hist_gradient_boosting":
        estimator.set_params(categorical_features=list(range(len(params.features.categorical))))
        if params.train.monotonic:  # scikit-learn refuses even all-zero constraints for a multiclass model
            estimator.set_params(monotonic_cst=[params.train.monotonic.get(c, 0) for c in params.features.inputs])
    return Pipeline(
        [
            ("features", features(params.features.categorical, params.features.numeric)),
            ("model", estimator),
        ]
    )


def choose_threshold(rows: pd.DataFrame, params: Params) -> float:
    """The probability cut-off that maximizes `train.threshold_objective` on the newest reference rows.

    Rows arrive in time order (periods in order, each file sorted by time), so the last
    `train.validation_fraction` of them is the most recent slice: the closest stand-in for the month ahead.

    Raises:
        PipelineError: The validation slice or the rows before it hold one class only.
    """
    cut = int(len(rows) * (1 - params.train.validation_fraction))
    fit, validation = rows.iloc[:cut], rows.iloc[cut:]
    for name, part in (("fitting", fit), ("validation", validation)):
        if part[LABEL].nunique() < 2:
            raise PipelineError(
                f"train: the {name} slice of the reference rows has one class only; "
                "change train.validation_fraction or release more periods"
            )
    inputs = params.features.inputs
    probe = build_model(params).fit(fit[inputs], fit[LABEL])
    tuned = TunedThresholdClassifierCV(probe, scoring=params.train.threshold_objective, cv="prefit", refit=False)
    return float(tuned.fit(validation[inputs], validation[LABEL]).best_threshold_)


def train_model(rows: pd.DataFrame, params: Params):
    """Fit the model on the inputs named in `features` and the label; a binary model with its threshold.

    A multiclass model predicts the class of highest probability: there is no threshold to tune.

    Raises:
        PipelineError: No rows to learn from, or (classification) only one class present.
    """
    if rows.empty:
        raise PipelineError("train: no labelled rows in the reference periods")
    x, y = rows[params.features.inputs], rows[LABEL]
    if params.task.type != "regression" and y.nunique() < 2:
        raise PipelineError(f"train: the label has one class only ({y.iloc[0]}) in the reference periods")
    # Measured: the same rows and seed fitted with 1, 2, 3 and 4 OpenMP threads give four different models, so
    # the thread count comes from params.yaml and a 4-core runner reproduces what a 2-core laptop recorded.
    with threadpool_limits(limits=params.train.threads):
        if params.task.type != "binary":
            return build_model(params).fit(x, y)
        threshold = choose_threshold(rows, params)
        log.info(
            "train: decision threshold %.4f (%s on the validation slice)", threshold, params.train.threshold_objective
        )
        return FixedThresholdClassifier(build_model(params), threshold=threshold).fit(x, y)


def main(
    prepared: Annotated[Path, typer.Option(help="Folder with train.parquet (paths.prepared).")],
    model: Annotated[Path, typer.Option(help="Where to save the model (paths.model).")],
    params_file: ParamsFile = Path("params.yaml"),
) -> None:
    """Fit the model on the reference periods and save it."""
    params = load_params(params_file)
    check_hyperparameters(params.train, params.task.type, params_file)
    with engine.cluster(params.engine) as client:  # over engine.train_rows: a sample (see pipeline.engine)
        rows, _ = engine.read_rows(prepared / "train.parquet", params.engine.train_rows, params.base.seed, client)
    health.check_inputs(rows[params.features.inputs], params.features.numeric, str(prepared / "train.parquet"))
    log.info("train: fitting %s on %d rows x %d inputs", params.train.estimator, len(rows), len(params.features.inputs))
    started = time.perf_counter()
    save_model(train_model(rows, params), model)
    seconds = time.perf_counter() - started
    log.info("train: saved %s", model)
    write_cost(params.paths.cost / "train.json", rows=len(rows), seconds=seconds, model=model)


def write_cost(path: Path, *, rows: int, seconds: float, model: Path) -> None:
    """The run's cost, for the monitoring record: a run log beside the outputs, not a DVC output.

    Timings differ between two runs of the same inputs, and every DVC output here is the same bytes for the
    same inputs (tests/project/test_pipeline.py checks it); so the figures go to `paths.cost`, which neither
    DVC nor git tracks, and `pipeline ct` copies them into the round's record.
    """
    figures = {"rows": rows, "fit_seconds": round(seconds, 3), "peak_mb": round(health.peak_mb(), 1)}
    write_json({"format": 1, **figures, "model_bytes": model.stat().st_size}, path)


if __name__ == "__main__":
    from pipeline.command import run_alone

    run_alone(main)
