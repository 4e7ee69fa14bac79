"""The gate judges a challenger only against a champion of the same problem (issue 16, finding 8).

A fork whose `origin/main` is still the template must hear "no comparable champion" (exit 4) at once, not
wait a minute for the flights model to be rebuilt and then read "reject".
"""

from __future__ import annotations

import subprocess

import pytest
import yaml

from pipeline import gate
from pipeline.config import load_params
from tests.conftest import EXAMPLE


def commit(repo, params: dict | None) -> None:
    if params is not None:
        (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    (repo / "dvc.lock").write_text(
        "stages:\n  train:\n    outs:\n    - path: outputs/model/model.skops\n      md5: " + "a" * 32 + "\n"
    )
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base"], cwd=repo, check=True)


@pytest.fixture
def repo(tmp_path, monkeypatch):
    subprocess.run(["git", "init", "-q", "-b", "main", str(tmp_path)], check=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def example() -> dict:
    return yaml.safe_load((EXAMPLE / "params.yaml").read_text(encoding="utf-8"))


def ours(tmp_path, change) -> object:
    raw = example()
    change(raw)
    path = tmp_path / "ours.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return load_params(path)


def adopted(raw: dict) -> None:
    """What `init` does to the example's problem: another table, target and task."""
    raw["ingest"]["source"] = {"tables": {"cgm": {"path": "sources/cgm.csv", "time": "datetime"}}}
    raw["prepare"] |= {"batches": "cgm", "joins": []}
    raw["task"] = {"type": "regression", "target": {"column": "glucose"}}
    raw["features"] = {"categorical": [], "numeric": ["isig"], "identifiers": []}
    raw["evaluate"]["slices"]["columns"] = []
    raw["drift"]["critical"] = []
    raw["train"]["monotonic"] = {}
    raw["model_checks"] = {}


def test_a_champion_of_another_problem_is_no_champion_without_a_rebuild(repo, monkeypatch, tmp_path):
    commit(repo, example())
    params = ours(tmp_path, adopted)
    monkeypatch.setattr(
        gate, "fetch_or_rebuild_champion", lambda *a: pytest.fail("rebuilt a champion of another problem")
    )
    monkeypatch.setattr(gate, "champion_from_cache", lambda *a: pytest.fail("looked the champion up"))
    decision = gate.decide(params, "main", tmp_path)
    assert decision.decision == "no-champion" and gate.EXIT[decision.decision] == 4
    (reason,) = decision.as_json()["reasons"]
    assert reason.startswith(
        "passed: no comparable champion on main: its model predicts 'arr_delay' as 'arr_delay > 15'"
    )
    assert "this one 'glucose' (regression) from sources/cgm.csv" in reason


def test_a_base_without_params_is_no_comparable_champion(repo, tmp_path):
    commit(repo, None)
    decision = gate.decide(ours(tmp_path, lambda raw: None), "main", tmp_path)
    assert decision.decision == "no-champion"
    assert decision.as_json()["reasons"] == [
        "passed: no comparable champion on main: main has no params.yaml; the first model for this problem is "
        "promoted by review, not by the gate"
    ]


@pytest.mark.parametrize(
    "change",
    [
        lambda raw: raw["train"]["hyperparameters"].update(learning_rate=0.2),
        lambda raw: raw["features"]["numeric"].append("air_miles"),
    ],
    ids=["hyperparameters", "features"],
)
def test_the_same_problem_with_other_settings_is_judged(repo, tmp_path, change):
    commit(repo, example())
    assert gate.another_problem(ours(tmp_path, change), "main") is None
    positive = ours(tmp_path, lambda raw: raw["task"]["target"].update(threshold=30))
    assert "as 'arr_delay > 30'" in gate.another_problem(positive, "main")  # another label: another problem
