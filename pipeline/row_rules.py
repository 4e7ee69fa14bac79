"""The contract's row-level rules applied to rows to score, one row at a time (`predict`'s checks).

`validate` judges a batch as a whole: a file breaks a rule when rows of it do, and a missing share, the row
count, a unique key or the period are rules of the batch. A file to score is judged row by row: a row that
breaks a rule of its own (type, range, allowed values, datetime) cannot be scored, and says why in
`validate`'s words for the rule; the batch's rules do not apply (a file may hold six rows, two with a value
missing, and the model handles a missing value).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from pipeline.config import Params
from pipeline.contract import Contract, Missing, Rows, Table
from pipeline.datatests import finding
from pipeline.errors import PipelineError
from pipeline.features import raw_columns
from pipeline.schemas import Stack, table_schemas
from pipeline.validate import REDUNDANT, rule_name, schema_findings, split_check, unknown_columns

log = logging.getLogger(__name__)
SHOWN = 20  # problems listed in an error; the output's `problem` column has them all


def scoring_table(contract: Contract, params: Params) -> Table:
    """The batch table's row-level rules, on the columns the features are built from.

    The target and the leakage columns are not known at scoring time. Rules about a batch as a whole (the
    share of missing values, row counts, unique keys, the period of a file) are `validate`'s: a file to score
    may hold six rows, two of them with a value missing, and the model handles a missing value. So every
    column may be missing, without a share limit, and only rules a single row can break remain.
    """
    table = contract.tables[params.prepare.batches]
    wanted = [c for c in raw_columns(params) if c != params.task.target.column and c not in contract.leakage]
    anything = Missing(usual=1.0, max=1.0)
    columns = {n: table.columns[n].model_copy(update={"missing": anything}) for n in wanted if n in table.columns}
    return table.model_copy(update={"columns": columns, "unique": [], "period": None, "rows": Rows(), "references": {}})


def check_columns(frame: pd.DataFrame, table: Table, known: Table, source: str) -> list[dict]:
    """Refuse a file that lacks a column of `table` or has one `known` does not list under `extra: fail`.

    Returns:
        The other findings (an unknown column under `extra: warn`, perhaps a renamed one), to log.

    Raises:
        PipelineError: One line per problem, as `validate` words them.
    """
    absent = [
        finding(file=source, column=name, rule="column_in_dataframe", severity="failure", what="column absent")
        for name in table.columns
        if name not in frame.columns
    ]
    found = absent + unknown_columns(known, frame, source, absent)
    failures = [f["message"] for f in found if f["severity"] == "failure"]
    if failures:
        raise PipelineError("invalid input, nothing was scored:\n" + "\n".join(failures))
    return found


def known_table(contract: Contract, params: Params) -> Table:
    """The batch table's columns a file to score may carry: all but the target and the leakage columns.

    A column the features do not read (`minute`) is no unknown column; the target, never present, is no
    candidate for an unknown column's old name.
    """
    table = contract.tables[params.prepare.batches]
    unknown = {params.task.target.column, *contract.leakage}
    return table.model_copy(update={"columns": {n: c for n, c in table.columns.items() if n not in unknown}})


def row_schemas(table: Table, rows: int) -> tuple[pa.DataFrameSchema, pa.DataFrameSchema]:
    """The contract's hard and soft pandera schemas for `rows` rows of one file, whole numbers nullable.

    pandera cannot coerce a missing value to `int64`; pandas' nullable `Int64` still refuses `2.5` or `x`.
    """
    hard, soft = table_schemas(table, Stack(("input",), (None,), (rows,)))
    nullable = {name: {"dtype": "Int64"} for name, column in table.columns.items() if column.type == "int"}
    return hard.update_columns(nullable), soft


def row_problems(frame: pd.DataFrame, hard: pa.DataFrameSchema) -> tuple[pd.DataFrame, pd.Series]:
    """The rows that pass every hard rule, coerced to the contract's types, and per input row why it failed.

    pandera cannot check the range of a column whose coercion failed (text does not compare with numbers),
    so the rows found are set aside and the others checked again, until a pass finds nothing.

    Returns:
        The passing rows (the input's row numbers; empty when none pass) and a reason per input row ('': none).
    """
    problems = pd.Series("", index=frame.index, dtype=object)
    while True:
        try:
            return numpy_types(hard.validate(frame[problems == ""], lazy=True), hard), problems
        except pa.errors.SchemaErrors as exc:
            cases = exc.failure_cases
        found = reasons(cases)
        if found.empty:  # a failure that no row explains: not expected once every column is present
            raise PipelineError("invalid input, nothing was scored:\n" + cases.to_string())
        problems[found.index] = found


def reasons(cases: pd.DataFrame) -> pd.Series:
    """Per failing row (its number), what it broke, from pandera's failure cases; several joined by `; `."""
    kinds = cases["check"].astype(str).map(lambda check: split_check(check)[0])
    cases = cases[cases["index"].notna() & ~kinds.isin(REDUNDANT)]  # no index: a check that could not run
    lines = map(reason, cases["column"], cases["check"].astype(str), cases["failure_case"])
    found = pd.Series(list(lines), index=cases["index"].astype("int64"), dtype=object)
    return found.groupby(level=0, sort=True).agg("; ".join)


def reason(column: str, check: str, value: object) -> str:
    """One broken rule of one row: `column 'price': le 60 (value 9999.0)`."""
    shown = repr(value) if isinstance(value, str) else str(value)
    return f"column {column!r}: {rule_name(check)} (value {shown})"


def numpy_types(rows: pd.DataFrame, hard: pa.DataFrameSchema) -> pd.DataFrame:
    """Whole-number columns as pandas reads a CSV: `int64`, `float64` with a value missing (the model's types)."""
    ints = [name for name, column in hard.columns.items() if str(column.dtype) == "Int64"]
    return rows.astype({name: "float64" if rows[name].isna().any() else "int64" for name in ints})


def check_input(
    frame: pd.DataFrame, path: Path, contract: Contract, params: Params, *, strict: bool
) -> tuple[pd.DataFrame, pd.Series]:
    """Apply the contract's row-level rules: the rows to score, and per input row why it cannot be ('': none).

    The contract's warnings are logged only for a file that is scored: a refused one shows its error alone.

    Raises:
        PipelineError: A column is absent (or refused by the contract's `extra` policy), no row can be
            scored, or a row cannot be under `strict`.
    """
    table, source = scoring_table(contract, params), path.as_posix()
    found = check_columns(frame, table, known_table(contract, params), source)
    hard, soft = row_schemas(table, len(frame))
    rows, problems = row_problems(frame, hard)
    refuse_problems(problems, path, strict=strict)
    found += schema_findings(rows, soft, Stack((source,), (None,), (len(frame),)), "warning")[0]
    for warning in found:
        log.warning("predict: warning: %s", warning["message"])
    return rows, problems


def refuse_problems(problems: pd.Series, path: Path, *, strict: bool) -> None:
    """Refuse the file when a row cannot be scored under `--strict`, or when no row can; else log a warning.

    Raises:
        PipelineError: `invalid input, nothing was scored:` then one line per row (the first few).
    """
    failed = problems[problems != ""]
    if failed.empty:
        return
    if strict or len(failed) == len(problems):
        lines = [f"{path}: row {number + 1}: {why}" for number, why in failed.head(SHOWN).items()]
        more = [f"... and {len(failed) - SHOWN} more rows"] if len(failed) > SHOWN else []
        raise PipelineError("invalid input, nothing was scored:\n" + "\n".join(lines + more))
    log.warning(
        "predict: warning: %d of %d rows not scored (see the `problem` column), e.g. row %d: %s",
        len(failed),
        len(problems),
        failed.index[0] + 1,
        failed.iloc[0],
    )
