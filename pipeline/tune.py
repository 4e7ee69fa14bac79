"""Command `tune`: search the hyper-parameters of `tune.grid` on time-ordered folds, and leave a record of it.

Reads:   `<prepared>/train.parquet` (the reference rows, periods in order and each period in time order).
Writes:  `<reports>/tuning.json` (`--out`): per candidate its fold scores, mean, spread and rank; the best
         candidate; and where `train.hyperparameters` stands among them. The report site's "Tuning" page shows it.
Params:  `base.seed`, `task.type`, `features`, `train` (estimator, the hyper-parameters the grid leaves alone,
         `threads`), `tune`.

Not a DVC stage: it changes no setting. A person reads the record, copies the chosen candidate into
`train.hyperparameters` (or keeps the present values when they are within the spread across folds of the best)
and commits the record with it, so the choice and its evidence travel together.

Every combination of `tune.grid` is tried by scikit-learn's GridSearchCV on the Pipeline `train` builds, scored
on the task's primary metric (binary: ROC AUC of the probabilities, which needs no decision threshold). The
folds follow time: each candidate is fitted on older rows and scored on the block right after them, as the
deployed model learns from the past and is judged on the month ahead; shuffled folds would score it on rows
older than some it learned from, and favour whatever memorizes the season. The evaluation period
(`test.parquet`) is never read, so `evaluate` still judges the chosen model on rows no choice has seen.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
from threadpoolctl import threadpool_limits

from pipeline.artifacts import write_json
from pipeline.config import PRIMARY_METRIC, Params, ParamsFile, load_params
from pipeline.errors import PipelineError
from pipeline.features import LABEL, PERIOD
from pipeline.train import build_model, check_estimator_keys, check_hyperparameters

log = logging.getLogger(__name__)
FORMAT = 1  # of tuning.json

# primary metric -> (scikit-learn scorer, sign that turns the scorer's value back into the metric). GridSearchCV
# maximizes, so an error is scored negated; the record shows the metric itself, as evaluate.json does.
SCORERS = {"roc_auc": ("roc_auc", 1), "f1_macro": ("f1_macro", 1), "mae": ("neg_mean_absolute_error", -1)}


def check_grid(params: Params, source: Path) -> None:
    """Fail on an empty grid or a name the estimator does not take, naming `tune.grid.<key>`.

    Raises:
        PipelineError: Naming the key and the estimator's parameters.
    """
    if not params.tune.grid:
        raise PipelineError(
            f"{source}: key 'tune.grid': empty; list hyper-parameters of {params.train.estimator} "
            "with the values to try (see the template's params.yaml)"
        )
    check_estimator_keys(params.tune.grid, "tune.grid", params.train.estimator, params.task.type, source)


def time_folds(rows: int, folds: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Row positions (rows in time order) of each fold's fitting rows and of the block it is scored on.

    TimeSeriesSplit over rows rather than one fold per period: the scored blocks are equally large whatever the
    periods' sizes, and a window of one or two reference periods still gives `tune.folds` folds.

    Raises:
        PipelineError: Fewer rows than the folds need (one block each, plus the first fitting block).
    """
    if rows <= folds:
        raise PipelineError(f"tune: {rows} reference rows are too few for tune.folds={folds} (need more than {folds})")
    return list(TimeSeriesSplit(n_splits=folds).split(np.zeros((rows, 1))))


def check_classes(labels: pd.Series, splits: list[tuple[np.ndarray, np.ndarray]], task_type: str) -> None:
    """Fail when a fold cannot be fitted (one class) or, binary, scored (ROC AUC needs both classes).

    Raises:
        PipelineError: Naming the fold and the part of it.
    """
    if task_type == "regression":
        return
    for number, (fit, scored) in enumerate(splits, start=1):
        parts = [("fitting", fit), ("scored", scored)] if task_type == "binary" else [("fitting", fit)]
        for name, part in parts:
            if labels.iloc[part].nunique() < 2:
                raise PipelineError(
                    f"tune: the {name} rows of fold {number} hold one class only; lower tune.folds "
                    "or release more periods"
                )


def _span(rows: pd.DataFrame, positions: np.ndarray) -> dict:
    # What a fold's part covers, for the record: its size and its first and last period.
    periods = rows[PERIOD].iloc[positions]
    return {"rows": len(positions), "first": str(periods.iloc[0]), "last": str(periods.iloc[-1])}


def candidates(results: dict, keys: list[str], sign: int, folds: int) -> list[dict]:
    """One row per candidate from GridSearchCV's `cv_results_`, in the metric's own units, best first."""
    table = [
        {
            "candidate": number,
            "params": {key: chosen[f"model__{key}"] for key in keys},
            "mean": sign * float(results["mean_test_score"][number - 1]),
            "std": float(results["std_test_score"][number - 1]),
            "scores": [sign * float(results[f"split{fold}_test_score"][number - 1]) for fold in range(folds)],
            "rank": int(results["rank_test_score"][number - 1]),
        }
        for number, chosen in enumerate(results["params"], start=1)
    ]
    return sorted(table, key=lambda row: (row["rank"], row["candidate"]))


