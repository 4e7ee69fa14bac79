"""The registry is git: `pipeline registry tag` and `pipeline registry` in real repositories with a bare origin.

A promotion here is what the merge of a promotion pull request leaves on `main`: a commit whose `dvc.lock` pins
a new model md5 and whose `outputs/metrics/evaluate.json` holds its metrics. No DVC run is needed: the
registry reads git alone.
"""

import json
import re
import shutil

import pytest
import yaml

from tests.conftest import EXAMPLE
from tests.repos import pipeline, sh

pytestmark = pytest.mark.e2e

FORMAT_1 = {
    "model": {"roc_auc": 0.71, "average_precision": 0.55},
    "baseline": {"roc_auc": 0.5},
    "rows": 100,
    "threshold": 0.3,
}
FORMAT_2 = {
    "format": 2,
    "task": "binary",
    "primary": "roc_auc",
    "rows": 100,
    "threshold": 0.31,
    "model": {
        "roc_auc": {"value": 0.75, "low": 0.744, "high": 0.757},
        "average_precision": {"value": 0.59, "low": 0.58, "high": 0.6},
    },
    "baseline": {"roc_auc": {"value": 0.5, "low": 0.5, "high": 0.5}},
}


def lock(md5: str) -> str:
    """A dvc.lock whose train stage pins a model with this md5 (the field the registry reads)."""
    return yaml.safe_dump(
        {
            "schema": "2.0",
            "stages": {
                "train": {
                    "cmd": "python -m pipeline.train",
                    "outs": [{"path": "outputs/model/model.skops", "hash": "md5", "md5": md5}],
                }
            },
        }
    )


def commit(repo, message: str, files: dict[str, str]) -> str:
    for name, content in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(content)
    sh("git", "add", "-A", cwd=repo)
    sh("git", "commit", "-qm", message, cwd=repo)
    return sh("git", "rev-parse", "HEAD", cwd=repo).stdout.strip()


def promote(repo, md5: str, metrics: dict, decision: dict | None = None) -> str:
    """The merge of a promotion: a new model pinned, its metrics (and the gate's decision) committed."""
    files = {"dvc.lock": lock(md5), "outputs/metrics/evaluate.json": json.dumps(metrics)}
    if decision:
        files["outputs/gate/decision.json"] = json.dumps(decision)
    return commit(repo, f"Promote {md5}", files)


def listing(repo) -> list[dict]:
    return json.loads(pipeline("registry", "--json", cwd=repo).stdout)


def tag(repo, *args: str) -> str:
    return pipeline("registry", "tag", *args, cwd=repo).stdout.strip()


@pytest.fixture
def repo(tmp_path):
    """A clone of a bare origin holding the template's params.yaml and nothing registered yet."""
    seed = tmp_path / "seed"
    seed.mkdir()
    shutil.copy(EXAMPLE / "params.yaml", seed / "params.yaml")
    sh("git", "init", "-q", "-b", "main", cwd=seed)
    commit(seed, "template", {"README.md": "template\n"})
    sh("git", "clone", "-q", "--bare", str(seed), str(tmp_path / "origin.git"), cwd=tmp_path)
    sh("git", "clone", "-q", str(tmp_path / "origin.git"), str(tmp_path / "work"), cwd=tmp_path)
    return tmp_path / "work"


def test_nothing_registered_is_said_in_words(repo):
    assert listing(repo) == []
    assert "no registered model version yet" in pipeline("registry", cwd=repo).stdout


def test_first_promotion_gets_v1_0_0_an_annotated_tag_carrying_its_metrics(repo):
    decision = {"format": 1, "decision": "no-champion", "reasons": ["no champion on main"]}
    sha = promote(repo, "a" * 32, FORMAT_1, decision)
    assert tag(repo) == "model@v1.0.0"
    assert sh("git", "cat-file", "-t", "model@v1.0.0", cwd=repo).stdout.strip() == "tag"  # annotated, as GTO needs
    assert sh("git", "rev-parse", "model@v1.0.0^{commit}", cwd=repo).stdout.strip() == sha
    first, blank, *body = sh("git", "tag", "-l", "--format=%(contents)", "model@v1.0.0", cwd=repo).stdout.split("\n")
    assert (first, blank) == ("Registering artifact model version v1.0.0", "")
    assert json.loads("\n".join(body)) == {**FORMAT_1, "gate": decision}
    sh("git", "push", "-q", "origin", "model@v1.0.0", cwd=repo)
    assert "refs/tags/model@v1.0.0" in sh("git", "ls-remote", "--tags", "origin", cwd=repo).stdout


