"""Source tables as `pipeline ingest` reads them (`ingest.source.tables` in params.yaml).

Three kinds: a file cut into periods by its time column, a folder of `<period>.csv` files, and a reference
file copied whole. Each is a small class with the same two members, `periods` (what it can release; None for
a reference table) and `write(dest, name, periods)`, so ingest treats them alike. Cutting keeps every byte of a
line but the time field, which is rewritten to ISO 8601 UTC (`2013-01-01T10:00:00Z`) only when it is not in
that form already: the same source always gives the same files, and DVC's hash of data/ is stable.

Assumptions, so the cut stays a byte copy: UTF-8 text, comma-separated, LF or CRLF line ends, a header line
first. A quoted field may span lines (the record is kept whole). Naive times are local times in
`prepare.timezone`; at the doubled hour when clocks go back they are read as the first of the two instants,
and a time that the clocks skip is moved forward by the gap.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import lzma
import re
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.batches import period_files, period_kind, period_of, period_range
from pipeline.errors import PipelineError

ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")  # the form data/ holds: left exactly as it is
UTC_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
OFFSET = r"(?:Z|[+-]\d{2}:?\d{2})$"  # a time that says its own offset; any other is local
LINE = re.compile(r"[^\n]*\n|[^\n]+$")  # a line with its line feed (the last may lack one)
FIELD = re.compile(r'"(?:[^"]|"")*"|[^,\r\n]*')  # one CSV field, quoted (may hold commas, newlines) or not
DECOMPRESS = {".gz": gzip.decompress, ".bz2": bz2.decompress, ".xz": lzma.decompress}


def read_source(path: Path) -> bytes:
    """The bytes of a source file, decompressed: `.zip` (its one file), `.gz`, `.bz2`, `.xz`, or plain.

    Raises:
        PipelineError: The file is missing or unreadable, or a zip archive holds other than one file.
    """
    try:
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                members = [m for m in archive.namelist() if not m.endswith("/") and not m.startswith("__MACOSX")]
                if len(members) != 1:
                    raise PipelineError(f"{path}: a zip source must hold exactly one file (holds {members})")
                return archive.read(members[0])
        raw = path.read_bytes()
        unpack = DECOMPRESS.get(path.suffix)
        return unpack(raw) if unpack else raw
    except FileNotFoundError as exc:
        raise PipelineError(f"{path}: source file not found") from exc
    except (OSError, zipfile.BadZipFile, EOFError, lzma.LZMAError) as exc:
        raise PipelineError(f"{path}: cannot be read ({exc})") from exc


def records(text: str, path: Path) -> Iterator[tuple[int, str, list[str]]]:
    """Each CSV record of `text` as (its first line number, its exact text, its fields), header first.

    The csv reader counts the lines it has pulled (`line_num`); it pulls more than one only while a quoted field
    is open, so the lines since the previous record are this record's own text, byte for byte.
    """
    lines = LINE.findall(text)
    reader = csv.reader(lines)
    done = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise PipelineError(f"{path}: line {done + 1}: cannot be read as CSV ({exc})") from exc
        end = reader.line_num
        yield done + 1, lines[done] if end == done + 1 else "".join(lines[done:end]), fields
        done = end


def parse_times(values: pd.Index, timezone: str, fmt: str | None = None) -> pd.DatetimeIndex:
    """Distinct time texts -> UTC instants (NaT where a text does not parse); naive texts are read in `timezone`.

    The one reader of a source's times: ingest's cut, `init` and `predict` all call it, with the format
    `prepare.time_format` names (`%Y` for a year, `%m/%d/%Y`, ...). Without one, the format is inferred from
    the values (ISO 8601, `2012/01/01`, ...) and a column that mixes formats is read value by value. Numbers
    are read as their text, so the year 2002 is 2002-01-01, never 2002 nanoseconds after 1970.
    """
    text = pd.Series(pd.Index(values).astype(str), index=range(len(values)))
    # data/'s own form (what ingest writes) is read as such whatever `fmt` says: rows copied from data/ (to
    # score them, or a source that already holds such times) are never refused for not being the source's form.
    iso = text.str.fullmatch(ISO_UTC.pattern)
    aware = ~iso & text.str.contains(OFFSET, regex=True)
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")
    if iso.any():
        parsed[iso] = pd.to_datetime(text[iso], utc=True, format=UTC_FORMAT)
    if aware.any():
        parsed[aware] = _to_datetime(text[aware], utc=True, fmt=fmt)
    naive = ~iso & ~aware
    if naive.any():
        local = pd.DatetimeIndex(_to_datetime(text[naive], utc=False, fmt=fmt))
        first = np.ones(len(local), dtype=bool)  # at the doubled hour, the first of the two instants
        parsed[naive] = local.tz_localize(timezone, ambiguous=first, nonexistent="shift_forward").tz_convert("UTC")
    return pd.DatetimeIndex(parsed)


def _to_datetime(text: pd.Series, utc: bool, fmt: str | None) -> pd.Series:
    """Parse with `fmt`, else with the format inferred from the first value, then value by value where that failed."""
    if fmt is not None:
        return pd.to_datetime(text, errors="coerce", utc=utc, format=fmt)
    parsed = pd.to_datetime(text, errors="coerce", utc=utc)
    if parsed.isna().any():
        parsed = pd.to_datetime(text, errors="coerce", utc=utc, format="mixed")
    return parsed


def replace_field(record: str, index: int, value: str) -> str:
    """`record` with its field number `index` (from 0) replaced by `value`; every other byte kept."""
    if '"' not in record:  # the usual line: no quoted field, so every comma separates two fields
        parts = record.split(",")
        old = parts[index]
        parts[index] = value + old[len(old.rstrip("\r\n")) :]  # the last field keeps the line end
        return ",".join(parts)
    start = 0
    for _ in range(index):
        start = FIELD.match(record, start).end() + 1  # past the field and its comma
    end = FIELD.match(record, start).end()
    return record[:start] + value + record[end:]


@dataclass(frozen=True)
class CutTable:
    """A file cut into periods by its time column: its header line and, per period, its records in source order."""

    header: str
    chunks: dict[str, list[str]]

    @property
    def periods(self) -> list[str]:
        """Every period from the first row's to the last row's (a period without rows stays in the list)."""
        ordered = sorted(self.chunks)
        return period_range(ordered[0], ordered[-1]) if ordered else []

    def write(self, dest: Path, name: str, periods: list[str]) -> None:
        """Write `dest/<name>/<period>.csv` for each period: the header, then the period's records."""
        (dest / name).mkdir(parents=True)
        for period in periods:
            text = self.header + "".join(self.chunks.get(period, []))
            (dest / name / f"{period}.csv").write_text(text, encoding="utf-8", newline="")


