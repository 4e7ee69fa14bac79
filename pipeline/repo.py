"""Run git and DVC as subprocesses, the way a person would on the command line.

Kept in one place so every call has the same error handling: a failing command raises `PipelineError` with
the command line and what it printed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from pipeline.errors import PipelineError

if TYPE_CHECKING:  # for the annotation only
    from pipeline.config import Params


def dvc(*args: str, cwd: Path | None = None, capture: bool = True) -> str:
    """Run `dvc <args>` with this interpreter's DVC, offline-friendly (no analytics), and return stdout."""
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    return _run([sys.executable, "-m", "dvc", *args], cwd, env, capture)


def python(*args: str, cwd: Path | None = None) -> str:
    """Run this interpreter (`python <args>`), e.g. `-m pipeline ...` in another checkout, and return stdout."""
    return _run([sys.executable, *args], cwd, {**os.environ, "DVC_NO_ANALYTICS": "1"}, True)


def git(*args: str, cwd: Path | None = None, env: dict | None = None, stdin: str | None = None) -> str:
    """Run `git <args>` and return stdout; `env` replaces the environment (a private index), `stdin` is fed in."""
    return _run(["git", *args], cwd, env, True, stdin)


def toplevel(cwd: Path) -> Path | None:
    """The root of the git repository holding `cwd`, None outside one (a site built from a copy of its files)."""
    try:
        return Path(git("rev-parse", "--show-toplevel", cwd=cwd).strip())
    except PipelineError:
        return None


def git_file(rev: str, path: str, cwd: Path | None = None) -> str | None:
    """The text of `path` as committed at `rev`, or None when that commit has no such file."""
    probe = subprocess.run(["git", "cat-file", "-e", f"{rev}:{path}"], cwd=cwd, capture_output=True, check=False)
    return git("show", f"{rev}:{path}", cwd=cwd) if probe.returncode == 0 else None


def _run(command: list[str], cwd: Path | None, env: dict | None, capture: bool, stdin: str | None = None) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, input=stdin, text=True, capture_output=capture, check=False)
    if result.returncode != 0:
        shown = " ".join(command[2:] if command[0] == sys.executable else command)
        detail = (result.stderr or result.stdout or "").strip() if capture else "see the output above"
        raise PipelineError(f"`{shown}` failed (exit {result.returncode}): {detail}")
    return result.stdout if capture else ""


def has_dvc_remote(cwd: Path | None = None) -> bool:
    """True when DVC has a default remote (`dvc remote add -d`), so data and outputs can be pulled, not rebuilt.

    Read in-process by DVC's own configuration loader (the repository's, local, user and system files merged as
    `dvc` merges them): `dvc pull`, `push` and `repro --pull` use this default when given no `-r`.
    """
    from dvc.config import Config

    return bool(Config(dvc_dir=str((cwd or Path.cwd()) / ".dvc"))["core"].get("remote"))


def ran_with_these_params(stage: str, params: Params, lock: Path = Path("dvc.lock")) -> bool:
    """True when `params` hold every parameter `stage` reads with the value `dvc.lock` records it ran with.

    dvc.lock lists, per stage, the parameters of params.yaml that the stage read and their values: equal values
    mean the stage already ran with them and accepted them. False when there is no lock or no record. The
    comparison is with the typed loader's values (`model_dump`), so a key left to its default is compared as
    the default: a difference only means the check runs.
    """
    if not lock.is_file():
        return False
    stages = (yaml.safe_load(lock.read_text(encoding="utf-8")) or {}).get("stages", {})
    recorded = stages.get(stage, {}).get("params", {}).get("params.yaml")
    if not recorded:
        return False
    current = params.model_dump(mode="json")
    return all(_dotted(current, key) == value for key, value in recorded.items())


def _dotted(tree: dict, key: str) -> object:
    """The value at a DVC parameter key (`train`, `base.seed`) of nested dicts; a marker when absent."""
    for part in key.split("."):
        if not isinstance(tree, dict) or part not in tree:
            return _ABSENT
        tree = tree[part]
    return tree


_ABSENT = object()


def matches_dvc_file(path: Path, cwd: Path | None = None) -> bool:
    """True when the workspace copy of a DVC-tracked `path` has the hash its `.dvc` file records.

    `dvc status` also reports data that is merely missing from the local cache (as on a fresh clone), so the
    hashes are compared through `dvc data status`, whose "uncommitted" changes are real differences.
    """
    status = json.loads(dvc("data", "status", "--json", cwd=cwd) or "{}")
    changed = {entry.rstrip("/") for group in status.get("uncommitted", {}).values() for entry in group}
    return path.as_posix().rstrip("/") not in changed


def dvc_file_of(path: Path) -> Path | None:
    """The `<path>.dvc` file beside `path` when DVC tracks it (`dvc add` or `dvc import-url`), else None."""
    dvc_file = path.with_name(path.name + ".dvc")
    return dvc_file if dvc_file.is_file() else None


def is_import(dvc_file: Path) -> bool:
    """True when `dvc_file` records an import (`dvc import-url`: a dependency on a URL), not a `dvc add`."""
    record = yaml.safe_load(dvc_file.read_text(encoding="utf-8")) or {}
    return bool(record.get("deps"))


def bring_tracked(path: Path, update: bool) -> str | None:
    """Make a DVC-tracked source present, and current when `update`, before it is read.

    An import comes from its URL: `dvc update` re-fetches it when `update` is asked for (new data in remote
    storage becomes the next release; the `.dvc` file changes and is committed with the release) or when it is
    absent (a fresh clone: `dvc pull` would need a DVC remote holding a copy). An added file or folder is pulled
    from the DVC remote when absent.

    Returns:
        What was done, in words, or None for an untracked path or one already in place.
    """
    dvc_file = dvc_file_of(path)
    if dvc_file is None:
        return None
    if is_import(dvc_file) and (update or not path.exists()):
        dvc("update", "--quiet", str(dvc_file))
        return f"updated {path} from its source URL (dvc update {dvc_file})"
    if not path.exists():
        dvc("pull", "--quiet", str(dvc_file))
        return f"pulled {path} (dvc pull {dvc_file})"
    return None
