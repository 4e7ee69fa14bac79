"""The rows the model sees and the label it learns: shared by every stage that reads or scores rows.

`prepare` builds its training and evaluation rows with `prepare_rows`; `predict` scores new batches through
`feature_rows`, so a row is scored with exactly the features it was trained with; `train`, `evaluate`, `drift`
and `gate` find the label and the period under `LABEL` and `PERIOD`; `validate` and `init` name multiclass
labels with `class_names`, as training stores them. Living outside any stage, this logic is loaded (and listed
as a dependency in `dvc.yaml`) by each stage that uses it, and an edit to it re-runs exactly those stages.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline.batches import period_files, read_csv
from pipeline.config import Join, Params, Prepare, Task
from pipeline.contract import Contract, Table
from pipeline.errors import PipelineError
from pipeline.labels import as_text, binary_label, class_names

# The columns every prepared row carries besides the identifiers and the model inputs.
LABEL, PERIOD = "label", "period"
OTHER = "other"


def read_periods(folder: Path, periods: list[str], required: list[str]) -> pd.DataFrame:
    """Concatenate the batch files of `periods`, adding the period each row came from."""
    files = period_files(folder)
    frames = []
    for period in periods:
        if period not in files:
            raise PipelineError(f"{folder / (period + '.csv')}: file not found (needed for period {period})")
        frames.append(read_csv(files[period], required).assign(**{PERIOD: period}))
    return pd.concat(frames, ignore_index=True)


def join_table(rows: pd.DataFrame, table: pd.DataFrame, join: Join, source: str) -> pd.DataFrame:
    """Left-join the selected, renamed columns of `table` onto `rows` by `join.keys`.

    Raises:
        PipelineError: A join key is duplicated in the table, which would multiply rows.
    """
    picked = table[[*join.keys, *join.columns]].rename(columns=join.columns)
    duplicated = picked.duplicated(join.keys)
    if duplicated.any():
        example = picked.loc[duplicated, join.keys].iloc[0].tolist()
        raise PipelineError(f"{source}: {duplicated.sum()} duplicated key(s) {join.keys}, e.g. {example}")
    for key in join.keys:  # the same key may be read as int in one file and float in another
        if rows[key].dtype != picked[key].dtype:
            rows, picked = rows.astype({key: str}), picked.astype({key: str})
    return rows.merge(picked, how="left", on=join.keys, validate="many_to_one")


def add_calendar(rows: pd.DataFrame, prepare: Prepare, source: str) -> pd.DataFrame:
    """Derive the calendar features from the event timestamp, in the events' local time."""
    stamp = pd.to_datetime(rows[prepare.timestamp], utc=True, errors="coerce")
    if stamp.isna().any():
        bad = rows.loc[stamp.isna(), prepare.timestamp].iloc[0]
        raise PipelineError(
            f"{source}: column {prepare.timestamp!r}: {stamp.isna().sum()} value(s) are not "
            f"ISO 8601 timestamps, e.g. {bad!r}"
        )
    local = stamp.dt.tz_convert(prepare.timezone)
    parts = {"weekday": local.dt.day_of_week, "month": local.dt.month, "hour": local.dt.hour, "day": local.dt.day}
    return rows.assign(**{name: parts[name] for name in prepare.calendar})


def add_label(rows: pd.DataFrame, task: Task) -> tuple[pd.DataFrame, int]:
    """Add the label and drop rows without one; the only place the label policy lives.

    binary: 1 for the positive class (`binary_label`), else 0; multiclass: the class name as text (classes
    written as integers and as words are handled alike); regression: the target itself. Rows whose target is
    missing (the outcome never happened or was not recorded) cannot be scored against an outcome; they are
    dropped from training and evaluation and counted.

    Returns:
        The labelled rows and the number of rows dropped.
    """
    target = rows[task.target.column]
    if task.type == "binary":
        label = binary_label(target, task.target)
    else:
        label = class_names(target) if task.type == "multiclass" else pd.to_numeric(target, errors="coerce")
    known = label.notna()
    if task.type == "binary":
        label = label.fillna(0).astype("int64")
    return rows.loc[known].assign(
        **{LABEL: label[known].astype(str) if task.type == "multiclass" else label[known]}
    ), int((~known).sum())


