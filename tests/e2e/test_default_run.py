"""The README's main command on the example's whole default window, from a fresh clone of the example project."""

import json

import pytest

from tests.repos import clone, default_window, make_origin, pipeline, sh

pytestmark = pytest.mark.e2e


def test_default_run_builds_everything_and_beats_the_baseline(tmp_path):
    repo = clone(make_origin(tmp_path, through=default_window()), tmp_path / "fresh")
    pipeline("run", cwd=repo)
    # Every stage's outputs match the hashes the run recorded in dvc.lock; nothing tracked by git changed
    # but what the run produces (the metrics, reports, plots and dvc.lock a team commits).
    assert sh("dvc", "status", cwd=repo).stdout.strip() == "Data and pipelines are up to date."
    changed = {line[3:].split("/")[0] for line in sh("git", "status", "--porcelain", cwd=repo).stdout.splitlines()}
    assert changed <= {"outputs", "dvc.lock"}, changed
    metrics = json.loads((repo / "outputs/metrics/evaluate.json").read_text())
    assert metrics["model"]["roc_auc"]["low"] > metrics["baseline"]["roc_auc"]["high"] + 0.15
    assert (repo / "site/build/index.html").is_file()
