"""Real datasets a team might adopt the template on, one per task type, shipped in PyPI packages (offline).

Used by the CI benchmark (benchmarks/ci_benchmark.py --project) and the fork tests (tests/e2e/test_fork.py).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

# task type -> (package, data file in it, init's options): windows long enough for a model to beat its baseline
ADOPTIONS = {
    "regression": (
        "bokeh_sampledata",
        "CGM.csv.gz",
        ["--time", "datetime", "--target", "glucose", "--task", "regression", "--through", "2010-08"],
    ),
    "binary": (
        "bokeh_sampledata",
        "CGM.csv.gz",
        ["--time", "datetime", "--target", "glucose", "--task", "binary", "--threshold", "180", "--through", "2010-04"],
    ),
    "multiclass": (
        "vega_datasets",
        "seattle-weather.csv",
        [
            "--time",
            "date",
            "--target",
            "weather",
            "--task",
            "multiclass",
            "--period",
            "quarter",
            "--through",
            "2015-Q3",
        ],
    ),
}


def packaged(package: str, name: str) -> Path:
    """A data file inside an installed package (found without importing it)."""
    return Path(next(iter(importlib.util.find_spec(package).submodule_search_locations))) / "_data" / name
