"""Projects adopted on real data, each built once per test session and read by several end-to-end tests.

An adoption (clone, `pipeline init`, run, push, the next period, gate) takes minutes, so each is done once,
by whichever xdist worker asks first (`tests.repos.shared`), and every test that checks one side of it reads
the same result: the multiclass adoption (Seattle weather) serves the init, task-type and fork tests; the
guide's replay (CGM glucose readings, a regression) serves the guide, task-type and fork tests. Read-only:
a test that runs something in one copies it first.
"""

from __future__ import annotations

import gzip
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.report import guide
from tests.adoptions import ADOPTIONS, MESSY, packaged
from tests.conftest import ROOT
from tests.repos import pipeline, sh, shared, template_clone

BLOCK = re.compile(r"```bash\n(.*?)```", re.DOTALL)


@dataclass(frozen=True)
class Adoption:
    """A team's repository after adopting its data: `origin` (bare), its DVC remote (`storage`), the `repo` that
    adopted it, and what the commands printed (`said`, by step)."""

    origin: Path
    storage: Path
    repo: Path
    said: dict[str, str]


def _said(folder: Path) -> dict[str, str]:
    return {file.stem: file.read_text(encoding="utf-8") for file in sorted((folder / "said").glob("*.txt"))}


def _record(folder: Path, step: str, text: str) -> None:
    (folder / "said").mkdir(exist_ok=True)
    (folder / "said" / f"{step}.txt").write_text(text, encoding="utf-8")


def build_seattle(folder: Path, origin: Path) -> Path:
    """vega_datasets' Seattle weather (daily, 2012-2015, dates like 2012/01/01): five classes, cut by quarter,
    adopted through its last quarter (`init`, then `run` with the site, as the README's main command does).

    No continuous-training round here: the gate's path is the same for every task type, and the democracy
    adoption and the guide's replay go through one each (the multiclass comparison is tests/unit/test_multiclass).
    """
    package, name, options = ADOPTIONS["multiclass"]
    data = Path(shutil.copyfile(packaged(package, name), folder / name))
    bare = Path(shutil.copytree(origin, folder / "origin.git"))
    repo = template_clone(bare, folder / "repo")
    _record(folder, "init", pipeline("init", "--data", str(data), *options, cwd=repo).stdout)
    pipeline("run", cwd=repo)
    return folder


@pytest.fixture(scope="session")
def seattle(origin, tmp_path_factory) -> Adoption:
    """The multiclass adoption (see `build_seattle`)."""
    folder = shared(tmp_path_factory, "seattle-adoption", lambda f: build_seattle(f, origin))
    return Adoption(folder / "origin.git", folder / "bucket", folder / "repo", _said(folder))


def guide_script() -> str:
    """The README guide's commands (section "Use this template for your data"), block after block, as one script."""
    return "\n".join(BLOCK.findall(guide.section((ROOT / "README.md").read_text(encoding="utf-8"))))


def cgm_csv(dest: Path) -> Path:
    """The guide's running example: bokeh_sampledata's glucose readings, as the one CSV file a team has."""
    package, name, _ = ADOPTIONS["regression"]
    with gzip.open(packaged(package, name), "rb") as packed, dest.open("wb") as out:
        shutil.copyfileobj(packed, out)
    return dest


# What GitHub or a cloud would provide, stood in for locally: (the guide's text, the stand-in, why).
GUIDE_STAND_INS = [
    ("https://github.com/OWNER/REPO.git", "{origin}", "the new repository on GitHub: a bare repository"),
    ("~/CGM.csv", "{data}", "the team's file"),
    ("s3://my-bucket/glucose", "{storage}", "the bucket: a local folder is a DVC remote too"),
    ("make setup", "true", "this environment is installed already (the same lock file)"),
    ("uv run ", "python -m ", "...so its interpreter runs the clone's own package"),
    ("OWNER/REPO", "team/glucose", "the repository's name, for the GitHub requests recorded"),
]


