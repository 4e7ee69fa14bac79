"""Simulation of `pipeline.drift_stats`: calibration of the tests and soundness of the decision; prints rates.

The unit tests check the same properties with fewer repetitions (tests/unit/test_drift.py); this is the
longer run whose figures are quoted in reports. Two parts, every draw from one seeded generator:

1. No shift: per kind of column, the share of raw tests with p < alpha (should be alpha: 5%), with its 95%
   interval, and the share of columns the full rule calls drifted (should be about 0).
2. Shifts: how often each column is called drifted at 10k, 100k and 1M rows per side. The four real shifts
   (normal +0.15 sd, lognormal(sigma=0.5) x1.08, Poisson 3 -> 3.3, 6 points of categorical mass moved) should
   be flagged every time; the near-null ones (0.005-0.02 sd, 0.5 point of mass) never.

    uv run python benchmarks/drift_simulation.py [--trials 4000] [--repetitions 40 20 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pipeline import drift_stats as drift  # noqa: E402

SEED = 20130101
COLUMNS_PER_TABLE = 40
SHARES_5 = np.array([0.3, 0.25, 0.2, 0.15, 0.1])
SHARES_50 = (1.0 / np.arange(1, 51)) / (1.0 / np.arange(1, 51)).sum()


def null_columns(kind: str, rng: np.random.Generator, rows: int) -> dict[str, object]:
    """COLUMNS_PER_TABLE independent columns of one kind, no shift."""
    draw = {
        "normal": lambda: rng.normal(size=rows),
        "lognormal": lambda: rng.lognormal(0.0, 1.0, size=rows),
        "zero-inflated": lambda: np.where(rng.random(rows) < 0.7, 0.0, rng.lognormal(size=rows)),
        "poisson (ties)": lambda: rng.poisson(3.0, size=rows).astype(float),
        "categorical 5": lambda: pd.Categorical.from_codes(rng.choice(5, rows, p=SHARES_5), list("abcde")),
        "categorical 50": lambda: pd.Categorical.from_codes(
            rng.choice(50, rows, p=SHARES_50), [f"l{i}" for i in range(50)]
        ),
    }[kind]
    return {f"c{i}": draw() for i in range(COLUMNS_PER_TABLE)}


KINDS = {
    "normal": "numeric",
    "lognormal": "numeric",
    "zero-inflated": "numeric",
    "poisson (ties)": "numeric",
    "categorical 5": "categorical",
    "categorical 50": "categorical",
}


def false_positive_rates(rng: np.random.Generator, rows: int, trials: int) -> None:
    repetitions = max(1, trials // COLUMNS_PER_TABLE)
    n = repetitions * COLUMNS_PER_TABLE
    print(
        f"\n1. No shift, {rows} rows per side, {n} columns per kind ({repetitions} pairs of tables x "
        f"{COLUMNS_PER_TABLE} columns); alpha = {drift.ALPHA}"
    )
    print(f"   {'kind':<16} {'raw p < alpha':>14} {'95% interval':>18} {'called drifted':>15}")
    for kind, column_kind in KINDS.items():
        raw = drifted = 0
        for _ in range(repetitions):
            report = drift.drift_report(
                pd.DataFrame(null_columns(kind, rng, rows)),
                pd.DataFrame(null_columns(kind, rng, rows)),
                {f"c{i}": column_kind for i in range(COLUMNS_PER_TABLE)},
            )
            raw += sum(c["p_value"] < drift.ALPHA for c in report["columns"].values())
            drifted += sum(bool(c["drifted"]) for c in report["columns"].values())
        rate = raw / n
        half = 1.96 * (rate * (1 - rate) / n) ** 0.5
        print(f"   {kind:<16} {rate:14.2%} {f'{rate - half:.2%} - {rate + half:.2%}':>18} {drifted / n:15.2%}")
    print("   KS is conservative on heavily tied data (its p-values are exact only for continuous data).")


def shifted_tables(rng: np.random.Generator, rows: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    def side(shifted: bool) -> pd.DataFrame:
        shares, near_shares = SHARES_5.copy(), SHARES_5.copy()
        if shifted:
            shares[:2] += [-0.06, 0.06]
            near_shares[:2] += [-0.005, 0.005]
        columns = {
            "normal +0.15 sd": rng.normal(size=rows) + (0.15 if shifted else 0.0),
            "lognormal x1.08": rng.lognormal(0.0, 0.5, size=rows) * (1.08 if shifted else 1.0),
            "poisson 3 -> 3.3": rng.poisson(3.3 if shifted else 3.0, size=rows).astype(float),
            "category 6 points": pd.Categorical.from_codes(rng.choice(5, rows, p=shares), list("abcde")),
        }
        for size in (0.005, 0.01, 0.015, 0.02):
            columns[f"near-null {size} sd"] = rng.normal(size=rows) + (size if shifted else 0.0)
        columns["near-null 0.5 point"] = pd.Categorical.from_codes(rng.choice(5, rows, p=near_shares), list("abcde"))
        return pd.DataFrame(columns)

    return side(False), side(True)


def decision_rates(rng: np.random.Generator, repetitions: dict[int, int]) -> None:
    print(
        "\n2. Share of repetitions in which the rule calls the column drifted (BH-adjusted p < alpha AND "
        f"effect > {drift.EFFECT_THRESHOLDS})"
    )
    counts: dict[int, dict[str, int]] = {}
    effects: dict[int, dict[str, list[float]]] = {}
    for rows, reps in repetitions.items():
        counts[rows], effects[rows] = {}, {}
        for _ in range(reps):
            reference, current = shifted_tables(rng, rows)
            kinds = {name: "categorical" if "categ" in name or "point" in name else "numeric" for name in reference}
            report = drift.drift_report(reference, current, kinds)
            for name, column in report["columns"].items():
                counts[rows][name] = counts[rows].get(name, 0) + bool(column["drifted"])
                effects[rows].setdefault(name, []).append(column["effect_size"])
    names = list(next(iter(counts.values())))
    header = "".join(f"{f'{rows} rows ({reps}x)':>26}" for rows, reps in repetitions.items())
    print(f"   {'column':<22}{header}")
    for name in names:
        cells = "".join(
            f"{counts[rows][name] / reps:>9.0%}  effect {np.mean(effects[rows][name]):7.4f}"
            for rows, reps in repetitions.items()
        )
        print(f"   {name:<22}{cells}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=4000, help="columns per kind in part 1")
    parser.add_argument("--rows", type=int, default=10_000, help="rows per side in part 1")
    parser.add_argument(
        "--repetitions", type=int, nargs=3, default=[40, 20, 5], help="repetitions at 10k, 100k and 1M rows in part 2"
    )
    args = parser.parse_args()
    rng = np.random.default_rng(SEED)
    start = time.perf_counter()
    false_positive_rates(rng, args.rows, args.trials)
    decision_rates(rng, dict(zip([10_000, 100_000, 1_000_000], args.repetitions, strict=True)))
    print(f"\n({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
