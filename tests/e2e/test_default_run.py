"""The README's main command, `pipeline run`, from a fresh clone of the example project: every stage and the site.

It checks `ran_clone`, the session's clone after that very command (tests/repos.py), so the run other tests
read is the one checked here. The example's whole default window is run by the project's own tests
(tests/project), which read the root configuration: in the template itself, the example.
"""

import json

import pytest

from tests.repos import sh

pytestmark = pytest.mark.e2e


def test_the_main_command_builds_every_output_and_the_site_and_beats_the_baseline(ran_clone):
    # Every stage's outputs match the hashes the run recorded in dvc.lock; nothing tracked by git changed
    # but what the run produces (the metrics, reports, plots and dvc.lock a team commits).
    assert sh("dvc", "status", cwd=ran_clone).stdout.strip() == "Data and pipelines are up to date."
    changed = {line[3:].split("/")[0] for line in sh("git", "status", "--porcelain", cwd=ran_clone).stdout.splitlines()}
    assert changed == {"outputs", "dvc.lock"}, changed
    metrics = json.loads((ran_clone / "outputs/metrics/evaluate.json").read_text())
    assert metrics["model"]["roc_auc"]["low"] > metrics["baseline"]["roc_auc"]["high"]
    assert (ran_clone / "site/build/index.html").is_file()
    assert "Intended use" in (ran_clone / "site/build/model-card/index.html").read_text(encoding="utf-8")
