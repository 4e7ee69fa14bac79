"""The workflows: three linters report nothing, and each security property of issue 7 holds (parsed YAML)."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline.check_setup import REQUIRED_CHECKS
from pipeline.github import OVERRIDE_LABEL
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


def test_the_template_has_its_workflows():
    assert [p.name for p in FILES] == [
        "ci.yml",
        "comment.yml",
        "ct-round.yml",
        "ct.yml",
        "pages.yml",
        "registry.yml",
        "template.yml",
    ]


@pytest.mark.parametrize("persona", ["regular", "pedantic", "auditor"])
def test_zizmor_finds_nothing_even_as_an_auditor(persona):
    """Every suppression (`zizmor: ignore[...]`) sits next to a comment that says why."""
    result = tool("zizmor", "--offline", "--no-progress", "--persona", persona, ".github/workflows")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout
    for path in FILES:
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines):
            if "zizmor: ignore[" in line:
                after = line.split("]", 1)[1].strip()
                assert after or lines[number - 1].strip().startswith("#"), (path, line)  # a reason, or above it


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
    local = [line for line in lines if re.match(r"^\s*uses: \./\.github/workflows/[\w-]+\.yml\b", line)]
    assert [line for line in lines if not PIN.match(line) and line not in local] == []  # ours: this same commit


def test_checkout_keeps_no_credentials_the_token_goes_only_to_the_steps_that_push():
    checkouts = [(f, j, s) for f, j, s in steps() if s.get("uses", "").startswith("actions/checkout@")]
    assert len(checkouts) == 7
    assert all(s["with"]["persist-credentials"] is False for _, _, s in checkouts)
    pushing = [(f, j) for f, j, s in steps() if "GH_TOKEN" in s.get("env", {})]
    assert pushing == [
        ("comment.yml", "comment"),
        ("ct-round.yml", "round"),
        ("registry.yml", "tag"),
        ("registry.yml", "tag"),
    ]


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
        ("ct.yml", "with-default-token"): {
            "contents": "write",
            "pull-requests": "write",
            "issues": "write",
            "actions": "write",
        },
        ("pages.yml", "deploy"): {"pages": "write", "id-token": "write"},
        ("registry.yml", "tag"): {"contents": "write", "actions": "write"},
    }
    assert load(WORKFLOWS / "ct.yml")["jobs"]["with-app"]["permissions"] == {"contents": "read"}


def test_every_secret_comes_from_an_environment_and_pull_requests_get_only_the_read_key():
    """`ci` holds the read-only DVC key (CI, Pages' build), `ct` the write key and the App's key (default
    branch only): a repository secret would give the write key to every same-repository pull request's code."""
    environments = {}
    for file, name, job in jobs():
        used = set(re.findall(r"secrets\.(\w+)", yaml.safe_dump(job)))
        if used:
            environments[(file, name)] = (job["environment"]["name"], used)
    assert environments == {
        ("ci.yml", "ci"): ("ci", {"DVC_REMOTE_CONFIG"}),
        ("ct-round.yml", "round"): ("ct", {"DVC_REMOTE_CONFIG", "CT_APP_PRIVATE_KEY"}),
        ("pages.yml", "build"): ("ci", {"DVC_REMOTE_CONFIG"}),
    }
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
    calls = {name: (job["if"], job["with"]["app"]) for name, job in workflow["jobs"].items()}
    assert calls == {
        "with-app": ("vars.CT_APP_CLIENT_ID != ''", True),
        "with-default-token": ("vars.CT_APP_CLIENT_ID == ''", False),
    }
    ct = load(WORKFLOWS / "ct-round.yml")["jobs"]["round"]["steps"][-1]
    assert ct["env"]["DISPATCH_CI"] == "${{ !inputs.app && 'ci.yml' || '' }}"
    assert "workflow_dispatch" in load(WORKFLOWS / "ci.yml")["on"]


def test_runs_that_could_collide_wait_for_each_other_and_merges_on_main_are_never_cancelled():
    groups = {p.name: load(p).get("concurrency") for p in FILES}
    assert groups["registry.yml"] == {"group": "registry", "cancel-in-progress": False}
    assert groups["comment.yml"]["cancel-in-progress"] is False and "head_branch" in groups["comment.yml"]["group"]
    assert groups["ci.yml"]["cancel-in-progress"] == "${{ github.event_name == 'pull_request' }}"
    assert groups["pages.yml"] == {"group": "pages", "cancel-in-progress": False}


def test_pages_is_built_after_the_version_tag_exists():
    """A tag pushed with the default token starts no workflow, and the merge's own Pages run may check out
    before the tag: the registry job starts Pages itself, after pushing the tag."""
    runs = [s.get("run", "") for s in load(WORKFLOWS / "registry.yml")["jobs"]["tag"]["steps"]]
    push = next(i for i, r in enumerate(runs) if "pipeline github push" in r)
    assert runs[push + 1] == "uv run pipeline github dispatch pages.yml --ref main"
    assert "workflow_dispatch" in load(WORKFLOWS / "pages.yml")["on"]


def test_every_job_has_a_name():
    assert [(f, j) for f, j, job in jobs() if not job.get("name")] == []


def test_pages_builds_from_the_full_history_and_deploys_in_a_separate_job():
    jobs_ = load(WORKFLOWS / "pages.yml")["jobs"]
    checkout = jobs_["build"]["steps"][0]["with"]
    assert (checkout["fetch-depth"], checkout["fetch-tags"]) == (0, True)
    assert jobs_["deploy"]["needs"] == "build"
    assert [s["uses"].split("@")[0] for s in jobs_["deploy"]["steps"]] == ["actions/deploy-pages"]


def test_a_reject_fails_its_own_required_check_unless_the_override_label_is_on():
    """The job Gate turns the gate step's decision (an output of the job ci) into its own status, so branch
    protection can require it; labels re-run CI, so adding or removing the override label re-judges."""
    ci = load(WORKFLOWS / "ci.yml")
    assert {"opened", "synchronize", "reopened", "labeled", "unlabeled"} <= set(ci["on"]["pull_request"]["types"])
    test_job, gate_job = ci["jobs"]["ci"], ci["jobs"]["gate"]
    gate_step = next(step for step in test_job["steps"] if step.get("id") == "gate")
    assert test_job["outputs"]["decision"] == "${{ steps.gate.outputs.decision }}"
    assert "3|4|5) ;;" in gate_step["run"]  # decisions do not fail the job ci; errors do
    assert gate_job["needs"] == "ci" and gate_job["if"] == "github.event_name == 'pull_request'"
    check = gate_job["steps"][-1]
    assert check["run"] == 'uv run pipeline gate-check --decision "$DECISION"'
    override = f"${{{{ contains(github.event.pull_request.labels.*.name, '{OVERRIDE_LABEL}') }}}}"
    assert check["env"] == {"DECISION": "${{ needs.ci.outputs.decision }}", "GATE_OVERRIDE": override}
    comment = next(step for step in test_job["steps"] if "pr-comment" in step.get("run", ""))
    assert comment["env"]["GATE_OVERRIDE"] == override  # the comment acknowledges what the check accepts
    assert (test_job["name"], gate_job["name"]) == REQUIRED_CHECKS  # the names `check-setup` looks for


def test_dependency_updates_arrive_weekly_as_grouped_pull_requests_for_the_lock_file_and_the_actions():
    """Dependabot's pull requests run CI and the gate like any change (ML Test Score, Monitoring 1)."""
    path = ROOT / ".github" / "dependabot.yml"
    result = tool("check-jsonschema", "--builtin-schema", "vendor.dependabot", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    updates = {u["package-ecosystem"]: u for u in yaml.safe_load(path.read_text())["updates"]}
    assert set(updates) == {"uv", "github-actions"}
    for update in updates.values():
        assert update["directory"] == "/" and update["schedule"]["interval"] == "weekly"
        assert [group["patterns"] for group in update["groups"].values()] == [["*"]]  # one pull request each
