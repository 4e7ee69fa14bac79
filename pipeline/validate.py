"""Stage `validate`: check every raw file against the data contract before anything learns from it.

Reads:   every table of the contract under `data/` (`<table>/<period>.csv` per period, else `<table>.csv`).
Writes:  `<metrics>/validate.json` (the report: per check its file, column, rule, severity, failing rows and a
         few example values) and `<reports>/data_quality.json` (per column summary, newest period vs reference).
Params:  `prepare.batches`, `task`, `features`; and the whole contract file (`paths.contract`).
Metrics: `passed`, `failures`, `warnings`, `files`, `rows`.

It is the first stage, and `pipeline run` also calls it before `dvc repro`: DVC deletes a stage's outputs
before running it, and records a changed `data/` in `data.dvc`, so bad data must be stopped before either.
Failures (hard rules) stop the run with one line per problem, `<file>: column '<name>': <n> rows <what>
(rule: <rule>)`; warnings (soft rules: a null rate above its usual level, an unseen category under the warn
policy, a key missing from a referenced table, ...) are reported and do not stop it.

Speed: the files of a table that look alike are stacked and checked in one pandera call (`schemas.Stack`),
since pandera's cost per call, not per row, dominated a year of monthly files; every failure is sorted back
to its file, so the report reads as if each file had been checked alone. `benchmarks/validate_benchmark.py`
measures it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import numpy as np
import pandas as pd
import pandera.pandas as pa
import typer

from pipeline import datatests, engine
from pipeline.artifacts import write_json
from pipeline.batches import period_files, read_csv
from pipeline.config import Params, ParamsFile, load_params
from pipeline.contract import Contract, Table, load_contract
from pipeline.datatests import finding
from pipeline.engine import Parts
from pipeline.errors import PipelineError
from pipeline.schemas import STACK_FILE, Stack, table_schemas

if TYPE_CHECKING:
    from distributed import Client

log = logging.getLogger(__name__)

# How a failed check reads: pandera's built-in check names -> (our short rule, the words). Our own checks are
# named by their rule already ("missing max 0.15", "period 2013-07", "datetime ISO8601").
RULES = {
    "greater_than_or_equal_to": ("ge {arg}", "below minimum {arg}"),
    "less_than_or_equal_to": ("le {arg}", "above maximum {arg}"),
    "isin": ("isin allowed values", "not among the allowed values"),
    "coerce_dtype": ("coerce_dtype({arg})", "not of the contract's type"),
    "not_nullable": ("not_nullable", "missing (the column may not be)"),
    "missing": ("missing {arg}", "missing, more than the {share} share allowed"),
    "datetime": ("datetime {arg}", "not ISO 8601 datetimes"),
    "period": ("period {arg}", "outside the file's period {arg}"),
}
# Reported by pandera besides the failure that matters (a failed coercion also fails the dtype check).
REDUNDANT = {"dtype"}


def schema_findings(stacked: pd.DataFrame, schema: pa.DataFrameSchema, stack: Stack, severity: str) -> list[list[dict]]:
    """Run one pandera schema lazily (every failure, not only the first) over stacked files; per file, its failures.

    `inplace=True` spares a copy of the data: the hard schema's type coercion then applies to `stacked` itself.
    """
    per_file: list[list[dict]] = [[] for _ in stack.files]
    if not schema.columns and not schema.unique:
        return per_file
    try:
        schema.validate(stacked, lazy=True, inplace=True)
        return per_file
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    rows = pd.to_numeric(cases["index"], errors="coerce")
    # -1: a failure without a row, of every file (a column absent)
    owner = np.where(rows.notna(), stack.file_of(pd.Index(rows.fillna(0))), -1)
    for number, (file, period) in enumerate(zip(stack.files, stack.periods, strict=True)):
        per_file[number] = _describe(cases[(owner == number) | (owner == -1)], file, period, severity)
    return per_file


def _describe(cases: pd.DataFrame, file: str, period: str | None, severity: str) -> list[dict]:
    """The findings of one file from its pandera failure cases."""
    found = []
    checks = cases["check"].astype(str)
    absent = checks == "column_in_dataframe"  # the column's name is the failure case
    for name in cases.loc[absent, "failure_case"]:
        found.append(
            finding(
                file=file,
                column=str(name),
                rule="column_in_dataframe",
                severity=severity,
                what="column absent",
            )
        )
    duplicated = checks.str.endswith("_uniqueness")  # reported once per column of the key: say it once
    key = [c for c in dict.fromkeys(cases.loc[duplicated, "column"].astype(str)) if c != STACK_FILE]
    if key:  # none: the key's columns are all absent (reported above), pandera checked the file number alone
        found.append(_duplicates(cases[duplicated & (cases["column"] != STACK_FILE)], key, file, severity))
    for (column, check), group in cases[~absent & ~duplicated].groupby(["column", "check"], dropna=False, sort=True):
        column = None if pd.isna(column) else str(column)
        kind, arg = split_check(str(check))
        arg = period if kind == "period" else arg  # one check for all stacked files: the rule names this file's
        rows = int(group["index"].nunique())
        if kind in REDUNDANT or rows == 0:  # 0: a check that could not run on a column that failed its type
            continue
        what = RULES[kind][1] if kind in RULES else str(check)
        share = arg.split(" ")[-1]
        found.append(
            finding(
                file=file,
                column=column,
                rule=rule_name(str(check), arg),
                severity=severity,
                rows=rows,
                examples=group["failure_case"].dropna().tolist(),
                what=what.format(arg=arg, share=share),
            )
        )
    return found


def _duplicates(cases: pd.DataFrame, key: list[str], file: str, severity: str) -> dict:
    """One finding for a broken unique key, counting the rows that repeat an earlier row's key.

    pandera lists every row of a repeated key, the first one too (keep=False): 200 duplicated rows are 400
    cases. The rows to drop are those beyond the first of each key value.
    """
    values = cases.sort_values(["index", "column"]).groupby("index")["failure_case"].agg(lambda v: tuple(map(str, v)))
    repeats = len(values) - values.nunique()
    return finding(
        file=file,
        column=None,
        rule=f"unique {key}",
        severity=severity,
        rows=repeats,
        examples=[dict(zip(sorted(key), k, strict=True)) for k in values[values.duplicated()].unique()],
        what=f"repeat the unique key {key} of an earlier row ({values.nunique()} key values repeated)",
    )


def split_check(check: str) -> tuple[str, str]:
    """`greater_than_or_equal_to(0)` -> ("greater_than_or_equal_to", "0"); `missing max 0.15` -> ("missing", ...)."""
    if "(" in check and check.endswith(")"):
        kind, _, arg = check[:-1].partition("(")
        return kind, arg
    kind, _, arg = check.partition(" ")
    return kind, arg


def rule_name(check: str, arg: str | None = None) -> str:
    """How reports name the rule a pandera check stands for: `less_than_or_equal_to(6000)` -> `le 6000`.

    `arg` replaces the check's own argument: one period check runs over stacked files, each names its period.
    """
    kind, own = split_check(check)
    return RULES[kind][0].format(arg=own if arg is None else arg) if kind in RULES else check


def unreadable(path: Path, rule: str, error: PipelineError) -> dict:
    """A failure found before any rule could run (a missing or unreadable file): its message is the error's."""
    return {
        **finding(file=path.as_posix(), column=None, rule=rule, severity="failure", what=""),
        "message": str(error),
    }


