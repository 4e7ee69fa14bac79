"""The model registry is git: one annotated tag per promoted model, in GTO's convention (`model@vX.Y.Z`).

The champion is the model that `main` pins in `dvc.lock`; promotion is the merge of a pull request; after the
merge, `pipeline registry tag` gives the merged commit the next version tag, whose message carries the
commit's metrics (and the gate's decision, when committed), so `gto show` and `git show model@v1.2.0` both read
it. Everything here comes from git alone (tags, and files as committed at the tagged commits), so the history
survives the loss of any runner, cache or DVC remote.

Which version is live: the tag whose commit pins the same model (its md5 in `dvc.lock`) as HEAD. Rolling back
is reverting the promotion commit: HEAD then pins the previous model again, and the previous tag is live.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path, PurePosixPath

import yaml

from pipeline import metrics_format
from pipeline.config import Params
from pipeline.errors import PipelineError
from pipeline.repo import git, git_file

ARTIFACT = "model"  # FORK: the GTO artifact name; tags are `<ARTIFACT>@vX.Y.Z`
TAG = re.compile(rf"^{ARTIFACT}@v(\d+)\.(\d+)\.(\d+)$")
FIRST_VERSION = (1, 0, 0)


@dataclass(frozen=True)
class Version:
    """One registered model version, as git records it."""

    tag: str
    version: str
    commit: str
    date: str
    model_md5: str | None
    metrics: dict | None  # evaluate.json as committed at `commit` (either format)
    decision: dict | None  # the gate's decision.json as committed at `commit`, when there is one
    live: bool = False

    def summary(self) -> dict:
        """The version as plain JSON: primary metric and every model metric as intervals."""
        data = {k: v for k, v in asdict(self).items() if k not in {"metrics", "decision"}}
        metrics = metrics_format.headline(self.metrics, f"{self.tag}:evaluate.json") if self.metrics else None
        name = metrics_format.primary(self.metrics) if self.metrics else None
        data["primary"] = {"metric": name, **metrics["model"][name]} if metrics and name in metrics["model"] else None
        data["metrics"] = metrics["model"] if metrics else None
        data["decision"] = self.decision.get("decision") if isinstance(self.decision, dict) else None
        return data


def model_md5(rev: str, model: Path, cwd: Path | None = None) -> str | None:
    """The md5 that `rev`'s `dvc.lock` records for the model file, None when it pins no model."""
    return pinned_md5(git_file(rev, "dvc.lock", cwd), model)


def pinned_md5(lock_text: str | None, model: Path) -> str | None:
    """The md5 a `dvc.lock` text records for the model file, None when it pins no model (or there is none)."""
    if lock_text is None:
        return None
    wanted = PurePosixPath(model.as_posix())
    for stage in (yaml.safe_load(lock_text) or {}).get("stages", {}).values():
        for out in stage.get("outs", []):
            if PurePosixPath(out["path"]) == wanted:
                return None if out.get("md5") is None else str(out["md5"])  # YAML reads an all-digit md5 as int
    return None


def committed_json(rev: str, path: str, cwd: Path | None = None) -> dict | None:
    """A JSON file as committed at `rev`; None when absent; a malformed one fails naming `rev:path`."""
    text = git_file(rev, path, cwd)
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise PipelineError(f"{rev}:{path}: cannot be read as JSON ({exc})") from None


def _tags(cwd: Path | None) -> list[tuple[str, str]]:
    """(tag, tag date) of every `model@vX.Y.Z` tag, in version order (other tags are not ours)."""
    lines = git(
        "for-each-ref", f"refs/tags/{ARTIFACT}@v*", "--format=%(refname:strip=2)%09%(creatordate:iso-strict)", cwd=cwd
    ).splitlines()
    tags = [line.split("\t") for line in lines]
    return sorted(
        ((name, date) for name, date in tags if TAG.match(name)),
        key=lambda tag: tuple(map(int, TAG.match(tag[0]).groups())),
    )


