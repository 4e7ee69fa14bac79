"""Monitoring the live model (pipeline/monitor.py): the alert rules, the record on its data branch, the issues,
the site's page and the gate's cost check."""

import json
import subprocess
import sys

import pytest

from pipeline import github, monitor
from pipeline.config import Gate, Monitor
from pipeline.gate import Decision, cost_check
from pipeline.report import monitoring
from tests.conftest import ROOT, command_env

HIGHER, LOWER = 1, -1


def record(value=0.70, low=0.69, high=0.71, promoted=(0.75, 0.74, 0.76), period="2013-09", evaluated_on="2013-06"):
    """A round's record as `round_record` writes it, with the numbers that matter here."""
    at_promotion = dict(zip(("value", "low", "high"), promoted, strict=True)) if promoted else None
    return {
        "format": 1,
        "period": period,
        "metric": "roc_auc",
        "decision": "reject",
        "reasons": ["failed: roc_auc ..."],
        "live": {
            "model_md5": "0123456789abcdef",
            "version": "model@v1.2.0",
            "evaluated_on": evaluated_on,
            "at_promotion": at_promotion,
            "on_period": {"value": value, "low": low, "high": high},
        },
        "challenger": {"on_period": None, "training": {"rows": 1000, "fit_seconds": 1.5, "peak_mb": 300.0}},
        "scoring": None,
        "drift": {"drifted": False, "share": 0.25},
        "labels": {"labelled": 900, "unlabelled": 100, "rate": 0.9},
    }


def test_decay_below_the_floor_is_raised_even_when_nothing_drifted():
    assert monitor.decay(record(value=0.76), Monitor(floor=0.8, margin=1.0), HIGHER) == [
        "roc_auc 0.7600 on 2013-09 is worse than the floor 0.8"
    ]
    assert monitor.decay(record(value=0.81), Monitor(floor=0.8, margin=1.0), HIGHER) == []


def test_decay_below_the_interval_at_promotion_by_more_than_the_margin():
    (reason,) = monitor.decay(record(value=0.70), Monitor(margin=0.02), HIGHER)  # 0.74 - 0.02 = 0.72 > 0.70
    assert "worse than 0.7200, the worst end of its interval at promotion (0.7400 to 0.7600)" in reason
    assert monitor.decay(record(value=0.73), Monitor(margin=0.02), HIGHER) == []


def test_decay_of_an_error_metric_is_upwards():
    """For an error (lower is better) the worst end of the interval is its high end, and worse means above."""
    rec = record(value=12.0, promoted=(10.0, 9.5, 10.5))
    assert len(monitor.decay(rec, Monitor(floor=11.0, margin=1.0), LOWER)) == 2  # above 11, above 10.5 + 1.0
    assert monitor.decay(record(value=11.0, promoted=(10.0, 9.5, 10.5)), Monitor(margin=1.0), LOWER) == []


def test_no_decay_without_a_score_or_a_promotion_interval():
    unscored = record()
    unscored["live"]["on_period"] = None
    assert monitor.decay(unscored, Monitor(floor=0.99), HIGHER) == []
    assert monitor.decay(record(promoted=None), Monitor(margin=0.0), HIGHER) == []


def test_a_live_model_is_stale_after_more_periods_than_max_age():
    seen = ["2013-05", "2013-06", "2013-07", "2013-08", "2013-09", "2013-10"]
    assert monitor.stale(record(evaluated_on="2013-07"), seen, Monitor(max_age=3)) is None  # 3 newer
    why = monitor.stale(record(evaluated_on="2013-06"), seen, Monitor(max_age=3))
    assert why.startswith("the live model was evaluated on 2013-06; 4 periods arrived since (2013-07 to 2013-10)")


