"""The metrics every judgement rests on, with their uncertainty: used by `evaluate`, `gate` and the model tests.

One place defines, per task type, which metrics exist, which direction is better, how the model is scored
and what the trivial baseline is; so the evaluation, the champion/challenger gate and the model tests can
never disagree about what "better" means.

Every metric takes `(y, score, setting)`: the labels, the model's score per row (binary: the probability of
the positive class; multiclass: the `predict_proba` matrix, one column per class; regression: the prediction)
and the model's own decision setting (binary: its threshold; multiclass: its classes, the names of the score
columns; regression: None), taken from the model by `TaskKind.setting`.

Uncertainty comes from a seeded percentile bootstrap over the rows of the evaluation period (row indices are
resampled, so a score matrix resamples by rows like a vector): an interval per metric, and, for two models
scored on the same rows, a *paired* interval of their difference, which is far narrower than two separate
intervals because both models face the same hard and easy rows in every resample. Classification tasks
resample within each class of the label (`bootstrap_rows` says why); regression resamples all rows.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame
from scipy import stats
from sklearn import metrics as skm
from sklearn.dummy import DummyClassifier, DummyRegressor

from pipeline.config import HIGHER_IS_BETTER, PRIMARY_METRIC, Bootstrap, Slices
from pipeline.datatests import rank_auc
from pipeline.labels import as_text

# A model's own decision setting (see the module's docstring): binary its threshold, multiclass its class
# names, regression None.
Setting = float | tuple[str, ...] | None


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


# name -> metric(labels, score, setting). Each is a scikit-learn metric, so its definition is the documented one.
BINARY = {
    "roc_auc": lambda labels, score, _threshold: rank_auc(labels, score) if _both_classes(labels) else np.nan,
    "average_precision": lambda labels, score, _threshold: (
        skm.average_precision_score(labels, score) if labels.sum() else np.nan
    ),
    "log_loss": lambda labels, score, _threshold: skm.log_loss(labels, score, labels=[0, 1]),
    "brier": lambda labels, score, _threshold: skm.brier_score_loss(labels, score, pos_label=1),
    "ece": lambda labels, score, _threshold: calibration_error(labels, score),
    "f1": lambda labels, score, threshold: skm.f1_score(labels, _decided(score, threshold), zero_division=0),
    "recall": lambda labels, score, threshold: skm.recall_score(labels, _decided(score, threshold), zero_division=0),
    "precision": lambda labels, score, threshold: skm.precision_score(
        labels, _decided(score, threshold), zero_division=0
    ),
    "base_rate": lambda labels, _score, _threshold: float(np.mean(labels)),
}


def predicted_class(score: np.ndarray, classes) -> np.ndarray:
    """The class of highest probability per row (ties: the first class, as `predict` decides)."""
    return np.asarray(classes)[np.argmax(score, axis=1)]


def roc_auc_ovr(y: np.ndarray, score: np.ndarray, classes) -> float:
    """Macro one-vs-rest ROC AUC over the model's classes that the rows hold both in and out of.

    A class absent from the rows (or the only one present) has no ROC curve, so it is left out rather than
    failing the whole metric; a class the model does not know has no score column, and its rows count as
    negatives of every known class. NaN when no class qualifies.
    """
    members = y[:, None] == np.asarray(classes)[None, :]  # one indicator column per class: one-vs-rest
    scored = (members.sum(axis=0) > 0) & (members.sum(axis=0) < len(y))
    return skm.roc_auc_score(members[:, scored], score[:, scored], average="macro") if scored.any() else np.nan


def multiclass_log_loss(y: np.ndarray, score: np.ndarray, classes) -> float:
    """Log loss on the rows of a class the model knows (others have no probability to score); NaN if none."""
    known = np.isin(y, classes)
    return skm.log_loss(y[known], score[known], labels=list(classes)) if known.any() else np.nan


def _macro(metric):
    # Averaged over the classes present in the rows or predicted (scikit-learn's default label set).
    return lambda labels, score, classes: metric(
        labels, predicted_class(score, classes), average="macro", zero_division=0
    )


MULTICLASS = {
    "accuracy": lambda labels, score, classes: skm.accuracy_score(labels, predicted_class(score, classes)),
    "balanced_accuracy": lambda labels, score, classes: skm.balanced_accuracy_score(
        labels, predicted_class(score, classes)
    ),
    "f1_macro": _macro(skm.f1_score),
    "precision_macro": _macro(skm.precision_score),
    "recall_macro": _macro(skm.recall_score),
    "roc_auc_ovr": roc_auc_ovr,
    "log_loss": multiclass_log_loss,
}
REGRESSION = {
    "mae": lambda labels, predicted, _setting: skm.mean_absolute_error(labels, predicted),
    "rmse": lambda labels, predicted, _setting: skm.root_mean_squared_error(labels, predicted),
    "r2": lambda labels, predicted, _setting: skm.r2_score(labels, predicted),
}


@dataclass(frozen=True)
class TaskKind:
    """What a task type means for evaluation. FORK: add a task type by adding one of these to TASKS."""

    metrics: dict[str, Callable[[np.ndarray, np.ndarray, object], float]]
    baseline: Callable[[], object]
    score: Callable[[object, pd.DataFrame], np.ndarray]
    setting: Callable[[object], Setting]
    primary: str
    higher_is_better: frozenset[str]
    interval_metrics: tuple[str, ...]
    stratified: bool = False  # bootstrap within each class of the label (classification), see `bootstrap_rows`

    def compute(
        self, y: np.ndarray, score: np.ndarray, setting: Setting, names: list[str] | None = None
    ) -> dict[str, float]:
        """The named metrics (all by default) of predictions `score` for targets `y`."""
        with warnings.catch_warnings():  # a bootstrap resample may miss a class: the metric says so by its value
            warnings.simplefilter("ignore", UserWarning)
            return {name: float(self.metrics[name](y, score, setting)) for name in names or self.metrics}

    def better(self, metric: str) -> int:
        """+1 when a larger value of `metric` is better, -1 when a smaller one is."""
        return 1 if metric in self.higher_is_better else -1


TASKS = {
    "binary": TaskKind(
        metrics=BINARY,
        baseline=lambda: DummyClassifier(strategy="prior"),
        score=lambda model, x: model.predict_proba(x)[:, 1],
        setting=lambda model: threshold_of(model),
        primary=PRIMARY_METRIC["binary"],
        higher_is_better=HIGHER_IS_BETTER["binary"],
        interval_metrics=("roc_auc", "average_precision", "brier", "ece", "f1"),
        stratified=True,
    ),
    "multiclass": TaskKind(
        metrics=MULTICLASS,
        baseline=lambda: DummyClassifier(strategy="prior"),
        score=lambda model, x: model.predict_proba(x),
        setting=lambda model: tuple(str(c) for c in model.classes_),
        primary=PRIMARY_METRIC["multiclass"],
        higher_is_better=HIGHER_IS_BETTER["multiclass"],
        interval_metrics=("accuracy", "balanced_accuracy", "f1_macro", "roc_auc_ovr", "log_loss"),
        stratified=True,
    ),
    "regression": TaskKind(
        metrics=REGRESSION,
        baseline=lambda: DummyRegressor(strategy="mean"),
        score=lambda model, x: model.predict(x),
        setting=lambda _model: None,
        primary=PRIMARY_METRIC["regression"],
        higher_is_better=HIGHER_IS_BETTER["regression"],
        interval_metrics=("mae", "rmse", "r2"),
    ),
}


# task type -> (how its outputs are tested for drift, its primary metric's name and value for one period from
# the labels and the model's outputs; None where undefined). `drift` computes it per period on predictions
# (the positive class's probability, the predicted class, or the value), and the report names it.
PERIOD_METRIC = {
    "binary": (
        "numeric",
        PRIMARY_METRIC["binary"],
        lambda labels, score: float(skm.roc_auc_score(labels, score)) if labels.nunique() == 2 else None,
    ),
    "multiclass": (
        "categorical",
        PRIMARY_METRIC["multiclass"],
        lambda labels, predicted: float(skm.f1_score(labels, predicted, average="macro", zero_division=0)),
    ),
    "regression": (
        "numeric",
        PRIMARY_METRIC["regression"],
        lambda labels, predicted: float(skm.mean_absolute_error(labels, predicted)),
    ),
}


def threshold_of(model) -> float | None:
    """The decision threshold stored in a binary model (a FixedThresholdClassifier), else None."""
    return getattr(model, "threshold", None)


def bootstrap_rows(
    n: int, resamples: int, rng: np.random.Generator, strata: np.ndarray | None = None
) -> Iterator[np.ndarray]:
    """Row indices of `resamples` bootstrap resamples of `n` rows, one resample at a time.

    Plain (`strata` None): n rows drawn with replacement from all n, the very draws of scipy's `bootstrap`.
    Stratified (`strata`, one label per row): each stratum's rows drawn with replacement from that stratum only,
    so every resample keeps every stratum's row count; a resample's rows come stratum by stratum.

    Classification resamples by the true class. Drawn from all rows, a class with one row in the evaluation
    period is missing from about a third of the resamples, and a macro metric jumps whenever it is (its class
    leaves the average), so the interval is a mixture of two distributions and may leave the point estimate at
    its edge. The class counts are what the evaluation period fixed, not an uncertainty of the model; the
    stratified bootstrap conditions on them, so a rare class is in every resample and the interval measures the
    model's errors within the classes.

    Every draw is made here, before the first resample is used, as one matrix per stratum. They are held as
    32-bit positions (numpy draws the same numbers at either width), and a resample's 64-bit row indices are
    made only when it is asked for: 200 resamples of a million rows hold 0.8 GB, where the matrices of row
    indices, concatenated, held 3.2 GB at the evaluation's peak.
    """
    if strata is None:
        members = [np.arange(n)]
    else:
        codes, _ = pd.factorize(np.asarray(strata, dtype=object), use_na_sentinel=False)  # in order of appearance
        members = [np.flatnonzero(codes == code) for code in range(codes.max() + 1)]
    width = np.int32 if n <= np.iinfo(np.int32).max else np.int64
    draws = [rng.integers(0, len(rows), (resamples, len(rows)), dtype=width) for rows in members]
    return (
        np.concatenate([rows[drawn[r]] for rows, drawn in zip(members, draws, strict=True)]) for r in range(resamples)
    )


def percentile_interval(
    statistic, samples: tuple[np.ndarray, ...], bootstrap: Bootstrap, seed: int, strata: np.ndarray | None = None
) -> tuple:
    """The seeded percentile bootstrap interval (low, high) of `statistic` over the rows of `samples`."""
    # Each sample is indexed by the resampled rows, so a 2-D score matrix keeps its class columns together.
    # Without strata this is scipy's `bootstrap(..., paired=True, method="percentile")`, draw for draw.
    rows = bootstrap_rows(len(samples[0]), bootstrap.resamples, np.random.default_rng(seed), strata)
    values = np.array([statistic(*(s[r] for s in samples)) for r in rows]).T  # (metrics, resamples), or (resamples,)
    alpha = (1 - bootstrap.confidence) / 2
    interval = stats.quantile(values, np.array([alpha, 1 - alpha]), axis=-1)  # scipy's own percentiles
    return interval[..., 0], interval[..., 1]


def _strata(kind: TaskKind, y: np.ndarray) -> np.ndarray | None:
    return y if kind.stratified else None


def metric_interval(
    kind: TaskKind, metric: str, *, y: np.ndarray, score: np.ndarray, setting: Setting, bootstrap: Bootstrap, seed: int
) -> list[float]:
    """One metric's [low, high] by the same bootstrap as `with_intervals` (the gate's, for each model alone)."""
    low, high = percentile_interval(
        lambda y_, s_: kind.compute(y_, s_, setting, [metric])[metric], (y, score), bootstrap, seed, _strata(kind, y)
    )
    return [float(low), float(high)]


def with_intervals(
    kind: TaskKind, *, y: np.ndarray, score: np.ndarray, setting: Setting, bootstrap: Bootstrap, seed: int
) -> dict[str, dict[str, float]]:
    """Every metric as {value, low, high}; low/high only for `kind.interval_metrics` (the rest are exact)."""
    values = kind.compute(y, score, setting)
    names = list(kind.interval_metrics)
    low, high = percentile_interval(
        lambda y_, s_: np.array(list(kind.compute(y_, s_, setting, names).values())),
        (y, score),
        bootstrap,
        seed,
        _strata(kind, y),
    )
    out = {name: {"value": value} for name, value in values.items()}
    for name, lo, hi in zip(names, np.atleast_1d(low), np.atleast_1d(high), strict=True):
        out[name] |= {"low": float(lo), "high": float(hi)}
    return out


def per_class(y: np.ndarray, score: np.ndarray, classes, *, min_rows: int = 1) -> dict[str, dict]:
    """Precision, recall, f1, support (rows) and judged of every class present in the rows or predicted.

    A class with fewer than `min_rows` rows (evaluate passes `evaluate.slices.min_rows`) is marked
    `judged: false`, as a slice too small is: its recall and f1 rest on a handful of rows. It is shown, not
    hidden, and still counts in the macro metrics.
    """
    predicted = predicted_class(score, classes)
    labels = sorted(set(y) | set(predicted))
    precision, recall, f1, support = skm.precision_recall_fscore_support(y, predicted, labels=labels, zero_division=0)
    return {
        str(c): {
            "precision": float(p),
            "recall": float(r),
            "f1": float(f),
            "support": int(n),
            "judged": bool(n >= min_rows),
        }
        for c, p, r, f, n in zip(labels, precision, recall, f1, support, strict=True)
    }


@dataclass(frozen=True)
class Difference:
    """`a - b` for one metric on the same rows, with its paired bootstrap interval."""

    metric: str
    a: float
    b: float
    delta: float
    low: float
    high: float


def paired_difference(
    kind: TaskKind,
    *,
    metric: str,
    y: np.ndarray,
    score_a: np.ndarray,
    score_b: np.ndarray,
    setting_a: Setting,
    setting_b: Setting,
    bootstrap: Bootstrap,
    seed: int,
) -> Difference:
    """How much better model a is than b on `metric`, signed so that positive always means a is better.

    Each model keeps its own setting: two multiclass models may know different classes (trained on different
    windows), so their score matrices need not have the same columns.
    """
    sign = kind.better(metric)

    def value(y_, s_, setting):
        return kind.compute(y_, s_, setting, [metric])[metric]

    def delta(y_, a_, b_):
        return sign * (value(y_, a_, setting_a) - value(y_, b_, setting_b))

    a, b = value(y, score_a, setting_a), value(y, score_b, setting_b)
    low, high = percentile_interval(delta, (y, score_a, score_b), bootstrap, seed, _strata(kind, y))
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
            out[name] = as_text(rows[name]).fillna("missing")  # a whole-number float names its group `6`
    return pd.DataFrame(out, index=rows.index)


def _judged(kind: TaskKind, y: np.ndarray, min_rows: int) -> bool:
    # A slice is judged only with enough rows, and (binary) enough of each class for a ranking metric.
    if len(y) < min_rows:
        return False
    return kind is not TASKS["binary"] or min(y.sum(), len(y) - y.sum()) >= 10


def slice_metrics(
    kind: TaskKind, *, rows: pd.DataFrame, y: np.ndarray, score: np.ndarray, setting: Setting, slices: Slices
) -> dict:
    """Per slice column: each group's rows and primary metric, and the gap and ratio between judged groups.

    A group too small to judge is marked `judged: false`, never hidden, and left out of the gap.
    """
    metric = kind.primary
    measure = {metric: lambda y_, s_: kind.compute(np.asarray(y_), np.asarray(s_), setting, [metric])[metric]}
    groups = slice_columns(rows, slices)
    # One frame per column: each column's groups on their own (one column, then the next), not their crossing.
    # Rows and judged-or-not are counts, taken with pandas; MetricFrame copies each group's rows once per
    # measure, so giving it only the metric makes the stage's and the gate's slices three times faster.
    out = {}
    for column in groups.columns:
        labels = pd.Series(y, index=groups.index).groupby(groups[column], observed=True)
        table = pd.DataFrame(
            {
                "rows": labels.size(),
                "judged": labels.apply(lambda y_: _judged(kind, y_.to_numpy(), slices.min_rows)),
            }
        ).join(MetricFrame(metrics=measure, y_true=y, y_pred=score, sensitive_features=groups[column]).by_group)
        if isinstance(groups[column].dtype, pd.CategoricalDtype):  # bands: low to high, not alphabetical
            table = table.reindex([c for c in groups[column].cat.categories if c in table.index])
        out[column] = _column_summary(kind, metric, table)
    return {"metric": metric, "min_rows": slices.min_rows, "columns": out}


def _column_summary(kind: TaskKind, metric: str, table: pd.DataFrame) -> dict:
    judged = table[table["judged"].astype(bool)][metric].dropna()
    summary = {
        "groups": [
            {"group": str(g), "rows": int(r["rows"]), "judged": bool(r["judged"]), metric: float(r[metric])}
            for g, r in table.iterrows()
            if r["rows"] > 0
        ]
    }
    if len(judged) >= 2:
        best, worst = (
            (judged.idxmax(), judged.idxmin()) if kind.better(metric) > 0 else (judged.idxmin(), judged.idxmax())
        )
        summary |= {
            "best": str(best),
            "worst": str(worst),
            "gap": float(abs(judged.max() - judged.min())),
            "ratio": float(judged.min() / judged.max()) if judged.max() else None,
        }
    return summary
