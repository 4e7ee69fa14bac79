"""Benchmark of `pipeline.drift_stats.drift_report`: prints a table, asserts nothing.

The table has 15 columns, 10 numeric (continuous, skewed, tied, zero-inflated, a few missing values) and 5
categorical of 5 to 200 labels held as pandas `category`, plus 4 near-null numeric columns shifted by
0.005-0.02 sd; three columns of the current batch really drift. At each size (rows per side), in one run:

* ours: `drift_report` on the 19 columns;
* lower bound: per numeric column one `np.sort` per side and one `searchsorted` of the current into the
  reference (the merge order the ECDFs need), per categorical column the codes and one `bincount` per side;
* naive: a loop of `scipy.stats.ks_2samp` (numeric) and `chi2_contingency` on value counts (categorical);
* Evidently 0.7 `DataDriftPreset`, which cannot be a dependency: run in its own environment by uv,
  `uv run --with evidently==0.7.23 --with "pandas<3" --no-project python benchmarks/drift_benchmark.py
  --evidently-only`, which this script starts itself (skipped, saying why, if that fails).

Seconds are the best of `--repeats` runs, the methods interleaved so a busy machine slows them alike.
Extra peak memory is tracemalloc's peak during one call minus what was traced before it (NumPy and pandas
report their buffers to tracemalloc), measured in a separate run because tracing slows Python code.

    uv run python benchmarks/drift_benchmark.py [--rows 10000 100000 1000000] [--repeats 5] [--no-evidently]
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SEED = 20130101
NEAR_NULL = {"near_0.005": 0.005, "near_0.01": 0.01, "near_0.015": 0.015, "near_0.02": 0.02}
CONTINUOUS = ["normal", "lognormal", "exponential", "gamma", "bimodal"]
TIED = ["poisson", "rounded", "zero_inflated", "hour", "year"]
CATEGORICAL = ["labels_5", "labels_20", "labels_50", "labels_100", "labels_200"]


def make_table(rows: int, rng: np.random.Generator, current: bool) -> pd.DataFrame:
    """One side of the benchmark table; `current` shifts normal, poisson and labels_5 (real drift)."""
    data = {
        "normal": rng.normal(size=rows) + (0.15 if current else 0.0),
        "lognormal": rng.lognormal(0.0, 1.0, size=rows),
        "exponential": rng.exponential(2.0, size=rows),
        "gamma": rng.gamma(2.0, size=rows),
        "bimodal": np.where(rng.random(rows) < 0.3, rng.normal(-2, 0.5, rows), rng.normal(1, 1, rows)),
        "poisson": rng.poisson(3.3 if current else 3.0, size=rows).astype(float),
        "rounded": np.round(rng.normal(15, 8, size=rows), 1),
        "zero_inflated": np.where(rng.random(rows) < 0.8, 0.0, rng.lognormal(-2, 1, size=rows)),
        "hour": rng.integers(5, 24, size=rows).astype(float),
        "year": np.minimum(2013, 2014 - rng.geometric(0.08, size=rows)).astype(float),
    }
    missing = rng.random(rows) < 0.02
    data["zero_inflated"][missing] = np.nan
    data["rounded"][rng.random(rows) < 0.005] = np.nan
    for name in CATEGORICAL:
        labels = int(name.split("_")[1])
        shares = 1.0 / np.arange(1, labels + 1)  # Zipf-like: a few common labels, a long tail of rare ones
        shares /= shares.sum()
        if current and name == "labels_5":
            shares[0] -= 0.06
            shares[1] += 0.06
        codes = rng.choice(labels, size=rows, p=shares)
        codes[rng.random(rows) < 0.01] = -1  # missing
        data[name] = pd.Categorical.from_codes(codes, categories=[f"{name}_{i}" for i in range(labels)])
    for name, shift in NEAR_NULL.items():
        data[name] = rng.normal(size=rows) + (shift if current else 0.0)
    return pd.DataFrame(data)


def tables(rows: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(SEED + rows)
    return make_table(rows, rng, False), make_table(rows, rng, True)


def kinds() -> dict[str, str]:
    numeric = [*CONTINUOUS, *TIED, *NEAR_NULL]
    return {name: "numeric" for name in numeric} | {name: "categorical" for name in CATEGORICAL}


# --- the methods ---------------------------------------------------------------------------------------


def ours(reference: pd.DataFrame, current: pd.DataFrame, columns: dict[str, str]):
    from pipeline.drift_stats import drift_report

    return drift_report(reference, current, columns)


def lower_bound(reference: pd.DataFrame, current: pd.DataFrame, columns: dict[str, str]):
    for name, kind in columns.items():
        if kind == "numeric":
            ref = np.sort(reference[name].to_numpy(dtype=np.float64, na_value=np.nan))
            cur = np.sort(current[name].to_numpy(dtype=np.float64, na_value=np.nan))
            np.searchsorted(ref, cur)
        else:
            for side in (reference, current):
                np.bincount(np.add(side[name].array.codes, 1, dtype=np.intp))


def naive(reference: pd.DataFrame, current: pd.DataFrame, columns: dict[str, str]):
    from scipy import stats

    for name, kind in columns.items():
        if kind == "numeric":
            stats.ks_2samp(reference[name].dropna(), current[name].dropna())
        else:
            counts = pd.concat(
                [reference[name].value_counts(dropna=False), current[name].value_counts(dropna=False)], axis=1
            ).fillna(0)
            counts = counts[counts.sum(axis=1) > 0]
            stats.chi2_contingency(counts.to_numpy().T)


def evidently(reference: pd.DataFrame, current: pd.DataFrame, columns: dict[str, str]):
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(
        numerical_columns=[n for n, k in columns.items() if k == "numeric"],
        categorical_columns=[n for n, k in columns.items() if k == "categorical"],
    )
    return Report([DataDriftPreset()]).run(
        current_data=Dataset.from_pandas(current, data_definition=definition),
        reference_data=Dataset.from_pandas(reference, data_definition=definition),
    )


# --- measuring -----------------------------------------------------------------------------------------


def seconds(method, reference, current, columns) -> float:
    gc.collect()
    start = time.perf_counter()
    method(reference, current, columns)
    return time.perf_counter() - start


def extra_peak_mb(method, reference, current, columns) -> float:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    method(reference, current, columns)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return (peak - before) / 2**20


def measure(methods: dict, rows: int, repeats: int) -> dict[str, dict[str, float]]:
    reference, current = tables(rows)
    columns = kinds()
    for method in methods.values():  # warm-up: imports, caches
        method(reference.iloc[:1000], current.iloc[:1000], columns)
    best = dict.fromkeys(methods, float("inf"))
    for _ in range(repeats):
        for name, method in methods.items():
            best[name] = min(best[name], seconds(method, reference, current, columns))
    return {
        name: {"seconds": best[name], "peak_mb": extra_peak_mb(method, reference, current, columns)}
        for name, method in methods.items()
    }


def by_kind(rows: int, repeats: int) -> list[tuple[str, float, float]]:
    """Seconds of ours (`column_drift`) and of the lower bound per kind of column, summed over its columns."""
    from pipeline.drift_stats import column_drift

    reference, current = tables(rows)
    groups = {"continuous numeric": CONTINUOUS + list(NEAR_NULL), "tied numeric": TIED, "categorical": CATEGORICAL}
    result = []
    for group, names in groups.items():
        kind = "categorical" if group == "categorical" else "numeric"
        ours_best = bound_best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            for name in names:
                column_drift(reference[name], current[name], kind=kind)
            ours_best = min(ours_best, time.perf_counter() - start)
            bound_best = min(bound_best, seconds(lower_bound, reference, current, dict.fromkeys(names, kind)))
        result.append((group, ours_best, bound_best))
    return result


def run_evidently(rows: int) -> dict | str:
    """Evidently's figures from its own environment, or why they are missing."""
    command = [
        "uv",
        "run",
        "--quiet",
        "--with",
        "evidently==0.7.23",
        "--with",
        "pandas<3",
        "--no-project",
        "python",
        str(Path(__file__).resolve()),
        "--evidently-only",
        "--rows",
        str(rows),
    ]
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=3600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{type(exc).__name__}: {exc}"
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        return lines[-1] if lines else f"exit code {done.returncode}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-evidently", action="store_true")
    parser.add_argument("--evidently-only", action="store_true", help="internal: run in Evidently's env")
    args = parser.parse_args()
    if args.evidently_only:  # one size, one timed run (Evidently takes minutes at 1M rows), JSON out
        print(json.dumps(measure({"evidently": evidently}, args.rows[0], 1)["evidently"]))
        return
    sys.path.insert(0, str(ROOT))
    header = (
        f"{'rows':>9} | {'ours s':>7} {'bound s':>7} {'naive s':>7} {'evid. s':>7} | {'ours/bound':>10} "
        f"{'naive/ours':>10} {'evid./ours':>10} | {'ours MB':>7} {'bound MB':>8} {'naive MB':>8} "
        f"{'evid. MB':>8}"
    )
    lines, notes = [header, "-" * len(header)], []
    for rows in args.rows:
        figures = measure({"ours": ours, "bound": lower_bound, "naive": naive}, rows, args.repeats)
        evid = "skipped (--no-evidently)" if args.no_evidently else run_evidently(rows)
        if isinstance(evid, str):
            notes.append(f"Evidently at {rows} rows: not measured: {evid}")
            evid = {"seconds": float("nan"), "peak_mb": float("nan")}
        o, b, n = figures["ours"], figures["bound"], figures["naive"]
        lines.append(
            f"{rows:>9} | {o['seconds']:7.3f} {b['seconds']:7.3f} {n['seconds']:7.3f} "
            f"{evid['seconds']:7.2f} | {o['seconds'] / b['seconds']:10.2f} "
            f"{n['seconds'] / o['seconds']:10.1f} {evid['seconds'] / o['seconds']:10.1f} | "
            f"{o['peak_mb']:7.1f} {b['peak_mb']:8.1f} {n['peak_mb']:8.1f} {evid['peak_mb']:8.1f}"
        )
        print(lines[-1], file=sys.stderr, flush=True)  # progress
    print(f"drift_report on {len(kinds())} columns (10 numeric, 5 categorical, 4 near-null), rows per side:")
    print("\n".join(lines + notes))
    rows = max(args.rows)
    print(f"\nper kind of column at {rows} rows (seconds, summed over the kind's columns):")
    for group, ours_s, bound_s in by_kind(rows, args.repeats):
        print(f"  {group:<20} ours {ours_s:7.3f}  bound {bound_s:7.3f}  ours/bound {ours_s / bound_s:5.2f}")


if __name__ == "__main__":
    main()