def git(*args, cwd):
    return subprocess.run(["git", *args], cwd=cwd, env=command_env(), text=True, capture_output=True, check=True).stdout


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    """A clone of a bare origin with one commit on main; the process works in it as CT does."""
    git("init", "-q", "--bare", "origin.git", cwd=tmp_path)
    work = tmp_path / "work"
    git("clone", "-q", str(tmp_path / "origin.git"), str(work), cwd=tmp_path)
    (work / "README.md").write_text("project\n")
    git("add", "README.md", cwd=work)
    git("commit", "-qm", "start", cwd=work)
    git("push", "-q", "origin", "HEAD:main", cwd=work)
    monkeypatch.chdir(work)
    for name, value in command_env().items():
        monkeypatch.setenv(name, value)
    return work


def test_records_go_to_their_branch_on_origin_and_never_touch_the_checkout(checkout):
    head = git("rev-parse", "HEAD", cwd=checkout)
    first = monitor.store(record(period="2013-07"), "monitoring", github.push)
    second = monitor.store(record(period="2013-08", value=0.6), "monitoring", github.push)
    assert git("rev-parse", "HEAD", cwd=checkout) == head and git("status", "--porcelain", cwd=checkout) == ""
    assert git("ls-remote", "origin", "refs/heads/monitoring", cwd=checkout).split()[0] == second
    assert git("rev-parse", f"{second}^", cwd=checkout).strip() == first  # one history, a commit per round
    assert git("ls-tree", "--name-only", "origin/monitoring:rounds", cwd=checkout).split() == [
        "2013-07.json",
        "2013-08.json",
    ]
    found = monitor.records("monitoring", cwd=checkout)
    assert [r["period"] for r in found] == ["2013-07", "2013-08"]
    assert found[1]["live"]["on_period"]["value"] == 0.6


def test_no_branch_means_no_records(checkout):
    assert monitor.records("monitoring", cwd=checkout) == []


def test_a_malformed_record_is_named(checkout):
    monitor.store(record(period="2013-07"), "monitoring", lambda ref: None)
    blob = subprocess.run(
        ["git", "hash-object", "-w", "--stdin"], input="{not json", text=True, capture_output=True, check=True
    ).stdout.strip()
    git("read-tree", "monitoring", cwd=checkout)  # a hand-made bad commit on the branch
    git("update-index", "--add", "--cacheinfo", f"100644,{blob},rounds/2013-08.json", cwd=checkout)
    tree = git("write-tree", cwd=checkout).strip()
    git("read-tree", "HEAD", cwd=checkout)
    commit = git("commit-tree", tree, "-p", "monitoring", "-m", "bad", cwd=checkout).strip()
    git("update-ref", "refs/heads/monitoring", commit, cwd=checkout)
    with pytest.raises(Exception, match=r"monitoring:rounds/2013-08.json: not valid JSON"):
        monitor.records("monitoring", cwd=checkout)


def issue_requests(tmp_path, params, rec, responses=None):
    """Run `watch` with the recorded GitHub layer; the requests it sent."""
    answers = tmp_path / "responses.json"
    answers.write_text(json.dumps(responses or {}))
    api = github.Recorder(tmp_path / "requests.jsonl", answers)
    said = monitor.watch(params, rec, api, "octo/template", github.upsert_issue)
    sent = [json.loads(line) for line in (tmp_path / "requests.jsonl").read_text().splitlines()] if said else []
    return said, sent


