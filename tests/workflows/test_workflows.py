"""The workflows: three linters report nothing, and each security property of issue 7 holds (parsed YAML)."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))
BIN = Path(sys.executable).parent
PIN = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+)@([0-9a-f]{40}) # v\d+(\.\d+)*\s*$")


def load(path: Path) -> dict:
    """A workflow as data; PyYAML reads the key `on` as True (YAML 1.1), so it is renamed back."""
    data = yaml.safe_load(path.read_text())
    data["on"] = data.pop(True)
    return data


def jobs():
    """(file name, job id, job) for every job of every workflow."""
    return [(p.name, name, job) for p in FILES for name, job in load(p)["jobs"].items()]


def steps():
    return [(f, j, step) for f, j, job in jobs() for step in job.get("steps", [])]


def tool(name: str, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / name), *args], cwd=cwd, text=True, capture_output=True, check=False)


def test_the_template_has_its_six_workflows():
    assert [p.name for p in FILES] == ["ci.yml", "comment.yml", "ct.yml", "pages.yml", "registry.yml", "template.yml"]


def test_zizmor_finds_nothing():
    result = tool("zizmor", "--offline", "--no-progress", ".github/workflows")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout


def test_actionlint_with_shellcheck_finds_nothing():
    assert shutil.which("shellcheck"), "shellcheck is missing: `make test` installs it (apt-get)"
    result = tool("actionlint", "-shellcheck", shutil.which("shellcheck"))
    assert (result.returncode, result.stdout) == (0, "")


def test_actionlint_really_runs_shellcheck(tmp_path):
    """A guard for the test above: an unquoted variable in a run step is reported (SC2086)."""
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text("on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo $1\n")
    result = tool("actionlint", "-shellcheck", shutil.which("shellcheck"), str(bad), cwd=tmp_path)
    assert result.returncode == 1 and "SC2086" in result.stdout


def test_the_workflows_match_githubs_schema():
    result = tool("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *map(str, FILES))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_top_level_permissions_are_read_only_or_none(path):
    assert load(path)["permissions"] in ({}, {"contents": "read"})


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_action_is_pinned_by_full_commit_sha_with_its_version(path):
    lines = [line for line in path.read_text().splitlines() if re.match(r"^\s*(-\s+)?uses:", line)]
    assert lines
    assert [line for line in lines if not PIN.match(line)] == []


def test_checkout_keeps_no_credentials_except_in_jobs_that_push():
    pushing = {("ct.yml", "ct"), ("registry.yml", "tag")}
    for file, job, step in steps():
        if step.get("uses", "").startswith("actions/checkout@"):
            expected = (file, job) in pushing
            assert step["with"]["persist-credentials"] is expected, (file, job)


def test_no_expression_is_expanded_inside_a_run_step():
    """Titles, branch names and bodies reach shell only through env:, never pasted into the script."""
    assert [(f, j, s["run"]) for f, j, s in steps() if "run" in s and "${{" in s["run"]] == []


def test_every_run_step_calls_a_project_command():
    runs = [s["run"] for _, _, s in steps() if "run" in s]
    assert [r for r in runs if not re.match(r"^(make [a-z0-9-]+$|uv run pipeline )", r)] == []


def test_write_permissions_are_granted_per_job_and_only_where_needed():
    grants = {(f, j): {k: v for k, v in job.get("permissions", {}).items() if v == "write"} for f, j, job in jobs()}
    assert {key: value for key, value in grants.items() if value} == {
        ("comment.yml", "comment"): {"pull-requests": "write"},
        ("ct.yml", "ct"): {"contents": "write", "pull-requests": "write", "issues": "write", "actions": "write"},
        ("pages.yml", "deploy"): {"pages": "write", "id-token": "write"},
        ("registry.yml", "tag"): {"contents": "write"},
    }


def test_jobs_that_run_a_pull_requests_code_get_only_the_data_read_secret_and_no_write_permission():
    # The one secret is the DVC remote's credentials (a read-only key, README's guide says), so CI can pull
    # the data a pull request's pipeline re-run needs; GitHub gives no secret at all to forks' pull requests.
    for path in FILES:
        workflow = load(path)
        if "pull_request" not in workflow["on"] or path.name == "registry.yml":  # registry: merged, same repo
            continue
        assert set(re.findall(r"secrets\.\w+", path.read_text())) <= {"secrets.DVC_REMOTE_CONFIG"}, path.name
        assert all(v != "write" for job in workflow["jobs"].values() for v in job.get("permissions", {}).values())


def test_the_registry_job_tags_only_merged_promotion_branches_of_this_repository():
    job = load(WORKFLOWS / "registry.yml")["jobs"]["tag"]
    assert "github.event.pull_request.merged == true" in job["if"]
    assert "startsWith(github.event.pull_request.head.ref, 'ct/')" in job["if"]
    assert "github.event.pull_request.head.repo.full_name == github.repository" in job["if"]


def test_the_comment_workflow_treats_the_artifact_as_data():
    workflow = load(WORKFLOWS / "comment.yml")
    assert workflow["on"] == {"workflow_run": {"workflows": ["CI"], "types": ["completed"]}}
    steps_ = workflow["jobs"]["comment"]["steps"]
    download = next(s for s in steps_ if s.get("uses", "").startswith("actions/download-artifact@"))
    assert download["with"]["path"].startswith("${{ runner.temp }}")  # outside the checked-out code
    post = steps_[-1]
    assert post["env"]["HEAD_SHA"] == "${{ github.event.workflow_run.head_sha }}"
    assert '--head-sha "$HEAD_SHA"' in post["run"] and '--event-pr "$EVENT_PR"' in post["run"]


def test_ct_runs_on_a_schedule_one_at_a_time_and_falls_back_to_dispatching_ci():
    workflow = load(WORKFLOWS / "ct.yml")
    assert set(workflow["on"]) == {"schedule", "workflow_dispatch"}
    assert workflow["concurrency"] == {"group": "continuous-training", "cancel-in-progress": False}
    ct = workflow["jobs"]["ct"]["steps"][-1]
    assert ct["env"]["DISPATCH_CI"] == "${{ steps.app-token.outputs.token == '' && 'ci.yml' || '' }}"
    assert "workflow_dispatch" in load(WORKFLOWS / "ci.yml")["on"]


def test_pages_builds_from_the_full_history_and_deploys_in_a_separate_job():
    jobs_ = load(WORKFLOWS / "pages.yml")["jobs"]
    checkout = jobs_["build"]["steps"][0]["with"]
    assert (checkout["fetch-depth"], checkout["fetch-tags"]) == (0, True)
    assert jobs_["deploy"]["needs"] == "build"
    assert [s["uses"].split("@")[0] for s in jobs_["deploy"]["steps"]] == ["actions/deploy-pages"]
