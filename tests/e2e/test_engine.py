"""The Dask engine on a real LocalCluster of 2 worker processes, against the pandas engine on the same clone.

`ran_clone` ran the example (January and February) with `engine.kind: pandas`. A copy switched to `dask` runs
every stage again (`dvc repro -f`): DVC's lock file, which holds the hash of every output (the prepared rows,
the model, the metrics, the drift figures), must come out the same, so the two engines wrote the same bytes.
Those stages reach one cluster at `engine.address`, as a team's stages reach its cluster, so its workers start
and import the stages' code once; the bad batch's run starts a LocalCluster of its own (`address: null`).
"""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipeline.contract import load_contract
from tests.e2e.test_pipeline import BAD_INPUTS, PRECIOUS
from tests.repos import digest, edited, pipeline, sh, shared

pytestmark = pytest.mark.e2e
ON_DASK = [("  kind: pandas ", "  kind: dask   "), ("  workers: null ", "  workers: 2    ")]


def on_dask(repo: Path, address: str | None = None) -> None:
    """Switch a clone to the Dask engine: the cluster at `address`, or (None) a LocalCluster of 2 worker processes
    that each stage starts. Nothing else changes."""
    at = [("  address: null ", f"  address: '{address}' ")] if address else []
    (repo / "params.yaml").write_text(edited((repo / "params.yaml").read_text(encoding="utf-8"), [*ON_DASK, *at]))


def to_score_folder(repo: Path, folder: Path) -> Path:
    """The released months as files to score: as data/ holds them, without the columns known only after."""
    leakage = load_contract(repo / "contract.yaml").leakage
    folder.mkdir()
    for path in sorted((repo / "data" / "flights").glob("*.csv")):
        rows = pd.read_csv(path, dtype=str, keep_default_na=False)
        rows.drop(columns=leakage).to_csv(folder / path.name, index=False)
    return folder


@pytest.fixture(scope="session")
def dask_run(ran_clone, tmp_path_factory) -> Path:
    """A copy of `ran_clone` run again on Dask; beside it, what both engines printed and predicted."""

    def build(folder: Path) -> Path:
        from distributed import LocalCluster

        repo = folder / "repo"
        shutil.copytree(ran_clone, repo, symlinks=True)
        workers = {"n_workers": 2, "threads_per_worker": 1, "processes": True, "silence_logs": logging.WARNING}
        with LocalCluster(**workers, scheduler_kwargs={"dashboard": False}) as cluster:
            on_dask(repo, cluster.scheduler_address)
            (folder / "address").write_text(cluster.scheduler_address)
            (folder / "forced.log").write_text(sh("dvc", "repro", "--force", cwd=repo).stdout)
            (folder / "again.log").write_text(sh("dvc", "repro", cwd=repo).stdout)
            to_score = to_score_folder(repo, folder / "to-score")
            for name, clone in {"pandas": ran_clone, "dask": repo}.items():
                result = pipeline("predict", "--input", str(to_score), "--out", str(folder / f"{name}.csv"), cwd=clone)
                (folder / f"{name}-predict.log").write_text(result.stderr)
        return folder

    return shared(tmp_path_factory, "dask-run", build)


def test_every_stage_on_dask_writes_the_bytes_pandas_wrote(dask_run, ran_clone):
    address = (dask_run / "address").read_text()
    assert f"engine: dask, the cluster at {address}" in (dask_run / "dask-predict.log").read_text()
    forced = (dask_run / "forced.log").read_text()
    assert all(f"Running stage '{stage}'" in forced for stage in ("validate", "prepare", "train", "evaluate", "drift"))
    assert (dask_run / "repo" / "dvc.lock").read_text() == (ran_clone / "dvc.lock").read_text()
    for path in ("outputs/prepared", "outputs/model", "outputs/metrics", "outputs/reports"):
        assert digest(dask_run / "repo" / path) == digest(ran_clone / path), path


def test_predictions_of_a_folder_are_the_same_on_both_engines(dask_run):
    pandas, dask = (dask_run / "pandas.csv").read_bytes(), (dask_run / "dask.csv").read_bytes()
    assert dask == pandas and pandas.count(b"\n") > 50_000  # both months' flights, one row each, in file order


def test_a_second_repro_on_dask_runs_nothing(dask_run):
    again = (dask_run / "again.log").read_text()
    assert "Running stage" not in again and "Data and pipelines are up to date." in again


def test_a_bad_batch_is_refused_on_dask_with_the_pandas_message(ran_clone, tmp_path):
    corrupt, message = BAD_INPUTS["below-minimum"]  # six rules broken in one file, found on a worker
    said = {}
    for name in ("pandas", "dask"):
        repo = shutil.copytree(ran_clone, tmp_path / name, symlinks=True)
        if name == "dask":
            on_dask(repo)  # a LocalCluster of 2 worker processes, started by the stage
        before = {path: digest(repo / path) for path in PRECIOUS}
        corrupt(repo)
        result = pipeline("run", "--no-site", cwd=repo, check=False)
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert {path: digest(repo / path) for path in PRECIOUS} == before  # nothing lost
        said[name] = [line for line in result.stderr.splitlines() if line.startswith(("error", "data/"))]
    assert said["dask"] == said["pandas"] and any(re.search(message, line) for line in said["dask"])
    assert "engine: dask, a LocalCluster of 2 worker processes" in result.stderr  # the dask run's own cluster
