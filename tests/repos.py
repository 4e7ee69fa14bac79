"""Real git, real DVC, real clones: the example project as a forker of the template gets it.

`origin` is a bare repository holding the template's files with the example's configuration put in place from
`examples/flights/` (never the root's, which `pipeline init` replaces in a fork), committed as one commit, with
a small window released (January and February), so each end-to-end run trains in seconds. Tests clone it and
run the same commands a person would.

The expensive fixtures (`origin`, `ran_clone`, `run_origin`) are built once per test session, even across
pytest-xdist's workers: the first worker to need one builds it under a file lock in the session's shared
temporary folder, the others wait and reuse it. Tests treat them as read-only and copy them before changing
anything (`ran_copy`, `copy_run_origin`).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import yaml
from filelock import FileLock

from tests.conftest import EXAMPLE, ROOT, command_env

SMALL_WINDOW = "2013-02"
# What `pipeline init` replaces or removes in a fork: never copied from the root into the example project.
ROOT_CONFIG = [
    "params.yaml",
    "contract.yaml",
    "data.release.yaml",
    "data.dvc",
    "dvc.lock",
    "data",
    "outputs",
    "sources",
    "site/model_card.md",
    ".dvc/config",
]
# The example's own description: file in examples/flights/ -> where the project keeps it.
EXAMPLE_FILES = {"params.yaml": "params.yaml", "contract.yaml": "contract.yaml", "model_card.md": "site/model_card.md"}
# The example as the end-to-end tests run it: its own params.yaml with one change for speed, 50 bootstrap
# resamples instead of 200 (the intervals are coarser, computed the same way), which makes every evaluation
# and every gate of those tests about 3 times faster. (old text, new text) of params.yaml.
FOR_SPEED = [  # the suite's projects: fewer bootstrap resamples, permutation importance on fewer rows
    ("    resamples: 200\n", "    resamples: 50\n"),
    ("  importance_rows: 10000 ", "  importance_rows: 1000 "),
]
# The template's DVC settings, without any remote a fork may have added to its .dvc/config.
DVC_CONFIG = "[core]\n    analytics = false\n"


def default_window() -> str:
    """The newest period the example releases by default (its data.release.yaml)."""
    return yaml.safe_load((EXAMPLE / "data.release.yaml").read_text(encoding="utf-8"))["released"][-1]


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


def is_root_config(name: str) -> bool:
    return any(name == path or name.startswith(f"{path}/") for path in ROOT_CONFIG)


def example_project(work: Path, root: Path = ROOT) -> Path:
    """The template's files from `root` with the example's configuration in place of the root's.

    `root` is this repository, or a fork of it after `pipeline init`: the result is the same example project.
    """
    for name in tracked_files(root):
        if not is_root_config(name):
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / name, work / name)
    example = root / EXAMPLE.relative_to(ROOT)
    for name, dest in EXAMPLE_FILES.items():
        (work / dest).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(example / name, work / dest)
    (work / "params.yaml").write_text(for_speed((example / "params.yaml").read_text(encoding="utf-8")))
    (work / ".dvc").mkdir(exist_ok=True)
    (work / ".dvc" / "config").write_text(DVC_CONFIG)
    return work


Settings = Sequence[tuple[str, str]]


def edited(text: str, settings: Settings) -> str:
    """A file's text with each (old, new) change made; each must apply once (the example may not drift)."""
    for old, new in settings:
        assert text.count(old) == 1, f"the example's file no longer holds {old!r}"
        text = text.replace(old, new)
    return text


def for_speed(params: str) -> str:
    """The example's params.yaml text with FOR_SPEED's changes."""
    return edited(params, FOR_SPEED)


def make_origin(
    tmp: Path, through: str | None, root: Path = ROOT, settings: Settings = (), contract: Settings = ()
) -> Path:
    """A bare repository with the example project as one commit and, unless `through` is None, data released.

    `settings`, `contract`: further (old, new) changes of its params.yaml and contract.yaml texts; each must apply.
    """
    work = example_project(tmp / "template", root)
    for name, changes in {"params.yaml": settings, "contract.yaml": contract}.items():
        (work / name).write_text(edited((work / name).read_text(encoding="utf-8"), changes))
    sh("git", "init", "-q", "-b", "main", cwd=work)
    if through:
        pipeline("ingest", "--through", through, cwd=work)
    sh("git", "add", "-A", cwd=work)
    sh("git", "commit", "-qm", "template", cwd=work)
    sh("git", "clone", "-q", "--bare", str(work), str(tmp / "origin.git"), cwd=tmp)
    return tmp / "origin.git"


