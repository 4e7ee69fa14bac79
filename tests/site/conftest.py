"""A report site built the way `pipeline run` builds it, in a small git repository with a registry history.

The repository holds the example project's outputs (from `ran_clone`) in two promotions: `model@v1.0.0` (an older model,
format-1 metrics a little lower) and `model@v1.1.0` (the template's own outputs, live at HEAD). A column, a
category and a metric named `<img src=x onerror=alert(1)>` are injected into the copies of the outputs, so
every page shows it; it must render as text. No DVC run is needed: the site reads committed files and git.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline import monitor
from pipeline.config import load_params
from pipeline.registry import register
from pipeline.report.render import main as render
from tests.conftest import command_env
from tests.repos import shared
from tests.unit.test_monitor import record

HOSTILE = "<img src=x onerror=alert(1)>"
FILES = [
    "README.md",
    "params.yaml",
    "contract.yaml",
    "data.dvc",
    "dvc.lock",
    "site/mkdocs.yml",
    "site/hooks.py",
    "site/overrides",
    "site/model_card.md",
    "site/maturity.md",
    "outputs/metrics",
    "outputs/reports",
    "outputs/plots",
]
OLD_MODEL = "deadbeef" * 4
DECISION = {
    "format": 1,
    "decision": "promote",
    "period": "2013-06",
    "rows": 27075,
    "reasons": [
        "roc_auc improved by 0.020 (paired bootstrap interval 0.012 to 0.028)",
        f"no slice of {HOSTILE} degraded by more than 0.02",
    ],
}


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, env=command_env(), check=True, capture_output=True)


def copy_template(repo: Path, project: Path) -> None:
    """The site's sources and the example project's committed results, from a clone that ran the pipeline."""
    for name in FILES:
        source, dest = project / name, repo / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(source, dest, dirs_exist_ok=True) if source.is_dir() else shutil.copy(source, dest)


def edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=2))


def inject_hostile_names(repo: Path) -> None:
    """A column (drift, data quality), a category value and a metric named like an XSS payload."""

    def drift(data):
        data["columns"][HOSTILE] = next(iter(data["columns"].values()))

    def quality(data):
        column = next(iter(data["columns"].values()))
        data["columns"][HOSTILE] = {
            side: {**stats, "top": [{"value": HOSTILE, "share": 1.0}]} for side, stats in column.items()
        }

    def evaluate(data):
        data["model"][HOSTILE] = data["baseline"][HOSTILE] = 0.5

    edit_json(repo / "outputs/metrics/drift.json", drift)
    edit_json(repo / "outputs/reports/data_quality.json", quality)
    edit_json(repo / "outputs/metrics/evaluate.json", evaluate)


def older_promotion(repo: Path) -> None:
    """Commit an older model (another md5 in dvc.lock) with slightly lower format-1 metrics, and tag it."""
    lock = (repo / "dvc.lock").read_text()
    current = load_params(repo / "params.yaml")
    pinned = next(
        out["md5"]
        for stage in yaml.safe_load(lock)["stages"].values()
        for out in stage.get("outs", [])
        if out["path"] == current.paths.model.as_posix()
    )
    (repo / "dvc.lock").write_text(lock.replace(pinned, OLD_MODEL))

    def lower(data):
        data["model"] = {k: (v["value"] if isinstance(v, dict) else v) - 0.02 for k, v in data["model"].items()}
        data["baseline"] = {k: (v["value"] if isinstance(v, dict) else v) for k, v in data["baseline"].items()}
        data.pop("format", None)

    edit_json(repo / "outputs/metrics/evaluate.json", lower)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "Promote the older model")


def render_project(project: Path, out: Path) -> None:
    """The report stage on a project's files, as dvc.yaml calls it, writing the pages to `out`."""
    render(
        metrics=project / "outputs/metrics",
        reports=project / "outputs/reports",
        plots=project / "outputs/plots",
        contract=project / "contract.yaml",
        data_dvc=project / "data.dvc",
        card=project / "site/model_card.md",
        out=out,
        params_file=project / "params.yaml",
    )


def build(repo: Path) -> Path:
    """Render site/docs (the report stage) and build it with mkdocs --strict, as `pipeline run` does."""
    render_project(repo, repo / "site/docs")
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-f", "site/mkdocs.yml"],
        cwd=repo,
        env=command_env(),
        check=True,
    )
    return repo / "site/build"


@pytest.fixture(scope="session")
def history_repo(tmp_path_factory, ran_clone) -> Path:
    """The small repository: two registered versions, the newer one live, hostile names injected.

    The drift figures are DVC outputs, absent from a fresh clone of the template: they come from the trained
    clone (`ran_clone`), so the drift page has real images to load.
    """
    return shared(tmp_path_factory, "history", lambda folder: history(folder / "repo", ran_clone))


def history(repo: Path, ran_clone: Path) -> Path:
    copy_template(repo, ran_clone)
    git(repo, "init", "-q", "-b", "main")
    for key, value in [("user.name", "Test"), ("user.email", "test@example.invalid")]:
        git(repo, "config", key, value)
    (repo / ".gitignore").write_text("site/docs/\nsite/build/\n")
    params = load_params(repo / "params.yaml")
    older_promotion(repo)
    register("HEAD", params, repo)
    copy_template(repo, ran_clone)  # the template's own outputs: the newer model
    inject_hostile_names(repo)
    shutil.copytree(ran_clone / "outputs/reports/drift", repo / "outputs/reports/drift", dirs_exist_ok=True)
    (repo / "outputs/gate").mkdir()
    (repo / "outputs/gate/decision.json").write_text(json.dumps(DECISION))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "Promote the template's model")
    register("HEAD", params, repo)
    record_rounds(repo)
    build(repo)
    return repo


def record_rounds(repo: Path) -> None:
    """Two continuous-training rounds on the local `monitoring` branch, one with a hostile alert text."""
    hostile = record(period="2013-03", value=0.70, low=0.69, high=0.71)
    hostile["alerts"] = [f"decay ({HOSTILE})"]
    with contextlib.chdir(repo):
        for found in (record(period="2013-02", value=0.75, low=0.74, high=0.76), hostile):
            monitor.store(found, "monitoring", push=lambda ref: None)  # no origin here: the local branch


@pytest.fixture(scope="session")
def history_site(history_repo) -> Path:
    """The built site of `history_repo`."""
    return history_repo / "site/build"
