"""Benchmark of CI: a pull request's path (ci.yml's `run:` steps) and the full `make test`, with their times.

Each round starts from a fresh clone of this repository (committed files only) and works there:

* `pr` rounds execute ci.yml's job steps exactly as written, in order, with bash, as GitHub's runner does (the
  `${{ }}` values of their `env:` are filled with a pull request's: base `main`, number 1), on a pull-request
  branch whose base is `origin/main`, so the gate and comment steps run too. `--project example` is the
  template as it is; `--project regression|binary|multiclass` first adopts that dataset with `pipeline init`
  (tests/adoptions.py), runs the pipeline and pushes the result as `main`, as a fork does once; then the
  pull request is opened on that fork.
* the `full` round runs `make test`, what `.ci/run` runs (the README's test command), and says where its CPU
  went: every Python process it starts logs its own CPU seconds when it ends (benchmarks/process_cpu), added
  up by command (`python -m pipeline.train`, `pipeline ct`, `dvc repro`, ...) and by shared test project.

The uv cache is the machine's, as `astral-sh/setup-uv` restores it from the cache keyed on uv.lock (warm); the
remote actions (checkout, setup-uv, upload-artifact) are not timed: they take seconds on GitHub.

    uv run python benchmarks/ci_benchmark.py [--rounds pr full] [--project example regression ...]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.adoptions import ADOPTIONS, packaged  # noqa: E402 (the repository root is not on sys.path)

# The `${{ }}` values a pull request gives; any other (a secret this machine does not have) is empty, as on a
# repository without it.
EXPRESSIONS = {"github.base_ref": "main", "github.event.pull_request.number": "1"}


def steps() -> list[tuple[str, str, dict]]:
    """(name, script, env) of every `run:` step of ci.yml's job, with its `${{ }}` values filled in."""
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    found = []
    for step in workflow["jobs"]["ci"]["steps"]:
        if "run" in step:
            env = {
                k: re.sub(r"\$\{\{\s*([\w.]+)\s*\}\}", lambda m: EXPRESSIONS.get(m[1], ""), str(v))
                for k, v in (step.get("env") or {}).items()
            }
            found.append((step["name"], step["run"], env))
    return found


def environment() -> dict[str, str]:
    """A runner's shell: no virtual environment of ours, uv found on PATH, the machine's (warm) uv cache."""
    ours = str(Path(sys.executable).parent)
    # GitHub's runners cache compiled modules as Python does by default: no PYTHONDONTWRITEBYTECODE (this machine
    # sets it, which would recompile pandas and scikit-learn in every step's every process).
    dropped = {"VIRTUAL_ENV", "PYTEST_ADDOPTS", "PYTHONDONTWRITEBYTECODE"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if p != ours)
    return env | {"DVC_NO_ANALYTICS": "1", "NO_MKDOCS_2_WARNING": "1"}


