"""Stage `validate`: check every raw file before anything learns from it.

Reads:   `data/<prepare.batches>/YYYY-MM.csv` and every table of `prepare.joins`.
Writes:  `<metrics>/validate.json`: per file its rows and problems, and the overall `passed`.
Params:  `prepare`, `task`, `features`.
Metrics: `passed`, `files`, `problems`.

It is the first stage so that bad input stops `dvc repro` before any stage whose outputs matter runs: DVC
deletes a stage's outputs before running it, so a later stage failing on bad data would lose them. The report
is written even when the check fails, and then the stage exits non-zero with every problem, one per line.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from pipeline.config import Params, ParamsFile, load_params
from pipeline.errors import PipelineError
from pipeline.io import period_files, read_csv, write_json
from pipeline.prepare import raw_columns

log = logging.getLogger(__name__)


def expected_files(data: Path, params: Params) -> dict[Path, list[str]]:
    """Every raw file the pipeline will read, with the columns it must have.

    Raises:
        PipelineError: The batch folder is missing, empty, holds a stray file, or has a gap between periods.
    """
    periods = period_files(data / params.prepare.batches)
    files = {path: raw_columns(params) for path in periods.values()}
    for join in params.prepare.joins:
        required = [*join.keys, *join.columns]
        if join.per_period:
            files.update({data / join.table / path.name: required for path in periods.values()})
        else:
            files[data / f"{join.table}.csv"] = required
    return files


def check_file(path: Path, required: list[str]) -> dict:
    """Read one file and return its report entry: rows, and the problem if any."""
    try:
        rows = len(read_csv(path, required))
    except PipelineError as exc:
        return {"file": path.as_posix(), "rows": None, "problem": str(exc)}
    return {"file": path.as_posix(), "rows": rows, "problem": None}


def validate(data: Path, params: Params) -> dict:
    """Check every raw file; the report lists each file and whether the whole check passed."""
    try:
        checks = [check_file(path, required) for path, required in expected_files(data, params).items()]
    except PipelineError as exc:
        checks = [{"file": (data / params.prepare.batches).as_posix(), "rows": None, "problem": str(exc)}]
    problems = [c["problem"] for c in checks if c["problem"]]
    return {"passed": not problems, "files": len(checks), "problems": len(problems), "checks": checks}


def failure(result: dict) -> PipelineError:
    """The error for a failed check: every problem, one per line."""
    problems = [c["problem"] for c in result["checks"] if c["problem"]]
    return PipelineError("invalid input, nothing downstream was run:\n" + "\n".join(problems))


def main(
    data: Annotated[Path, typer.Option(help="Folder of raw data (paths.data).")],
    report: Annotated[Path, typer.Option(help="JSON file for the validation report.")],
    params_file: ParamsFile = Path("params.yaml"),
) -> None:
    """Check every raw file; stop the pipeline on a problem."""
    result = validate(data, load_params(params_file))
    write_json(result, report)
    if not result["passed"]:
        raise failure(result)
    log.info("validate: %d files passed", result["files"])


if __name__ == "__main__":
    from pipeline.cli import run_alone

    run_alone(main)
