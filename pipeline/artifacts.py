"""Artifacts out: JSON metrics and the model file, written byte-deterministic, and read back safely.

Stages exchange files with stable formats (JSON with sorted keys and rounded floats, a skops model in a
canonical form) rather than live objects, so any stage can be re-run, diffed and read on its own, and
`dvc repro` on two machines writes the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
import zipfile
from pathlib import Path

from pipeline.errors import PipelineError

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
