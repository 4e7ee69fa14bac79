"""`pipeline ct` in real clones with a local bare `origin`: GitHub requests are recorded, git is real.

`main` on origin is the template run on January and February (its dvc.lock pins that model, the champion),
so continuous training releases March. A challenger that is not better (no branch, no pull request, the
gate's reasons in the job summary) is a CT round on real data: tests/e2e/test_messy_adoptions.py.
"""

import json

import pytest

from pipeline.markdown import escape
from tests.repos import copy_run_origin, pipeline, sh

pytestmark = pytest.mark.e2e
REPO = "octo/template"


@pytest.fixture
def ct_repo(run_origin, tmp_path, monkeypatch):
    """A private copy of the clone and its origin; GitHub requests go to tmp_path/requests.jsonl."""
    work = copy_run_origin(run_origin, tmp_path / "ct")
    monkeypatch.setenv("PIPELINE_GITHUB_RECORD", str(tmp_path / "requests.jsonl"))
    return work


def ct(repo, tmp_path, *args, check=True):
    """Run `pipeline ct` as the workflow does; return the result, the job summary and the requests sent."""
    summary = tmp_path / "summary.md"
    summary.unlink(missing_ok=True)
    (tmp_path / "requests.jsonl").unlink(missing_ok=True)
    result = pipeline(
        "ct",
        "--repo",
        REPO,
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


def make_critical(repo, column: str) -> None:
    """Configure `drift.critical` on main, as a team does for a column whose drift alone matters."""
    path = repo / "params.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count("  critical: []") == 1
    path.write_text(text.replace("  critical: []", f"  critical: [{column}]"), encoding="utf-8")
    sh("git", "commit", "-qam", f"drift: {column} is critical", cwd=repo)
    sh("git", "push", "-q", "origin", "main", cwd=repo)


def test_a_better_model_is_pushed_as_a_branch_with_a_pull_request_and_never_twice(ct_repo, tmp_path):
    # The calendar columns shift with every month by construction and no longer count towards the share of
    # drifted columns (9 of 20 in March, under half); a team that cares about the weather says so.
    make_critical(ct_repo, "temp")
    main_before = heads(ct_repo)["main"]
    result, summary, sent = ct(ct_repo, tmp_path, "--dispatch-ci", "ci.yml")
    assert sorted(heads(ct_repo)) == ["ct/2013-03", "main"]
    assert heads(ct_repo)["main"] == main_before
    assert changed(ct_repo, "origin/main", "origin/ct/2013-03") == [
        "data.dvc",
        "data.release.yaml",
        "dvc.lock",
        "outputs/gate/decision.json",
        "outputs/gate/summary.md",
        "outputs/metrics/drift.json",
        "outputs/metrics/evaluate.json",
        "outputs/metrics/prepare.json",
        "outputs/metrics/slices.json",
        "outputs/metrics/validate.json",
        "outputs/plots/calibration.json",
        "outputs/plots/precision_recall.json",
        "outputs/plots/roc.json",
        "outputs/reports/data_quality.json",
        "outputs/reports/drift_alert.md",
    ]
    assert sh("git", "status", "--porcelain", cwd=ct_repo).stdout == ""  # nothing produced was left behind
    log = sh("git", "log", "--format=%s", "origin/main..origin/ct/2013-03", cwd=ct_repo).stdout
    assert log == "CT: retrain with 2013-03 (gate: promote)\n"

    body = (tmp_path / "body.md").read_text()
    pulls = "repos/octo/template/pulls?state=all&head=octo%3Act%2F2013-03&per_page=100"
    drift = json.loads(sh("git", "show", "origin/ct/2013-03:outputs/metrics/drift.json", cwd=ct_repo).stdout)
    alert = (ct_repo / "outputs" / "reports" / "drift_alert.md").read_text()
    assert drift["drifted"] is True  # March is warmer than January and February: one alert issue is opened
    assert drift["reason"] == "drifted: critical column(s) temp drifted"
    assert sent[:2] == [
        {"method": "GET", "path": "repos/octo/template/issues?state=open&per_page=100", "body": None},
        {
            "method": "POST",
            "path": "repos/octo/template/issues",
            "body": {"title": "Data drift detected in 2013-03", "body": alert},
        },
    ]
    assert alert.rstrip().endswith("<!-- drift-alert -->")
    assert sent[2:] == [
        {"method": "GET", "path": pulls, "body": None},
        {
            "method": "POST",
            "path": "repos/octo/template/pulls",
            "body": {
                "title": "CT: promote the model retrained with 2013-03",
                "head": "ct/2013-03",
                "base": "main",
                "body": body,
            },
        },
        {
            "method": "POST",
            "path": "repos/octo/template/actions/workflows/ci.yml/dispatches",
            "body": {"ref": "ct/2013-03"},
        },
    ]
    decision = json.loads(sh("git", "show", "origin/ct/2013-03:outputs/gate/decision.json", cwd=ct_repo).stdout)
    assert decision["decision"] == "promote" and decision["period"] == "2013-03"
    assert body.startswith("## Promote the model retrained with 2013-03\n\nCompared with <code>origin/main</code>.")
    assert "**Decision: promote** (period 2013-03" in body
    assert [reason for reason in decision["reasons"] if f"- {escape(reason)}" not in body] == []
    (tmp_path.parent / "ct-body-for-review.md").write_text(body)
    new = json.loads(sh("git", "show", "origin/ct/2013-03:outputs/metrics/evaluate.json", cwd=ct_repo).stdout)
    old = json.loads(sh("git", "show", "origin/main:outputs/metrics/evaluate.json", cwd=ct_repo).stdout)
    auc_new, auc_old = new["model"]["roc_auc"], old["model"]["roc_auc"]
    assert (
        f"| model.roc\\_auc | {auc_old['value']:.4g} | {auc_new['value']:.4g} | "
        f"{auc_new['value'] - auc_old['value']:+.4g} | [{auc_old['low']:.4g}, {auc_old['high']:.4g}] | "
        f"[{auc_new['low']:.4g}, {auc_new['high']:.4g}] |"
    ) in body
    assert "```mermaid" in body and "### Drift" in body
    assert "### Continuous training: 2013-03, gate says promote" in summary
    assert (
        "Pushed <code>ct/2013-03</code> (15 files). opened pull request #? for ct/2013-03; dispatched ci.yml" in summary
    )
    a_second_run_for_the_same_month_makes_no_second_branch_or_pull_request(ct_repo, tmp_path)


def a_second_run_for_the_same_month_makes_no_second_branch_or_pull_request(ct_repo, tmp_path):
    """The next scheduled run, after the one above pushed ct/2013-03 (one CT round serves both checks)."""
    branch = heads(ct_repo)["ct/2013-03"]
    fresh = tmp_path / "fresh"  # the next scheduled run starts from a fresh checkout of main
    sh("git", "clone", "-q", str(tmp_path / "ct" / "origin.git"), str(fresh), cwd=tmp_path)
    pulls = "repos/octo/template/pulls?state=all&head=octo%3Act%2F2013-03&per_page=100"
    (tmp_path / "responses.json").write_text(json.dumps({f"GET {pulls}": [{"number": 12, "state": "open"}]}))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PIPELINE_GITHUB_RESPONSES", str(tmp_path / "responses.json"))
        result, summary, sent = ct(fresh, tmp_path, "--dispatch-ci", "ci.yml")
    assert heads(fresh) == {"main": heads(ct_repo)["main"], "ct/2013-03": branch}
    assert sent == [{"method": "GET", "path": pulls, "body": None}]
    assert "### Continuous training: 2013-03 was proposed already" in summary
    assert "pull request #12 for ct/2013-03 exists already (open); none opened" in summary


def test_nothing_new_does_nothing(ct_repo, tmp_path):
    pipeline("ingest", "--through", "2013-12", cwd=ct_repo)
    sh("git", "commit", "-qam", "every month released", cwd=ct_repo)
    sh("git", "push", "-q", "origin", "main", cwd=ct_repo)
    head = sh("git", "rev-parse", "HEAD", cwd=ct_repo).stdout
    result, summary, sent = ct(ct_repo, tmp_path)
    assert summary == "### Continuous training: nothing new\n\nEvery period of the source is released already.\n"
    assert (sorted(heads(ct_repo)), sent) == (["main"], [])
    assert sh("git", "rev-parse", "HEAD", cwd=ct_repo).stdout == head
    assert sh("git", "status", "--porcelain", cwd=ct_repo).stdout == ""


def test_ct_refuses_to_run_in_a_checkout_with_uncommitted_changes(ct_repo, tmp_path):
    (ct_repo / "params.yaml").write_text((ct_repo / "params.yaml").read_text() + "\n")
    result, summary, sent = ct(ct_repo, tmp_path, check=False)
    assert result.returncode == 1 and "error: the working tree has uncommitted changes" in result.stderr
    assert (summary, sent) == ("", [])