def check_table(table: Table, files: dict[str | None, Path], client: Client | None = None) -> tuple[Parts, list[dict]]:
    """Read the files of one table and check them against its contract (row bounds, hard and soft rules).

    With a Dask `client` each file is read and checked on a worker, alone (the same findings as stacked, see the
    module's docstring), and its checked frame stays there for the data tests across files (`engine.Parts`).

    Returns:
        The readable files' frames (period -> frame, in file order) and the findings, file by file.
    """
    if client is not None:
        checked = dict(zip(files, engine.keep_each(client, check_file, list(files.items()), table=table), strict=True))
        # what comes back: each file's findings, and its frame's dtypes and length
        described = dict(zip(files, engine.run_each(client, describe_checked, list(checked.values())), strict=True))
        readable = [period for period, (_, dtypes, _) in described.items() if dtypes is not None]
        kept = engine.keep_each(client, frame_checked, [checked[period] for period in readable])
        parts = Parts(
            dict(zip(readable, kept, strict=True)),
            {period: described[period][1] for period in readable},
            {period: described[period][2] for period in readable},
            client,
        )
        return parts, [x for found, _, _ in described.values() for x in found]
    frames, unread = {}, {}
    for period, path in files.items():
        try:
            frames[period] = read_csv(path, required=[])
        except PipelineError as exc:
            unread[period] = [unreadable(path, "readable CSV", exc)]
    frames, found = check_frames(table, frames, {p: files[p].as_posix() for p in frames})
    return Parts.here(frames), [f for period in files for f in unread.get(period, found.get(period, []))]


def check_file(item: tuple[str | None, Path], *, table: Table) -> tuple[pd.DataFrame | None, list[dict]]:
    """`check_table` of one (period, file): a task of the Dask engine. The frame is None when unreadable."""
    parts, found = check_table(table, dict([item]))
    return next(iter(parts.frames.values()), None), found


