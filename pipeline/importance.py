"""What each feature contributes to the model, and what it costs: part of the `evaluate` stage.

Permutation importance on the evaluation period: one feature's values are shuffled across its rows (so it
carries no information about the row any more, while its distribution stays the same) and the model's loss
rises by how much the model relied on it. A feature is scored as one input column, so the one-hot columns a
linear model makes of a category move together.

The loss is per row, so that the evaluation period's uncertainty can be resampled as for every other metric:
binary and multiclass the log loss of the true class (a proper scoring rule: ROC AUC has no per-row form),
regression the absolute error (the per-row form of MAE, its primary metric). The interval is the seeded
bootstrap over rows of the mean loss increase, stratified by class as `pipeline.metrics` does. A feature whose
interval reaches zero has not been shown to help: it may be noise the model learnt to ignore, or a duplicate of
another feature (shuffling one of two copies costs nothing). Scikit-learn's `permutation_importance` reports
the spread across repeated shuffles only, not across rows, which is why the loss is computed here.

Cost: the columns each feature becomes in the model's input (`width`; trees: 1, one-hot: one per category)
and where its values come from (`source`: a batch column, a calendar feature, a joined table), the part of
`prepare`'s work it causes; `benchmarks/feature_cost_benchmark.py` times those parts (timings are not written
here: the metrics must be the same bytes on every run).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.preprocessing import OneHotEncoder

from pipeline.config import Params
from pipeline.features import LABEL
from pipeline.metrics import TASKS, percentile_interval

EPS = 1e-15  # log loss of a probability of zero: large, not infinite


def row_losses(task_type: str, y: np.ndarray, score: np.ndarray, setting) -> np.ndarray:
    """Each row's loss: log loss of the true class (binary, multiclass), absolute error (regression)."""
    if task_type == "regression":
        return np.abs(y - score)
    if task_type == "binary":
        p = np.clip(np.where(y == 1, score, 1 - score), EPS, 1)
        return -np.log(p)
    column = pd.Index([str(c) for c in setting]).get_indexer(np.asarray(y).astype(str))
    p = np.where(column >= 0, score[np.arange(len(y)), np.maximum(column, 0)], 0.0)  # unseen class: p = 0
    return -np.log(np.clip(p, EPS, 1))


def permutation_importance(model, rows: pd.DataFrame, params: Params) -> dict[str, dict[str, float]]:
    """Each input feature's mean loss increase when shuffled, with its bootstrap interval: {value, low, high}."""
    kind, inputs = TASKS[params.task.type], params.features.inputs
    y, setting, x = rows[LABEL].to_numpy(), kind.setting(model), rows[inputs]
    rng = np.random.default_rng(params.base.seed)
    base = row_losses(params.task.type, y, kind.score(model, x), setting)
    increases = np.empty((len(rows), len(inputs)))
    for i, feature in enumerate(inputs):
        shuffled = x.assign(**{feature: x[feature].to_numpy()[rng.permutation(len(x))]})
        increases[:, i] = row_losses(params.task.type, y, kind.score(model, shuffled), setting) - base
    strata = y if kind.stratified else None  # the intervals every metric gets: the same draws and percentiles
    low, high = percentile_interval(
        lambda resampled: resampled.mean(axis=0), (increases,), params.evaluate.bootstrap, params.base.seed, strata
    )
    return {
        feature: {"value": float(increases[:, i].mean()), "low": float(low[i]), "high": float(high[i])}
        for i, feature in enumerate(inputs)
    }


def unproven(features: dict[str, dict[str, float]]) -> list[str]:
    """The features whose interval reaches zero: the model is not shown to be better off with them."""
    return sorted(name for name, f in features.items() if f["low"] <= 0)


def input_width(model) -> dict[str, int]:
    """How many columns of the model's input each feature becomes (one-hot: one per kept category, else one)."""
    pipeline = getattr(model, "estimator_", model)  # a binary model wraps the fitted Pipeline with its threshold
    width = {}
    for _, step, columns in pipeline.named_steps["features"].transformers_:
        if isinstance(step, OneHotEncoder):  # rare categories pooled into one column (`infrequent_if_exist`)
            pooled = step.infrequent_categories_ if step.min_frequency or step.max_categories else [None] * len(columns)
            for column, categories, rare in zip(columns, step.categories_, pooled, strict=True):
                width[column] = len(categories) - (len(rare) - 1 if rare is not None and len(rare) else 0)
        elif step != "drop":
            width |= dict.fromkeys(columns, 1)
    return width


def sources(params: Params) -> dict[str, str]:
    """Where each feature comes from: `calendar`, `join <table>`, or `batch` (a column of the raw rows)."""
    joined = {new: f"join {j.table}" for j in params.prepare.joins for new in j.columns.values()}
    calendar = dict.fromkeys(params.prepare.calendar, "calendar")
    return {f: calendar.get(f) or joined.get(f) or "batch" for f in params.features.inputs}


def importance_report(model, rows: pd.DataFrame, params: Params) -> dict:
    """`importance.json`: per feature its contribution with interval, its width and share, and its source.

    On at most `evaluate.importance_rows` rows, a seeded sample: the model scores them once per feature, and a
    few thousand rows measure a contribution well (the interval says how well).
    """
    if len(rows) > params.evaluate.importance_rows:
        rows = rows.sample(params.evaluate.importance_rows, random_state=params.base.seed)
    features = permutation_importance(model, rows, params)
    width, source = input_width(model), sources(params)
    total = sum(width.values()) or 1
    loss = "absolute error" if params.task.type == "regression" else "log loss"
    for name, entry in features.items():
        entry |= {"width": width[name], "width_share": width[name] / total, "source": source[name]}
    return {"format": 1, "loss": loss, "rows": len(rows), "features": features, "unproven": unproven(features)}