def where_present(table: list[dict], present: dict) -> dict:
    """Where the present hyper-parameters stand: the best candidate, another candidate, or not in the grid."""
    match = next((row for row in table if row["params"] == present), None)
    if match is None:
        return {"params": present, "candidate": None, "rank": None, "best": False, "verdict": "not in the grid"}
    best = match["rank"] == 1  # a tie for first is as good as the best
    verdict = (
        "the best candidate" if best else f"candidate {match['candidate']}, ranked {match['rank']} of {len(table)}"
    )
    return {"params": present, "candidate": match["candidate"], "rank": match["rank"], "best": best, "verdict": verdict}


def tune(rows: pd.DataFrame, params: Params) -> dict:
    """Search `tune.grid` on time-ordered folds of `rows`; the record for tuning.json.

    Raises:
        PipelineError: No rows, too few for the folds, a fold with one class, or a candidate scikit-learn refuses.
    """
    if rows.empty:
        raise PipelineError("tune: no labelled rows in the reference periods")
    # prepare writes the periods in order; a stable sort keeps each period's own time order and makes the
    # order a guarantee here, not an assumption.
    rows = rows.sort_values(PERIOD, kind="stable", ignore_index=True)
    splits = time_folds(len(rows), params.tune.folds)
    check_classes(rows[LABEL], splits, params.task.type)
    metric = PRIMARY_METRIC[params.task.type]
    scorer, sign = SCORERS[metric]
    keys = sorted(params.tune.grid)
    search = GridSearchCV(
        build_model(params),
        {f"model__{key}": values for key, values in params.tune.grid.items()},
        scoring=scorer,
        cv=splits,  # the very splits the record describes
        n_jobs=1,
        refit=False,  # the record is the product; `train` fits the chosen model
        error_score="raise",  # a candidate that fails must not rank last in silence
    )
    # As in train: the models, so the scores, depend on the thread count, which is a setting, not the machine's.
    with threadpool_limits(limits=params.train.threads):
        try:
            search.fit(rows[params.features.inputs], rows[LABEL])
        except ValueError as exc:  # scikit-learn's parameter validation: a value the estimator refuses
            raise PipelineError(f"tune: a candidate of tune.grid failed ({exc})") from exc
    log.info("tune: %.1f s per fit on average", float(np.mean(search.cv_results_["mean_fit_time"])))
    table = candidates(search.cv_results_, keys, sign, params.tune.folds)
    present = build_model(params).named_steps["model"].get_params()
    return {
        "format": FORMAT,
        "task": params.task.type,
        "estimator": params.train.estimator,
        "metric": metric,
        "scorer": scorer,
        "folds": params.tune.folds,
        "rows": len(rows),
        "splits": [{"fit": _span(rows, fit), "scored": _span(rows, scored)} for fit, scored in splits],
        "fixed": {key: value for key, value in params.train.hyperparameters.items() if key not in keys},
        "candidates": table,
        "best": table[0]["params"],
        "current": where_present(table, {key: present[key] for key in keys}),
    }


def main(
    prepared: Annotated[Path | None, typer.Option(help="Folder with train.parquet (default: paths.prepared).")] = None,
    out: Annotated[
        Path | None, typer.Option(help="Where to write the record (default: paths.reports/tuning.json).")
    ] = None,
    params_file: ParamsFile = Path("params.yaml"),
) -> None:
    """Search tune.grid on time-ordered folds of the reference rows and write the record; changes no setting."""
    params = load_params(params_file)
    check_hyperparameters(params.train, params.task.type, params_file)
    check_grid(params, params_file)
    source = (prepared or params.paths.prepared) / "train.parquet"
    if not source.exists():
        raise PipelineError(f"{source}: not found; `pipeline run` prepares the reference rows")
    rows = pd.read_parquet(source)
    out = out or params.paths.reports / "tuning.json"
    count = int(np.prod([len(values) for values in params.tune.grid.values()]))
    log.info("tune: %d candidates x %d folds on %d rows", count, params.tune.folds, len(rows))
    started = time.perf_counter()
    record = tune(rows, params)
    write_json(record, out)
    best = record["candidates"][0]
    log.info("tune: searched in %.0f s", time.perf_counter() - started)
    typer.echo(
        f"wrote {out}: best {best['params']} ({record['metric']} {best['mean']:.4f}, sd {best['std']:.4f} "
        f"across folds); train.hyperparameters: {record['current']['verdict']}"
    )


if __name__ == "__main__":
    from pipeline.command import run_alone

    run_alone(main)
