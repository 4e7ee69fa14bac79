"""The metrics every judgement rests on, with their uncertainty: used by `evaluate`, `gate` and the model tests.

One place defines, per task type, which metrics exist, which direction is better, how the model is scored
and what the trivial baseline is; so the evaluation, the champion/challenger gate and the model tests can
never disagree about what "better" means.

Uncertainty comes from a seeded percentile bootstrap over the rows of the evaluation period (scipy's
`bootstrap`): an interval per metric, and, for two models scored on the same rows, a *paired* interval of
their difference, which is far narrower than two separate intervals because both models face the same hard
and easy rows in every resample.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame
from scipy import stats
from sklearn import metrics as skm
from sklearn.dummy import DummyClassifier, DummyRegressor

from pipeline.config import Bootstrap, Slices


def calibration_error(y: np.ndarray, score: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: the row-weighted mean gap between predicted and observed rate per bin.

    Equal-width bins over [0, 1], the usual definition (Guo et al., 2017): 0 is perfectly calibrated.
    """
    which = np.minimum((score * bins).astype(int), bins - 1)
    counts = np.bincount(which, minlength=bins)
    gaps = np.abs(np.bincount(which, weights=score, minlength=bins) - np.bincount(which, weights=y, minlength=bins))
    return float(gaps.sum() / max(counts.sum(), 1))


def _decided(score: np.ndarray, threshold: float) -> np.ndarray:
    # A row is called positive at `score >= threshold`, as scikit-learn's threshold classifiers decide.
    return (score >= threshold).astype(int)


def _both_classes(y: np.ndarray) -> bool:
    return 0 < y.sum() < len(y)


# name -> metric(y, score, threshold). Each is a scikit-learn metric, so its definition is the documented one.
BINARY = {
    "roc_auc": lambda y, s, _t: skm.roc_auc_score(y, s) if _both_classes(y) else np.nan,
    "average_precision": lambda y, s, _t: skm.average_precision_score(y, s) if y.sum() else np.nan,
    "log_loss": lambda y, s, _t: skm.log_loss(y, s, labels=[0, 1]),
    "brier": lambda y, s, _t: skm.brier_score_loss(y, s, pos_label=1),
    "ece": lambda y, s, _t: calibration_error(y, s),
    "f1": lambda y, s, t: skm.f1_score(y, _decided(s, t), zero_division=0),
    "recall": lambda y, s, t: skm.recall_score(y, _decided(s, t), zero_division=0),
    "precision": lambda y, s, t: skm.precision_score(y, _decided(s, t), zero_division=0),
    "base_rate": lambda y, _s, _t: float(np.mean(y)),
}
REGRESSION = {
    "mae": lambda y, p, _t: skm.mean_absolute_error(y, p),
    "rmse": lambda y, p, _t: skm.root_mean_squared_error(y, p),
    "r2": lambda y, p, _t: skm.r2_score(y, p),
}


@dataclass(frozen=True)
class TaskKind:
    """What a task type means for evaluation. FORK: add a task type by adding one of these to TASKS."""

    metrics: dict[str, Callable[[np.ndarray, np.ndarray, float | None], float]]
    baseline: Callable[[], object]
    score: Callable[[object, pd.DataFrame], np.ndarray]
    primary: str
    higher_is_better: frozenset[str]
    interval_metrics: tuple[str, ...]

    def compute(self, y: np.ndarray, score: np.ndarray, threshold: float | None,
                names: list[str] | None = None) -> dict[str, float]:
        """The named metrics (all by default) of predictions `score` for targets `y`."""
        return {name: float(self.metrics[name](y, score, threshold)) for name in names or self.metrics}

    def better(self, metric: str) -> int:
        """+1 when a larger value of `metric` is better, -1 when a smaller one is."""
        return 1 if metric in self.higher_is_better else -1


TASKS = {
    "binary": TaskKind(
        metrics=BINARY,
        baseline=lambda: DummyClassifier(strategy="prior"),
        score=lambda model, x: model.predict_proba(x)[:, 1],
        primary="roc_auc",
        higher_is_better=frozenset({"roc_auc", "average_precision", "f1", "recall", "precision"}),
        interval_metrics=("roc_auc", "average_precision", "brier", "ece", "f1"),
    ),
    "regression": TaskKind(
        metrics=REGRESSION,
        baseline=lambda: DummyRegressor(strategy="mean"),
        score=lambda model, x: model.predict(x),
        primary="mae",
        higher_is_better=frozenset({"r2"}),
        interval_metrics=("mae", "rmse", "r2"),
    ),
}


def threshold_of(model) -> float | None:
    """The decision threshold stored in a binary model (a FixedThresholdClassifier), else None."""
    return getattr(model, "threshold", None)


def _percentile_interval(statistic, samples: tuple[np.ndarray, ...], bootstrap: Bootstrap, seed: int) -> tuple:
    result = stats.bootstrap(samples, statistic, paired=True, vectorized=False, method="percentile",
                             n_resamples=bootstrap.resamples, confidence_level=bootstrap.confidence,
                             rng=np.random.default_rng(seed))
    return result.confidence_interval.low, result.confidence_interval.high


