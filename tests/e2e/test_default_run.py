"""The README's main command on the default window, from a fresh clone: it reproduces what is committed."""

import json

import pytest

from tests.repos import clone, make_origin, pipeline, sh

pytestmark = pytest.mark.e2e


def test_default_run_reproduces_the_committed_results(tmp_path):
    repo = clone(make_origin(tmp_path, through=None), tmp_path / "fresh")
    pipeline("run", cwd=repo)
    # Every stage's outputs match the hashes committed in dvc.lock, and the committed metrics byte for byte.
    assert sh("dvc", "status", cwd=repo).stdout.strip() == "Data and pipelines are up to date."
    assert sh("git", "status", "--porcelain", cwd=repo).stdout == ""
    metrics = json.loads((repo / "outputs/metrics/evaluate.json").read_text())
    assert metrics["model"]["roc_auc"]["low"] > metrics["baseline"]["roc_auc"]["high"] + 0.15
    assert (repo / "site/build/index.html").is_file()
