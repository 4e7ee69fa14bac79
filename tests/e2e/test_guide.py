"""The adoption guide (README.md, "Use this template for your data") runs as written, in the order it gives.

Every ```bash block of the section is joined into one script and run with bash (tests/e2e/conftest.py,
`replay_guide`), so a command the guide forgets, misspells or orders wrongly fails here. What GitHub or a cloud
would provide is stood in for locally, each substitution listed there with its reason; the commands themselves
are the guide's own. The same replay is the regression project of tests/e2e/test_task_types.py.
"""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.registry import pinned_md5
from tests.repos import sh


def test_the_guide_runs_from_use_this_template_to_the_first_promotion_pull_request(guide_run):
    said, repo, storage = guide_run.said["guide"], guide_run.repo, guide_run.storage
    assert "features: numeric isig; categorical (none); calendar weekday, hour" in said  # init's plan
    assert "released as table 'cgm' (of 8 available)" in said

    assert "TODO" in (repo / "site" / "model_card.md").read_text(encoding="utf-8")  # the stubs to fill in
    evaluate = json.loads((repo / "outputs" / "metrics" / "evaluate.json").read_text())
    assert evaluate["task"] == "regression" and evaluate["model"]["mae"]["value"] < evaluate["baseline"]["mae"]["value"]
    assert "glucose" in (repo / "site" / "build" / "model-card" / "index.html").read_text(encoding="utf-8")
    params = (repo / "params.yaml").read_text(encoding="utf-8")
    assert "type: regression" in params and "column: glucose" in params
    assert "Glucose from the sensor" in (repo / "site" / "build" / "index.html").read_text(encoding="utf-8")
    assert (
        sh("git", "log", "-1", "--format=%s", "origin/main", cwd=repo).stdout.strip()
        == "Adopt the template: glucose from the sensor"
    )
    assert any(storage.rglob("*")), "dvc push stored nothing in the remote"
    champion = sh("git", "show", "origin/main:dvc.lock", cwd=repo).stdout
    md5 = pinned_md5(champion, Path("outputs/model/model.skops"))
    assert (storage / "files" / "md5" / md5[:2] / md5[2:]).is_file()  # main's model: CI pulls it, the gate too
    requests = [json.loads(line) for line in (repo / "github-requests.jsonl").read_text().splitlines()]
    pulls = [r for r in requests if r["method"] == "POST" and r["path"].endswith("/pulls")]
    assert len(pulls) == 1 and pulls[0]["body"]["head"] == "ct/2010-09"
    assert "glucose" in pulls[0]["body"]["body"] or "mae" in pulls[0]["body"]["body"]
    assert sh("git", "ls-remote", str(guide_run.origin), "ct/2010-09", cwd=repo).stdout.strip()
    decision = json.loads((repo / "outputs" / "gate" / "decision.json").read_text())  # committed on ct/2010-09
    assert (decision["decision"], decision["period"], decision["primary"]["metric"]) == ("promote", "2010-09", "mae")
    drift = json.loads((repo / "outputs" / "metrics" / "drift.json").read_text())
    assert drift["current"] == "2010-09" and drift["prediction"]["test"] == "ks" and drift["columns"]
