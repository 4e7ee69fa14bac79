"""File helpers shared by the stages: raw batches in, JSON and models out, all byte-deterministic.

Stages exchange files with stable formats (CSV batches, Parquet tables, JSON with sorted keys, a skops model)
rather than live objects, so any stage can be re-run, diffed and read on its own.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import math
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from pipeline.errors import PipelineError

# Read as missing besides pandas' own markers (empty, NA, NaN, null, None, ...): sensor exports write `nil`.
MISSING_MARKERS = ["nil"]
PERIOD_FILE = re.compile(r"^(\d{4})-(\d{2})\.csv$")

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
]


def period_files(folder: Path) -> dict[str, Path]:
    """Map each period `YYYY-MM` to its batch file in `folder`, in time order.

    Raises:
        PipelineError: The folder is missing or holds no batch file, a file is named otherwise, or a period
            between the first and the last is missing (a lost batch must not pass for a shorter history).
    """
    if not folder.is_dir():
        raise PipelineError(f"{folder}: folder of batches not found (run `pipeline ingest`?)")
    files = {}
    for path in sorted(folder.iterdir()):
        match = PERIOD_FILE.match(path.name)
        if match is None:
            raise PipelineError(f"{path}: unexpected file; batches are named YYYY-MM.csv")
        files[f"{match[1]}-{match[2]}"] = path
    if not files:
        raise PipelineError(f"{folder}: no batch files (YYYY-MM.csv)")
    expected = pd.period_range(min(files), max(files), freq="M").strftime("%Y-%m")
    missing = [p for p in expected if p not in files]
    if missing:
        raise PipelineError(f"{folder}: batches missing for {', '.join(missing)} (expected one file per month)")
    return files


def read_csv(path: Path, required: Iterable[str]) -> pd.DataFrame:
    """Read one raw CSV file as teams send them, and check it has rows and the required columns.

    Accepted: UTF-8 with or without a byte-order mark, LF or CRLF line ends, quoted fields, gzip (`.gz`) or a
    zip holding one file (`.zip`); missing values written empty or as one of pandas' markers (`NA`, `null`,
    `NaN`, ...) or `nil`. Rejected, with what and where: a missing or empty file, binary content, text that
    is not UTF-8, a delimiter other than a comma, a truncated last line, a header without rows, a required
    column absent.

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
    raw = _decompress(path, raw)
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


def _decompress(path: Path, raw: bytes) -> bytes:
    """The CSV text of a `.gz` file or of a `.zip` holding one file; other files as they are."""
    try:
        if path.suffix == ".gz":
            return gzip.decompress(raw)
        if path.suffix == ".zip":
            with zipfile.ZipFile(io.BytesIO(raw)) as archive:
                names = [n for n in archive.namelist() if not n.endswith("/")]
                if len(names) != 1:
                    raise PipelineError(f"{path}: a zip must hold exactly one CSV file (holds {len(names)})")
                return archive.read(names[0])
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise PipelineError(f"{path}: cannot be decompressed ({exc})") from exc
    return raw


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
        last = next(csv.reader([raw[raw.rfind(b"\n") + 1:].decode("utf-8", errors="replace")]), [])
        if len(last) < len(header):
            line = raw.count(b"\n") + 1
            raise PipelineError(f"{path}: truncated: line {line} ends after {len(last)} of "
                                f"{len(header)} fields, without a line end")


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
    schema = re.sub(r'(?<="__id__": )\d+|(?<=")\d+(?=\.npy")',
                    lambda m: numbers.setdefault(m[0], str(len(numbers))), raw.read("schema.json").decode())
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
