"""Benchmark of the pipeline: prints figures, asserts nothing (speed is measured here, never in tests).

For the default window (January-June released) and the full year, in a fresh temporary repository made
from the working tree: `pipeline ingest` seconds, cold `dvc repro` seconds, no-op `dvc repro` seconds, the
peak resident memory of the largest process either repro started, and the rows per second of `prepare`
(raw rows read / seconds of its work in a warm process, excluding interpreter start-up and imports).

    uv run python benchmarks/pipeline_benchmark.py [--windows 2013-06 2013-12]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.conftest import ROOT, command_env  # noqa: E402
from tests.repos import tracked_files  # noqa: E402

# Runs a command and prints its wall time and the peak RSS of its process tree (RUSAGE_CHILDREN keeps the
# maximum over every descendant that was waited for, i.e. DVC and each stage it ran).
MEASURE = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(json.dumps({"seconds": time.perf_counter() - start,
                  "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""

PREPARE_RATE = """
import sys, time
from pathlib import Path
import pandas as pd
from pipeline import prepare
raw = sum(len(pd.read_csv(p, usecols=[0])) for p in Path("data/flights").glob("*.csv"))
start = time.perf_counter()
prepare.main(data=Path("data"), contract=Path("contract.yaml"), out=Path(sys.argv[1]),
             metrics=Path(sys.argv[1]) / "m.json",
             params_file=Path("params.yaml"))
seconds = time.perf_counter() - start
print(raw, seconds)
"""


def measure(command: list[str], cwd: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, *command],
        cwd=cwd,
        env=command_env(),
        text=True,
        capture_output=True,
        check=True,
    )
    return json.loads(out.stdout)


def make_repo(dest: Path) -> Path:
    for name in tracked_files(ROOT):
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, dest / name)
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
    return dest


def bench_window(through: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        repo = make_repo(Path(tmp) / "repo")
        py = sys.executable
        ingest = measure([py, "-m", "pipeline", "ingest", "--through", through], repo)
        cold = measure([py, "-m", "dvc", "repro"], repo)
        noop = measure([py, "-m", "dvc", "repro"], repo)
        rate = subprocess.run(
            [py, "-c", PREPARE_RATE, str(Path(tmp) / "prep")],
            cwd=repo,
            env=command_env(),
            text=True,
            capture_output=True,
            check=True,
        ).stdout.split()
        metrics = json.loads((repo / "outputs/metrics/evaluate.json").read_text())
        return {
            "window": f"2013-01..{through}",
            "ingest_s": ingest["seconds"],
            "cold_repro_s": cold["seconds"],
            "noop_repro_s": noop["seconds"],
            "peak_mb": max(cold["peak_mb"], noop["peak_mb"]),
            "raw_rows": int(rate[0]),
            "prepare_rows_per_s": int(rate[0]) / float(rate[1]),
            "roc_auc": metrics["model"]["roc_auc"]["value"],
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--windows", nargs="+", default=["2013-06", "2013-12"])
    args = parser.parse_args()
    rows = [bench_window(w) for w in args.windows]
    header = (
        f"{'window':18} {'ingest s':>9} {'cold repro s':>13} {'no-op s':>8} {'peak MB':>8} "
        f"{'raw rows':>9} {'prepare rows/s':>15} {'ROC AUC':>8}"
    )
    print(header)
    for r in rows:
        print(
            f"{r['window']:18} {r['ingest_s']:9.1f} {r['cold_repro_s']:13.1f} {r['noop_repro_s']:8.2f} "
            f"{r['peak_mb']:8.0f} {r['raw_rows']:9d} {r['prepare_rows_per_s']:15,.0f} {r['roc_auc']:8.3f}"
        )
    print("targets (full year, 2 cores): cold <= 60 s, no-op <= 2 s, peak <= 2048 MB")


if __name__ == "__main__":
    main()
