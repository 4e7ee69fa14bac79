"""`pipeline github comment` and `pipeline check-setup` as the workflows run them, with requests recorded."""

import json
import re
import subprocess
import sys

import pytest

from tests.conftest import command_env

SHA = "c0ffee" + "0" * 34


def run(tmp_path, *args, responses=None):
    """Run `pipeline ...` with the GitHub layer recording; return (exit status, stdout+stderr, requests)."""
    record = tmp_path / "requests.jsonl"
    record.unlink(missing_ok=True)
    env = command_env() | {"PIPELINE_GITHUB_RECORD": str(record), "GITHUB_REPOSITORY": "octo/template"}
    if responses is not None:
        (tmp_path / "responses.json").write_text(json.dumps(responses))
        env["PIPELINE_GITHUB_RESPONSES"] = str(tmp_path / "responses.json")
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", *args], env=env, cwd=tmp_path, text=True, capture_output=True, check=False
    )
    sent = [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []
    return result.returncode, result.stdout + result.stderr, sent


REPORT = {
    "base": "origin/main",
    "params": {"params.yaml": {"train.learning_rate": {"old": 0.1, "new": 0.05}}},
    "metrics": {},
    "decision": {"decision": "reject", "period": "2013-03", "reasons": ["failed: worse"]},
    "stale": False,
    "drift": None,
    "drift_base": None,
    "plots": [],
}
OPEN = {"GET repos/octo/template/pulls/7": {"state": "open", "head": {"sha": SHA}}}


@pytest.fixture
def artifact(tmp_path):
    """What CI uploads: the pull request's number and the report's data (JSON, never Markdown)."""
    (tmp_path / "pr-number").write_text("7\n")
    (tmp_path / "report.json").write_text(json.dumps(REPORT))
    return ["github", "comment", "--pr-file", "pr-number", "--report-file", "report.json", "--head-sha", SHA]


def posted(sent) -> str:
    (post,) = [r for r in sent if r["method"] in ("POST", "PATCH")]
    return post["body"]["body"]


def test_the_comment_is_rendered_from_the_data_and_posted_after_the_pull_request_is_checked(tmp_path, artifact):
    status, out, sent = run(tmp_path, *artifact, responses=OPEN)
    assert (status, out.strip()) == (0, "created a comment")
    assert [(r["method"], r["path"]) for r in sent] == [
        ("GET", "repos/octo/template/pulls/7"),
        ("GET", "repos/octo/template/issues/7/comments?per_page=100"),
        ("POST", "repos/octo/template/issues/7/comments"),
    ]
    body = posted(sent)
    assert body.startswith("<!-- pipeline:pr-comment -->\n## Model report for this pull request\n")
    assert (
        "**Decision: reject** (shadow evaluation on period 2013-03:" in body
        and "| params.yaml | train.learning\\_rate | 0.1 | 0.05 |" in body
    )
    assert "fork" not in body


def test_a_forks_report_is_rendered_by_the_base_code_and_says_whose_code_computed_it(tmp_path, artifact):
    """A fork controls its data, not the text: markup in its values is inert, and the comment names the fork."""
    hostile = {**REPORT, "decision": {"decision": "promote](https://e.vil) @team ![x](https://e.vil/x.png)"}}
    (tmp_path / "report.json").write_text(json.dumps(hostile))
    status, _, sent = run(tmp_path, *artifact, "--head-repository", "mallory/template", responses=OPEN)
    body = posted(sent)
    assert status == 0
    assert "Computed by the pull request's own code, from the fork <code>mallory/template</code>" in body
    assert not re.search(r"(?<!\\)\]\(|!(?<!\\)\[|@team", body)  # no link, no image, no mention: escaped


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("<!-- pipeline:pr-comment -->\n## Decision: promote\n", "not JSON"),
        (json.dumps({**REPORT, "body": "## Decision: promote"}), "body: Extra inputs are not permitted"),
        (
            json.dumps(
                {**REPORT, "plots": [{"title": "t", "x": "x", "y": "y", "grid": [0] * 500, "base": None, "head": []}]}
            ),
            "plots.0.grid: List should have at most 11 items",
        ),
    ],
    ids=["markdown", "unknown-key", "oversized-plot"],
)
def test_an_artifact_that_is_not_the_reports_data_posts_nothing(tmp_path, artifact, content, error):
    (tmp_path / "report.json").write_text(content)
    status, out, sent = run(tmp_path, *artifact, responses=OPEN)
    assert status == 1 and error in out, out
    assert sent == []