def test_tagging_is_idempotent_while_the_model_is_unchanged(repo):
    promote(repo, "a" * 32, FORMAT_1)
    assert tag(repo) == "model@v1.0.0"
    result = pipeline("registry", "tag", cwd=repo)
    assert (result.stdout.strip(), "already registered" in result.stderr) == ("model@v1.0.0", True)
    commit(repo, "docs only", {"README.md": "more words\n"})  # a later commit that pins the same model
    assert tag(repo) == "model@v1.0.0"
    assert sh("git", "tag", "-l", cwd=repo).stdout.split() == ["model@v1.0.0"]


def test_versions_list_both_metrics_formats_in_order_with_the_live_one(repo):
    first = promote(repo, "a" * 32, FORMAT_1)
    tag(repo)
    second = promote(repo, "b" * 32, FORMAT_2)
    assert tag(repo) == "model@v1.1.0"
    old, new = listing(repo)
    assert (old["tag"], old["commit"], old["live"]) == ("model@v1.0.0", first, False)
    assert old["primary"] == {"metric": "roc_auc", "value": 0.71, "low": None, "high": None}
    assert (new["tag"], new["commit"], new["live"]) == ("model@v1.1.0", second, True)
    assert new["primary"] == {"metric": "roc_auc", "value": 0.75, "low": 0.744, "high": 0.757}
    assert new["metrics"]["average_precision"] == {"value": 0.59, "low": 0.58, "high": 0.6}
    text = pipeline("registry", cwd=repo).stdout
    assert "* model@v1.1.0" in text and "roc_auc 0.7500 [0.7440, 0.7570]" in text and "live: model@v1.1.0" in text


def test_a_fresh_clone_rebuilds_the_same_registry_from_git_alone(repo, tmp_path):
    promote(repo, "a" * 32, FORMAT_1)
    sh("git", "push", "-q", "origin", "main", tag(repo), cwd=repo)
    promote(repo, "b" * 32, FORMAT_2)
    sh("git", "push", "-q", "origin", "main", tag(repo), cwd=repo)
    other = tmp_path / "other"
    sh("git", "clone", "-q", str(tmp_path / "origin.git"), str(other), cwd=tmp_path)
    assert listing(other) == listing(repo)


def test_rollback_by_reverting_the_promotion_makes_the_previous_version_live(repo):
    promote(repo, "a" * 32, FORMAT_1)
    tag(repo)
    promote(repo, "b" * 32, FORMAT_2)
    tag(repo)
    sh("git", "revert", "--no-edit", "HEAD", cwd=repo)
    assert [(v["tag"], v["live"]) for v in listing(repo)] == [("model@v1.0.0", True), ("model@v1.1.0", False)]
    assert tag(repo) == "model@v1.0.0"  # the rolled-back model is registered already: no new version
    assert "live: model@v1.0.0" in pipeline("registry", cwd=repo).stdout


def test_an_unregistered_model_at_head_means_no_live_version(repo):
    promote(repo, "a" * 32, FORMAT_1)
    tag(repo)
    promote(repo, "c" * 32, FORMAT_1)  # e.g. a branch with a challenger that was never promoted
    assert [v["live"] for v in listing(repo)] == [False]
    assert "live: none" in pipeline("registry", cwd=repo).stdout


def test_tagging_an_older_revision(repo):
    first = promote(repo, "a" * 32, FORMAT_1)
    promote(repo, "b" * 32, FORMAT_2)
    assert tag(repo, "--rev", first) == "model@v1.0.0"
    assert sh("git", "rev-parse", "model@v1.0.0^{commit}", cwd=repo).stdout.strip() == first


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"README.md": "no model yet\n"}, r"HEAD: dvc.lock pins no model at outputs/model/model.skops"),
        ({"dvc.lock": lock("a" * 32)}, r"HEAD:outputs/metrics/evaluate.json: not committed"),
        (
            {"dvc.lock": lock("a" * 32), "outputs/metrics/evaluate.json": '{"model": {"roc_auc": "high"}}'},
            r"HEAD:outputs/metrics/evaluate.json: model.roc_auc: expected a number",
        ),
        (
            {"dvc.lock": lock("a" * 32), "outputs/metrics/evaluate.json": "{oops"},
            r"[0-9a-f]{40}:outputs/metrics/evaluate.json: cannot be read as JSON",
        ),
    ],
    ids=["no-model", "no-metrics", "malformed-metric", "not-json"],
)
def test_bad_revisions_are_refused_with_a_message_and_no_tag(repo, files, message):
    commit(repo, "bad", files)
    result = pipeline("registry", "tag", cwd=repo, check=False)
    assert result.returncode == 1 and result.stdout == ""
    assert re.search(f"error: {message}", result.stderr), result.stderr
    assert sh("git", "tag", "-l", cwd=repo).stdout == ""


def test_an_unknown_revision_is_named(repo):
    result = pipeline("registry", "tag", "--rev", "nope", cwd=repo, check=False)
    assert result.returncode == 1 and "error: nope: not a commit of this repository" in result.stderr
