"""Ingest: release periods of the source tables into `data/` and record them with DVC (not a DVC stage).

Reads:  the tables of `ingest.source` (params.yaml): files cut into periods by a time column, folders of
        `<period>.csv` files, reference files copied whole; inside an installed package (`source.package`: the
        embedded example) or in the repository, where a `<path>.dvc` beside one makes it DVC-tracked.
Writes: `data/<table>/<period>.csv` per released period for cut and folder tables, `data/<table>.csv` for
        reference tables, `data.dvc` (through `dvc add`) and the release record `data.release.yaml`.
Params: `paths.data`, `paths.release`, `ingest`, `prepare.batches` (its periods are the ones released),
        `prepare.timezone` (periods and naive times are local to it).

Ingest changes the pipeline's inputs, so it sits outside `dvc.yaml`. It has three modes:
- no flag: make `data/` match `data.dvc` (pull from the DVC remote if one is configured, otherwise rebuild
  the recorded periods from the source; the bytes are identical by construction, and this is checked);
- `--next`: release the next period and record the new version of `data/` in `data.dvc`;
- `--through PERIOD`: release every period up to that one (to start a fork or a test on a smaller window).
Releasing first brings DVC-tracked sources up to date (`dvc update` for imports), so new data in remote
storage becomes the next period; restoring only pulls what is absent, so it rebuilds what was recorded.

A release is a transaction: the new periods are checked with the whole contract before anything is recorded,
and a refused period, an error or a kill leaves every file as it was (`release`, `pipeline.journal`).
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
import tempfile
from pathlib import Path

import yaml

from pipeline.config import Params, Source
from pipeline.errors import PipelineError
from pipeline.journal import Journal
from pipeline.repo import bring_tracked, dvc, dvc_file_of, has_dvc_remote, is_import, matches_dvc_file
from pipeline.sources import CutTable, FolderTable, WholeTable, open_table

RELEASE_HEADER = "# Written by `pipeline ingest`: the periods of the source released into data/ (see data.dvc).\n"
Table = CutTable | FolderTable | WholeTable
log = logging.getLogger(__name__)


def source_root(source: Source) -> Path:
    """Where the table paths start: the installed package's folder, or the repository (the working directory).

    A package is found without importing it: only its files are read, and importing may be slow or need what
    is not installed (the example's package needs `pkg_resources`, which new setuptools dropped).
    """
    if source.package is None:
        return Path()
    spec = importlib.util.find_spec(source.package)
    if spec is None or not spec.submodule_search_locations:
        raise PipelineError(
            f"ingest.source.package: {source.package!r} is not an installed package "
            "(add it to pyproject.toml and run `uv sync`)"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def source_name(params: Params) -> str:
    """How messages and the release record name the source: the package, or the batch table's path."""
    source = params.ingest.source
    return source.package or source.tables[params.prepare.batches].path


def tracked(params: Params) -> list[Path]:
    """The `.dvc` files of the DVC-tracked source paths (never inside a package): a release may change them."""
    source = params.ingest.source
    if source.package is not None:
        return []
    return [f for f in (dvc_file_of(Path(t.path)) for t in source.tables.values()) if f is not None]


def open_tables(params: Params, update: bool) -> dict[str, Table]:
    """Read every source table, bringing DVC-tracked ones in first (and up to date when `update`).

    Raises:
        PipelineError: A table cannot be read, or the batch table (`prepare.batches`) has no periods.
    """
    source, prepare = params.ingest.source, params.prepare
    root = source_root(source)
    tables = {}
    for name, table in source.tables.items():
        path = root / table.path
        if source.package is None:
            done = bring_tracked(path, update)
            if done:
                log.info("ingest: %s", done)
        fmt = prepare.time_format if name == prepare.batches else None  # the batches' format (predict reads it too)
        tables[name] = open_table(path, table.time, params.ingest.period, prepare.timezone, fmt)
    if tables[prepare.batches].periods is None:
        raise PipelineError(
            f"ingest.source.tables.{prepare.batches}: the batch table needs periods: give "
            "its time column (`time:`) or point it at a folder of <period>.csv files"
        )
    return tables


def file_periods(path: Path, time: str, period: str, timezone: str) -> list[str]:
    """The periods of a file cut by its `time` column, first row's to last row's (for `pipeline init` to plan).

    Raises:
        PipelineError: The file cannot be read, lacks the column, or a time does not parse.
    """
    return open_table(path, time, period, timezone).periods


def read_release(path: Path) -> list[str]:
    """The released periods recorded in `path` (none when the file does not exist yet)."""
    if not path.exists():
        return []
    record = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    released = record.get("released")
    if not isinstance(released, list) or not all(isinstance(p, str) for p in released):
        raise PipelineError(f"{path}: key 'released' must be a list of periods like '2013-01'")
    return released


def write_release(path: Path, source: str, released: list[str]) -> None:
    """Record which periods of `source` are released."""
    body = yaml.safe_dump({"source": source, "released": released}, default_flow_style=None, sort_keys=True)
    path.write_text(RELEASE_HEADER + body, encoding="utf-8")


def next_periods(available: list[str], released: list[str], through: str | None) -> list[str] | None:
    """The periods to release: up to `through`, or one more than `released`; None when nothing is left.

    Raises:
        PipelineError: `through` is not a period of the source.
    """
    if through is not None:
        if through not in available:
            raise PipelineError(f"--through {through}: not a period of the source ({available[0]}..{available[-1]})")
        return available[: available.index(through) + 1]
    if len(released) >= len(available):
        return None
    return available[: len(released) + 1]


def write_tables(tables: dict[str, Table], periods: list[str], data: Path) -> None:
    """Rebuild `data` with exactly `periods` of every table, writing aside first so a failure leaves it untouched."""
    staging = Path(tempfile.mkdtemp(prefix=".ingest-", dir=data.parent))
    try:
        for name, table in tables.items():
            table.write(staging, name, periods)
        if data.exists():
            shutil.rmtree(data)
        staging.rename(data)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def build(params: Params, periods: list[str], data: Path) -> None:
    """Write `periods` of every source table into `data`, without recording anything (tests, benchmarks, init)."""
    write_tables(open_tables(params, update=False), periods, data)


def restore(params: Params) -> str:
    """Make `data` match `data.dvc`: pull from the DVC remote if configured, else rebuild from the source.

    Returns:
        What was done, in words.

    Raises:
        PipelineError: The rebuilt data does not match `data.dvc` (a different source version, or data
            that was never released by this source), or the pull failed.
    """
    recover(params)
    data, source = params.paths.data, source_name(params)
    dvc_file = data.with_name(data.name + ".dvc")
    if not dvc_file.exists():
        raise PipelineError(f"{dvc_file}: not found; release data first with `pipeline ingest --next`")
    if has_dvc_remote():
        dvc("pull", str(dvc_file), capture=False)
        return f"pulled {data}/ from the DVC remote"
    if data.exists() and matches_dvc_file(data):
        done = f"{data}/ already matches {dvc_file}"
    else:
        periods = read_release(params.paths.release)
        build(params, periods, data)
        if not matches_dvc_file(data):
            raise PipelineError(
                f"{data}/ rebuilt from the {source} source for {periods[0]}..{periods[-1]} does not match "
                f"{dvc_file}; configure the DVC remote that holds this version (`dvc remote add -d ...`)"
            )
        done = f"rebuilt {data}/ from the {source} source ({len(periods)} periods); it matches {dvc_file}"
    dvc("commit", "--force", "--quiet", str(dvc_file))  # the hashes match: this only fills the local cache
    return done


def pending(params: Params, through: str | None = None) -> tuple[dict[str, Table], list[str] | None]:
    """The source tables, brought up to date, and the periods a release would hold (None: nothing new)."""
    tables = open_tables(params, update=True)
    available = from_since(tables[params.prepare.batches].periods, params.ingest.since)
    return tables, next_periods(available, read_release(params.paths.release), through)


def from_since(periods: list[str], since: str | None) -> list[str]:
    """The periods from `ingest.since` on (all of them without it).

    Raises:
        PipelineError: `since` is not a period of the source.
    """
    if since is None:
        return periods
    if since not in periods:
        raise PipelineError(f"ingest.since {since}: not a period of the source ({periods[0]}..{periods[-1]})")
    return periods[periods.index(since) :]


def release(params: Params, through: str | None, *, check: bool = True) -> str:
    """Release the next period (or every period up to `through`) and record it in `data.dvc`, as a transaction.

    The new `data/` is written aside and checked with the whole contract (`validate`, with the data tests
    that look across periods) before it replaces the old one; only then are `data.dvc` and
    `data.release.yaml` written. A refused period, an error or a kill at any point leaves `data/`, `data.dvc`,
    `data.release.yaml` and the sources' `.dvc` files as they were (see `pipeline.journal`).

    Args:
        params: The project's parameters.
        through: Release every period up to this one; None: the next one.
        check: Check the new data against the contract first; `init` releases the data its contract is
            then inferred from, so it has none to check against yet.

    Returns:
        What was done, in words; says so and changes nothing when the source has nothing left to release.

    Raises:
        PipelineError: The new data breaks the contract (one line per problem, as `validate` says it), or a
            source cannot be read.
    """
    data, release_file = params.paths.data, params.paths.release
    recover(params)
    journal = Journal.begin([data.with_name(data.name + ".dvc"), release_file, *tracked(params)], data)
    try:
        tables, periods = pending(params, through)
        if periods is None:
            _rollback(journal)
            count = len(tables[params.prepare.batches].periods)
            return f"nothing to release: all {count} periods of the {source_name(params)} source are released already"
        released = read_release(release_file)
        for name, table in tables.items():
            table.write(journal.staging, name, periods)
        if check:
            refuse_invalid(journal.staging, params, periods[-1])
        journal.swap()
        dvc("add", str(data))
        write_release(release_file, source_name(params), periods)
    except BaseException:
        _rollback(journal)
        raise
    journal.commit()
    new = [p for p in periods if p not in released]
    shown = ", ".join(new) if new else "no new period"
    return f"released {shown}; {data}/ now holds {periods[0]}..{periods[-1]} (recorded in {data}.dvc)"


def refuse_invalid(staged: Path, params: Params, newest: str) -> None:
    """Check the staged data with the whole contract, as the `validate` stage will; stop the release if it fails.

    The findings name the files as they will be named in `data/`, so the messages are `validate`'s own.

    Raises:
        PipelineError: A failure, one line per problem.
    """
    from pipeline import validate  # here: pandera and the data tests cost a second to import, restore needs none
    from pipeline.contract import load_contract

    if not params.paths.contract.exists():
        log.warning("ingest: no %s yet, so the new data is released unchecked", params.paths.contract)
        return
    report, _ = validate.validate(staged, params, load_contract(params.paths.contract))
    shown = params.paths.data.as_posix()
    for check in report["checks"]:
        check["message"] = check["message"].replace(staged.as_posix(), shown)
        if check["severity"] == "warning":
            log.warning("warning: %s", check["message"])
    if not report["passed"]:
        problems = [c["message"] for c in report["checks"] if c["severity"] == "failure"]
        raise PipelineError(
            f"release through {newest} refused, nothing recorded ({shown}/, {shown}.dvc and "
            f"{params.paths.release} are as they were):\n" + "\n".join(problems)
        )


def recover(params: Params) -> None:
    """Roll back a release that was interrupted (killed, or the machine stopped), before anything reads data/."""
    journal = Journal.find()
    if journal is not None:
        _rollback(journal)
        log.warning(
            "ingest: a release was interrupted; %s/, %s.dvc and %s are back as they were before it",
            params.paths.data,
            params.paths.data,
            params.paths.release,
        )


def _rollback(journal: Journal) -> None:
    """Roll back, and bring an imported source back to the version its restored `.dvc` file records."""
    for restored in journal.rollback():
        if restored.suffix == ".dvc" and restored.exists() and is_import(restored):
            dvc("checkout", "--quiet", str(restored))