def test_a_number_that_is_not_the_runs_pull_request_posts_nothing(tmp_path, artifact):
    status, out, sent = run(
        tmp_path, *artifact, responses={"GET repos/octo/template/pulls/7": {"state": "open", "head": {"sha": "f" * 40}}}
    )
    assert status == 1 and "is not the open pull request of commit" in out
    assert [r["method"] for r in sent] == ["GET"]


def test_a_number_that_differs_from_the_events_is_refused_before_any_request(tmp_path, artifact):
    status, out, sent = run(tmp_path, *artifact, "--event-pr", "8")
    assert status == 1 and "error: the artifact names pull request #7, the event #8" in out
    assert sent == []


def test_a_malformed_number_in_the_artifact_is_refused(tmp_path, artifact):
    (tmp_path / "pr-number").write_text("7 && curl evil")
    status, out, sent = run(tmp_path, *artifact)
    assert status == 1 and "expected a positive integer" in out and sent == []


def test_check_setup_lists_what_a_fork_must_enable_and_fails_when_required_settings_are_missing(dvc_checkout):
    tmp_path = dvc_checkout
    status, out, sent = run(
        tmp_path,
        "check-setup",
        responses={
            "GET repos/octo/template": {"full_name": "octo/template"},
            "GET repos/octo/template/actions/permissions": {"enabled": True},
            "GET repos/octo/template/actions/permissions/workflow": {"can_approve_pull_request_reviews": False},
        },
    )
    assert status == 1
    assert out.splitlines() == [
        "ok       GitHub Actions is enabled",
        "missing  Actions may not create pull requests: Settings > Actions > General > Workflow permissions > "
        "Allow GitHub Actions to create and approve pull requests",
        "missing  Pages is not published from Actions: Settings > Pages > Build and deployment > Source: "
        "GitHub Actions",
        "optional no environment ci (ci.yml and the Pages build: DVC_REMOTE_CONFIG, a key that can only read the "
        "DVC remote): fine for a public remote or none",
        "optional no environment ct (continuous training: DVC_REMOTE_CONFIG that can write, CT_APP_PRIVATE_KEY; "
        "the default branch only): fine for a public remote or none",
        "optional no GitHub App (CT_APP_CLIENT_ID variable and CT_APP_PRIVATE_KEY secret of environment ct): CT "
        "opens PRs with the default token and starts CI on them by a dispatch",
        "optional no DVC remote in .dvc/config: data/ is rebuilt from the embedded source",
        "optional main does not require the checks Test, re-run the pipeline, report, Gate (fails when the gate "
        "rejects the model): a pull request can merge with them red (Settings > Branches > a rule for main > "
        "Require status checks to pass)",
    ]
    assert [r["path"] for r in sent] == [
        "repos/octo/template",
        "repos/octo/template/actions/permissions",
        "repos/octo/template/actions/permissions/workflow",
        "repos/octo/template/pages",
        "repos/octo/template/environments",
        "repos/octo/template/actions/variables/CT_APP_CLIENT_ID",
        "repos/octo/template/branches/main/protection/required_status_checks",
        "repos/octo/template/rules/branches/main",
    ]


def test_check_setup_refuses_a_ct_environment_open_to_every_branch(dvc_checkout):
    """The write key lives in `ct`; an environment any branch can deploy to would hand it to that branch's code."""
    status, out, _ = run(
        dvc_checkout,
        "check-setup",
        responses=CONFIGURED
        | {"GET repos/octo/template/environments": {"environments": [{"name": "ci"}, {"name": "ct"}]}},
    )
    assert status == 1
    assert "missing  environment ct is open to every branch: Settings > Environments > ct > Deployment branches" in out


