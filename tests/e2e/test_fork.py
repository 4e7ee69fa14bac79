"""A fork adopts its own messy data with `pipeline init`, and its `make test` passes as written.

The fork is a clone of the template (the example project), adopted on real data shipped in PyPI packages with
`init`'s options only, run, committed, then its next period released and re-run as continuous training does
(tests/e2e/conftest.py `build_messy`), and tested with the fork's own `make test` in its own environment
(`make setup` builds the clone's .venv from uv.lock). No file is edited by hand. The nested run is the fork's own tests (`tests/project`, all marked `project`: its data, its model, its
pipeline), the ones that read the root configuration `init` wrote. The template's tests never read it: they
build their example project from `examples/flights/` whatever the root says (the binary fork shows it below),
so running them again inside this suite would only repeat this suite.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

from tests.conftest import EXAMPLE, command_env
from tests.repos import example_project, for_speed, pipeline, sh

pytestmark = pytest.mark.e2e


def fork_env(scratch: Path) -> dict[str, str]:
    """A user's shell for the fork: its own uv environment, not this test run's; its own pytest temporary folder."""
    ours = str(Path(sys.executable).parent)
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p != ours)
    # Not this run's virtual environment, nor the outer `make test`'s variables: with MAKELEVEL set, the fork's
    # make would act as a sub-make of ours (and print "Leaving directory" after pytest's summary).
    env = {k: v for k, v in command_env().items() if k not in {"VIRTUAL_ENV", "MAKELEVEL", "MAKEFLAGS", "MFLAGS"}}
    # `-n auto` as written, which xdist's own variable sets to no worker process: on a machine whose cores this
    # suite's workers already use, the fork's few tests run in pytest's process; a worker would only start
    # Python, import and collect them once more.
    return env | {
        "PATH": path,
        "PYTEST_ADDOPTS": f"-p no:cacheprovider --basetemp={scratch} tests/project",
        "PYTEST_XDIST_AUTO_NUM_WORKERS": "0",
    }


def link_compiled_bytecode(venv: Path) -> None:
    """Give the fork's fresh environment the bytecode this run's environment compiled, as a CI cache would.

    uv links both environments' packages from its cache: the same files, of the same size and time, so the
    bytecode Python compiled here is valid there (Python checks both, and recompiles a file that differs). Without
    it, each of the fork's processes compiles pandas, scikit-learn and DVC again (about 10 s of CPU apiece).
    """
    ours = Path(sysconfig.get_paths()["purelib"])
    theirs = venv / ours.relative_to(sys.prefix)
    for compiled in ours.rglob("__pycache__"):
        target = theirs / compiled.relative_to(ours)
        if target.parent.is_dir() and not target.exists():
            shutil.copytree(compiled, target, copy_function=os.link)


# task -> the adoption (tests/e2e/conftest.py) whose fork runs its own tests: the two messy ones (a text binary
# target, year-only times, duplicates, many-level categories). No multiclass fork: its `make test` (36 s) was
# left out to keep the suite under 12 minutes, so tests/project's multiclass branches run in forks only.
FORKS = {"binary": "democracy", "regression": "restaurants"}


@pytest.fixture(params=list(FORKS))
def fork(request, tmp_path) -> tuple[str, Path]:
    """A fork after adoption, committed, copied from an adoption other tests check too."""
    task = request.param
    adopted = request.getfixturevalue(FORKS[task])
    repo = Path(shutil.copytree(adopted.repo, tmp_path / "fork", symlinks=True))
    assert yaml.safe_load((repo / "params.yaml").read_text())["task"]["type"] == task
    return task, repo


def test_a_fork_that_adopted_its_data_passes_its_own_make_test(fork, tmp_path):
    task, repo = fork
    status = sh("git", "status", "--porcelain", cwd=repo).stdout
    env = fork_env(tmp_path / "pytest")
    subprocess.run(["make", "setup"], cwd=repo, env=env, capture_output=True, check=True)  # `make test`'s first step
    link_compiled_bytecode(repo / ".venv")
    result = subprocess.run(["make", "test"], cwd=repo, env=env, text=True, capture_output=True, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    summary = [line for line in result.stdout.splitlines() if re.search(r"=+ .*\d+ passed.* =+$", line)]
    assert len(summary) == 1 and "failed" not in summary[0], result.stdout[-2000:]
    assert sh("git", "status", "--porcelain", cwd=repo).stdout == status  # the tests changed nothing a fork keeps
    if task == "binary":  # the template's own tests, run in this fork, would build the example from examples/
        example_is_built_from_examples(repo, tmp_path / "example")


def example_is_built_from_examples(fork: Path, dest: Path) -> None:
    built = example_project(dest, root=fork)
    assert (built / "params.yaml").read_text() == for_speed((EXAMPLE / "params.yaml").read_text())
    assert (built / "contract.yaml").read_bytes() == (EXAMPLE / "contract.yaml").read_bytes()
    assert not (built / "sources").exists() and not (built / "dvc.lock").exists()
    sh("git", "init", "-q", cwd=built)  # ingest's `dvc add` records data/ in a git repository
    assert "released 2013-01" in pipeline("ingest", "--through", "2013-01", cwd=built).stdout
