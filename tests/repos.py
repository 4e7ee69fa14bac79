"""Real git, real DVC, real clones: the template as a forker gets it (helpers and fixtures for e2e and model tests).

`origin` is a bare repository holding the current working tree (committed as one commit) with a small
window released (January and February), so each end-to-end run trains in seconds. Tests clone it and run
the same commands a person would.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, command_env

SMALL_WINDOW = "2013-02"


def sh(*command: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    """Run a command as a user would; on an unexpected failure show what it printed."""
    result = subprocess.run(command, cwd=cwd, env=command_env(), text=True, capture_output=True, check=False)
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(command)} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def pipeline(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    """`python -m pipeline ...` run from a clone: the clone's own package is the one imported."""
    return sh(sys.executable, "-m", "pipeline", *args, cwd=cwd, check=check)


def digest(path: Path) -> str:
    """md5 of a file, or of every file below a folder (names and bytes)."""
    md5 = hashlib.md5()
    for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
        if file.is_file():
            md5.update(file.relative_to(path).as_posix().encode() if path.is_dir() else b"")
            md5.update(file.read_bytes())
    return md5.hexdigest()


def tracked_files(root: Path) -> list[str]:
    """Files git tracks or would track (committed, staged, or new and not ignored) in the working tree."""
    out = sh("git", "ls-files", "--cached", "--others", "--exclude-standard", "-z", cwd=root).stdout
    return sorted({name for name in out.split("\0") if name and (root / name).is_file()})


def make_origin(tmp: Path, through: str | None) -> Path:
    """A bare repository with the working tree as one commit, optionally with a smaller window released."""
    work = tmp / "template"
    for name in tracked_files(ROOT):
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, work / name)
    sh("git", "init", "-q", "-b", "main", cwd=work)
    if through:
        pipeline("ingest", "--through", through, cwd=work)
    sh("git", "add", "-A", cwd=work)
    sh("git", "commit", "-qm", "template", cwd=work)
    sh("git", "clone", "-q", "--bare", str(work), str(tmp / "origin.git"), cwd=tmp)
    return tmp / "origin.git"


@pytest.fixture(scope="session")
def origin(tmp_path_factory) -> Path:
    """The template with January and February released, as a bare remote."""
    return make_origin(tmp_path_factory.mktemp("small"), SMALL_WINDOW)


def clone(origin: Path, dest: Path) -> Path:
    """A fresh clone with its data rebuilt from the embedded source (`pipeline ingest`)."""
    sh("git", "clone", "-q", str(origin), str(dest), cwd=dest.parent)
    pipeline("ingest", cwd=dest)
    return dest


@pytest.fixture(scope="session")
def ran_clone(origin, tmp_path_factory) -> Path:
    """A clone after `pipeline run`: model, metrics and plots in place. Copy it before changing it."""
    repo = clone(origin, tmp_path_factory.mktemp("ran") / "repo")
    pipeline("run", "--no-site", cwd=repo)
    return repo


@pytest.fixture
def ran_copy(ran_clone, tmp_path) -> Path:
    """A private copy of `ran_clone` (git, DVC cache and outputs) that a test may break."""
    shutil.copytree(ran_clone, tmp_path / "repo", symlinks=True)
    return tmp_path / "repo"


@pytest.fixture(scope="session")
def run_origin(ran_clone, tmp_path_factory) -> Path:
    """`ran_clone`'s run committed as main and pushed to its own bare origin: main pins a trained champion.

    Returns the folder holding `work` (the clone, with the DVC cache) and `origin.git`; copy it with
    `copy_run_origin` before changing either.
    """
    root = tmp_path_factory.mktemp("run-origin")
    work = root / "work"
    shutil.copytree(ran_clone, work, symlinks=True)
    sh("git", "add", "-A", cwd=work)
    sh("git", "commit", "-qm", f"pipeline run on the window through {SMALL_WINDOW}", cwd=work)
    sh("git", "clone", "-q", "--bare", str(work), str(root / "origin.git"), cwd=root)
    sh("git", "remote", "set-url", "origin", str(root / "origin.git"), cwd=work)
    sh("git", "fetch", "-q", "origin", cwd=work)
    sh("git", "branch", "-q", "--set-upstream-to", "origin/main", cwd=work)
    return root


def copy_run_origin(run_origin: Path, dest: Path) -> Path:
    """A private copy of `run_origin` (clone and origin); returns the clone, its origin set to the copy."""
    shutil.copytree(run_origin, dest, symlinks=True)
    sh("git", "remote", "set-url", "origin", str(dest / "origin.git"), cwd=dest / "work")
    return dest / "work"