def describe_checked(checked: tuple[pd.DataFrame | None, list[dict]]) -> tuple[list[dict], pd.Series | None, int]:
    """What the stage needs of a file checked on a worker: its findings, and its frame's dtypes and length."""
    frame, found = checked
    return found, None if frame is None else frame.dtypes, 0 if frame is None else len(frame)


def frame_checked(checked: tuple[pd.DataFrame | None, list[dict]]) -> pd.DataFrame | None:
    """The checked frame of a file checked on a worker, kept there for the data tests across files."""
    return checked[0]


def check_frames(
    table: Table, frames: dict[str | None, pd.DataFrame], files: dict[str | None, str]
) -> tuple[dict, dict[str | None, list[dict]]]:
    """Check the frames of one table's files (period -> frame, named by `files`) against its contract.

    Frames alike (same columns, same types) are stacked and checked in one pandera call; a file that differs
    (a renamed column, text in a number column) is checked on its own, so its failures read as they would alone.

    Returns:
        The frames (slices of the stacked rows, which the hard schema coerced to the contract's types where
        it could) and the findings of each period's file.
    """
    frames, found = dict(frames), {}
    for periods in _alike(frames):
        stacked, stack = _stack([frames[p] for p in periods], [files[p] for p in periods], periods)
        hard, soft = table_schemas(table, stack)
        failures = schema_findings(stacked, hard, stack, "failure")
        warnings = schema_findings(stacked, soft, stack, "warning")
        for number, (period, frame) in enumerate(zip(periods, stack.split(stacked), strict=True)):
            frames[period] = frame
            found[period] = failures[number] + warnings[number] + _row_bounds(table, stack.files[number], len(frame))
            found[period] += duplicate_rows(table, frame, stack.files[number])
            found[period] += unknown_columns(table, frame, stack.files[number], found[period])
    return frames, found


def unknown_columns(table: Table, frame: pd.DataFrame, file: str, found: list[dict]) -> list[dict]:
    """Columns the contract does not describe, under the table's `extra` policy; absent columns renamed.

    A column absent from the file whose rules an unknown column's values pass is most likely that column
    under a new name (an export renamed it): both findings say so, and the absent one (in `found`) is
    rewritten to name the candidate.
    """
    extra = [str(c) for c in frame.columns if c not in table.columns]
    absent = {c for c in table.columns if c not in frame.columns}
    renamed = {new: old for new in extra for old in sorted(absent) if _fits(table, old, frame[new], file)}
    for number, check in enumerate(found):
        if check["rule"] == "column_in_dataframe" and check["column"] in renamed.values():
            new = next(n for n, old in renamed.items() if old == check["column"])
            found[number] = finding(
                file=file,
                column=check["column"],
                rule="column_in_dataframe",
                severity=check["severity"],
                what=f"column absent; the new column {new!r} passes its rules: probably renamed",
            )
    severity = "failure" if table.extra == "fail" else "warning"
    hints = {
        new: f"; it passes the rules of the absent column {old!r}: probably renamed" for new, old in renamed.items()
    }
    return [
        finding(
            file=file,
            column=name,
            rule=f"extra {table.extra}",
            severity=severity,
            what="column not in the contract" + hints.get(name, ""),
        )
        for name in extra
    ]


def _fits(table: Table, name: str, values: pd.Series, file: str) -> bool:
    """Whether `values` pass the rules of the contract's column `name` (its type, range, values, missing)."""
    alone = Table(per_period=False, columns={name: table.columns[name]})
    stack = Stack((file,), (None,), (len(values),))
    hard, _ = table_schemas(alone, stack)
    try:
        hard.validate(pd.DataFrame({name: values.reset_index(drop=True)}).assign(**{STACK_FILE: 0}), lazy=False)
    except (pa.errors.SchemaError, pa.errors.SchemaErrors):
        return False
    return True


def _alike(frames: dict[str | None, pd.DataFrame]) -> list[list[str | None]]:
    """The periods grouped by their file's columns and column types, in order."""
    groups: dict[tuple, list[str | None]] = {}
    for period, frame in frames.items():
        groups.setdefault(tuple(frame.dtypes.astype(str).items()), []).append(period)
    return list(groups.values())


def _stack(frames: list[pd.DataFrame], files: list[str], periods: list[str | None]) -> tuple[pd.DataFrame, Stack]:
    """The frames one after the other, numbered from 0, with each row's file number in `STACK_FILE`."""
    stack = Stack(tuple(files), tuple(periods), tuple(len(f) for f in frames))
    stacked = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return stacked.assign(**{STACK_FILE: np.repeat(np.arange(len(frames)), stack.sizes)}), stack


