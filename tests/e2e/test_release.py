"""A release is a transaction (`pipeline ingest --next`), on a project adopted from a folder of batch files.

The project: Seattle's daily weather (vega_datasets) as one file per quarter in a folder, adopted with
`init --through 2015-Q2`, so 2015-Q3 is the next batch. A broken batch is refused before anything is
recorded; a release killed after any of its steps is rolled back by the next command, never left half done.
"""

from __future__ import annotations

import shutil
import signal
import sys
from pathlib import Path

import pandas as pd
import pytest

from pipeline import ingest
from pipeline.config import load_params
from tests.adoptions import packaged
from tests.repos import digest, pipeline, sh, shared

pytestmark = pytest.mark.e2e

NEXT = Path("sources/incoming/2015-Q3.csv")
BROKEN = "date,precipitation,temp_max,temp_min,wind,weather\n2015/07/01,heavy,20.0,10.0,3.0,sun\n"


def build_folder_project(folder: Path, origin: Path) -> Path:
    """The template cloned, and adopted on a folder of quarterly weather files, released through 2015-Q2."""
    quarters = folder / "incoming"
    quarters.mkdir()
    weather = pd.read_csv(packaged("vega_datasets", "seattle-weather.csv"))
    for quarter, rows in weather.groupby(pd.PeriodIndex(pd.to_datetime(weather["date"]), freq="Q")):
        rows.to_csv(quarters / f"{quarter.year}-Q{quarter.quarter}.csv", index=False)
    sh("git", "clone", "-q", str(origin), str(folder / "repo"), cwd=folder)
    repo = folder / "repo"
    options = ["--target", "weather", "--task", "multiclass", "--time", "date", "--through", "2015-Q2", "--yes"]
    pipeline("init", "--data", str(quarters), *options, cwd=repo)
    sh("git", "add", "-A", cwd=repo)
    sh("git", "commit", "-qm", "Adopt the template: Seattle weather by quarter", cwd=repo)
    return repo


@pytest.fixture(scope="session")
def folder_project(origin, tmp_path_factory) -> Path:
    return shared(tmp_path_factory, "folder-project", lambda folder: build_folder_project(folder, origin))


@pytest.fixture
def project(folder_project, tmp_path) -> Path:
    return Path(shutil.copytree(folder_project, tmp_path / "repo", symlinks=True))


def state(repo: Path, *, dvc: bool = True) -> dict[str, str]:
    """What a release may change, and what git (and DVC, unless `dvc` is false: a second apiece) say about it."""
    seen = {
        "data": digest(repo / "data"),
        "data.dvc": (repo / "data.dvc").read_text(),
        "data.release.yaml": (repo / "data.release.yaml").read_text(),
        "git status": sh("git", "status", "--porcelain", cwd=repo).stdout,
    }
    if dvc:
        seen["dvc status"] = sh(sys.executable, "-m", "dvc", "status", "data.dvc", cwd=repo).stdout
    return seen


def test_a_broken_next_batch_is_refused_and_nothing_is_recorded(project, folder_project):
    (project / NEXT).write_text(BROKEN)
    before = state(project)

    refused = pipeline("ingest", "--next", cwd=project, check=False)

    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        "error: release through 2015-Q3 refused, nothing recorded (data/, data.dvc and data.release.yaml are as "
        "they were):",
        "data/incoming/2015-Q3.csv: column 'precipitation': 1 rows not of the contract's type "
        "(rule: coerce_dtype('float64'))",
        "data/incoming/2015-Q3.csv: 1 rows in the file, outside the bounds (rule: rows in [45, 184])",
    ]
    assert state(project) == before
    assert not list((project / ".dvc" / "tmp").glob("release*"))
    # the same batch, repaired, is released
    (project / NEXT).write_bytes((folder_project.parent / "incoming" / NEXT.name).read_bytes())
    assert "released 2015-Q3;" in pipeline("ingest", "--next", cwd=project).stdout


# Run `pipeline ingest --next` with one step of the release followed by SIGKILL: no cleanup code runs.
KILLED_AFTER = """
import os, signal, sys
from pipeline import ingest, journal
from pipeline.cli import app

owner, name = sys.argv[1].split(".")
module = {"ingest": ingest, "Journal": journal.Journal}[owner]
step = getattr(module, name)

def then_killed(*args, **kwargs):
    step(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)

setattr(module, name, then_killed)
app(["ingest", "--next"])
"""
# The steps of a release in order, and the state a kill right after each leaves once recovered. (`pending`,
# between `begin` and `refuse_invalid`, leaves the same files as `begin` for a folder source.)
STEPS = {
    "Journal.begin": "before",
    "ingest.refuse_invalid": "before",  # the new data/ written and checked in the journal
    "Journal.swap": "before",  # the new data/ in place, the old one in the journal
    "ingest.dvc": "before",  # `dvc add data`: data.dvc is new, data.release.yaml not yet
    "ingest.write_release": "before",  # both written, the journal still there
    "Journal.commit": "after",
}
# Recovered by the command a user would run next; the other steps call the function every command calls first.
BY_COMMAND = "Journal.swap"


@pytest.mark.parametrize("step", STEPS)
def test_a_release_killed_after_any_step_is_rolled_back_or_complete(project, step, monkeypatch, caplog):
    by_command = step == BY_COMMAND
    before = state(project, dvc=by_command)

    killed = sh(sys.executable, "-c", KILLED_AFTER, step, cwd=project, check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    if by_command:
        said = pipeline("ingest", cwd=project).stderr
    else:
        monkeypatch.chdir(project)
        ingest.recover(load_params(Path("params.yaml")))
        said = caplog.text
    after = state(project, dvc=by_command)
    if STEPS[step] == "before":
        assert after == before
        assert "a release was interrupted; data/, data.dvc and data.release.yaml are back" in said
    else:
        assert "2015-Q3" in after["data.release.yaml"] and after["data.dvc"] != before["data.dvc"]
        assert (project / "data" / NEXT.relative_to("sources")).read_bytes() == (project / NEXT).read_bytes()
        assert "interrupted" not in said
    assert not list((project / ".dvc" / "tmp").glob("release*"))
