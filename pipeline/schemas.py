"""A table's contract as pandera schemas: what `validate` checks each file's rows with.

Two schemas per table: one of hard rules (a failure stops the run), one of soft rules (a warning in the
report). pandera does the checking; pipeline/contract.py only says what to check. A module of its own because
only `validate` (and `pipeline run`'s check before `dvc repro`) checks rows: the other stages read the contract
and skip pandera's import, half a second per process.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import pandera.pandas as pa

from pipeline.batches import period_bounds
from pipeline.contract import Column, Period, Table

DTYPES = {"int": "int64", "float": "float64", "str": None, "datetime": None}
STACK_FILE = "_stack_file"  # the column holding each stacked row's file number (see Stack)


@dataclass(frozen=True)
class Stack:
    """Files of one table checked in one pandera call: their rows stacked file after file, numbered from 0.

    pandera's cost per call (tens of milliseconds whatever the rows) would otherwise be paid once per file.
    Rules that hold per file (the share of missing values, the file's period, the unique key) look up each
    row's file here, and `validate` sorts the failures back to the files they came from.
    """

    files: tuple[str, ...]
    periods: tuple[str | None, ...]
    sizes: tuple[int, ...]

    @cached_property
    def _file_of_row(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.sizes)), self.sizes)

    def file_of(self, rows: pd.Index) -> np.ndarray:
        """The file number (0, 1, ...) of each row number."""
        if rows.equals(pd.RangeIndex(len(self._file_of_row))):  # every row, in order: no lookup
            return self._file_of_row
        return self._file_of_row[np.asarray(rows, dtype=np.int64)]

    def share_per_file(self, flags: pd.Series) -> np.ndarray:
        """For each row of `flags` (true/false, indexed by row number), the share of its file's rows flagged."""
        file = self.file_of(flags.index)
        flagged = np.bincount(file[flags.to_numpy(bool)], minlength=len(self.sizes))
        return (flagged / np.asarray(self.sizes))[file]

    def split(self, stacked: pd.DataFrame) -> list[pd.DataFrame]:
        """The files' frames again, numbered from 0 (slices of `stacked`: no data is copied)."""
        ends = np.cumsum(self.sizes)
        return [
            stacked.iloc[end - size : end].drop(columns=STACK_FILE).reset_index(drop=True)
            for size, end in zip(self.sizes, ends, strict=True)
        ]


def parse_times(values: pd.Series) -> pd.Series:
    """ISO 8601 text -> UTC timestamps, NaT where a value does not parse.

    Each distinct value is parsed once and spread back to its rows: timestamps repeat (hourly, ~700 distinct
    in a month of 28,000 rows), and this is several times faster than pandas' own cache, which turns every
    text value into a Python object first.
    """
    codes, distinct = pd.factorize(values)
    parsed = pd.DatetimeIndex(pd.to_datetime(distinct, errors="coerce", utc=True, format="ISO8601"))
    return pd.Series(parsed.take(codes, allow_fill=True, fill_value=pd.NaT), index=values.index)


def _column_checks(column: Column, hard: bool) -> list[pa.Check]:
    """The value checks of one column; each named as the rule a person reads in the message."""
    checks = []
    bounded = (column.bounds == "fail") == hard
    if bounded and column.min is not None:
        checks.append(pa.Check.ge(column.min, name=f"ge {column.min:g}"))
    if bounded and column.max is not None:
        checks.append(pa.Check.le(column.max, name=f"le {column.max:g}"))
    if column.values is not None and (column.unseen == "fail") == hard:
        checks.append(pa.Check.isin(column.values, name="isin allowed values"))
    if hard and column.type == "datetime":
        checks.append(pa.Check(lambda s: parse_times(s).notna(), name="datetime ISO8601"))
    return checks


def _missing_check(limit: float, kind: str, stack: Stack) -> pa.Check:
    """The share of missing values of a column in each file: the missing rows of a file above `limit` fail.

    `ignore_na=False` because pandera drops nulls before checks.
    """

    def within(series: pd.Series) -> pd.Series:
        missing = series.isna()
        return ~missing | (stack.share_per_file(missing) <= limit)

    return pa.Check(within, ignore_na=False, name=f"missing {kind} {limit:g}")


def _period_check(period: Period, stack: Stack) -> pa.Check:
    """Rows must fall in their file's own period (month, quarter or year, by its name), in local time.

    Named `period`: `validate` adds the file's period to the rule when it reports a failure.
    """
    bounds = [period_bounds(name, period.timezone) for name in stack.periods]
    starts = pd.DatetimeIndex([start for start, _ in bounds])
    ends = pd.DatetimeIndex([end for _, end in bounds])

    def inside(series: pd.Series) -> pd.Series:
        stamp, file = parse_times(series), stack.file_of(series.index)
        in_period = (stamp >= starts[file]) & (stamp < ends[file])
        return stamp.isna() | in_period  # unparsable: the datetime rule reports it

    return pa.Check(inside, name="period")


def table_schemas(table: Table, stack: Stack) -> tuple[pa.DataFrameSchema, pa.DataFrameSchema]:
    """The hard and the soft pandera schema of one table, for the files of `stack` (rows in `STACK_FILE`)."""
    hard_columns, soft_columns = {}, {}
    for name, column in table.columns.items():
        hard, soft = _column_checks(column, hard=True), _column_checks(column, hard=False)
        if table.period is not None and table.per_period and name == table.period.column:
            hard.append(_period_check(table.period, stack))
        if column.missing.max > 0:
            hard.append(_missing_check(column.missing.max, "max", stack))
        if column.missing.usual < column.missing.max:
            soft.append(_missing_check(column.missing.usual, "usual", stack))
        hard_columns[name] = pa.Column(
            DTYPES[column.type], hard, nullable=column.missing.max > 0, coerce=DTYPES[column.type] is not None
        )
        if soft:  # a column without soft rules would only cost time
            soft_columns[name] = pa.Column(None, soft, nullable=True, required=False)
    unique = [[*key, STACK_FILE] for key in table.unique] or None  # unique within each file
    return (
        pa.DataFrameSchema(hard_columns, unique=unique, strict=False),
        pa.DataFrameSchema(soft_columns, strict=False),
    )
