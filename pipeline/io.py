"""File helpers shared by the stages: raw batches in, JSON and models out, all byte-deterministic.

Stages exchange files with stable formats (CSV batches, Parquet tables, JSON with sorted keys, a skops model)
rather than live objects, so any stage can be re-run, diffed and read on its own.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.errors import PipelineError

# Read as missing besides pandas' own markers (empty, NA, NaN, null, None, ...): sensor exports write `nil`.
MISSING_MARKERS = ["nil"]

# Types a model file may contain beyond skops' built-in safe list. Loading refuses anything else, so a
# tampered model cannot run code on the machine that scores with it. FORK: extend when you change estimator.
# `functools.partial` is safe to trust here because skops vets the function inside it on its own: the fitted
# ColumnTransformer stores `partial(check_array, ...)`, and `check_array` is listed explicitly.
TRUSTED_TYPES = [
    "functools.partial",
    "sklearn.utils.validation.check_array",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn._loss.link.IdentityLink",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn._loss.loss.HalfSquaredError",
    "sklearn.utils._bunch.Bunch",
    # The linear family's SimpleImputer stores the dtype it was fitted on (`_fit_dtype`); skops rebuilds it
    # with `numpy.dtype(<name>)`, which runs no code.
    "numpy.dtype",
]


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


def write_json(data: dict, path: Path) -> None:
    """Write JSON with sorted keys, floats rounded to 6 significant digits, and NaN as null.

    Rounding keeps diffs of metrics readable and identical across platforms whose last float bits differ.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_clean(data), indent=2, sort_keys=True) + "\n", encoding="utf-8")


def read_json(path: Path) -> dict:
    """Read a JSON file written by a stage, or fail naming it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PipelineError(f"{path}: cannot be read as JSON ({exc})") from exc


def _clean(value):
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) else float(f"{value:.6g}")
    return value


def file_md5(path: Path) -> str:
    """The md5 of a file's bytes: the content address DVC pins outputs by in `dvc.lock`."""
    return hashlib.md5(path.read_bytes()).hexdigest()  # noqa: S324 (an address, not security)


def save_model(model, path: Path) -> None:
    """Save a fitted estimator with skops, in a canonical form so equal models give equal bytes.

    skops identifies objects by their Python `id()` (in the schema's `__id__` fields and the names of the array
    files) and stamps every zip entry with the current time; all of these change from run to run. We renumber
    the ids in order of appearance, through one map so shared references stay shared, and fix the
    timestamps, so the model file is reproducible and `dvc repro` on two machines agrees. skops is imported
    here, not at the top: importing it loads every scikit-learn module (seconds), which stages that never
    touch a model should not pay for.
    """
    import skops.io as sio

    raw = zipfile.ZipFile(io.BytesIO(sio.dumps(model)))
    numbers: dict[str, str] = {}
    schema = re.sub(
        r'(?<="__id__": )\d+|(?<=")\d+(?=\.npy")',
        lambda m: numbers.setdefault(m[0], str(len(numbers))),
        raw.read("schema.json").decode(),
    )
    buffer = io.BytesIO()
    arrays = sorted((n for n in raw.namelist() if n.endswith(".npy")), key=lambda n: int(numbers[n[:-4]]))
    with zipfile.ZipFile(buffer, "w") as out:
        for name in arrays:
            out.writestr(_entry(numbers[name[:-4]] + ".npy"), raw.read(name))
        out.writestr(_entry("schema.json"), schema)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())


def _entry(name: str) -> zipfile.ZipInfo:
    """A zip entry with a fixed timestamp (the zip format's epoch) and compression."""
    entry = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    entry.compress_type = zipfile.ZIP_DEFLATED
    return entry


def load_model(path: Path):
    """Load a model saved by `save_model`, refusing any type outside skops' safe list and TRUSTED_TYPES.

    Raises:
        PipelineError: The file is missing, not a skops file, or carries an untrusted type (named).
    """
    import skops.io as sio  # see save_model for why it is imported here

    try:
        untrusted = sorted(set(sio.get_untrusted_types(file=path)) - set(TRUSTED_TYPES))
        if untrusted:
            raise PipelineError(f"{path}: refusing to load untrusted type(s): {', '.join(untrusted)}")
        return sio.load(path, trusted=TRUSTED_TYPES)
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise PipelineError(f"{path}: cannot load the model ({exc})") from exc