def map_unseen(frame: pd.DataFrame, table: Table | None) -> pd.DataFrame:
    """Replace categories outside the contract's allowed values by "other" where the policy is warn.

    `validate` has already reported them; mapping them here means the model sees one known bucket for every
    newcomer instead of values it has never been trained on.
    """
    if table is None:
        return frame
    mapped = {
        name: frame[name].where(frame[name].isin(rule.values) | frame[name].isna(), OTHER)
        for name, rule in table.columns.items()
        if rule.values is not None and rule.unseen == "warn" and name in frame
    }
    return frame.assign(**mapped)


def feature_rows(
    batches: pd.DataFrame, tables: dict[str, pd.DataFrame], *, params: Params, contract: Contract, source: str
) -> pd.DataFrame:
    """Raw batch rows with everything the model reads: joined tables and calendar features, no label.

    Shared by training (`prepare_rows`) and batch scoring (`pipeline predict`), so a row is scored with exactly
    the features it would have been trained with.
    """
    rows = map_unseen(batches, contract.tables.get(params.prepare.batches))
    for join in params.prepare.joins:
        table = map_unseen(tables[join.table], contract.tables.get(join.table))
        rows = join_table(rows, table, join, source=join.table)
    rows = add_calendar(rows, params.prepare, source)
    return rows.assign(**typed(rows, params.features.numeric, params.features.categorical))


def typed(rows: pd.DataFrame, numeric: list[str], text: list[str]) -> dict[str, pd.Series]:
    """`numeric` columns as float64 and `text` columns as text: types fixed by the parameters, not by the file.

    Reading infers a column's type from the file at hand: a count is int64 in a month without a missing
    value and float64 in one with; a category is text, or float64 in a file where it is all missing. The model
    would then be trained and scored on types that depend on which files were read together, and the Dask engine,
    which reads one period per partition, needs the same types in every partition.
    """
    return {c: rows[c].astype("float64") for c in numeric} | {c: as_text(rows[c]) for c in text}


def prepare_rows(
    batches: pd.DataFrame, tables: dict[str, pd.DataFrame], *, params: Params, contract: Contract, source: str
) -> tuple[pd.DataFrame, int]:
    """Turn raw batch rows into model rows: joins, calendar features, label, and only the allowed columns."""
    rows, dropped = add_label(
        feature_rows(batches, tables, params=params, contract=contract, source=source), params.task
    )
    keep = [*params.features.identifiers, PERIOD, *params.features.inputs, LABEL]
    rows = rows[keep].assign(**typed(rows, [], [*params.features.identifiers, PERIOD]))
    return rows.reset_index(drop=True), dropped


def raw_columns(params: Params) -> list[str]:
    """The columns every batch file must have: what the features, joins and label read from it."""
    derived = set(params.prepare.calendar) | {c for j in params.prepare.joins for c in j.columns.values()}
    own = [c for c in params.features.inputs if c not in derived]
    keys = [k for j in params.prepare.joins for k in j.keys]
    wanted = [*params.features.identifiers, params.prepare.timestamp, *keys, *own, params.task.target.column]
    return list(dict.fromkeys(wanted))


def read_tables(data: Path, joins: list[Join], periods: list[str]) -> dict[str, pd.DataFrame]:
    """Read each table to join, per period or whole."""
    tables = {}
    for join in joins:
        required = [*join.keys, *join.columns]
        if join.per_period:
            tables[join.table] = read_periods(data / join.table, periods, required)
        else:
            tables[join.table] = read_csv(data / f"{join.table}.csv", required)
    return tables
