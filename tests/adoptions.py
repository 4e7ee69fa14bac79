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
            "2015-Q4",
        ],
    ),
}


# Messy real data, adopted with `init` and its options only (tests/e2e/test_messy_adoptions.py): name -> (package,
# file inside it, init's options). Between them: a binary target stored as text, year-only times, exact duplicate
# rows, categories of 200 and 1,456 levels, a history with a hole (2010-2014), leakage columns.
MESSY = {
    # Democracy and Dictatorship (Cheibub et al.): one row per leader spell; `regime` spells out the target and
    # `duration`/`observed` are known only when the spell ends. Since 1990, a country has ~4 rows: init reads it as
    # an identifier until told otherwise (--categorical).
    "democracy": (
        "lifelines",
        "datasets/dd.csv",
        [
            *("--time", "start_year", "--target", "democracy", "--task", "binary", "--positive", "Democracy"),
            *("--period", "year", "--leakage", "regime", "--leakage", "duration", "--leakage", "observed"),
            *("--since", "1990", "--through", "2006", "--categorical", "ctryname"),
        ],
    ),
    # Anchorage restaurant inspections: half the rows repeat another exactly; no rows in 2010-2014.
    "restaurants": (
        "causaldata",
        "restaurant_inspections/restaurant_data.csv",
        [
            *("--time", "Year", "--target", "inspection_score", "--task", "regression", "--period", "year"),
            *("--since", "2015", "--through", "2017"),
        ],
    ),
}


def packaged(package: str, name: str) -> Path:
    """A data file inside an installed package (found without importing it): `_data/<name>`, or a path in it."""
    folder = Path(next(iter(importlib.util.find_spec(package).submodule_search_locations)))
    return folder / name if "/" in name else folder / "_data" / name
