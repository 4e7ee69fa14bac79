"""Numerical health and cost of a run: inputs and scores must be finite numbers; training leaves its figures.

What counts as unhealthy, and why:
- An infinite value in a numeric model input is never a measurement (a division by zero upstream, a unit
  conversion gone wrong); scikit-learn would fail somewhere inside the fit with a message that names no column.
- A missing value (NaN) is allowed in an input: the contract decides how many a column may have
  (`contract.yaml`, checked by `validate`), and the model takes NaN as "missing" (boosted trees natively, the
  linear model through its imputer). But an input that is missing in every training row (a join that matched
  nothing, a renamed source column) teaches the model nothing and means something upstream broke: it fails.
- A model's scores must all be finite: a NaN or infinite probability or prediction would be published, gated
  and served as if it were a number.
Each failure names the file, the column and the rule, as every input error of the pipeline does.
"""

from __future__ import annotations

import resource
import sys

import numpy as np
import pandas as pd

from pipeline.errors import PipelineError


def check_inputs(rows: pd.DataFrame, numeric: list[str], where: str) -> None:
    """Fail when a numeric input holds an infinite value, or any input is missing in every row."""
    values = rows[numeric].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    infinite = {c: int(n) for c, n in zip(numeric, np.isinf(values).sum(axis=0), strict=True) if n}
    if infinite:
        raise PipelineError(
            f"{where}: infinite values in {', '.join(f'{c!r} ({n} rows)' for c, n in infinite.items())}; "
            "rule: an infinite value is never a valid model input"
        )
    empty = [c for c in rows.columns if rows[c].isna().all()] if len(rows) else []
    if empty:
        raise PipelineError(
            f"{where}: {', '.join(repr(c) for c in empty)} missing in all {len(rows)} rows; "
            "rule: an input must have a value in some training row (did a join match nothing?)"
        )


def check_scores(score: np.ndarray, where: str, classes=None) -> None:
    """Fail when a score is NaN or infinite; names the rows, and for a class matrix the class column."""
    bad = ~np.isfinite(np.asarray(score, dtype=float))
    if not bad.any():
        return
    if bad.ndim == 2:
        names = list(classes) if classes is not None else list(range(bad.shape[1]))
        columns = ", ".join(f"class {names[i]!r} ({int(n)} rows)" for i, n in enumerate(bad.sum(axis=0)) if n)
        raise PipelineError(f"{where}: NaN or infinite scores in {columns}; rule: every score is a finite number")
    raise PipelineError(f"{where}: {int(bad.sum())} NaN or infinite scores; rule: every score is a finite number")


def peak_mb() -> float:
    """This process's peak resident memory in MB (Linux reports kilobytes, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
