"""The project's own tests: they check this repository's data, model and pipeline as its root configuration
(`params.yaml`, `contract.yaml`, `dvc.yaml`) describes them, whatever the data and the task type.

A fork keeps these and extends them (a data rule of its own, a property its model must have): they are the
tests its pull requests are judged by. The template's machinery has its own tests (tests/unit, tests/e2e, ...),
which never read the root configuration.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from pipeline.config import Params, load_params
from pipeline.contract import Contract, load_contract
from tests.conftest import ROOT, command_env
from tests.repos import shared


@dataclass(frozen=True)
class Project:
    """The project after its pipeline ran: configuration, and the dvc.lock found before and left after the run."""

    root: Path
    params: Params
    contract: Contract
    lock_before: str | None
    lock_after: str

    def rows(self, split: str) -> pd.DataFrame:
        """The prepared rows the model was trained (`train`) or judged (`test`) on."""
        return pd.read_parquet(self.root / self.params.paths.prepared / f"{split}.parquet")


def reproduce(folder: Path) -> Path:
    """Release the data dvc.lock records and run every stage (`pipeline run --no-site`: no-op when up to date)."""
    lock = ROOT / "dvc.lock"
    (folder / "dvc.lock.before").write_text(lock.read_text() if lock.exists() else "")
    run = subprocess.run(
        [sys.executable, "-m", "pipeline", "run", "--no-site"],
        cwd=ROOT,
        env=command_env(),
        text=True,
        capture_output=True,
    )
    (folder / "run.log").write_text(run.stdout + run.stderr)
    if run.returncode != 0:
        pytest.fail(f"`pipeline run --no-site` failed ({run.returncode}):\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
    return folder


@pytest.fixture(scope="session")
def project(tmp_path_factory) -> Project:
    """The project reproduced once per test session (the first xdist worker runs it, the others wait)."""
    folder = shared(tmp_path_factory, "project-run", reproduce)
    params = load_params(ROOT / "params.yaml")
    before = (folder / "dvc.lock.before").read_text()
    return Project(
        root=ROOT,
        params=params,
        contract=load_contract(ROOT / params.paths.contract),
        lock_before=before or None,
        lock_after=(ROOT / "dvc.lock").read_text(),
    )
