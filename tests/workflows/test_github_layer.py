"""The GitHub layer: the exact requests each operation sends, recorded instead of sent (no network here)."""

import base64
import json
import os
import subprocess

import pytest

from pipeline import github
from pipeline.errors import PipelineError
from pipeline.github import Recorder, Request

REPO = "octo/template"


@pytest.fixture
def api(tmp_path):
    """A recorder with canned GET responses the test fills in before use."""
    responses = tmp_path / "responses.json"
    responses.write_text("{}")
    return Recorder(tmp_path / "requests.jsonl", responses)


def sent(api) -> list[dict]:
    return [json.loads(line) for line in api.record.read_text().splitlines()] if api.record.exists() else []


def test_a_comment_is_created_once_with_its_marker(api):
    assert github.upsert_comment(api, repo=REPO, number=7, body="## Metrics") == "created a comment"
    assert sent(api) == [
        {"method": "GET", "path": "repos/octo/template/issues/7/comments?per_page=100", "body": None},
        {
            "method": "POST",
            "path": "repos/octo/template/issues/7/comments",
            "body": {"body": "<!-- pipeline:pr-comment -->\n## Metrics"},
        },
    ]


def test_the_comment_carrying_the_marker_is_updated_in_place(api):
    api.responses["GET repos/octo/template/issues/7/comments?per_page=100"] = [
        {"id": 11, "body": "LGTM", "user": {"login": "alice"}},
        {"id": 12, "body": "<!-- pipeline:pr-comment -->\nold", "user": {"login": "github-actions[bot]"}},
    ]
    assert github.upsert_comment(api, repo=REPO, number=7, body="new") == "updated comment 12"
    assert sent(api)[1] == {
        "method": "PATCH",
        "path": "repos/octo/template/issues/comments/12",
        "body": {"body": "<!-- pipeline:pr-comment -->\nnew"},
    }
    assert len(sent(api)) == 2


def test_a_pull_request_is_opened_only_when_none_exists_for_the_branch(api):
    assert (
        github.open_pull_request(api, repo=REPO, head="ct/2013-07", base="main", title="CT: 2013-07", body="body")
        == "opened pull request #? for ct/2013-07"
    )
    lookup = {
        "method": "GET",
        "path": "repos/octo/template/pulls?state=all&head=octo%3Act%2F2013-07&per_page=100",
        "body": None,
    }
    assert sent(api) == [
        lookup,
        {
            "method": "POST",
            "path": "repos/octo/template/pulls",
            "body": {"title": "CT: 2013-07", "head": "ct/2013-07", "base": "main", "body": "body"},
        },
    ]
    api.responses["GET " + lookup["path"]] = [{"number": 5, "state": "closed", "merged_at": None}]
    assert (
        github.open_pull_request(api, repo=REPO, head="ct/2013-07", base="main", title="CT: 2013-07", body="body")
        == "pull request #5 for ct/2013-07 exists already (closed); none opened"
    )
    assert sent(api)[2:] == [lookup]


def test_the_drift_issue_is_found_by_its_marker_and_pull_requests_are_ignored(api):
    api.responses["GET repos/octo/template/issues?state=open&per_page=100"] = [
        {
            "number": 3,
            "body": "<!-- drift-alert --> a PR",
            "pull_request": {},
            "user": {"login": "github-actions[bot]"},
        },
        {"number": 4, "body": "## Drift\n<!-- drift-alert -->", "user": {"login": "github-actions[bot]"}},
    ]
    assert (
        github.upsert_issue(
            api, repo=REPO, title="Drift in 2013-07", body="## Drift\n<!-- drift-alert -->", marker=github.DRIFT_MARKER
        )
        == "updated issue #4"
    )
    assert sent(api)[1] == {
        "method": "PATCH",
        "path": "repos/octo/template/issues/4",
        "body": {"title": "Drift in 2013-07", "body": "## Drift\n<!-- drift-alert -->"},
    }