def test_decay_opens_one_issue_then_updates_it(params, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    floor = params.model_copy(update={"monitor": Monitor(floor=0.8)})
    rec = record(period="2013-07")
    said, sent = issue_requests(tmp_path, floor, rec)
    assert said == ["Model decay: opened issue #?."] and rec["alerts"] == ["decay (opened issue #?)"]
    assert [(r["method"], r["path"]) for r in sent] == [
        ("GET", "repos/octo/template/issues?state=open&per_page=100"),
        ("POST", "repos/octo/template/issues"),
    ]
    body = sent[1]["body"]["body"]
    assert sent[1]["body"]["title"] == "Model decay: roc_auc on 2013-07"
    assert monitor.DECAY_MARKER in body and "worse than the floor 0.8" in body

    (tmp_path / "requests.jsonl").unlink()
    open_issue = {"number": 7, "body": body, "user": {"login": github.DEFAULT_BOT}}
    said, sent = issue_requests(tmp_path, floor, record(period="2013-08"), {f"GET {sent[0]['path']}": [open_issue]})
    assert said == ["Model decay: updated issue #7."]
    assert [(r["method"], r["path"]) for r in sent][1] == ("PATCH", "repos/octo/template/issues/7")


def test_nothing_decays_nothing_is_sent(params, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rec = record(value=0.75, period="2013-07")
    assert issue_requests(tmp_path, params, rec) == ([], []) and rec["alerts"] == []


def test_a_stale_model_opens_its_own_issue(params, checkout, tmp_path):
    """Stale counts the periods the rounds saw (their records), rejected rounds included."""
    for period in ("2013-07", "2013-08", "2013-09"):
        monitor.store(record(value=0.75, period=period), params.monitor.branch, github.push)
    said, sent = issue_requests(tmp_path, params, record(value=0.75, period="2013-10"))
    assert said == ["Stale model: opened issue #?."]
    assert sent[1]["body"]["title"] == "Stale model: no promotion since 2013-06"
    assert monitor.STALE_MARKER in sent[1]["body"]["body"]
    assert "4 periods arrived since (2013-07 to 2013-10)" in sent[1]["body"]["body"]


def test_the_page_shows_every_round_and_escapes_what_it_shows():
    bad = record(period="2013-08")
    bad["live"]["version"] = "<script>alert(1)</script>"
    bad["alerts"] = ["decay (opened issue #3)"]
    page, figure = monitoring.render(
        [record(period="2013-07", value=0.75, low=0.74, high=0.76), bad],
        branch="monitoring",
        floor=0.72,
        margin=0.02,
        reason=None,
    )
    assert figure.startswith(b"\x89PNG")
    assert "| 2013-07 | model@v1.2.0 | 0.750 (0.740–0.760) | 0.750 (0.740–0.760) | reject | 25% | 90% | none |" in page
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "- 2013-08: decay (opened issue \\#\u20603)" in page  # escaped: no link, no mention
    assert "| 2013-08 | 1,000 | 1.5 | 300 |" in page  # the cost table


def test_the_page_says_when_there_is_no_record():
    page, figure = monitoring.render([], branch="monitoring", floor=None, margin=0.02, reason="no branch yet")
    assert figure is None and "Not available yet" in page and "no branch yet" in page


@pytest.mark.parametrize(
    ("mode", "passed", "words"),
    [("warn", True, "warning: the challenger scores 100 rows/s"), ("reject", False, "the challenger scores 100")],
)
def test_a_slower_or_larger_challenger_is_flagged(mode, passed, words):
    gate = Gate(min_delta=0, margin=0, max_slice_drop=0, max_calibration_increase=0, min_rows=1, cost=mode)
    decision = Decision("reject", "main")
    cost_check(gate, decision, rate={"challenger": 100.0, "champion": 1000.0}, sizes={"challenger": 5, "champion": 5})
    (check,) = decision.checks
    assert check["passed"] is passed and check["detail"].startswith(words)
    assert decision.cost["challenger"] == {"rows_per_second": 100.0, "model_bytes": 5}


def test_a_challenger_within_the_factors_passes_without_warning():
    gate = Gate(min_delta=0, margin=0, max_slice_drop=0, max_calibration_increase=0, min_rows=1, cost="reject")
    decision = Decision("reject", "main")
    cost_check(gate, decision, rate={"challenger": 900.0, "champion": 1000.0}, sizes={"challenger": 7, "champion": 5})
    (check,) = decision.checks
    assert check["passed"] and not check["detail"].startswith("warning")


def test_ct_and_monitor_judge_a_metric_without_loading_scikit_learn():
    """`pipeline ct` runs every round and `pipeline monitor` on demand; neither computes a metric (the run and the
    gate did), so neither pays scikit-learn's import: about a second of CPU per process (pipeline/config.py)."""
    heavy = ["sklearn", "scipy.stats", "matplotlib"]
    code = f"import sys, pipeline.ct, pipeline.monitor; print([m for m in {heavy!r} if m in sys.modules])"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=command_env(), capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr
