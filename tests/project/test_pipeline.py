"""Pipeline smoke test: the project's pipeline runs end to end and reproduces the results dvc.lock records."""

from __future__ import annotations

import difflib
import subprocess

from tests.conftest import command_env


def test_the_pipeline_reproduces_the_results_dvc_lock_records(project):
    """Same data, code and params give the same bytes: a changed dvc.lock means stale committed results."""
    assert project.lock_before is not None, "no dvc.lock: run `make run` and commit its results (dvc.lock, outputs/)"
    diff = difflib.unified_diff(
        project.lock_before.splitlines(), project.lock_after.splitlines(), "dvc.lock (before)", "dvc.lock (re-run)", n=1
    )
    changes = "\n".join(list(diff)[:60])
    assert not changes, (
        f"re-running the pipeline changed dvc.lock; the recorded results were stale (dvc.lock is updated now: "
        f"review it and commit it with outputs/):\n{changes}"
    )


def test_every_stage_is_up_to_date(project):
    status = subprocess.run(
        ["dvc", "status"], cwd=project.root, env=command_env(), text=True, capture_output=True, check=True
    )
    assert status.stdout.strip() == "Data and pipelines are up to date.", status.stdout