def sh(command: list[str], cwd: Path, env: dict | None = None) -> str:
    done = subprocess.run(command, cwd=cwd, env=env, text=True, capture_output=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done.stdout


def fresh_clone(scratch: Path) -> Path:
    """The committed tree as a repository with `origin/main`, checked out on main."""
    head = sh(["git", "rev-parse", "HEAD"], ROOT).strip()
    origin = scratch / "origin.git"
    sh(["git", "clone", "-q", "--bare", "--no-local", str(ROOT), str(origin)], scratch)
    sh(["git", "update-ref", "refs/heads/main", head], origin)
    sh(["git", "symbolic-ref", "HEAD", "refs/heads/main"], origin)
    sh(["git", "clone", "-q", str(origin), str(scratch / "repo")], scratch)
    return scratch / "repo"


def adopt(repo: Path, task: str, env: dict) -> float:
    """A fork's one-time adoption of a dataset, pushed as its `main`; returns the seconds it took."""
    start = time.perf_counter()
    package, name, options = ADOPTIONS[task]
    data = Path(shutil.copyfile(packaged(package, name), repo.parent / name))
    sh(["make", "setup"], repo, env)
    sh(["uv", "run", "pipeline", "init", "--data", str(data), *options], repo, env)
    sh(["uv", "run", "pipeline", "run"], repo, env)
    sh(["git", "add", "-A"], repo)
    sh(["git", "-c", "user.name=B", "-c", "user.email=b@example.invalid", "commit", "-qm", f"Adopt ({task})"], repo)
    sh(["git", "push", "-q", "origin", "main"], repo)
    shutil.rmtree(repo / ".venv")  # the pull request's run starts from a fresh checkout
    return time.perf_counter() - start


def timed(name: str, script: str, repo: Path, env: dict) -> float:
    start = time.perf_counter()
    result = subprocess.run(["bash", "-e", "-c", script], cwd=repo, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    print(f"  {seconds:7.1f} s  {name}", flush=True)
    if result.returncode != 0:
        sys.exit(f"step {name!r} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-2000:]}")
    return seconds


def pr_round(project: str) -> list[tuple[str, float]]:
    """ci.yml's steps on a pull request of the example, or of a fork that adopted `project`."""
    with tempfile.TemporaryDirectory(prefix=f"ci-bench-{project}-") as scratch:
        repo, env = fresh_clone(Path(scratch)), environment()
        if project != "example":
            print(f"  adoption of {project} (once per fork, not timed below): {adopt(repo, project, env):.1f} s")
        sh(["git", "checkout", "-q", "-b", "pull-request"], repo)
        return [(step, timed(step, script, repo, env | step_env)) for step, script, step_env in steps()]


def full_round() -> list[tuple[str, float]]:
    """`make test` in a fresh clone: what .ci/run does; then where its CPU went (`cpu_account`)."""
    with tempfile.TemporaryDirectory(prefix="ci-bench-full-") as scratch:
        repo, log = fresh_clone(Path(scratch)), Path(scratch) / "processes.jsonl"
        accounted = {"PYTHONPATH": str(repo / "benchmarks" / "process_cpu"), "CI_BENCHMARK_PROCESS_LOG": str(log)}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        seconds = timed("make test", "make test", repo, environment() | accounted)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_account(log, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        return [("make test", seconds)]


def command(argv: list[str]) -> str:
    """A process's command as one would type it: `python -m pipeline.train`, `pipeline ct`, `dvc repro`."""
    if not argv or argv[0] in {"-c", ""}:
        return "python -c (pytest-xdist's workers)"
    script = Path(argv[0])
    module = script.parent if script.name == "__main__.py" else script.with_suffix("")
    if "pipeline" in module.parent.parts[-2:] and module.name != "pipeline":  # a stage: its options are paths
        return f"python -m pipeline.{module.name}"
    if module.name == "pytest":  # its words are options' values and test paths
        return "pytest"
    first = next((word for word in argv[1:] if not word.startswith("-")), "")
    return f"{module.name} {first}".strip()


def cpu_account(log: Path, total: float) -> None:
    """Print the logged processes' CPU seconds by command and by shared test project (tests/repos.py `shared`)."""
    processes = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    seconds, calls, projects = Counter(), Counter(), Counter()
    for process in processes:
        name = command(process["argv"])
        seconds[name] += process["cpu"]
        calls[name] += 1
        shared = [part for part in Path(process["cwd"]).parts if part.startswith("shared-")]
        projects[shared[0].removeprefix("shared-") if shared else "(the tests' own folders)"] += process["cpu"]
    logged = sum(seconds.values())
    print(f"\nCPU of make test: {total:.0f} s; {len(processes)} Python processes logged {logged:.0f} s of it")
    print("(the rest: Chromium, git, act, and processes that end without Python's shutdown, as Dask's workers do)")
    print(f"  {'command':44} {'calls':>6} {'CPU s':>8} {'s/call':>7}")
    for name, cpu in seconds.most_common(25):
        print(f"  {name[:44]:44} {calls[name]:6d} {cpu:8.1f} {cpu / calls[name]:7.2f}")
    print(f"  {'shared test project':44} {'':6} {'CPU s':>8}")
    for name, cpu in projects.most_common():
        print(f"  {name[:44]:44} {'':6} {cpu:8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", nargs="+", choices=["pr", "full"], default=["pr", "full"])
    parser.add_argument("--project", nargs="+", choices=["example", *ADOPTIONS], default=["example", "regression"])
    args = parser.parse_args()
    results = {}
    for project in args.project if "pr" in args.rounds else []:
        print(f"pull request on {project}:", flush=True)
        results[f"pr {project}"] = pr_round(project)
    if "full" in args.rounds:
        print("make test:", flush=True)
        results["full"] = full_round()
    print(f"\nCI on this machine ({os.cpu_count()} cores), warm uv cache")
    for name, times in results.items():
        print(f"{name}: total {sum(t for _, t in times):.1f} s")
        for step, seconds in times:
            print(f"  {step[:70]:70} {seconds:8.1f} s")


if __name__ == "__main__":
    main()
