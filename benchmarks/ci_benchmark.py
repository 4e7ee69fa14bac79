"""Benchmark of the CI job: runs the `run:` steps of `.github/workflows/ci.yml` locally and prints their times.

Each round starts from a fresh clone of this repository (committed files only, on a pull-request branch
whose base is `origin/main`, so the gate and comment steps run too) and executes the job's steps exactly as
written in ci.yml, in order, with bash, as GitHub's runner does (the `${{ }}` values of their `env:` are
filled with a pull request's: base `main`, number 1). Two rounds:

* cold: an empty uv cache (every package is downloaded from PyPI) and no .venv, no DVC cache;
* warm: the machine's uv cache, as `astral-sh/setup-uv` restores it from the cache keyed on uv.lock.

The remote actions (checkout, setup-uv, upload-artifact) are not timed: they take seconds on GitHub.

    uv run python benchmarks/ci_benchmark.py [--rounds cold warm] [--pytest-args "tests/unit"]

`--pytest-args` narrows the test step through PYTEST_ADDOPTS (the default runs the whole suite, as CI does).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
EXPRESSIONS = {"github.base_ref": "main", "github.event.pull_request.number": "1"}


def steps() -> list[tuple[str, str, dict]]:
    """(name, script, env) of every `run:` step of ci.yml's job, with its `${{ }}` values filled in."""
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    found = []
    for step in workflow["jobs"]["ci"]["steps"]:
        if "run" in step:
            env = {
                k: re.sub(r"\$\{\{\s*([\w.]+)\s*\}\}", lambda m: EXPRESSIONS[m[1]], str(v))
                for k, v in (step.get("env") or {}).items()
            }
            found.append((step["name"], step["run"], env))
    return found


def fresh_clone(scratch: Path) -> Path:
    """The committed tree as a repository with `origin/main`, checked out on a pull-request branch."""
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, text=True, capture_output=True, check=True
    ).stdout.strip()
    origin = scratch / "origin.git"
    sh(["git", "clone", "-q", "--bare", "--no-local", str(ROOT), str(origin)], scratch)
    sh(["git", "update-ref", "refs/heads/main", head], origin)
    sh(["git", "symbolic-ref", "HEAD", "refs/heads/main"], origin)
    sh(["git", "clone", "-q", str(origin), str(scratch / "repo")], scratch)
    sh(["git", "checkout", "-q", "-b", "pull-request"], scratch / "repo")
    return scratch / "repo"


def sh(command: list[str], cwd: Path) -> None:
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)


def run_round(name: str, uv_cache: Path, pytest_args: str) -> list[tuple[str, float]]:
    """Run every step once in a fresh clone; returns (step, seconds)."""
    with tempfile.TemporaryDirectory(prefix=f"ci-bench-{name}-") as scratch:
        repo = fresh_clone(Path(scratch))
        env = {**os.environ, "UV_CACHE_DIR": str(uv_cache), "DVC_NO_ANALYTICS": "1", "NO_MKDOCS_2_WARNING": "1"}
        env.pop("VIRTUAL_ENV", None)
        if pytest_args:
            env["PYTEST_ADDOPTS"] = pytest_args
        times = []
        for step, script, step_env in steps():
            start = time.perf_counter()
            result = subprocess.run(
                ["bash", "-e", "-c", script], cwd=repo, env=env | step_env, capture_output=True, text=True, check=False
            )
            times.append((step, time.perf_counter() - start))
            print(f"  {name:5} {times[-1][1]:7.1f} s  {step}", flush=True)
            if result.returncode != 0:
                sys.exit(
                    f"step {step!r} failed ({result.returncode}):\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
                )
        return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", nargs="+", choices=["cold", "warm"], default=["cold", "warm"])
    parser.add_argument("--pytest-args", default="", help="PYTEST_ADDOPTS for the test step (default: all)")
    args = parser.parse_args()
    warm_cache = Path(subprocess.run(["uv", "cache", "dir"], text=True, capture_output=True, check=True).stdout.strip())
    results = {}
    for name in args.rounds:
        cold_cache = Path(tempfile.mkdtemp(prefix="uv-cold-cache-"))
        try:
            results[name] = run_round(name, cold_cache if name == "cold" else warm_cache, args.pytest_args)
        finally:
            shutil.rmtree(cold_cache, ignore_errors=True)
    print(f"\nCI job steps on this machine ({os.cpu_count()} cores); tests: {args.pytest_args or 'the whole suite'}")
    print(f"{'step':58}" + "".join(f"{n:>10}" for n in results))
    for i, (step, _, _) in enumerate(steps()):
        print(f"{step[:58]:58}" + "".join(f"{results[n][i][1]:9.1f}s" for n in results))
    print(f"{'total':58}" + "".join(f"{sum(t for _, t in results[n]):9.1f}s" for n in results))


if __name__ == "__main__":
    main()
