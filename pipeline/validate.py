"""Stage `validate`: check every raw file against the data contract before anything learns from it.

Reads:   every table of the contract under `data/` (`<table>/YYYY-MM.csv` per period, else `<table>.csv`).
Writes:  `<metrics>/validate.json` (the report: per check its file, column, rule, severity, failing rows and a
         few example values) and `<reports>/data_quality.json` (per column summary, newest period vs reference).
Params:  `prepare.batches`, `task`, `features`; and the whole contract file (`paths.contract`).
Metrics: `passed`, `failures`, `warnings`, `files`, `rows`.

It is the first stage, and `pipeline run` also calls it before `dvc repro`: DVC deletes a stage's outputs
before running it, and records a changed `data/` in `data.dvc`, so bad data must be stopped before either.
Failures (hard rules) stop the run with one line per problem, `<file>: column '<name>': <n> rows <what>
(rule: <rule>)`; warnings (soft rules: a null rate above its usual level, an unseen category under the warn
policy, a key missing from a referenced table, ...) are reported and do not stop it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import pandas as pd
import pandera.pandas as pa
import typer

from pipeline import datatests
from pipeline.config import Params, ParamsFile, load_params
from pipeline.contract import Contract, Table, load_contract, table_schemas
from pipeline.datatests import finding
from pipeline.errors import PipelineError
from pipeline.io import period_files, read_csv, write_json

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


def schema_findings(frame: pd.DataFrame, schema: pa.DataFrameSchema, file: str, severity: str) -> list[dict]:
    """Run one pandera schema lazily (every failure, not only the first) and describe each failed rule."""
    if not schema.columns and not schema.unique:
        return []
    try:
        schema.validate(frame, lazy=True)
        return []
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    found = []
    checks = cases["check"].astype(str)
    absent = checks == "column_in_dataframe"  # the column's name is the failure case
    for name in cases.loc[absent, "failure_case"]:
        found.append(finding(file, str(name), "column_in_dataframe", severity, None, [], "column absent"))
    duplicated = checks.str.endswith("_uniqueness")  # reported once per column of the key: say it once
    if duplicated.any():
        key = list(dict.fromkeys(cases.loc[duplicated, "column"].astype(str)))
        found.append(finding(file, None, f"unique {key}", severity, int(cases.loc[duplicated, "index"].nunique()),
                             [], f"duplicated on the unique key {key}"))
    for (column, check), group in cases[~absent & ~duplicated].groupby(["column", "check"], dropna=False, sort=True):
        column = None if pd.isna(column) else str(column)
        kind, arg = _split_check(str(check))
        rows = _failing_rows(kind, group, frame, column)
        if kind in REDUNDANT or rows == 0:  # 0: a check that could not run on a column that failed its type
            continue
        rule, what = RULES.get(kind, (str(check), str(check)))
        share = arg.split(" ")[-1]
        found.append(finding(file, column, rule.format(arg=arg), severity, rows,
                             group["failure_case"].dropna().tolist(), what.format(arg=arg, share=share)))
    return found


def _split_check(check: str) -> tuple[str, str]:
    """`greater_than_or_equal_to(0)` -> ("greater_than_or_equal_to", "0"); `missing max 0.15` -> ("missing", ...)."""
    if "(" in check and check.endswith(")"):
        kind, _, arg = check[:-1].partition("(")
        return kind, arg
    kind, _, arg = check.partition(" ")
    return kind, arg


def _failing_rows(kind: str, group: pd.DataFrame, frame: pd.DataFrame, column: str | None) -> int:
    if kind == "missing":
        return int(frame[column].isna().sum())
    return int(group["index"].nunique())


def unreadable(path: Path, rule: str, error: PipelineError) -> dict:
    """A failure found before any rule could run (a missing or unreadable file): its message is the error's."""
    return {**finding(path.as_posix(), None, rule, "failure", None, [], ""), "message": str(error)}


def check_file(path: Path, table: Table, period: str | None) -> tuple[pd.DataFrame | None, list[dict]]:
    """Read one file and check it against its table's contract (row bounds, hard and soft rules)."""
    try:
        frame = read_csv(path, required=[])
    except PipelineError as exc:
        return None, [unreadable(path, "readable CSV", exc)]
    hard, soft = table_schemas(table, period)
    file = path.as_posix()
    found = schema_findings(frame, hard, file, "failure") + schema_findings(frame, soft, file, "warning")
    if not table.rows.min <= len(frame) <= (table.rows.max or len(frame)):
        found.append(finding(file, None, f"rows in [{table.rows.min}, {table.rows.max}]", "failure", len(frame),
                             [], "in the file, outside the bounds"))
    return frame, found


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


def validate(data: Path, params: Params, contract: Contract) -> tuple[dict, dict[str, dict]]:
    """Check every file of every table, then the data tests across files.

    Returns:
        The report, and the accepted tables (name -> period -> frame) for the quality summary.
    """
    frames: dict[str, dict] = {}
    found = [*datatests.features_match_contract(params, contract)]
    try:
        periods = list(period_files(data / params.prepare.batches))
    except PipelineError:
        periods = []  # reported below, with the batch table's own files
    for name, table in contract.tables.items():
        try:
            files = table_files(data, name, table, periods)
        except PipelineError as exc:
            found.append(unreadable(data / name, "batch files", exc))
            continue
        frames[name] = {}
        for period, path in files.items():
            frame, problems = check_file(path, table, period)
            found += problems
            if frame is not None:
                frames[name][period] = frame
    found += datatests.run(frames, params, contract, data)
    failures = sum(f["severity"] == "failure" for f in found)
    report = {"passed": failures == 0, "failures": failures, "warnings": len(found) - failures,
              "files": sum(len(v) for v in frames.values()),
              "rows": sum(len(f) for tables in frames.values() for f in tables.values()), "checks": found}
    return report, frames


def failure(report: dict) -> PipelineError:
    """The error for a failed check: every failure, one per line."""
    problems = [f["message"] for f in report["checks"] if f["severity"] == "failure"]
    return PipelineError("invalid input, nothing downstream was run:\n" + "\n".join(problems))


def main(
    data: Annotated[Path, typer.Option(help="Folder of raw data (paths.data).")],
    contract: Annotated[Path, typer.Option(help="The data contract (paths.contract).")],
    report: Annotated[Path, typer.Option(help="JSON file for the validation report.")],
    quality: Annotated[Path, typer.Option(help="JSON file for the data-quality summary.")],
    params_file: ParamsFile = Path("params.yaml"),
) -> None:
    """Check every raw file against the contract; stop the pipeline on a failure."""
    params, rules = load_params(params_file), load_contract(contract)
    result, frames = validate(data, params, rules)
    write_json(result, report)
    batches = frames.get(params.prepare.batches, {})
    if batches:
        write_json(datatests.quality_summary(batches, contract=rules), quality)
    for warning in (f for f in result["checks"] if f["severity"] == "warning"):
        log.warning("warning: %s", warning["message"])
    if not result["passed"]:
        raise failure(result)
    log.info("validate: %d files, %d rows passed (%d warnings)", result["files"], result["rows"], result["warnings"])


if __name__ == "__main__":
    from pipeline.cli import run_alone

    run_alone(main)