def test_a_new_drift_issue_is_opened_when_none_carries_the_marker(api):
    api.responses["GET repos/octo/template/issues?state=open&per_page=100"] = [{"number": 1, "body": "bug"}]
    github.upsert_issue(api, repo=REPO, title="Drift", body="text", marker=github.DRIFT_MARKER)
    assert sent(api)[1] == {
        "method": "POST",
        "path": "repos/octo/template/issues",
        "body": {"title": "Drift", "body": "<!-- drift-alert -->\ntext"},
    }


def test_a_pull_request_number_must_match_the_runs_head_commit(api):
    sha = "a" * 40
    api.responses["GET repos/octo/template/pulls/7"] = {"state": "open", "head": {"sha": sha}}
    github.check_pull_request(api, REPO, 7, sha)
    with pytest.raises(PipelineError, match="is not the open pull request of commit"):
        github.check_pull_request(api, REPO, 7, "b" * 40)
    with pytest.raises(PipelineError, match="expected 40 hexadecimal digits"):
        github.check_pull_request(api, REPO, 7, "main")


@pytest.mark.parametrize(
    "value",
    ["0", "-3", "7; rm -rf /", "1e3", "", "12345678901", "７"],
    ids=["zero", "negative", "injection", "float", "empty", "too-long", "fullwidth"],
)
def test_untrusted_pull_request_numbers_are_refused(value):
    with pytest.raises(PipelineError, match="expected a positive integer"):
        github.check_number(value)


def test_a_pull_request_number_with_a_newline_from_a_file_is_accepted():
    assert github.check_number("42\n") == 42


@pytest.mark.parametrize("repo", ["octo", "octo/template/x", "../etc", "octo/..", "-x/y", "octo/a b"])
def test_bad_repository_names_are_refused(repo):
    with pytest.raises(PipelineError, match="expected OWNER/NAME"):
        github.check_repo(repo)


@pytest.mark.parametrize("branch", ["-f", "a..b", "a b", "x.lock", "ct/", "$(id)"])
def test_bad_branch_names_are_refused(branch):
    with pytest.raises(PipelineError, match="not a plain branch name"):
        github.check_branch(branch)


def test_bodies_are_cut_to_githubs_limit_with_a_note():
    body = github.with_marker("x" * 100_000, github.COMMENT_MARKER)
    assert len(body) == github.MAX_BODY
    assert body.startswith(github.COMMENT_MARKER + "\nxxx")
    assert body.endswith("*(cut: the body had 100,029 characters; GitHub accepts 65,000)*\n")


def test_a_request_is_one_gh_api_command_with_the_body_on_stdin():
    assert Request("POST", "repos/o/r/issues", {"title": "$(id)"}).command() == [
        "gh",
        "api",
        "--method",
        "POST",
        "-H",
        "Accept: application/vnd.github+json",
        "-H",
        "X-GitHub-Api-Version: 2022-11-28",
        "repos/o/r/issues",
        "--input",
        "-",
    ]
    assert Request("GET", "repos/o/r/pulls/1").command()[:3] == ["gh", "api", "--paginate"]


def test_paginated_output_is_joined_into_one_list():
    assert github.parse_pages('[{"id": 1}]\n[{"id": 2}][]') == [{"id": 1}, {"id": 2}]
    assert github.parse_pages('{"state": "open"}') == {"state": "open"}
    assert github.parse_pages("") is None


def test_the_environment_selects_the_recorder(monkeypatch, tmp_path):
    monkeypatch.setenv("PIPELINE_GITHUB_RECORD", str(tmp_path / "r.jsonl"))
    assert isinstance(github.client(), Recorder)
    monkeypatch.delenv("PIPELINE_GITHUB_RECORD")
    assert isinstance(github.client(), github.Gh)


