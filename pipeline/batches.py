"""Raw batches in: period names, the batch files of a folder, and raw CSV read strictly.

A batch file is named by the period it holds (`2013-01.csv`, `2013-Q1.csv`, `2013.csv`); these helpers turn
names into periods and instants and back, find a folder's batches in time order, and read a CSV as teams send
it, failing with the file and the problem rather than guessing. Used by the stages that read raw data
(`validate`, `prepare`, `predict`), the contract, the sources of `ingest` and `init`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.errors import PipelineError

# Read as missing besides pandas' own markers (empty, NA, NaN, null, None, ...): sensor exports write `nil`.
MISSING_MARKERS = ["nil"]


# A period is named by its batch file's stem; the name says its kind. FORK: another period length is one entry
# here: a pattern for its names, the pandas frequency, and how pandas prints a period as a name.
PERIOD_KINDS = {
    "month": (re.compile(r"^\d{4}-(0[1-9]|1[0-2])$"), "M", "%Y-%m"),
    "quarter": (re.compile(r"^\d{4}-Q[1-4]$"), "Q", "%Y-Q%q"),
    "year": (re.compile(r"^\d{4}$"), "Y", "%Y"),
}
PERIOD_NAMES = "YYYY-MM (month), YYYY-Qn (quarter) or YYYY (year)"


def period_kind(name: str) -> str:
    """The kind of period (`month`, `quarter`, `year`) a name like `2013-01`, `2013-Q1` or `2013` is.

    Raises:
        PipelineError: The name is none of them.
    """
    for kind, (pattern, _, _) in PERIOD_KINDS.items():
        if pattern.match(name):
            return kind
    raise PipelineError(f"{name!r} is not a period name: expected {PERIOD_NAMES}")


def _period(name: str) -> pd.Period:
    _, freq, _ = PERIOD_KINDS[period_kind(name)]
    return pd.Period(name.replace("-Q", "Q"), freq=freq)


def period_bounds(name: str, timezone: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The instants a period spans in `timezone`: from local midnight of its first day to that of the next period.

    Args:
        name: A period name (`2013-01`, `2013-Q1`, `2013`).
        timezone: The IANA time zone the period is counted in (`prepare.timezone`).

    Returns:
        (start, end), tz-aware; the end is exclusive.
    """
    period = _period(name)
    # A midnight that DST skips starts the day at the first instant that exists; a doubled one at the first.
    starts = pd.DatetimeIndex([period.start_time, (period + 1).start_time]).tz_localize(
        timezone, ambiguous=np.array([True, True]), nonexistent="shift_forward"
    )
    return starts[0], starts[1]


def period_range(first: str, last: str) -> list[str]:
    """Every period name from `first` to `last` (of one kind), in time order."""
    kind = period_kind(first)
    _, freq, form = PERIOD_KINDS[kind]
    return list(pd.period_range(_period(first), _period(last), freq=freq).strftime(form))


def period_of(times: pd.Series, kind: str, timezone: str) -> pd.Series:
    """The name of the period of `kind` each instant falls in, counted in `timezone`; NaT gives NaN.

    Args:
        times: tz-aware timestamps.
        kind: `month`, `quarter` or `year`.
        timezone: Where the calendar is read (an event at 23:30 on 31 January in New York is January's).
    """
    _, freq, form = PERIOD_KINDS[kind]
    local = times.dt.tz_convert(timezone).dt.tz_localize(None)
    return local.dt.to_period(freq).dt.strftime(form).where(times.notna())


