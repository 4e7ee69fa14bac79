"""Benchmark of `validate`: prints rows per second, peak memory and where the time goes; asserts nothing.

Two data sizes: the full year as released (336,776 flights plus weather and reference tables) and the full
year replicated ten times (about 3.4 M flights; each copy gets its own flight numbers so keys stay unique,
and the contract's bounds on flight numbers and rows per file are widened to match). For each size, each
measure runs in a fresh process:
- `read`: reading and parsing every CSV (`pipeline.batches.read_csv`), nothing else: the floor of the stage;
- `schema`: the contract's pandera checks (`check_frames`, as the stage runs them) on data already in memory;
- `datatests`: the data tests across files (`datatests.run`) on the accepted data;
- `stage`: the whole stage as `dvc repro` runs it (`pipeline.validate.main`: read, schema, data tests, the
  quality summary, both JSON files).
Each runs three times; the table shows the fastest time (the machine may be busy), the least CPU time,
and the highest peak. Rows are all rows of all files. Peak memory is the process's peak resident set minus
its resident set before the measured work (imports done, and for `schema` / `datatests` the data already
read), compared with the in-memory size of the data (pandas `memory_usage(deep=True)`).

    uv run python benchmarks/validate_benchmark.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MEASURES = ("read", "schema", "datatests", "stage")
REPEATS = 3

WORKER = """
import json, resource, sys, time
from pathlib import Path
from pipeline import datatests
from pipeline.engine import Parts
from pipeline.config import load_params
from pipeline.contract import load_contract
from pipeline.batches import read_csv
from pipeline.validate import check_frames, main, table_files

root, data, contract_path, mode = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
params, contract = load_params(root / "params.yaml"), load_contract(contract_path)
periods = [p.stem for p in sorted((data / params.prepare.batches).glob("*.csv"))]
files = {name: table_files(data, name, table, periods) for name, table in contract.tables.items()}

def read_all():
    return {name: {period: read_csv(path, []) for period, path in paths.items()} for name, paths in files.items()}

def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

frames = read_all() if mode in ("schema", "datatests") else None
if mode == "datatests":
    frames = {name: check_frames(contract.tables[name], tables, {p: str(p) for p in tables})[0]
              for name, tables in frames.items()}
base, cpu_start = peak(), cpu()
start = time.perf_counter()
if mode == "read":
    frames = read_all()
elif mode == "schema":
    frames = {name: check_frames(contract.tables[name], tables, {p: str(p) for p in tables})[0]
              for name, tables in frames.items()}
elif mode == "datatests":
    datatests.run({name: Parts.here(tables) for name, tables in frames.items()}, params, contract, data)
else:
    with __import__("tempfile").TemporaryDirectory() as out:
        main(data, contract_path, Path(out) / "validate.json", Path(out) / "quality.json", root / "params.yaml")
seconds, cpu_seconds = time.perf_counter() - start, cpu() - cpu_start
extra = peak() - base
frames = frames or read_all()
size = sum(f.memory_usage(deep=True).sum() for tables in frames.values() for f in tables.values())
rows = sum(len(f) for tables in frames.values() for f in tables.values())
print(json.dumps({"rows": rows, "seconds": seconds, "cpu_seconds": cpu_seconds, "extra_peak_mb": extra,
                  "data_mb": size / 2**20}))
"""


def make_data(dest: Path, copies: int) -> None:
    """The full year under `dest`, each month's flights repeated `copies` times with distinct flight numbers."""
    sys.path.insert(0, str(ROOT))
    import pandas as pd

    from pipeline.config import load_params
    from pipeline.ingest import build

    build(load_params(ROOT / "params.yaml"), [f"2013-{month:02d}" for month in range(1, 13)], dest)
    if copies > 1:
        for path in sorted((dest / "flights").glob("*.csv")):
            month = pd.read_csv(path, dtype=str, keep_default_na=False)
            parts = [month.assign(flight=(month["flight"].astype(int) + 10000 * k).astype(str)) for k in range(copies)]
            pd.concat(parts).to_csv(path, index=False)


def widened_contract(dest: Path, copies: int) -> Path:
    """The project's contract with the flight-number and rows-per-file bounds scaled by `copies`."""
    from pipeline.contract import dump_contract, load_contract

    contract = load_contract(ROOT / "contract.yaml")
    flights = contract.tables["flights"]
    wide = flights.model_copy(
        update={
            "columns": {
                **flights.columns,
                "flight": flights.columns["flight"].model_copy(update={"max": 10000 * copies}),
            },
            "rows": flights.rows.model_copy(update={"max": 60000 * copies}),
        }
    )
    dest.write_text(dump_contract(contract.model_copy(update={"tables": {**contract.tables, "flights": wide}})))
    return dest


def run(data: Path, contract: Path, mode: str) -> dict:
    """One measure, `REPEATS` times in fresh processes: the fastest time (the machine may be busy), the highest peak."""
    runs = []
    for _ in range(REPEATS):
        out = subprocess.run(
            [sys.executable, "-c", WORKER, str(ROOT), str(data), str(contract), mode],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(out.stdout))
    return {
        **min(runs, key=lambda r: r["seconds"]),
        "cpu_seconds": min(r["cpu_seconds"] for r in runs),
        "extra_peak_mb": max(r["extra_peak_mb"] for r in runs),
    }


def main() -> None:
    print(
        f"{'data':14} {'measure':10} {'rows':>10} {'seconds':>8} {'rows/s':>12} {'CPU s':>6} {'rows/CPU s':>12} "
        f"{'share':>6} {'data MB':>8} {'extra peak MB':>14} {'peak/data':>9}"
    )
    for copies in (1, 10):
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "data"
            data.mkdir()
            make_data(data, copies)
            contract = widened_contract(Path(tmp) / "contract.yaml", copies)
            results = {mode: run(data, contract, mode) for mode in MEASURES}
        label = "full year" if copies == 1 else f"full year x{copies}"
        for mode, r in results.items():
            print(
                f"{label:14} {mode:10} {r['rows']:10d} {r['seconds']:8.2f} {r['rows'] / r['seconds']:12,.0f} "
                f"{r['cpu_seconds']:6.2f} {r['rows'] / r['cpu_seconds']:12,.0f} "
                f"{r['cpu_seconds'] / results['stage']['cpu_seconds']:6.0%} {r['data_mb']:8.0f} "
                f"{r['extra_peak_mb']:14.0f} {r['extra_peak_mb'] / r['data_mb']:9.2f}"
            )
    print("seconds: wall clock; CPU s: the process's own CPU time, steadier on a shared machine")
    print(
        "share: of the whole stage's CPU time (the quality summary, the JSON files and loading the contract are "
        "the rest)"
    )
    print("targets: >= 1,000,000 rows/s; extra peak memory <= 3x the in-memory size of the data")


if __name__ == "__main__":
    main()