def replay_guide(folder: Path, origin: Path) -> Path:
    """Run the guide's commands with bash, in order, from "Use this template" (a copy of `origin`) on."""
    places = {
        "origin": str(shutil.copytree(origin, folder / "github" / "origin.git")),
        "data": str(cgm_csv(folder / "CGM.csv")),
        "storage": str(folder / "bucket"),
    }
    script = guide_script()
    for placeholder, stand_in, _why in GUIDE_STAND_INS:
        if placeholder not in script:
            pytest.fail(f"the guide no longer says {placeholder!r}: update tests/e2e/conftest.py")
        script = script.replace(placeholder, stand_in.format(**places))
    (folder / "work").mkdir()
    result = sh("bash", "-euxo", "pipefail", "-c", script, cwd=folder / "work", check=False)
    _record(folder, "guide", result.stdout)
    _record(folder, "trace", result.stderr)
    _record(folder, "status", str(result.returncode))
    return folder


@pytest.fixture(scope="session")
def guide_run(origin, tmp_path_factory) -> Adoption:
    """The regression adoption: the README's guide replayed (see `replay_guide`); `repo` is the team's clone,
    left by continuous training on its promotion branch."""
    folder = shared(tmp_path_factory, "guide", lambda f: replay_guide(f, origin))
    said = _said(folder)
    if said["status"] != "0":
        pytest.fail(f"the guide's commands failed:\n{said['guide'][-3000:]}\n{said['trace'][-6000:]}")
    return Adoption(folder / "github" / "origin.git", folder / "bucket", folder / "work" / "glucose", said)


def build_messy(folder: Path, origin: Path, name: str) -> Path:
    """One of the messy adoptions (tests/adoptions.py MESSY) taken as far as continuous training takes it.

    `init` with its options only, `run` without the site's build (the pages' Markdown is the report stage's;
    mkdocs renders a binary, a multiclass and a regression project elsewhere), commit and push; then one round
    of `pipeline ct`, as the scheduled workflow runs it (GitHub's requests recorded in `github.jsonl`): the next
    period released, the pipeline re-run, the challenger gated against the pushed champion, and a promotion
    branch with its pull request, or none and the reasons. The fork's own `make test` then runs on what the
    round leaves: the promotion branch, or (rejected) the release committed on main as a team would merge it.
    """
    package, path, options = MESSY[name]
    data = Path(shutil.copyfile(packaged(package, path), folder / Path(path).name))
    bare = Path(shutil.copytree(origin, folder / "origin.git"))
    repo = template_clone(bare, folder / "repo")
    _record(folder, "init", pipeline("init", "--data", str(data), *options, cwd=repo).stdout)
    pipeline("run", "--no-site", cwd=repo)
    sh("git", "add", "-A", cwd=repo)
    sh("git", "commit", "-qm", f"adopt {name}", cwd=repo)
    sh("git", "push", "-q", "origin", "main", cwd=repo)
    record, summary = folder / "github.jsonl", folder / "said" / "ct.txt"
    summary.parent.mkdir(exist_ok=True)
    ct = ["ct", "--repo", f"team/{name}", "--summary", str(summary), "--body-out", str(folder / "pr-body.md")]
    result = sh("env", f"PIPELINE_GITHUB_RECORD={record}", sys.executable, "-m", "pipeline", *ct, cwd=repo)
    _record(folder, "next", result.stdout)
    if sh("git", "status", "--porcelain", cwd=repo).stdout:  # rejected: the round left its release uncommitted
        sh("git", "add", "-A", cwd=repo)
        sh("git", "commit", "-qm", "release the next period", cwd=repo)
    return folder


def messy(origin, tmp_path_factory, name: str) -> Adoption:
    folder = shared(tmp_path_factory, f"messy-{name}", lambda f: build_messy(f, origin, name))
    return Adoption(folder / "origin.git", folder / "bucket", folder / "repo", _said(folder))


@pytest.fixture(scope="session")
def democracy(origin, tmp_path_factory) -> Adoption:
    """Leader spells 1990-2006, binary on a text target, yearly; then 2007 released and gated (`build_messy`)."""
    return messy(origin, tmp_path_factory, "democracy")


@pytest.fixture(scope="session")
def restaurants(origin, tmp_path_factory) -> Adoption:
    """Restaurant inspections 2015-2017, regression, half the rows duplicated; then 2018 released and gated."""
    return messy(origin, tmp_path_factory, "restaurants")
