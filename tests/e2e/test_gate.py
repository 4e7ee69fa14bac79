"""The champion/challenger gate with real git and DVC: origin's `main` pins a champion, branches challenge it.

The champion is deliberately overfitted (learning rate 0.5 for 300 rounds), so the template's own
hyper-parameters are a better challenger and a crippled model a worse one; all are trained on January and
judged on February. The better challenger is the shared run of the template's own params (`ran_clone`), whose
cache never held the champion, so the gate rebuilds it from `main`; that a run in another clone gives the same
bytes is the project's own test (tests/project/test_pipeline.py, in CI's fresh clone). The better challenger is better overall but a little worse for one carrier: a tighter slice guard-rail must
catch that. A challenger not proven better is rejected end to end by a continuous-training round on real data
(tests/e2e/test_messy_adoptions.py), and each rule by the unit tests on synthetic models (tests/unit/test_gate.py).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import EXAMPLE
from tests.repos import pipeline, sh, shared

OVERFIT = {"max_iter": 300, "learning_rate": 0.5}
WORSE = {"max_iter": 1, "max_leaf_nodes": 2}
DEFAULT = yaml.safe_load((EXAMPLE / "params.yaml").read_text())["train"]["hyperparameters"]


def set_params(repo: Path, section: str, values: dict) -> None:
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params[section] |= values
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def set_hyperparameters(repo: Path, values: dict) -> None:
    set_params(repo, "train", {"hyperparameters": {**DEFAULT, **values}})


def commit_all(repo: Path, message: str) -> None:
    sh("git", "add", "-A", cwd=repo)
    sh("git", "commit", "-qm", message, cwd=repo)


def gate(repo: Path, *args: str) -> tuple[int, dict, str]:
    """Run `pipeline gate`; return its exit status, decision file and summary."""
    status = pipeline("gate", *args, cwd=repo, check=False).returncode
    out = repo / "outputs" / "gate"
    return status, json.loads((out / "decision.json").read_text()), (out / "summary.md").read_text()


@pytest.fixture(scope="session")
def arena(origin, ran_clone, tmp_path_factory) -> tuple[Path, Path]:
    """A private origin whose `main` pins the overfitted champion, and the clone that built it (champion cached).

    The clone is a copy of the template's own run (`ran_clone`) retrained with the overfitting hyper-parameters:
    `dvc repro` re-runs only what they change, where a fresh clone would release and check the data again.
    Built once per session, whichever xdist worker asks first; read-only (tests change copies of it).
    """

    def build(root: Path) -> Path:
        bare = Path(shutil.copytree(origin, root / "origin.git"))
        dev = Path(shutil.copytree(ran_clone, root / "dev", symlinks=True))
        sh("git", "remote", "set-url", "origin", str(bare), cwd=dev)
        for name in ("dvc.lock", "params.yaml"):  # the template's own run, a challenger for the tests below
            shutil.copyfile(dev / name, root / f"template.{name}")
        set_hyperparameters(dev, OVERFIT)
        pipeline("run", "--no-site", cwd=dev)
        commit_all(dev, "overfitted champion")
        sh("git", "push", "-q", "origin", "main", cwd=dev)
        return root

    root = shared(tmp_path_factory, "gate-arena", build)
    return root / "origin.git", root / "dev"


def challenge_with_the_template_model(dev: Path, arena: tuple[Path, Path]) -> None:
    """Make the working tree's model the template's own run (before the overfitting), from the DVC cache: a
    challenger that is not the champion, so the gate judges it (the very same bytes would be `unchanged`)."""
    for name in ("dvc.lock", "params.yaml"):
        shutil.copyfile(arena[1].parent / f"template.{name}", dev / name)
    sh("dvc", "checkout", "--quiet", cwd=dev)


@pytest.fixture
def dev_copy(arena, tmp_path) -> Path:
    """A copy of the clone that built the champion (its DVC cache holds it), free to change."""
    return Path(shutil.copytree(arena[1], tmp_path / "dev", symlinks=True))


def test_a_better_challenger_is_promoted_even_when_the_champion_must_be_rebuilt(arena, ran_clone, tmp_path):
    # The challenger: the example's own params run in another clone (`ran_clone`), as a pull request that undoes
    # the overfitting would. That clone's cache never held the overfitted champion: the gate must rebuild it.
    repo = Path(shutil.copytree(ran_clone, tmp_path / "challenger", symlinks=True))
    sh("git", "remote", "set-url", "origin", str(arena[0]), cwd=repo)
    sh("git", "fetch", "-q", "origin", cwd=repo)
    assert yaml.safe_load((repo / "params.yaml").read_text())["train"]["hyperparameters"] == DEFAULT
    status, decision, summary = gate(repo)
    assert (status, decision["decision"]) == (0, "promote"), summary
    assert decision["base"] == "origin/main" and decision["period"] == "2013-02"
    assert decision["primary"]["delta"] >= 0.002 and decision["primary"]["low"] > 0
    assert all(check["passed"] for check in decision["checks"])
    assert summary.startswith("### Gate: promote\n")
    assert "roc\\_auc" in summary and "paired interval" in summary
    assert sh("git", "worktree", "list", cwd=repo).stdout.count("\n") == 1  # the rebuild's worktree is gone

    set_params(repo, "gate", {"max_slice_drop": 0.01})  # the same models, a stricter guard-rail
    status, decision, _ = gate(repo)
    assert (status, decision["decision"]) == (3, "reject")
    failed = [check["check"] for check in decision["checks"] if not check["passed"]]
    assert failed == ["slices"], decision["reasons"]  # the overall metric still improves


def test_a_pull_request_that_leaves_the_model_alone_is_not_judged(dev_copy):
    """A change of docs or code with the same model bytes: nothing to judge, so the check Gate passes."""
    status, decision, summary = gate(dev_copy)  # the working tree is main: the very same model
    assert (status, decision["decision"]) == (5, "unchanged")
    assert decision["primary"] is None and decision["rows"] is None  # no champion fetched, nothing scored
    assert "this model is the one origin/main pins" in summary


def test_a_first_run_has_no_champion(dev_copy):
    sh("git", "checkout", "-qb", "before-any-model", cwd=dev_copy)
    sh("git", "rm", "-q", "dvc.lock", cwd=dev_copy)
    sh("git", "commit", "-qm", "no model yet", cwd=dev_copy)
    sh("git", "checkout", "-q", "main", cwd=dev_copy)
    status, decision, summary = gate(dev_copy, "--base", "before-any-model")
    assert (status, decision["decision"]) == (4, "no-champion")
    assert "pins no model yet" in summary


@pytest.mark.parametrize(
    ("break_base", "reason"),
    [
        (
            lambda repo: _commit_metrics(repo, {"model": {"roc_auc": 0.7}}),
            "failed: the champion's evaluate.json is format 1",
        ),
        (
            lambda repo: _commit_lock(repo, "0" * 32),
            "failed: the champion pinned by broken could not be found or rebuilt",
        ),
    ],
    ids=["old-metrics-format", "champion-cannot-be-rebuilt"],
)
def test_a_champion_that_cannot_be_compared_means_reject(arena, dev_copy, break_base, reason):
    sh("git", "checkout", "-qb", "broken", cwd=dev_copy)
    break_base(dev_copy)
    sh("git", "checkout", "-q", "main", cwd=dev_copy)
    challenge_with_the_template_model(dev_copy, arena)
    status, decision, _ = gate(dev_copy, "--base", "broken")
    assert (status, decision["decision"]) == (3, "reject")
    assert any(r.startswith(reason) for r in decision["reasons"]), decision["reasons"]


def test_too_few_labelled_rows_to_decide_means_reject(arena, dev_copy):
    challenge_with_the_template_model(dev_copy, arena)
    set_params(dev_copy, "gate", {"min_rows": 1_000_000})
    status, decision, _ = gate(dev_copy)
    assert (status, decision["decision"]) == (3, "reject")
    assert decision["reasons"][-1].startswith("failed: ") and "at least 1000000 needed" in decision["reasons"][-1]


def test_the_gate_refuses_a_model_the_pipeline_did_not_produce(dev_copy):
    (dev_copy / "outputs" / "model" / "model.skops").write_bytes(b"not the pinned model")
    result = pipeline("gate", cwd=dev_copy, check=False)
    assert result.returncode == 1
    assert "not the model dvc.lock pins; run the pipeline" in result.stderr


def _commit_metrics(repo: Path, metrics: dict) -> None:
    (repo / "outputs" / "metrics" / "evaluate.json").write_text(json.dumps(metrics))
    commit_all(repo, "metrics from an older template")


def _commit_lock(repo: Path, md5: str) -> None:
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    for out in lock["stages"]["train"]["outs"]:
        out["md5"] = md5
    (repo / "dvc.lock").write_text(yaml.safe_dump(lock, sort_keys=False))
    commit_all(repo, "pins a model nobody can rebuild")
