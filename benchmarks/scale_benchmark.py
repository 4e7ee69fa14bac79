"""Scale benchmark: the pipeline on larger copies of the example's year, on the pandas and the Dask engine.

Prints figures, asserts nothing. For each scale (x1, x10, x30 by default) it makes the year's flights k times
over, deterministically: copy j of a flight keeps its time (so it joins the same weather hour) and gets the tail
number `<tailnum>-<j>` (copy 0 is the original; a missing one becomes `nil-<j>`), and the planes table gets
the matching copies, so every key stays unique and every join finds what it found at x1. The contract's row
bounds grow by k and its flights key takes the tail number in. Then, per engine, in its own copy of the
project, a cold `dvc repro` (every stage, the pipeline that `pipeline run` runs after its own check):

- wall seconds per stage (from the time DVC announces each stage) and in all;
- peak memory of the largest process (the maximum resident set over every process the run started and
  waited for: DVC, each stage, Dask's workers) and of all its processes together (sampled every 0.2 s);
- the largest process of each stage, sampled (where the run's peak comes from);
- whether the run finished, and if not how it stopped (killed above `--limit-gb` of all processes together:
  what a 16 GB GitHub-hosted runner would do, the default).

Both engines run the same params.yaml but for `engine.kind`: `engine.train_rows` and `engine.drift_rows` cap
training and drift at every scale, so the engines answer the same (tests/e2e/test_engine.py checks it).
Finally, on the x1 copy, the drift statistics with the drift sample against those on every row: the error the
sample causes.

    uv run python benchmarks/scale_benchmark.py [--scales 1 10 30] [--engines pandas dask] [--limit-gb 16]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.conftest import command_env  # noqa: E402
from tests.repos import edited, example_project  # noqa: E402

CAPS = [  # the same for both engines and every scale
    ("  train_rows: null ", "  train_rows: 1000000 "),
    ("  drift_rows: null ", "  drift_rows: 250000 "),
    ("  workers: null ", "  workers: 2    "),
]
ON_DASK = [("  kind: pandas ", "  kind: dask   ")]
EFFECTS = ["effect_size", "jensen_shannon", "wasserstein_normalized", "psi"]
STAGES = ["validate", "prepare", "train", "evaluate", "drift", "report"]


def scaled_contract(text: str, k: int) -> str:
    """The contract with row bounds k times wider and the flights key made unique by the tail number."""
    text = re.sub(r"rows: \{min: (\d+), max: (\d+)\}", lambda m: f"rows: {{min: {m[1]}, max: {int(m[2]) * k}}}", text)
    return edited(
        text,
        [("      - [carrier, flight, time_hour, origin]", "      - [carrier, flight, time_hour, origin, tailnum]")],
    )


def copies(rows: pd.DataFrame, k: int) -> pd.DataFrame:
    """k copies of raw rows read as text; copy j's tail numbers get `-j` (a missing one `nil-j`), copy 0 unchanged."""
    out = [rows]
    for j in range(1, k):
        tail = rows["tailnum"].where(rows["tailnum"] != "", "nil")
        out.append(rows.assign(tailnum=tail + f"-{j}"))
    return pd.concat(out, ignore_index=True)


def scale_data(data: Path, k: int) -> int:
    """Write the k-times data over `data/` (flights per month, planes); the flights' row count."""
    total = 0
    for path in sorted((data / "flights").glob("*.csv")):
        rows = copies(pd.read_csv(path, dtype=str, keep_default_na=False), k)
        rows.to_csv(path, index=False)
        total += len(rows)
    planes = data / "planes.csv"
    copies(pd.read_csv(planes, dtype=str, keep_default_na=False), k).to_csv(planes, index=False)
    return total


def make_project(folder: Path, k: int) -> tuple[Path, int]:
    """The example with its year released, scaled k times, caps set; the flights' rows."""
    repo = example_project(folder / "x1")
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    run([sys.executable, "-m", "pipeline", "ingest", "--through", "2013-12"], repo)
    (repo / "params.yaml").write_text(edited((repo / "params.yaml").read_text(), CAPS))
    (repo / "contract.yaml").write_text(scaled_contract((repo / "contract.yaml").read_text(), k))
    return repo, scale_data(repo / "data", k)


def run(command: list[str], cwd: Path) -> None:
    subprocess.run(command, cwd=cwd, env=command_env(), check=True, stdout=subprocess.DEVNULL)


class TreeMemory(threading.Thread):
    """Samples the resident memory of a process and all its descendants; kills them all above a limit.

    Also the largest single process per stage (`stage` is set as DVC announces each one): sampled, so a peak
    shorter than 0.2 s may be missed; the run's exact largest is `LARGEST`'s.
    """

    def __init__(self, root: psutil.Process, limit_mb: float) -> None:
        super().__init__(daemon=True)
        self.root, self.limit_mb, self.peak_mb, self.killed, self.done = root, limit_mb, 0.0, False, False
        self.stage, self.largest_mb = "", {}

    def run(self) -> None:
        while not self.done:
            try:
                tree = [self.root, *self.root.children(recursive=True)]
                sizes = [p.memory_info().rss / 2**20 for p in tree if p.is_running()]
            except psutil.Error:
                sizes = [0.0]
            total = sum(sizes)
            self.peak_mb = max(self.peak_mb, total)
            self.largest_mb[self.stage] = max(self.largest_mb.get(self.stage, 0.0), *sizes)
            if total > self.limit_mb and not self.killed:
                self.killed = True
                for p in reversed(tree):
                    p.kill()
            time.sleep(0.2)