def cut_by_time(raw: bytes, *, path: Path, column: str, kind: str, timezone: str, fmt: str | None = None) -> CutTable:
    """Cut a CSV file into periods of `kind` by the local time (in `timezone`) of its `column`.

    Raises:
        PipelineError: The file is not UTF-8 or has no such column, or a time does not parse (naming the
            file, the column, a value and its line).
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PipelineError(f"{path}: not UTF-8 text (invalid byte at offset {exc.start})") from exc
    rows = records(text, path)
    _, header_line, header = next(rows, (1, "", []))
    names = [name.lstrip("\ufeff") for name in header]
    if column not in names:
        raise PipelineError(f"{path}: no time column {column!r} to cut by (found: {', '.join(map(repr, names))})")
    index = names.index(column)
    numbers, lines, values = [], [], []
    for number, line, fields in rows:
        numbers.append(number)
        lines.append(line)
        values.append(fields[index] if index < len(fields) else "")
    codes, distinct = pd.factorize(pd.Index(values, dtype=object))
    instants = parse_times(distinct, timezone, fmt)
    _refuse_unparsed(instants, codes=codes, distinct=distinct, numbers=numbers, path=path, column=column)
    keep = pd.Index(distinct).str.match(ISO_UTC.pattern).tolist()
    written = np.where(keep, distinct, instants.strftime(UTC_FORMAT)).tolist()
    period = period_of(pd.Series(instants), kind, timezone).tolist()
    chunks: dict[str, list[str]] = {}
    for line, code in zip(lines, codes.tolist(), strict=True):
        if not keep[code]:
            line = replace_field(line, index, written[code])
        chunks.setdefault(period[code], []).append(line)
    return CutTable(header_line, chunks)


def _refuse_unparsed(
    instants: pd.DatetimeIndex,
    *,
    codes: np.ndarray,
    distinct: pd.Index,
    numbers: list[int],
    path: Path,
    column: str,
) -> None:
    """Fail on the first row whose time did not parse, naming its value and line (`codes` map rows to `distinct`)."""
    bad = np.flatnonzero(np.asarray(instants.isna())[codes])
    if len(bad):
        row = bad[0]
        raise PipelineError(
            f"{path}: column {column!r}: {len(bad)} row(s) with a time that does not parse, "
            f"e.g. {distinct[codes[row]]!r} on line {numbers[row]}"
        )


@dataclass(frozen=True)
class FolderTable:
    """A folder of `<period>.csv` files, as batches arrive: copied file by file."""

    files: dict[str, Path]

    @property
    def periods(self) -> list[str]:
        """The periods the folder holds, in time order."""
        return list(self.files)

    def write(self, dest: Path, name: str, periods: list[str]) -> None:
        """Copy the files of `periods` to `dest/<name>/`."""
        (dest / name).mkdir(parents=True)
        for period in periods:
            if period not in self.files:
                folder = next(iter(self.files.values())).parent
                raise PipelineError(f"{folder}: no file for period {period} (the batches have it)")
            shutil.copyfile(self.files[period], dest / name / f"{period}.csv")


@dataclass(frozen=True)
class WholeTable:
    """A reference table (no time column): its bytes, copied whole whatever the periods."""

    raw: bytes
    periods = None

    def write(self, dest: Path, name: str, periods: list[str]) -> None:  # noqa: ARG002 (same as the others)
        """Write `dest/<name>.csv`."""
        (dest / f"{name}.csv").write_bytes(self.raw)


def open_table(
    path: Path, time: str | None, kind: str, timezone: str, fmt: str | None = None
) -> CutTable | FolderTable | WholeTable:
    """Read one source table: a folder of period files, a file cut by `time`, or a file copied whole.

    Raises:
        PipelineError: The path is missing, a folder's files are not periods of `kind`, or cutting failed.
    """
    if path.is_dir():
        files = period_files(path)
        found = period_kind(next(iter(files)))
        if found != kind:
            raise PipelineError(
                f"{path}: holds {found} files ({', '.join(list(files)[:3])}, ...) but "
                f"ingest.period is {kind}; make them agree"
            )
        return FolderTable(files)
    raw = read_source(path)
    if time is None:
        return WholeTable(raw)
    return cut_by_time(raw, path=path, column=time, kind=kind, timezone=timezone, fmt=fmt)


def iso_times(values: pd.Series, *, timezone: str, fmt: str | None, source: str, column: str) -> pd.Series:
    """A source's time column rewritten as data/ holds it (ISO 8601 UTC), for rows that never went through ingest.

    Raises:
        PipelineError: A time is missing or does not parse, naming the column, the count and an example.
    """
    codes, distinct = pd.factorize(values.astype(str).where(values.notna()))
    instants = parse_times(pd.Index(distinct), timezone, fmt)
    bad = (codes < 0) | np.asarray(instants.isna())[codes]
    if bad.any():
        example = values[bad].iloc[0]
        raise PipelineError(
            f"{source}: column {column!r}: {int(bad.sum())} row(s) with a time that is missing or does not "
            f"parse{f' as {fmt!r}' if fmt else ''}, e.g. {example!r}"
        )
    return pd.Series(np.asarray(instants.strftime(UTC_FORMAT))[codes], index=values.index)  # ISO text as it was
