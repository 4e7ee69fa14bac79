"""Benchmark of the cut `pipeline ingest` makes of a file with a time column; prints figures, asserts nothing.

Two versions of the example's biggest table (flights, 336,776 rows, unzipped once beforehand):
- `utc`: its times as shipped, ISO 8601 UTC: every line is kept as it is (the example's case);
- `naive`: the same times written as naive local text (`2013-01-01 05:00:00`), so every row's time field is
  parsed in `prepare.timezone` and rewritten to UTC (a team's usual case).
Each runs three times; the fastest wall time and the least CPU time are shown.

    uv run python benchmarks/ingest_benchmark.py
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pandas as pd

from pipeline.config import load_params
from pipeline.ingest import source_root
from pipeline.sources import cut_by_time, read_source

ROOT = Path(__file__).resolve().parents[1]
REPEATS = 3


def naive_local(raw: bytes, timezone: str) -> bytes:
    """The file with each ISO UTC time replaced by the naive local time it stands for."""
    text = raw.decode()
    stamps = sorted(set(re.findall(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", text)))
    local = pd.to_datetime(pd.Series(stamps), utc=True).dt.tz_convert(timezone).dt.strftime("%Y-%m-%d %H:%M:%S")
    mapping = dict(zip(stamps, local, strict=True))
    return re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", lambda m: mapping[m[0]], text).encode()


def measure(raw: bytes, column: str, timezone: str) -> tuple[float, float, int]:
    """Fastest wall time, least CPU time, and the rows cut."""
    runs = []
    for _ in range(REPEATS):
        wall, cpu = time.perf_counter(), time.process_time()
        table = cut_by_time(raw, path=Path("flights.csv"), column=column, kind="month", timezone=timezone)
        runs.append((time.perf_counter() - wall, time.process_time() - cpu))
    rows = sum(len(lines) for lines in table.chunks.values())
    return min(r[0] for r in runs), min(r[1] for r in runs), rows


def main() -> None:
    params = load_params(ROOT / "params.yaml")
    table = params.ingest.source.tables[params.prepare.batches]
    raw = read_source(source_root(params.ingest.source) / table.path)
    timezone = params.prepare.timezone
    print(f"{'times':8} {'rows':>9} {'seconds':>8} {'CPU s':>6} {'rows/CPU s':>11}")
    for label, data in (("utc", raw), ("naive", naive_local(raw, timezone))):
        seconds, cpu, rows = measure(data, table.time, timezone)
        print(f"{label:8} {rows:9d} {seconds:8.2f} {cpu:6.2f} {rows / cpu:11,.0f}")


if __name__ == "__main__":
    main()