def period_files(folder: Path) -> dict[str, Path]:
    """Map each period to its batch file in `folder`, in time order.

    Batch files are named by their period: `2013-01.csv` (month), `2013-Q1.csv` (quarter) or `2013.csv`
    (year), one kind per folder.

    Raises:
        PipelineError: The folder is missing or holds no batch file, a file is named otherwise, kinds are mixed,
            or a period between the first and the last is missing (a lost batch must not pass for a shorter
            history).
    """
    if not folder.is_dir():
        raise PipelineError(f"{folder}: folder of batches not found (run `pipeline ingest`?)")
    kinds: dict[str, list[Path]] = {}
    for path in sorted(folder.iterdir()):
        kind = next((k for k, (pattern, _, _) in PERIOD_KINDS.items() if pattern.match(path.stem)), None)
        if kind is None or path.suffix != ".csv":
            raise PipelineError(f"{path}: unexpected file; batches are named {PERIOD_NAMES}, with .csv")
        kinds.setdefault(kind, []).append(path)
    if not kinds:
        raise PipelineError(f"{folder}: no batch files ({PERIOD_NAMES}, with .csv)")
    if len(kinds) > 1:
        found = "; ".join(f"{kind}: {', '.join(p.name for p in paths[:3])}" for kind, paths in kinds.items())
        raise PipelineError(f"{folder}: batch files of different period lengths ({found}); use one kind")
    ((kind, paths),) = kinds.items()
    files = {path.stem: path for path in sorted(paths, key=lambda p: _period(p.stem))}
    names = list(files)
    missing = [p for p in period_range(names[0], names[-1]) if p not in files]
    if missing:
        raise PipelineError(f"{folder}: batches missing for {', '.join(missing)} (expected one file per {kind})")
    return files


def read_csv(path: Path, required: Iterable[str]) -> pd.DataFrame:
    """Read one raw CSV file as teams send them, and check it has rows and the required columns.

    Accepted: UTF-8 with or without a byte-order mark, LF or CRLF line ends, quoted fields; missing values
    written empty, as one of pandas' markers (`NA`, `null`, `NaN`, ...) or as `nil`. Rejected, with what and
    where: a missing or empty file, binary content, text that is not UTF-8, a delimiter other than a comma,
    a truncated last line, a header without rows, a required column absent.

    Args:
        path: The file.
        required: Columns the caller reads.

    Returns:
        The table, with pandas' inferred types.

    Raises:
        PipelineError: Naming the file and the problem.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise PipelineError(f"{path}: file not found") from exc
    except OSError as exc:
        raise PipelineError(f"{path}: cannot be read ({exc.strerror})") from exc
    return parse_csv(raw, path, required)


def parse_csv(raw: bytes, path: Path, required: Iterable[str]) -> pd.DataFrame:
    """`read_csv` on bytes already read (e.g. decompressed by `pipeline.sources.read_source`); `path` names them."""
    _check_text(path, raw)
    try:
        frame = pd.read_csv(io.BytesIO(raw), encoding="utf-8-sig", low_memory=False, na_values=MISSING_MARKERS)
    except UnicodeDecodeError as exc:
        raise PipelineError(f"{path}: not UTF-8 text (invalid byte at offset {exc.start})") from exc
    except pd.errors.ParserError as exc:
        raise PipelineError(f"{path}: cannot be read as CSV ({exc})") from exc
    missing = [c for c in required if c not in frame.columns]
    if missing:
        found = ", ".join(map(repr, frame.columns[:30]))
        raise PipelineError(f"{path}: missing column(s) {', '.join(map(repr, missing))} (found: {found})")
    if frame.empty:
        raise PipelineError(f"{path}: no rows (header only)")
    return frame


def _check_text(path: Path, raw: bytes) -> None:
    """Reject what pandas would misread silently: binary data, another delimiter, a cut-off last line."""
    if not raw.strip():
        raise PipelineError(f"{path}: empty file (no header, no rows)")
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise PipelineError(f"{path}: binary content, not CSV text (NUL byte at offset {nul})")
    end_of_header = raw.find(b"\n")
    header_line = raw[: end_of_header if end_of_header >= 0 else len(raw)].rstrip(b"\r")
    header = next(csv.reader([header_line.decode("utf-8-sig", errors="replace")]))
    if len(header) == 1:
        for delimiter, name in ((";", "semicolon"), ("\t", "tab"), ("|", "pipe")):
            if delimiter in header[0]:
                raise PipelineError(f"{path}: the header is {name}-separated; expected commas")
    if not raw.endswith(b"\n") and end_of_header >= 0:  # only the last line is looked at, not split out
        last = next(csv.reader([raw[raw.rfind(b"\n") + 1 :].decode("utf-8", errors="replace")]), [])
        if len(last) < len(header):
            line = raw.count(b"\n") + 1
            raise PipelineError(
                f"{path}: truncated: line {line} ends after {len(last)} of {len(header)} fields, without a line end"
            )
