"""Shared test helpers: the template's own params, and a subprocess environment like a user's shell."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from pipeline.config import Params, load_params
from pipeline.contract import Contract, load_contract

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def params() -> Params:
    """The template's own params.yaml: unit tests exercise the configuration forks start from."""
    return load_params(ROOT / "params.yaml")


@pytest.fixture(scope="session")
def contract() -> Contract:
    """The template's own data contract."""
    return load_contract(ROOT / "contract.yaml")


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


def synthetic_rows(params: Params, n: int, seed: int):
    """Prepared-looking rows with the template's inputs and a label that depends on `precip` and `hour`."""
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


# The real-repository fixtures (`origin`, `ran_clone`, `ran_copy`), registered here once so the end-to-end and
# the model tests share one session-wide trained clone.
from tests.repos import origin, ran_clone, ran_copy, run_origin  # noqa: E402, F401
