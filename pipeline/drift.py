"""Stage `drift`: is the newest period still like the data the model learned from?

Reads:   `<prepared>/train.parquet` (the reference window) and `<prepared>/test.parquet` (the newest period),
         and the model (its scores on both, for prediction drift).
Writes:  `<metrics>/drift.json` (per column: test, statistic, p-value, effect sizes, decision and why; the
         dataset verdict; prediction drift; the per-period timeline), `<reports>/drift_alert.md` (the body of
         the alert issue the scheduled workflow opens) and figures in `<reports>/drift/`.
Params:  `drift`, `task.type`, `features.categorical`, `features.numeric`.
Metrics: `drifted`, `share_drifted`, `n_columns_drifted`, `prediction.drifted`.

The statistics live in `pipeline.drift_stats`; this module picks the columns, runs them per period, and
writes what people read. The timeline compares each period with the reference window (for a period inside
that window the comparison is with data that contains it, so it reads as a baseline) and carries the label
rate (binary: the positive share; regression: the mean target; multiclass: none) and the model's primary
metric per period, so the report shows whether drift hurt the model.

Prediction drift compares the model's outputs like any column: the probability of the positive class
(binary) or the prediction (regression) as numbers, the predicted class (multiclass) as a category.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer

from pipeline import drift_stats, engine, figures
from pipeline.artifacts import load_model, write_json
from pipeline.config import Drift, Params, ParamsFile, load_params
from pipeline.errors import PipelineError
from pipeline.features import LABEL, PERIOD
from pipeline.markdown import code, escape
from pipeline.metrics import PERIOD_METRIC

log = logging.getLogger(__name__)
PREDICTION = "prediction"


def column_kinds(params: Params) -> dict[str, drift_stats.Kind]:
    """Each model input's test family: categories by chi-square, numbers by Kolmogorov-Smirnov."""
    return {
        **dict.fromkeys(params.features.categorical, "categorical"),
        **dict.fromkeys(params.features.numeric, "numeric"),
    }


def compare(
    reference: pd.DataFrame, current: pd.DataFrame, kinds: dict, settings: Drift, expected: list[str] = ()
) -> dict:
    """`drift_stats.drift_report` with the thresholds of `params.yaml`; `expected`: the calendar features."""
    return drift_stats.drift_report(
        reference,
        current,
        kinds,
        alpha=settings.alpha,
        effect_thresholds=settings.effect_thresholds,
        share=settings.share,
        critical=settings.critical,
        min_rows=settings.min_rows,
        bins=settings.bins,
        expected=expected,
    )


def scores(model, rows: pd.DataFrame, inputs: list[str], task_type: str) -> np.ndarray:
    """The model's output per row: the positive class's probability, the predicted class, or the value."""
    x = rows[inputs]
    return model.predict_proba(x)[:, 1] if task_type == "binary" else model.predict(x)


def performance(y: pd.Series, score: np.ndarray, task_type: str) -> dict:
    """The primary metric of one period (ROC AUC, macro F1 or MAE); None when undefined."""
    _, name, metric = PERIOD_METRIC[task_type]
    return {name: metric(y, score)}


def label_rate(y: pd.Series, task_type: str) -> float | None:
    """The positive share (binary) or mean target (regression) of a period; a multiclass label has no rate."""
    return None if task_type == "multiclass" else float(y.mean())


def timeline(
    rows: pd.DataFrame, reference: pd.DataFrame, *, kinds: dict, settings: Drift, task_type: str, expected=()
) -> list:
    """Per period: rows, label rate, model metric, and how it compares with the reference window."""
    out = []
    for period, group in rows.groupby(PERIOD, sort=True):
        report = compare(reference, group, kinds, settings, expected)
        effects = [c["effect_size"] for c in report["columns"].values() if c["effect_size"] is not None]
        out.append(
            {
                "period": period,
                "rows": len(group),
                "label_rate": label_rate(group[LABEL], task_type),
                "share_drifted": report["share_drifted"],
                "mean_effect": float(np.mean(effects)) if effects else None,
                "drifted_columns": report["drifted_columns"],
                "in_reference": bool(period in set(reference[PERIOD])),
                **performance(group[LABEL], group[PREDICTION].to_numpy(), task_type),
            }
        )
    return out


