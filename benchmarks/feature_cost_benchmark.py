"""What each feature costs in `prepare`: seconds per part of the work, shared among the features it makes.

Run from a project whose data is released (`pipeline run` or `pipeline ingest` first):

    uv run python benchmarks/feature_cost_benchmark.py [--params params.yaml] [--repeat 3]

Each part of `prepare` that makes features is timed alone, with the same code the stage runs: reading the
batch columns, each join (its table read and merged), the calendar features. A part's time is shared equally
among the features it makes; a batch column's share is the reading of the batches divided by the columns read.
Printed per feature: seconds, share of prepare's feature work, and the model-input width `evaluate` records in
`importance.json` (so a wide, slow, useless feature stands out). Timings are printed, never written: the
pipeline's outputs must be the same bytes on every run.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from pipeline.batches import period_files
from pipeline.config import load_params
from pipeline.contract import load_contract
from pipeline.features import add_calendar, join_table, map_unseen, raw_columns, read_periods, read_tables


def best_of(repeat: int, work) -> tuple[float, object]:
    """The fastest of `repeat` runs of `work()` (less noise from the rest of the machine) and its result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    params = load_params(args.params)
    contract = load_contract(params.paths.contract)
    data, prepare = params.paths.data, params.prepare
    periods = list(period_files(data / prepare.batches))
    read_s, rows = best_of(args.repeat, lambda: read_periods(data / prepare.batches, periods, raw_columns(params)))
    rows = map_unseen(rows, contract.tables.get(prepare.batches))
    parts = {}  # part -> (seconds, features it makes)
    for join in prepare.joins:

        def joined(join=join):
            table = read_tables(data, [join], periods)[join.table]
            return join_table(rows, map_unseen(table, contract.tables.get(join.table)), join, source=join.table)

        parts[f"join {join.table}"] = (best_of(args.repeat, joined)[0], list(join.columns.values()))
    if prepare.calendar:
        seconds, _ = best_of(args.repeat, lambda: add_calendar(rows, prepare, "batches"))
        parts["calendar"] = (seconds, list(prepare.calendar))
    made = {f for _, features in parts.values() for f in features}
    own = [f for f in params.features.inputs if f not in made]
    parts["batch"] = (read_s * len(own) / max(len(raw_columns(params)), 1), own)
    cost = {f: seconds / len(features) for seconds, features in parts.values() for f in features if features}
    total = sum(cost.values()) or 1.0
    importance = params.paths.metrics / "importance.json"
    width = json.loads(importance.read_text())["features"] if importance.exists() else {}
    print(f"{len(rows):,} rows in {len(periods)} periods; best of {args.repeat}")
    for part, (seconds, features) in parts.items():
        print(f"  {part:14} {seconds:7.3f} s  {', '.join(features)}")
    print(f"{'feature':22} {'seconds':>8} {'share':>6} {'width':>6}")
    for feature in sorted(params.features.inputs, key=lambda f: -cost.get(f, 0.0)):
        share = cost.get(feature, 0.0) / total
        print(f"{feature:22} {cost.get(feature, 0.0):8.3f} {share:6.1%} {width.get(feature, {}).get('width', '-'):>6}")


if __name__ == "__main__":
    main()
