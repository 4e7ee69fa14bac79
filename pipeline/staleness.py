"""Command `staleness` (a benchmark, not a DVC stage): how often the model must be retrained.

Reads:   `<prepared>/train.parquet` and `<prepared>/test.parquet` (`--prepared`, by default `paths.prepared`).
Writes:  `<out>/staleness.json` and `<out>/staleness.png` (`--out`, by default `paths.reports`).
Params:  `base.seed`, `task.type`, `features`, `window`, `train`, `evaluate.bootstrap`, `gate.metric`,
         `gate.min_delta`, `gate.margin`, `staleness.train_periods`.

A *stale* model is trained on the earliest `staleness.train_periods` periods, as `train` would, and never again.
Each later period P is scored by it and by a *fresh* model, trained as CT would retrain it at P: on the periods
before P (the last `window.reference_periods` of them, or all). Both score P's rows, so the paired difference of
the gate's metric measures what retraining would have gained there; an easier or a harder month moves both
models and cancels out, where the stale model's metric alone cannot tell decay from the season. The stale model
has *decayed* at P when the gate itself would replace it by the fresh one (`gate_would_promote`). The cadence is
the number of periods it serves before the first decayed one (`cadence`): how long until CT's gate would replace
the model, so retrain at least that often.

The same inputs give the same bytes: training is seeded and uses `train.threads` threads as `train` does, the
intervals are seeded by `base.seed`, and the JSON and the figure carry nothing that varies between runs.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer

from pipeline import figures
from pipeline.artifacts import write_json
from pipeline.config import Params, ParamsFile, load_params
from pipeline.errors import PipelineError
from pipeline.features import LABEL, PERIOD
from pipeline.gate import gate_would_promote
from pipeline.metrics import TASKS, paired_difference, with_intervals
from pipeline.train import train_model

log = logging.getLogger(__name__)
FORMAT = 2  # of staleness.json


def split_periods(rows: pd.DataFrame, train_periods: int) -> tuple[list[str], list[str]]:
    """The periods in time order, cut into the earliest `train_periods` (to train on) and the rest (to score).

    Period names (2013-01, 2013-Q1, 2013) sort in time order as text.

    Raises:
        PipelineError: Fewer than `train_periods + 1` periods: nothing would be left to score.
    """
    periods = sorted(rows[PERIOD].astype(str).unique())
    if len(periods) <= train_periods:
        raise PipelineError(
            f"staleness: key 'staleness.train_periods' is {train_periods}, but the prepared rows hold "
            f"{len(periods)} period(s) ({', '.join(periods) or 'none'}): it must be at most {len(periods) - 1} "
            "so that at least one later period is left to score"
        )
    return periods[:train_periods], periods[train_periods:]


def compare(stale, fresh, rows: pd.DataFrame, metric: str, params: Params) -> dict:
    """Both models on one period's rows: the stale model's `metric` with its interval, and the fresh one's lead.

    Returns:
        {stale: {value, low, high}, fresh, delta, low, high, decayed}; `delta` (with its paired interval) is
        positive when the fresh model is better, as the gate's is when the challenger is.
    """
    kind = TASKS[params.task.type]
    y, x = rows[LABEL].to_numpy(), rows[params.features.inputs]
    score, setting = kind.score(stale, x), kind.setting(stale)
    resampling = {"bootstrap": params.evaluate.bootstrap, "seed": params.base.seed}
    alone = dataclasses.replace(kind, metrics={metric: kind.metrics[metric]}, interval_metrics=(metric,))
    own = with_intervals(alone, y=y, score=score, setting=setting, **resampling)[metric]
    if fresh is stale:  # trained on the same periods: nothing to compare
        return {"stale": own, "fresh": own["value"], "delta": 0.0, "low": 0.0, "high": 0.0, "decayed": False}
    diff = paired_difference(
        kind,
        metric=metric,
        y=y,
        score_a=kind.score(fresh, x),
        score_b=score,
        setting_a=kind.setting(fresh),
        setting_b=setting,
        **resampling,
    )
    lead = {"fresh": diff.a, "delta": diff.delta, "low": diff.low, "high": diff.high}
    return {"stale": own, **lead, "decayed": gate_would_promote(diff, params.gate)}


def cadence(scored: list[dict], metric: str) -> dict:
    """How many periods the stale model serves before the gate would replace it: retrain at least that often.

    A period whose metric is undefined (one class only) cannot show decay and does not stop the count; when
    no period decays, the cadence is every period scored, a lower bound (`at_least`).

    Args:
        scored: Per period, in time order, each with its `decayed` flag (from `compare`).
        metric: The metric's name, for the reason.

    Returns:
        {periods, at_least, reason}.
    """
    first = next((i for i, entry in enumerate(scored) if entry["decayed"]), None)
    if first is None:
        return {
            "periods": len(scored),
            "at_least": True,
            "reason": f"The stale model held for all {len(scored)} periods scored: in none would the gate replace "
            f"it by a model retrained on the periods before, so retrain at least every {len(scored)} periods.",
        }
    entry = scored[first]
    return {
        "periods": first,
        "at_least": False,
        "reason": f"In {entry['period']} ({first + 1} periods after training), a model retrained on the periods "
        f"before it beats the stale model's {metric} by {entry['delta']:+.4f} (paired interval "
        f"{entry['low']:+.4f} to {entry['high']:+.4f}), and the gate would replace it: retrain every {first} "
        "period(s).",
    }


def staleness(rows: pd.DataFrame, params: Params) -> dict:
    """Train on the earliest `staleness.train_periods` periods of `rows`, compare it on each later one: the record."""
    kind = TASKS[params.task.type]
    metric = params.gate.metric or kind.primary
    if metric not in kind.metrics:
        raise PipelineError(
            f"key 'gate.metric': {metric!r} is not a {params.task.type} metric; known: {', '.join(kind.metrics)}"
        )
    rows = rows.sort_values(PERIOD, kind="stable")  # train's validation slice must be its newest rows
    period = rows[PERIOD].astype(str)
    trained, later = split_periods(rows, params.staleness.train_periods)
    log.info("staleness: training on %s, comparing on %d later periods", trained, len(later))
    stale = train_model(rows[period.isin(trained)], params)
    periods, scored = trained + later, []
    for at, name in enumerate(later, start=len(trained)):
        before = periods[max(0, at - (params.window.reference_periods or at)) : at]  # what CT would train on
        fresh = stale if before == trained else train_model(rows[period.isin(before)], params)
        entry = {"period": name, "rows": int((period == name).sum())}
        scored.append(entry | compare(stale, fresh, rows[period == name], metric, params))
        log.info("staleness: %s, fresh ahead by %+.4f, decayed: %s", name, scored[-1]["delta"], scored[-1]["decayed"])
    return {
        "format": FORMAT,
        "task": params.task.type,
        "metric": metric,
        "trained_on": {"periods": trained, "rows": int(period.isin(trained).sum())},
        "periods": scored,
        "cadence": cadence(scored, metric),
    }


def plot(record: dict, path: Path) -> None:
    """The stale model's metric per period with its interval band, the fresh model's, the first decayed marked."""
    points, metric = record["periods"], record["metric"]
    x = np.arange(len(points))
    value, low, high = (np.array([p["stale"][k] for p in points], dtype=float) for k in ("value", "low", "high"))
    fig, ax = figures.subplots(figsize=(6, 3.2), dpi=100)  # matplotlib's opaque white ground, as the report's
    ax.fill_between(x, low, high, alpha=0.25, label="stale: interval")
    ax.plot(x, value, marker="o", label="stale: never retrained")
    ax.plot(x, [p["fresh"] for p in points], marker="s", linestyle="--", label="fresh: retrained before each")
    first = next((i for i, p in enumerate(points) if p["decayed"]), None)
    if first is not None:
        ax.axvline(first, color="tab:red", linestyle=":", label="first decayed: the gate would replace it")
    ax.set_xticks(x, [p["period"] for p in points], rotation=45, ha="right", fontsize=8)
    ax.margins(x=0.05)
    ax.set_ylabel(metric)
    trained = record["trained_on"]["periods"]
    span = trained[0] if len(trained) == 1 else f"{trained[0]} to {trained[-1]}"
    ax.set_title(f"A model trained on {span} against one retrained before each period", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    figures.save(fig, path)


def main(
    *,
    prepared: Annotated[
        Path | None, typer.Option(help="Folder with train.parquet and test.parquet (default: paths.prepared).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Folder for staleness.json and staleness.png (default: paths.reports).")
    ] = None,
    params_file: ParamsFile = Path("params.yaml"),
) -> None:
    """Measure how fast the model goes stale and recommend how often to retrain it (not a DVC stage)."""
    params = load_params(params_file)
    prepared = prepared if prepared is not None else params.paths.prepared
    rows = pd.concat([pd.read_parquet(prepared / f"{part}.parquet") for part in ("train", "test")], ignore_index=True)
    record = staleness(rows, params)
    out = out if out is not None else params.paths.reports
    write_json(record, out / "staleness.json")
    plot(record, out / "staleness.png")
    log.info("staleness: %s", record["cadence"]["reason"])


if __name__ == "__main__":
    from pipeline.command import run_alone

    run_alone(main)