GATE_CHECK = "Gate (fails when the gate rejects the model)"
BRANCHES = {"protected_branches": True, "custom_branch_policies": False}
CONFIGURED = {
    "GET repos/octo/template": {"full_name": "octo/template"},
    "GET repos/octo/template/actions/permissions": {"enabled": True},
    "GET repos/octo/template/actions/permissions/workflow": {"can_approve_pull_request_reviews": True},
    "GET repos/octo/template/pages": {"build_type": "workflow"},
    "GET repos/octo/template/environments": {
        "environments": [{"name": "ci"}, {"name": "ct", "deployment_branch_policy": BRANCHES}]
    },
    "GET repos/octo/template/environments/ci/secrets": {"secrets": [{"name": "DVC_REMOTE_CONFIG"}]},
    "GET repos/octo/template/environments/ct/secrets": {
        "secrets": [{"name": "DVC_REMOTE_CONFIG"}, {"name": "CT_APP_PRIVATE_KEY"}]
    },
    "GET repos/octo/template/actions/variables/CT_APP_CLIENT_ID": {"value": "Iv1.x"},
    # one check required by classic branch protection, the other by a ruleset: both count
    "GET repos/octo/template/branches/main/protection/required_status_checks": {
        "contexts": ["Test, re-run the pipeline, report"]
    },
    "GET repos/octo/template/rules/branches/main": [
        {"type": "required_status_checks", "parameters": {"required_status_checks": [{"context": GATE_CHECK}]}}
    ],
}


@pytest.fixture
def dvc_checkout(tmp_path):
    """check-setup runs in a checkout: git and DVC initialised, no DVC remote yet."""
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=tmp_path, env=command_env(), check=True)
    return tmp_path


def test_check_setup_passes_on_a_fully_configured_fork(dvc_checkout):
    tmp_path = dvc_checkout
    subprocess.run(
        [sys.executable, "-m", "dvc", "remote", "add", "-d", "storage", str(tmp_path / "remote")],
        cwd=tmp_path,
        env=command_env(),
        check=True,
    )
    status, out, _ = run(tmp_path, "check-setup", responses=CONFIGURED)
    assert status == 0
    assert [line.split()[0] for line in out.splitlines()] == ["ok"] * 8
    assert "ok       environment ct (continuous training: DVC_REMOTE_CONFIG that can write, CT_APP_PRIVATE_KEY; " in out


def test_check_setup_names_a_repository_it_cannot_see(tmp_path):
    status, out, _ = run(tmp_path, "check-setup", "--repo", "octo/missing", responses={})
    assert status == 1 and "error: octo/missing: repository not found, or the token cannot see it" in out


def test_remote_credentials_are_written_for_dvc_only_when_given_and_never_printed(tmp_path):
    secret = "['remote \"storage\"']\n    access_key_id = AKIAEXAMPLE\n    secret_access_key = s3cr3t\n"
    env = {**command_env(), "DVC_REMOTE_CONFIG": secret}
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "remote-credentials"],
        cwd=tmp_path,
        env=env,
        text=True,
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0 and "s3cr3t" not in done.stdout + done.stderr
    written = tmp_path / ".dvc" / "config.local"
    assert written.read_text() == secret and written.stat().st_mode & 0o077 == 0

    env["DVC_REMOTE_CONFIG"] = "access_key_id = AKIA s3cr3t"  # pasted without its section
    bad = subprocess.run(
        [sys.executable, "-m", "pipeline", "remote-credentials", "--out", "other"],
        cwd=tmp_path,
        env=env,
        text=True,
        capture_output=True,
        check=False,
    )
    assert bad.returncode == 1 and "not in the format of .dvc/config.local" in bad.stderr
    assert "s3cr3t" not in bad.stdout + bad.stderr and not (tmp_path / "other").exists()

    env["DVC_REMOTE_CONFIG"] = ""
    none = subprocess.run(
        [sys.executable, "-m", "pipeline", "remote-credentials", "--out", "other"],
        cwd=tmp_path,
        env=env,
        text=True,
        capture_output=True,
        check=False,
    )
    assert none.returncode == 0 and "no DVC_REMOTE_CONFIG" in none.stdout and not (tmp_path / "other").exists()


def test_the_registry_starts_pages_on_main_once_the_tag_is_pushed(tmp_path):
    status, out, sent = run(tmp_path, "github", "dispatch", "pages.yml", "--ref", "main")
    assert (status, out.strip()) == (0, "dispatched pages.yml on main")
    assert sent == [
        {
            "method": "POST",
            "path": "repos/octo/template/actions/workflows/pages.yml/dispatches",
            "body": {"ref": "main"},
        }
    ]