def alert_body(report: dict, current: str, reference: list[str], report_url: str) -> str:
    """The Markdown body of the drift-alert issue: the verdict, the drifted columns and their effect sizes."""
    verdict = "Data drift" if report["drifted"] else "No dataset drift"
    lines = [
        f"## {verdict} in {escape(current)}",
        "",
        f"Compared with the reference window ({escape(reference[0])}..{escape(reference[-1])}), "
        f"{report['n_columns_drifted']} of {report['n_columns_decided']} columns of {escape(current)} drifted "
        f"({report['share_drifted']:.0%}). Verdict: {escape(report['reason'])}.",
        "",
        "| column | test | effect size | adjusted p-value | why |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name in report["drifted_columns"]:
        c = report["columns"][name]
        lines.append(
            f"| {code(name)} | {escape(c['test'] or c['status'])} | {_number(c['effect_size'], '.3f')} | "
            f"{_number(c['adjusted_p_value'], '.2g')} | {escape(c['reason'])} |"
        )
    prediction = report["prediction"]
    effect = "normalized Wasserstein" if prediction.get("test") != "chi2" else "Jensen-Shannon distance"
    lines += [
        "",
        f"Prediction drift: {'yes' if prediction['drifted'] else 'no'} "
        f"({effect} {_number(prediction['effect_size'], '.3f')}).",
        "",
        f"Details, distributions and the per-period timeline: [the drift report]({report_url}).",
        "",
        "<!-- drift-alert -->",
    ]
    return "\n".join(lines) + "\n"


def _number(value: float | None, spec: str) -> str:
    """A number for the alert, or a dash where the column had no test (e.g. a constant that changed value)."""
    return "-" if value is None else format(value, spec)


ECDF_POINTS = 1000  # steps drawn per line: a figure 300 pixels high cannot show a finer one


def ecdf_points(values: np.ndarray, most: int = ECDF_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Points of the empirical CDF of `values` (sorted value, share of rows at or below it), at most `most`.

    Each point is one that drawing every row's step would draw; beyond `most` rows, points evenly spaced in
    rank are kept (the first and the last among them), so the line between them is off by at most 1/`most` of
    the height. Drawing every row's step instead cost
    seconds per figure on a few months of data and grows with the rows.
    """
    ordered = np.sort(values)
    n = len(ordered)
    ranks = np.unique(np.linspace(0, n - 1, most).round().astype(int)) if n > most else np.arange(n)
    return ordered[ranks], (ranks + 1) / max(n, 1)


def plot_column(reference: pd.Series, current: pd.Series, *, kind: str, title: str, path: Path) -> None:
    """Reference vs current: ECDFs for a number, shares of the top categories for a category."""
    fig, ax = figures.subplots(figsize=(5, 3), dpi=100)
    if kind == "numeric":
        for values, label in ((reference, "reference"), (current, "current")):
            x, share = ecdf_points(values.dropna().to_numpy(float))
            ax.step(x, share, where="post", label=label)
        ax.set_ylabel("share of rows at or below")
    else:
        shares = pd.DataFrame(
            {
                "reference": reference.value_counts(normalize=True, dropna=False),
                "current": current.value_counts(normalize=True, dropna=False),
            }
        ).fillna(0)
        top = shares.sort_values("reference", ascending=False).head(12)
        top.index = [str(i) for i in top.index]
        top.plot.bar(ax=ax, width=0.8)
        ax.set_ylabel("share of rows")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    figures.save(fig, path)


def plot_timeline(points: list[dict], metric: str, path: Path, one_axis: bool = True) -> None:
    """Share of drifted columns, label rate (binary) and the model's metric, per period.

    `one_axis` (binary): the three lines are shares in [0, 1] and share one axis. Otherwise the metric (MAE in
    the target's units, or macro F1) gets its own axis on the right, and no label rate is drawn (a mean
    target has the target's units; a multiclass label has no rate).
    """
    periods = [p["period"] for p in points]
    fig, ax = figures.subplots(figsize=(6, 3), dpi=100)
    ax.plot(periods, [p["share_drifted"] for p in points], marker="o", label="share of columns drifted")
    if one_axis:
        ax.plot(periods, [p["label_rate"] for p in points], marker="s", label="label rate")
        ax.plot(periods, [p.get(metric) for p in points], marker="^", label=metric)
        ax.legend(fontsize=7)
        title = "Drift, label rate and model metric per period (vs the reference window)"
    else:
        right = ax.twinx()
        right.plot(
            periods,
            [np.nan if p.get(metric) is None else p[metric] for p in points],
            marker="^",
            color="tab:green",
            label=metric,
        )
        right.set_ylabel(metric)
        right.legend(handles=[*ax.get_lines(), *right.get_lines()], fontsize=7)  # the top layer: above both
        title = "Drift and model metric per period (vs the reference window)"
    ax.set_ylim(0, 1)
    ax.set_title(title, fontsize=9)
    fig.autofmt_xdate()
    fig.tight_layout()
    figures.save(fig, path)


def main(
    *,
    prepared: Annotated[Path, typer.Option(help="Folder with train.parquet and test.parquet (paths.prepared).")],
    model: Annotated[Path, typer.Option(help="The model file (paths.model).")],
    metrics: Annotated[Path, typer.Option(help="JSON file for the drift report.")],
    alert: Annotated[Path, typer.Option(help="Markdown file for the drift-alert issue body.")],
    figures: Annotated[Path, typer.Option(help="Folder for the figures.")],
    params_file: ParamsFile = Path("params.yaml"),
) -> None:
    """Compare the newest period with the reference window: data, prediction and target drift."""
    params = load_params(params_file)
    settings, kinds, task = params.drift, column_kinds(params), params.task.type
    cap, seed = params.engine.drift_rows, params.base.seed
    with engine.cluster(params.engine) as client:  # over engine.drift_rows: a sample of each side
        reference, _ = engine.read_rows(prepared / "train.parquet", cap, seed, client)
        current, _ = engine.read_rows(prepared / "test.parquet", cap, seed, client)
    if current.empty:
        raise PipelineError(f"{prepared / 'test.parquet'}: the newest period has no rows to compare")
    fitted = load_model(model)
    reference[PREDICTION] = scores(fitted, reference, params.features.inputs, task)
    current[PREDICTION] = scores(fitted, current, params.features.inputs, task)
    expected = params.prepare.calendar  # derived from the time: a new period shifts them by construction
    report = compare(reference, current, kinds, settings, expected)
    output_kind, metric, _ = PERIOD_METRIC[task]
    prediction = drift_stats.drift_report(
        reference[[PREDICTION]],
        current[[PREDICTION]],
        {PREDICTION: output_kind},
        alpha=settings.alpha,
        effect_thresholds=settings.effect_thresholds,
        min_rows=settings.min_rows,
        bins=settings.bins,
        expected=expected,
    )["columns"][PREDICTION]
    periods = sorted(reference[PERIOD].unique())
    report |= {
        "prediction": prediction,
        "current": str(current[PERIOD].iloc[0]),
        "reference": periods,
        "timeline": timeline(
            pd.concat([reference, current]),
            reference,
            kinds=kinds,
            settings=settings,
            task_type=task,
            expected=expected,
        ),
    }
    write_json(report, metrics)
    alert.write_text(alert_body(report, report["current"], periods, settings.report_url), encoding="utf-8")
    figures.mkdir(parents=True, exist_ok=True)
    for name in [*report["drifted_columns"], PREDICTION]:
        kind = kinds.get(name, output_kind)
        plot_column(
            reference[name],
            current[name],
            kind=kind,
            title=f"{name}: reference vs {report['current']}",
            path=figures / f"{name}.png",
        )
    plot_timeline(report["timeline"], metric, figures / "timeline.png", one_axis=task == "binary")
    log.info(
        "drift: %s (%d of %d columns drifted)",
        "DRIFT" if report["drifted"] else "no drift",
        report["n_columns_drifted"],
        report["n_columns_decided"],
    )


if __name__ == "__main__":
    from pipeline.command import run_alone

    run_alone(main)
