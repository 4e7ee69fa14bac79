"""Benchmark of batch scoring and of the gate: prints figures, asserts nothing.

In a fresh repository made from the working tree with the full year released and the pipeline run:
- `predict` throughput on the whole year of flights (336,776 rows, leakage columns removed): rows per second
  of the scoring work in a warm process (features, joins, model), and the wall time of the command itself;
- single-row latency in a warm process, median and p99: the model alone on one prepared row, and the whole
  path (`score_rows`: contract-checked row -> joins -> features -> model);
- the gate's wall time when the champion is not in the cache and must be rebuilt from the base branch in a
  temporary worktree (validate, prepare, train of the base), against a challenger with another learning rate.

    uv run python benchmarks/predict_gate_benchmark.py [--through 2013-12]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.pipeline_benchmark import make_repo, measure  # noqa: E402
from tests.conftest import command_env  # noqa: E402

WARM = """
import sys, time, json
from pathlib import Path
import numpy as np, pandas as pd
from pipeline.config import load_params
from pipeline.contract import load_contract
from pipeline.artifacts import load_model
from pipeline.predict import check_input, score_rows
params, contract = load_params(), load_contract(Path("contract.yaml"))
model = load_model(params.paths.model)
frame = pd.read_csv("all.csv")
start = time.perf_counter()
check_input(frame, Path("all.csv"), contract, params)
scored = score_rows(frame, model, params=params, contract=contract, data=params.paths.data, source="all.csv",
                    version="bench")
batch_s = time.perf_counter() - start
row = pd.read_parquet(params.paths.prepared / "test.parquet")[list(model.feature_names_in_)]
def latencies(call, n):
    out = []
    for i in range(n):
        t = time.perf_counter(); call(i); out.append(time.perf_counter() - t)
    return np.array(out) * 1000
from threadpoolctl import threadpool_limits
stats = lambda ms: [float(np.median(ms)), float(np.percentile(ms, 99))]
result = {"rows": len(scored), "batch_s": batch_s}
# One row is too little work to share between threads: OpenMP's start-up dominates. A serving process pins the
# thread pools to one thread; both settings are measured.
for threads in (None, 1):
    with threadpool_limits(threads):
        model_only = latencies(lambda i: model.predict_proba(row.iloc[[i]]), 1000)
        full = latencies(lambda i: score_rows(frame.iloc[[i]], model, params=params, contract=contract,
                                              data=params.paths.data, source="x", version=""), 100)
    result[f"threads={threads or 'default'}"] = {"model_ms": stats(model_only), "full_ms": stats(full)}
print(json.dumps(result))
"""


def sh(*command: str, cwd: Path) -> str:
    return subprocess.run(command, cwd=cwd, env=command_env(), text=True, capture_output=True, check=True).stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--through", default="2013-12")
    args = parser.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        repo = make_repo(Path(tmp) / "repo")
        sh(py, "-m", "pipeline", "ingest", "--through", args.through, cwd=repo)
        sh(py, "-m", "pipeline", "run", "--no-site", cwd=repo)
        sh("git", "add", "-A", cwd=repo)
        sh("git", "commit", "-qm", "champion", cwd=repo)
        sh("git", "branch", "-M", "main", cwd=repo)
        import pandas as pd

        flights = pd.concat(pd.read_csv(p) for p in sorted((repo / "data/flights").glob("*.csv")))
        flights.drop(columns=["dep_time", "dep_delay", "arr_time", "arr_delay", "air_time"]).to_csv(
            repo / "all.csv", index=False
        )
        import json

        warm = json.loads(sh(py, "-c", WARM, cwd=repo))
        cli = measure([py, "-m", "pipeline", "predict", "--input", "all.csv", "--out", "p.csv"], repo)
        print(
            f"predict, full year ({warm['rows']:,} rows): {warm['rows'] / warm['batch_s']:,.0f} rows/s warm "
            f"({warm['batch_s']:.1f} s of work); the command end to end {cli['seconds']:.1f} s, "
            f"peak {cli['peak_mb']:.0f} MB"
        )
        for threads in ("default", 1):
            lat = warm[f"threads={threads}"]
            print(
                f"single row, warm, {threads} thread(s): model alone median {lat['model_ms'][0]:.2f} ms, "
                f"p99 {lat['model_ms'][1]:.2f} ms; whole path (joins + features + model) median "
                f"{lat['full_ms'][0]:.1f} ms, p99 {lat['full_ms'][1]:.1f} ms"
            )

        sh("git", "checkout", "-qb", "challenger", cwd=repo)
        params = (repo / "params.yaml").read_text().replace("learning_rate: 0.1", "learning_rate: 0.08")
        (repo / "params.yaml").write_text(params)
        sh(py, "-m", "pipeline", "run", "--no-site", cwd=repo)
        sh("git", "-c", "gc.auto=0", "commit", "-qam", "challenger", cwd=repo)
        champion = sh("git", "show", "main:dvc.lock", cwd=repo)
        cache = Path(sh(py, "-m", "dvc", "cache", "dir", cwd=repo).strip()) / "files" / "md5"
        for md5 in (line.split()[-1] for line in champion.splitlines() if "md5:" in line):
            (cache / md5[:2] / md5[2:]).unlink(missing_ok=True)  # force the rebuild from main
        start = time.perf_counter()
        status = subprocess.run(
            [py, "-m", "pipeline", "gate", "--base", "main"],
            cwd=repo,
            env=command_env(),
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - start
        decision = json.loads((repo / "outputs/gate/decision.json").read_text())
        print(
            f"gate with a champion rebuild (window through {args.through}): {seconds:.1f} s, "
            f"decision {decision['decision']} (exit {status.returncode})"
        )


if __name__ == "__main__":
    main()