# Runs `dvc repro`, its output passed through, then writes the largest resident set of any process it started
# and waited for (RUSAGE_CHILDREN: DVC, each stage, Dask's nannies and workers), in MB, to the file argv[1].
LARGEST = """
import resource, subprocess, sys
code = subprocess.run([sys.executable, "-m", "dvc", "repro"]).returncode
open(sys.argv[1], "w").write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024))
sys.exit(code)
"""


def repro(repo: Path, limit_gb: float) -> dict:
    """A cold `dvc repro` of `repo`: seconds per stage and in all, peak MB of the largest process and of all."""
    largest = repo / "largest_mb.txt"
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", LARGEST, str(largest)],
        cwd=repo,
        env=command_env(),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    watch = TreeMemory(psutil.Process(process.pid), limit_gb * 1024)
    watch.start()
    marks, tail = [], []
    for line in process.stdout:
        found = re.search(r"Running stage '(\w+)'", line)
        if found:
            marks.append((found[1], time.perf_counter()))
            watch.stage = found[1]
        tail = [*tail[-20:], line.rstrip()]
    code = process.wait()
    ended = time.perf_counter()
    watch.done = True
    stages = {
        name: round(end - start, 1) for (name, start), (_, end) in zip(marks, [*marks[1:], ("", ended)], strict=True)
    }
    return {
        "finished": code == 0,
        "stopped": None if code == 0 else ("killed above the limit" if watch.killed else "\n".join(tail[-5:])),
        "seconds": round(ended - started, 1),
        "stages": stages,
        "largest_mb": round(float(largest.read_text())) if largest.exists() else None,
        "all_mb": round(watch.peak_mb),
        "stage_largest_mb": {name: round(mb) for name, mb in watch.largest_mb.items() if name},
    }


def drift_sample_error(repo: Path) -> dict:
    """On the x1 project: drift on every row against drift on the sample; the largest differences."""
    exact, capped = repo / "outputs" / "exact-drift.json", repo / "outputs" / "metrics" / "drift.json"
    params = repo / "params.yaml"
    text = params.read_text()
    params.write_text(edited(text, [("  drift_rows: 250000 ", "  drift_rows: null ")]))
    try:
        run(
            [
                sys.executable,
                "-m",
                "pipeline.drift",
                "--prepared",
                "outputs/prepared",
                "--model",
                "outputs/model/model.skops",
                "--metrics",
                str(exact),
                "--alert",
                "outputs/exact-alert.md",
                "--figures",
                "outputs/exact-figures",
            ],
            repo,
        )
    finally:
        params.write_text(text)
    a, b = json.loads(exact.read_text()), json.loads(capped.read_text())
    return compare_drift(a, b)


def compare_drift(exact: dict, sampled: dict) -> dict:
    """Per column: the largest absolute difference of a statistic, and columns whose drift verdict changed."""
    worst, changed = {}, []
    for name, column in exact.get("columns", {}).items():
        other = sampled["columns"].get(name, {})
        for key in EFFECTS:  # sizes of the change; p-values and test statistics move with the row count itself
            value = column.get(key)
            if isinstance(value, float) and isinstance(other.get(key), float):
                worst[key] = max(worst.get(key, 0.0), abs(value - other[key]))
        if column.get("drifted") != other.get("drifted"):
            changed.append(name)
    return {
        "largest_difference": {k: round(v, 4) for k, v in sorted(worst.items())},
        "verdict_changed": changed,
        "dataset_verdict": [exact.get("drifted"), sampled.get("drifted")],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", nargs="+", type=int, default=[1, 10, 30])
    parser.add_argument("--engines", nargs="+", default=["pandas", "dask"])
    parser.add_argument("--limit-gb", type=float, default=16.0)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in args.scales:
            base, rows = make_project(Path(tmp) / f"x{k}", k)
            for kind in args.engines:
                repo = Path(tmp) / f"x{k}-{kind}"
                shutil.copytree(base, repo, symlinks=True)
                if kind == "dask":
                    (repo / "params.yaml").write_text(edited((repo / "params.yaml").read_text(), ON_DASK))
                result = {"scale": k, "rows": rows, "engine": kind, **repro(repo, args.limit_gb)}
                if k == 1 and kind == "pandas" and result["finished"]:
                    result["drift_sample"] = drift_sample_error(repo)
                results.append(result)
                print(json.dumps(result), flush=True)
                shutil.rmtree(repo)
            shutil.rmtree(base.parent)
    print()
    print(
        f"{'scale':>5} {'rows':>11} {'engine':7} {'wall s':>7} "
        + " ".join(f"{s:>9}" for s in STAGES)
        + f" {'largest MB':>10} {'all MB':>8}  finished"
    )
    for r in results:
        stages = " ".join(f"{r['stages'].get(s, float('nan')):9.1f}" for s in STAGES)
        print(
            f"x{r['scale']:<4} {r['rows']:11,d} {r['engine']:7} {r['seconds']:7.1f} {stages} "
            f"{r['largest_mb'] or 0:10,d} {r['all_mb']:8,d}  {'yes' if r['finished'] else r['stopped']}"
        )
    print()
    print(f"{'largest process per stage, sampled (MB)':>33} " + " ".join(f"{s:>9}" for s in STAGES))
    for r in results:
        peaks = " ".join(f"{r['stage_largest_mb'].get(s, 0):9,d}" for s in STAGES)
        print(f"{'x' + str(r['scale']):>25} {r['engine']:7} {peaks}")


if __name__ == "__main__":
    main()