def with_intervals(kind: TaskKind, y: np.ndarray, score: np.ndarray, threshold: float | None,
                   bootstrap: Bootstrap, seed: int) -> dict[str, dict[str, float]]:
    """Every metric as {value, low, high}; low/high only for `kind.interval_metrics` (the rest are exact)."""
    values = kind.compute(y, score, threshold)
    names = list(kind.interval_metrics)
    low, high = _percentile_interval(
        lambda y_, s_: np.array(list(kind.compute(y_, s_, threshold, names).values())), (y, score), bootstrap, seed)
    out = {name: {"value": value} for name, value in values.items()}
    for name, lo, hi in zip(names, np.atleast_1d(low), np.atleast_1d(high), strict=True):
        out[name] |= {"low": float(lo), "high": float(hi)}
    return out


@dataclass(frozen=True)
class Difference:
    """`a - b` for one metric on the same rows, with its paired bootstrap interval."""

    metric: str
    a: float
    b: float
    delta: float
    low: float
    high: float


def paired_difference(kind: TaskKind, metric: str, y: np.ndarray, score_a: np.ndarray, score_b: np.ndarray,
                      threshold_a: float | None, threshold_b: float | None, bootstrap: Bootstrap,
                      seed: int) -> Difference:
    """How much better model a is than b on `metric`, signed so that positive always means a is better."""
    sign = kind.better(metric)

    def value(y_, s_, t_):
        return kind.metrics[metric](y_, s_, t_)

    def delta(y_, a_, b_):
        return sign * (value(y_, a_, threshold_a) - value(y_, b_, threshold_b))

    a, b = value(y, score_a, threshold_a), value(y, score_b, threshold_b)
    low, high = _percentile_interval(delta, (y, score_a, score_b), bootstrap, seed)
    return Difference(metric, float(a), float(b), float(sign * (a - b)), float(low), float(high))


def slice_columns(rows: pd.DataFrame, slices: Slices) -> pd.DataFrame:
    """The columns rows are grouped by: those named in `slices.columns`, numeric bands cut by `slices.bands`."""
    out = {}
    for name in slices.columns:
        if name in slices.bands:
            edges = slices.bands[name]
            labels = [f"{lo:g}–{hi:g}" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
            bands = pd.cut(rows[name], edges, labels=labels, right=False)  # ordered: groups list low to high
            out[name] = bands.cat.add_categories("missing").fillna("missing")
        else:
            out[name] = rows[name].astype("string").fillna("missing")
    return pd.DataFrame(out, index=rows.index)


def _judged(kind: TaskKind, y: np.ndarray, min_rows: int) -> bool:
    # A slice is judged only with enough rows, and (binary) enough of each class for a ranking metric.
    if len(y) < min_rows:
        return False
    return kind is not TASKS["binary"] or min(y.sum(), len(y) - y.sum()) >= 10


def slice_metrics(kind: TaskKind, rows: pd.DataFrame, y: np.ndarray, score: np.ndarray,
                  threshold: float | None, slices: Slices) -> dict:
    """Per slice column: each group's rows and primary metric, and the gap and ratio between judged groups.

    A group too small to judge is marked `judged: false`, never hidden, and left out of the gap.
    """
    metric = kind.primary
    measures = {"rows": lambda y_, _s: len(y_),
                "judged": lambda y_, _s: _judged(kind, np.asarray(y_), slices.min_rows),
                metric: lambda y_, s_: kind.metrics[metric](np.asarray(y_), np.asarray(s_), threshold)}
    groups = slice_columns(rows, slices)
    # One frame per column: each column's groups on their own (carrier, then origin), not their crossing.
    out = {}
    for column in groups.columns:
        table = MetricFrame(metrics=measures, y_true=y, y_pred=score, sensitive_features=groups[column]).by_group
        if isinstance(groups[column].dtype, pd.CategoricalDtype):  # bands: low to high, not alphabetical
            table = table.reindex([c for c in groups[column].cat.categories if c in table.index])
        out[column] = _column_summary(kind, metric, table)
    return {"metric": metric, "min_rows": slices.min_rows, "columns": out}


def _column_summary(kind: TaskKind, metric: str, table: pd.DataFrame) -> dict:
    judged = table[table["judged"].astype(bool)][metric].dropna()
    summary = {"groups": [{"group": str(g), "rows": int(r["rows"]), "judged": bool(r["judged"]),
                           metric: float(r[metric])} for g, r in table.iterrows() if r["rows"] > 0]}
    if len(judged) >= 2:
        best, worst = (judged.idxmax(), judged.idxmin()) if kind.better(metric) > 0 else (judged.idxmin(),
                                                                                          judged.idxmax())
        summary |= {"best": str(best), "worst": str(worst), "gap": float(abs(judged.max() - judged.min())),
                    "ratio": float(judged.min() / judged.max()) if judged.max() else None}
    return summary