def _row_bounds(table: Table, file: str, rows: int) -> list[dict]:
    if table.rows.min <= rows <= (table.rows.max or rows):
        return []
    return [
        finding(
            file=file,
            column=None,
            rule=f"rows in [{table.rows.min}, {table.rows.max}]",
            severity="failure",
            rows=rows,
            what="in the file, outside the bounds",
        )
    ]


def duplicate_rows(table: Table, frame: pd.DataFrame, file: str) -> list[dict]:
    """Rows that repeat an earlier row of the file in every column: a failure above `duplicates.max`.

    A warning above `duplicates.usual`. Counted beyond the first of each (a row sent twice is one row too many).
    """
    repeats = frame.duplicated()
    count, rule = int(repeats.sum()), table.duplicates
    share = count / len(frame) if len(frame) else 0.0
    if share <= rule.usual:
        return []
    severity, limit = ("failure", rule.max) if share > rule.max else ("warning", rule.usual)
    example = frame[repeats].iloc[0].to_dict()
    return [
        finding(
            file=file,
            column=None,
            rule=f"duplicate rows {'max' if severity == 'failure' else 'usual'} {limit:g}",
            severity=severity,
            rows=count,
            examples=[{k: v for k, v in list(example.items())[:4]}],
            what=f"repeat an earlier row exactly ({share:.1%} of the file, more than the {limit:g} share allowed)",
        )
    ]


def table_files(data: Path, name: str, table: Table, periods: list[str]) -> dict[str | None, Path]:
    """The files of one table: period -> file for a table per period (one for each batch period), else {None: file}.

    Raises:
        PipelineError: A per-period table lacks the file of a batch period, or has a gap.
    """
    if not table.per_period:
        return {None: data / f"{name}.csv"}
    files = period_files(data / name)
    for period in periods:
        if period not in files:
            raise PipelineError(f"{data / name / (period + '.csv')}: file not found (the batches have {period})")
    return files


def validate(data: Path, params: Params, contract: Contract, *, summarize: bool = False) -> tuple[dict, dict | None]:
    """Check every file of every table, then the data tests across files.

    Returns:
        The report, and (with `summarize`, when every check passed) the quality summary of the batches.
    """
    tables: dict[str, Parts] = {}
    found, quality = [*datatests.features_match_contract(params, contract)], None
    try:
        periods = list(period_files(data / params.prepare.batches))
    except PipelineError:
        periods = []  # reported below, with the batch table's own files
    with engine.cluster(params.engine) as client:
        for name, table in contract.tables.items():
            try:
                files = table_files(data, name, table, periods)
            except PipelineError as exc:
                found.append(unreadable(data / name, "batch files", exc))
                continue
            tables[name], problems = check_table(table, files, client)
            found += problems
        found += datatests.run(tables, params, contract, data)
        failures = sum(f["severity"] == "failure" for f in found)
        batches = tables.get(params.prepare.batches)
        if summarize and not failures and batches is not None and batches.frames:  # refused data is not described
            quality = datatests.quality_summary(batches, contract=contract)
    report = {
        "passed": failures == 0,
        "failures": failures,
        "warnings": len(found) - failures,
        "files": sum(len(parts.frames) for parts in tables.values()),
        "rows": sum(sum(parts.rows.values()) for parts in tables.values()),
        "checks": found,
    }
    return report, quality


def failure(report: dict) -> PipelineError:
    """The error for a failed check: every failure, one per line."""
    problems = [f["message"] for f in report["checks"] if f["severity"] == "failure"]
    return PipelineError("invalid input, nothing downstream was run:\n" + "\n".join(problems))


def main(
    *,
    data: Annotated[Path, typer.Option(help="Folder of raw data (paths.data).")],
    contract: Annotated[Path, typer.Option(help="The data contract (paths.contract).")],
    report: Annotated[Path, typer.Option(help="JSON file for the validation report.")],
    quality: Annotated[Path, typer.Option(help="JSON file for the data-quality summary.")],
    params_file: ParamsFile = Path("params.yaml"),
) -> None:
    """Check every raw file against the contract; stop the pipeline on a failure.

    A refused batch writes nothing: both outputs are in git, and describing data that was turned away would
    change them (the error lists every failure, and the warnings are logged).
    """
    params, rules = load_params(params_file), load_contract(contract)
    result, summary = validate(data, params, rules, summarize=True)
    for warning in (f for f in result["checks"] if f["severity"] == "warning"):
        log.warning("warning: %s", warning["message"])
    if not result["passed"]:
        raise failure(result)
    write_json(result, report)
    if summary is not None:
        write_json(summary, quality)
    log.info("validate: %d files, %d rows passed (%d warnings)", result["files"], result["rows"], result["warnings"])


if __name__ == "__main__":
    from pipeline.command import run_alone

    run_alone(main)