def versions(params: Params, cwd: Path | None = None) -> list[Version]:
    """Every registered version, oldest first, with the live one (the newest that pins HEAD's model) marked."""
    metrics_path = (params.paths.metrics / "evaluate.json").as_posix()
    decision_path = (params.paths.gate / "decision.json").as_posix()
    found = []
    for name, date in _tags(cwd):
        commit = git("rev-parse", f"{name}^{{commit}}", cwd=cwd).strip()
        found.append(
            Version(
                tag=name,
                version=name.split("@", 1)[1],
                commit=commit,
                date=date,
                model_md5=model_md5(commit, params.paths.model, cwd),
                metrics=committed_json(commit, metrics_path, cwd),
                decision=committed_json(commit, decision_path, cwd),
            )
        )
    head = model_md5("HEAD", params.paths.model, cwd)
    live_one = next((v for v in reversed(found) if head is not None and v.model_md5 == head), None)
    return [replace(v, live=v is live_one) for v in found]


def live(registered: list[Version]) -> Version | None:
    """The version HEAD runs, if it is a registered one."""
    return next((v for v in registered if v.live), None)


def next_version(registered: list[Version]) -> str:
    """v1.0.0 first, then a minor bump of the highest version (a promotion adds a model, it breaks no API)."""
    if not registered:
        return "v{}.{}.{}".format(*FIRST_VERSION)
    major, minor, _ = max(tuple(map(int, TAG.match(v.tag).groups())) for v in registered)
    return f"v{major}.{minor + 1}.0"


def message(version: str, metrics: dict, decision: dict | None) -> str:
    """GTO's registration line, a blank line, then the metrics JSON (with the gate's decision under `gate`)."""
    body = {**metrics, **({"gate": decision} if decision else {})}
    return f"Registering artifact {ARTIFACT} version {version}\n\n{json.dumps(body, indent=2, sort_keys=True)}\n"


def register(rev: str, params: Params, cwd: Path | None = None) -> tuple[str, bool]:
    """Tag `rev`'s model with the next version; idempotent.

    Returns:
        The tag that registers `rev`'s model, and whether it was created now (False: it already existed).

    Raises:
        PipelineError: `rev` is unknown, pins no model, or has no committed metrics.
    """
    try:
        commit = git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", cwd=cwd).strip()
    except PipelineError:
        raise PipelineError(f"{rev}: not a commit of this repository") from None
    md5 = model_md5(commit, params.paths.model, cwd)
    if md5 is None:
        raise PipelineError(f"{rev}: dvc.lock pins no model at {params.paths.model}; nothing to register")
    registered = versions(params, cwd)
    if existing := next((v for v in registered if v.model_md5 == md5), None):
        return existing.tag, False
    metrics_path = (params.paths.metrics / "evaluate.json").as_posix()
    metrics = committed_json(commit, metrics_path, cwd)
    if metrics is None:
        raise PipelineError(f"{rev}:{metrics_path}: not committed; commit the evaluation before registering")
    metrics_format.headline(metrics, f"{rev}:{metrics_path}")  # a malformed file is refused, not tagged
    version = next_version(registered)
    tag = f"{ARTIFACT}@{version}"
    text = message(version, metrics, committed_json(commit, (params.paths.gate / "decision.json").as_posix(), cwd))
    git("tag", "--annotate", "--cleanup=verbatim", "--message", text, tag, commit, cwd=cwd)
    return tag, True


def text(registered: list[Version]) -> str:
    """The versions as a table for people; `*` marks the live one."""
    if not registered:
        return f"no registered {ARTIFACT} version yet; `pipeline registry tag` registers HEAD's model"
    rows = [("tag", "commit", "date", "primary metric")]
    for v in registered:
        primary = v.summary()["primary"]
        shown = (
            "–"
            if primary is None
            else f"{primary['metric']} {primary['value']:.4f}"
            + (f" [{primary['low']:.4f}, {primary['high']:.4f}]" if primary["low"] is not None else "")
        )
        rows.append((v.tag, v.commit[:10], v.date[:10], shown))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    marks = ["  "] + ["* " if v.live else "  " for v in registered]
    lines = [
        mark + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for mark, row in zip(marks, rows, strict=True)
    ]
    current = live(registered)
    lines.append(f"live: {current.tag}" if current else "live: none (HEAD's model is not a registered version)")
    return "\n".join(lines)