def test_a_strangers_comment_carrying_the_marker_is_never_edited(api):
    """Anyone can paste the hidden marker; only the bot's own comment is updated (found by marker and author)."""
    api.responses["GET repos/octo/template/issues/7/comments?per_page=100"] = [
        {"id": 11, "body": "<!-- pipeline:pr-comment -->\nhijack", "user": {"login": "mallory"}},
    ]
    assert github.upsert_comment(api, repo=REPO, number=7, body="new") == "created a comment"
    assert [r["method"] for r in sent(api)] == ["GET", "POST"]


def test_a_strangers_issue_carrying_the_drift_marker_is_never_edited(api):
    api.responses["GET repos/octo/template/issues?state=open&per_page=100"] = [
        {"number": 4, "body": "<!-- drift-alert -->\nmine now", "user": {"login": "mallory"}},
    ]
    assert github.upsert_issue(api, repo=REPO, title="Drift", body="text", marker=github.DRIFT_MARKER).startswith(
        "opened issue"
    )
    assert [r["method"] for r in sent(api)] == ["GET", "POST"]


def test_an_apps_bot_login_is_the_author_looked_for(api, monkeypatch):
    monkeypatch.setenv("PIPELINE_BOT_LOGIN", "my-ct-app[bot]")
    api.responses["GET repos/octo/template/issues?state=open&per_page=100"] = [
        {"number": 4, "body": "<!-- drift-alert -->", "user": {"login": "github-actions[bot]"}},
        {"number": 5, "body": "<!-- drift-alert -->", "user": {"login": "my-ct-app[bot]"}},
    ]
    assert (
        github.upsert_issue(api, repo=REPO, title="Drift", body="t", marker=github.DRIFT_MARKER) == "updated issue #5"
    )


def test_symlinks_and_special_files_in_an_artifact_are_refused(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("token")
    (tmp_path / "artifact").mkdir()
    (tmp_path / "artifact" / "body.md").symlink_to(secret)
    with pytest.raises(PipelineError, match="refused, cannot be read \\(a symbolic link\\)"):
        github.read_untrusted(tmp_path / "artifact" / "body.md", 100)
    (tmp_path / "linked").symlink_to(tmp_path / "artifact", target_is_directory=True)
    (tmp_path / "artifact" / "plain.md").write_text("ok")
    with pytest.raises(PipelineError, match="its folder is"):
        github.read_untrusted(tmp_path / "linked" / "plain.md", 100)
    os.mkfifo(tmp_path / "artifact" / "fifo")
    with pytest.raises(PipelineError, match="not a regular file"):
        github.read_untrusted(tmp_path / "artifact" / "fifo", 100)
    assert github.read_untrusted(tmp_path / "artifact" / "plain.md", 100) == "ok"


def test_git_gets_the_token_for_a_github_origin_through_its_environment_only(tmp_path, monkeypatch):
    """Checkouts keep no token (persist-credentials: false): fetch and push get it as an HTTP header, through
    git's GIT_CONFIG_* variables, never on a command line or on disk; other origins use git's own."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "remote", "add", "origin", "https://github.com/octo/template.git"], cwd=tmp_path, check=True)
    monkeypatch.setenv("GH_TOKEN", "ghs_secret")
    assert github.auth_environment(tmp_path) == {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.https://github.com/.extraheader",
        "GIT_CONFIG_VALUE_0": "AUTHORIZATION: basic " + base64.b64encode(b"x-access-token:ghs_secret").decode(),
    }
    assert "ghs_secret" not in (tmp_path / ".git" / "config").read_text()
    subprocess.run(["git", "remote", "set-url", "origin", str(tmp_path / "bare.git")], cwd=tmp_path, check=True)
    assert github.auth_environment(tmp_path) == {}
    monkeypatch.delenv("GH_TOKEN")
    subprocess.run(
        ["git", "remote", "set-url", "origin", "https://github.com/octo/template.git"], cwd=tmp_path, check=True
    )
    assert github.auth_environment(tmp_path) == {}