def shared(tmp_path_factory, name: str, build: Callable[[Path], Path]) -> Path:
    """`build(folder)`'s result, built once per test session whatever the number of xdist workers.

    Each build, and each wait of a worker for another's build (a core left idle), is logged in SHARED_LOG, which
    the session's summary prints (tests/conftest.py): what to look at when the suite gets slower.
    """
    base = tmp_path_factory.getbasetemp()
    base = base.parent if base.name.startswith("popen-gw") else base  # xdist: the workers' common folder
    folder, done = base / f"shared-{name}", base / f"shared-{name}.done"
    asked = time.monotonic()
    with FileLock(base / f"shared-{name}.lock"):
        waited = time.monotonic() - asked
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            done.write_text(str(build(folder)))
            _log(base, f"{name}: built in {time.monotonic() - asked - waited:.0f} s")
        elif waited >= 1:
            _log(base, f"{name}: a worker waited {waited:.0f} s for another to build it")
    return Path(done.read_text())


SHARED_LOG = "shared.log"


def _log(base: Path, line: str) -> None:
    with (base / SHARED_LOG).open("a", encoding="utf-8") as log:
        log.write(line + "\n")


@pytest.fixture(scope="session")
def origin(tmp_path_factory) -> Path:
    """The example project with January and February released, as a bare remote."""
    return shared(tmp_path_factory, "origin", lambda folder: make_origin(folder, SMALL_WINDOW))


def clone(origin: Path, dest: Path) -> Path:
    """A fresh clone with its data rebuilt from the embedded source (`pipeline ingest`)."""
    template_clone(origin, dest)
    pipeline("ingest", cwd=dest)
    return dest


def template_clone(origin: Path, dest: Path) -> Path:
    """What "Use this template" gives a team: the files, none of the example's data (git ignores data/).

    A team adopting its own data runs `pipeline init` here at once: the example's data would only be replaced.
    """
    sh("git", "clone", "-q", str(origin), str(dest), cwd=dest.parent)
    return dest


@pytest.fixture(scope="session")
def ran_clone(origin, tmp_path_factory) -> Path:
    """A clone after `pipeline run` (the README's main command): model, metrics, plots and site. Copy it before
    changing it."""

    def build(folder: Path) -> Path:
        repo = clone(origin, folder / "repo")
        pipeline("run", cwd=repo)
        return repo

    return shared(tmp_path_factory, "ran", build)


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

    def build(root: Path) -> Path:
        work = root / "work"
        shutil.copytree(ran_clone, work, symlinks=True)
        sh("git", "add", "-A", cwd=work)
        sh("git", "commit", "-qm", f"pipeline run on the window through {SMALL_WINDOW}", cwd=work)
        sh("git", "clone", "-q", "--bare", str(work), str(root / "origin.git"), cwd=root)
        sh("git", "remote", "set-url", "origin", str(root / "origin.git"), cwd=work)
        sh("git", "fetch", "-q", "origin", cwd=work)
        sh("git", "branch", "-q", "--set-upstream-to", "origin/main", cwd=work)
        return root

    return shared(tmp_path_factory, "run-origin", build)


def use_dvc_remote(work: Path, storage: Path) -> None:
    """Set up a DVC remote as the README tells a team to: `dvc remote add -d`, `dvc push`, the configuration
    committed and pushed on main (here a local folder stands in for the bucket)."""
    sh(sys.executable, "-m", "dvc", "remote", "add", "-d", "storage", str(storage), cwd=work)
    sh(sys.executable, "-m", "dvc", "push", "-q", cwd=work)
    sh("git", "commit", "-qam", "a DVC remote for the data and the outputs", cwd=work)
    sh("git", "push", "-q", "origin", "main", cwd=work)


def copy_run_origin(run_origin: Path, dest: Path) -> Path:
    """A private copy of `run_origin` (clone and origin); returns the clone, its origin set to the copy."""
    shutil.copytree(run_origin, dest, symlinks=True)
    sh("git", "remote", "set-url", "origin", str(dest / "origin.git"), cwd=dest / "work")
    return dest / "work"
