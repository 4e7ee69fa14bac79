"""Shared test helpers: the example's configuration, and a subprocess environment like a user's shell.

Two kinds of tests live here (see the README, "Tests: which ones a fork edits"):

- `tests/project/`: the project's own tests. They read the root configuration (`params.yaml`, `contract.yaml`,
  `data/`, `outputs/`, `dvc.lock`), whatever data and task it describes; a fork keeps and extends them.
- everything else: tests of the template's machinery. They never read the root configuration: unit tests use
  synthetic data and the example's configuration in `examples/flights/`, end-to-end tests build the example
  project for themselves from that folder (`tests/repos.py`). After `pipeline init` replaces the root
  configuration, they pass unchanged.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from pipeline.config import Params, load_params
from pipeline.contract import Contract, load_contract

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "flights"


@pytest.fixture(scope="session")
def params() -> Params:
    """The example's params.yaml: the unit tests exercise the configuration the template ships with."""
    return load_params(EXAMPLE / "params.yaml")


@pytest.fixture(scope="session")
def contract() -> Contract:
    """The example's data contract."""
    return load_contract(EXAMPLE / "contract.yaml")


def command_env() -> dict[str, str]:
    """Environment for `git`/`dvc`/`pipeline` subprocesses: this venv first on PATH, no analytics, a git identity."""
    return {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "DVC_NO_ANALYTICS": "1",
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.invalid",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.invalid",
        "NO_MKDOCS_2_WARNING": "1",
    }


def pytest_configure(config) -> None:
    """In an xdist worker (one per core), one OpenMP thread per process, here and in every subprocess.

    Two workers each running scikit-learn's OpenMP loops on every core ask for twice the cores, and OpenMP
    threads waiting for a busy core spin: one `train` stage measured 11 s alone and 48 s so. Results do not
    change: predictions are computed row by row, and a fit uses `train.threads` whatever this says.
    """
    if hasattr(config, "workerinput"):
        from threadpoolctl import threadpool_limits

        os.environ["OMP_NUM_THREADS"] = "1"
        threadpool_limits(limits=1)


def synthetic_rows(params: Params, n: int, seed: int):
    """Prepared-looking rows with the example's inputs and a label that depends on `precip` and `hour`."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    rows = {name: rng.choice(["a", "b", "c"], n) for name in params.features.categorical}
    rows |= {name: rng.normal(size=n) for name in params.features.numeric}
    rows["precip"] = rng.exponential(size=n)
    rows["hour"] = rng.integers(5, 23, n).astype(float)
    signal = 1.5 * rows["precip"] + 0.2 * (rows["hour"] - 14) + rng.normal(size=n)
    frame = pd.DataFrame(rows)
    frame["label"] = (signal > 1.5).astype("int64")
    return frame


def pytest_terminal_summary(terminalreporter, config) -> None:
    """The shared projects' build times and the workers' waits for them (tests/repos.py `shared`), if any."""
    if hasattr(config, "workerinput"):
        return
    log = config._tmp_path_factory.getbasetemp() / SHARED_LOG  # the workers' common folder under xdist
    if log.exists():
        terminalreporter.write_sep("-", "shared projects (built once per session)")
        terminalreporter.write_line(log.read_text(encoding="utf-8").rstrip())


# Fixtures that build or copy a real example project: a test that uses one is an end-to-end test, whatever its
# folder, so `-m "not e2e"` (a pull request's fast path) never waits for a clone to train.
E2E_FIXTURES = {"origin", "ran_clone", "ran_copy", "run_origin", "history_repo", "history_site"}


def pytest_collection_modifyitems(items) -> None:
    """Mark by what a test is: `project` for tests/project; `e2e` for tests/e2e and any test of a real clone."""
    for item in items:
        if Path(item.fspath).is_relative_to(ROOT / "tests" / "project"):
            item.add_marker(pytest.mark.project)
        elif Path(item.fspath).is_relative_to(ROOT / "tests" / "e2e") or E2E_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.e2e)
    balance(items)


# Shared projects that tests of both halves use (see `balance`): the gate's arena (tests/e2e/test_gate.py).
BOTH_HALVES = {"arena"}
# The longest build, a chain of continuous-training rounds (tests/e2e/test_monitoring.py): its tests open the
# second half, so that worker builds it from the start and runs them all itself; the other never waits for it.
LONGEST = {"replayed"}


def balance(items: list) -> None:
    """Order the tests so that each half starts with its own share of the end-to-end tests.

    pytest-xdist's worksteal hands each of two workers a contiguous half of this list, and a worker with nothing
    left takes the end of the other's queue. In file order every end-to-end test sat in the first half: one worker
    ran them while the other finished the unit tests, then took the long tests one at a time, and the run ended
    with one worker busy. Here the tests built on the example's shared run (`ran_clone`, and what is copied from
    it) lead the first half and the others (adoptions, the gate, ingest) the second, so each worker builds the
    shared projects its tests need; the fast tests fill both halves' ends, which is what an idle worker takes.
    The project's own tests open the first half: they share one run of the root project, which the first worker
    then builds at the start, not at the end, where the other worker, out of tests, would take some and wait.
    Likewise the second half opens with its tests of a shared project that a first-half test needs too
    (BOTH_HALVES), so it is built early instead of both workers asking for it at once, one of them waiting.
    """
    e2e = [item for item in items if item.get_closest_marker("e2e")]
    on_run = [item for item in e2e if "ran_clone" in item.fixturenames]  # the fixture closure: direct or not
    others = [item for item in e2e if "ran_clone" not in item.fixturenames]
    others.sort(  # stable: file order otherwise
        key=lambda item: (not LONGEST & set(item.fixturenames), not BOTH_HALVES & set(item.fixturenames))
    )
    project = [item for item in items if item.get_closest_marker("project")]
    fast = [item for item in items if not item.get_closest_marker("e2e") and not item.get_closest_marker("project")]
    first = len(items) // 2 - len(on_run) - len(project)
    if others and first >= 0:
        items[:] = project + on_run + fast[:first] + others + fast[first:]


# The real-repository fixtures (`origin`, `ran_clone`, `ran_copy`, `run_origin`), registered here once so the
# end-to-end, site and model tests share one example project per test session (built once across xdist workers).
from tests.repos import SHARED_LOG, origin, ran_clone, ran_copy, run_origin  # noqa: E402, F401
