"""The CI and CT workflows' `run:` steps, executed for real by `act` on the host (see tests/e2e/act.py).

Both run in a copy of `run_origin` (the template run on January and February, pushed to a local bare
origin), so the pipeline steps take seconds; CI's, with a DVC remote set up as the README says, pulls what
the pull request did not change. GitHub requests are recorded (PIPELINE_GITHUB_RECORD).
"""

import json
import subprocess
import sys

import pytest

from tests.conftest import command_env
from tests.e2e.act import act, step_outcomes
from tests.repos import copy_run_origin, sh, use_dvc_remote

pytestmark = pytest.mark.e2e


def test_ci_on_a_pull_request_lints_tests_runs_the_pipeline_and_uploads_the_comment(run_origin, tmp_path):
    repo = copy_run_origin(run_origin, tmp_path / "ci")
    use_dvc_remote(repo, tmp_path / "bucket")  # as the README's fork set-up does: CI pulls what it need not rerun
    sh("git", "checkout", "-q", "-b", "feature", cwd=repo)
    (repo / "README.md").write_text((repo / "README.md").read_text() + "\nA documentation change.\n")
    sh("git", "commit", "-qam", "docs", cwd=repo)
    head = sh("git", "rev-parse", "HEAD", cwd=repo).stdout.strip()
    event = {"pull_request": {"number": 7, "head": {"ref": "feature", "sha": head}, "base": {"ref": "main"}}}
    result = act(
        repo,
        "ci.yml",
        "pull_request",
        event,
        tmp_path,
        ACT_ARTIFACTS=str(tmp_path / "artifacts"),
        # The Test step runs `make test-pr` as written; which tests it selects is not what this test is about
        # (the project's tests run in this suite at the root, and in every fork test), so one fast file, in
        # pytest's own process (`-n auto` with xdist's variable at 0: no worker process to start).
        PYTEST_ADDOPTS="-q -p no:cacheprovider tests/unit/test_pr_comment.py",
        PYTEST_XDIST_AUTO_NUM_WORKERS="0",
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert step_outcomes(result.stdout) == [
        "Success - Main Check out with history (the base branch's metrics, params and plots)",
        "Success - Main uv --version",
        "Success - Main Set up uv, with its cache keyed on uv.lock",
        "Success - Main Install",
        "Success - Main Give DVC the remote's credentials (secret DVC_REMOTE_CONFIG; none for a public remote)",
        "Success - Main Lint",
        "Success - Main Test (the project's data, model and pipeline tests; the template's fast tests)",
        "Success - Main Rebuild the data and re-run the pipeline",
        "Success - Main Gate against the base branch",
        "Success - Main Write the report's data and the comment body",
        'Success - Main mkdir -p "$ACT_ARTIFACTS/$NAME" && cp -r "$UPLOAD"/. "$ACT_ARTIFACTS/$NAME"/',
        "Success - Main Upload the report's data and the PR number (comment.yml renders and posts them)",
        # the job Gate, after the job ci, on its output: the model is main's own, so nothing to judge, a pass
        "Success - Main Check out (the project command only)",
        "Success - Main uv --version",
        "Success - Main Set up uv, with its cache keyed on uv.lock",
        "Success - Main Pass, or fail on a reject that no reviewer accepted (label accept-worse-model)",
    ]
    assert "the gate says unchanged" in result.stdout
    # a documentation change: the re-run gets every stage's outputs from the DVC remote and runs none of them
    assert "Pulling data for stage: 'train'" in result.stdout and "Running stage" not in result.stdout
    artifact = tmp_path / "artifacts" / "pr-comment"
    assert (artifact / "pr-number").read_text() == "7\n"
    body = (artifact / "body.md").read_text()
    assert body.startswith(
        "<!-- pipeline:pr-comment -->\n## Model report for this pull request\n\nCompared with <code>origin/main</code>."
    )
    assert "**Decision: unchanged**" in body  # a documentation change leaves main's model alone
    assert "No parameter changed." in body
    # comment.yml's step, on this artifact: the comment is rendered from the data, by this checkout's code
    record = tmp_path / "requests.jsonl"
    (tmp_path / "responses.json").write_text(
        json.dumps({"GET repos/octo/template/pulls/7": {"state": "open", "head": {"sha": head}}})
    )
    recording = {"PIPELINE_GITHUB_RECORD": str(record), "PIPELINE_GITHUB_RESPONSES": str(tmp_path / "responses.json")}
    files = ["--pr-file", str(artifact / "pr-number"), "--report-file", str(artifact / "report.json")]
    posted = subprocess.run(
        [sys.executable, "-m", "pipeline", "github", "comment", "--repo", "octo/template", *files, "--head-sha", head],
        cwd=repo,
        env=command_env() | recording,
        text=True,
        capture_output=True,
        check=True,
    )
    assert posted.stdout.strip() == "created a comment"
    assert json.loads(record.read_text().splitlines()[-1])["body"]["body"] == body


def test_ct_finds_its_branch_proposed_already_and_opens_the_missing_pull_request(run_origin, tmp_path):
    repo = copy_run_origin(run_origin, tmp_path / "ct")
    sh("git", "push", "-q", "origin", "main:ct/2013-03", cwd=repo)  # a run that pushed, then failed to open the PR
    record = tmp_path / "requests.jsonl"
    result = act(
        repo,
        "ct.yml",
        "workflow_dispatch",
        {},
        tmp_path,
        PIPELINE_GITHUB_RECORD=str(record),
        GITHUB_REPOSITORY="octo/template",
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    sent = [json.loads(line) for line in record.read_text().splitlines()]
    assert [(r["method"], r["path"]) for r in sent] == [
        ("GET", "repos/octo/template/pulls?state=all&head=octo%3Act%2F2013-03&per_page=100"),
        ("POST", "repos/octo/template/pulls"),
        ("POST", "repos/octo/template/actions/workflows/ci.yml/dispatches"),
    ]  # no App token: CI is dispatched
    assert sent[2]["body"] == {"ref": "ct/2013-03"}
    assert "Continuous training: 2013-03 was proposed already" in result.stdout
