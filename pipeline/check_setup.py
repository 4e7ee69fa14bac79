"""`pipeline check-setup --repo OWNER/NAME`: what a fork must enable on GitHub for the workflows to work.

Asks GitHub (through `pipeline.github`, with the token in GH_TOKEN; an admin's token sees every setting),
reads the DVC remote from this checkout, and prints one line per setting: `ok`, `missing` (the workflows
cannot work; exit status 1) or `optional`.
README.md, "Set up your fork", explains each one.
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from pipeline import github
from pipeline.errors import PipelineError
from pipeline.github import Request
from pipeline.repo import has_dvc_remote

APP_CLIENT_ID = "CT_APP_CLIENT_ID"  # repository variable: the GitHub App's client id (ct.yml)
APP_PRIVATE_KEY = "CT_APP_PRIVATE_KEY"  # secret of the environment `ct`: the App's private key
REMOTE_CONFIG = "DVC_REMOTE_CONFIG"  # secret of `ci` (a read-only key) and of `ct` (read-write), .dvc/config.local
# The environments the workflows' jobs run in, and what each holds. Secrets live there, not in the repository,
# so each job gets only its own: a pull request's CI the read-only key, CT (default branch only) the write key.
ENVIRONMENTS = {
    "ci": "ci.yml and the Pages build: DVC_REMOTE_CONFIG, a key that can only read the DVC remote",
    "ct": "continuous training: DVC_REMOTE_CONFIG that can write, CT_APP_PRIVATE_KEY; the default branch only",
}


@dataclass(frozen=True)
class Finding:
    """One setting: its state ("ok", "missing" or "optional") and what to do about it."""

    state: str
    text: str


# ci.yml's jobs, by the names their checks carry: a rule on the default branch should require both, so a pull
# request merges only with its tests green and without a model the gate rejected (unless the label accepts it).
REQUIRED_CHECKS = ("Test, re-run the pipeline, report", "Gate (fails when the gate rejects the model)")


def check(api, repo: str) -> list[Finding]:
    """Every setting the workflows rely on, read from GitHub."""
    path = "repos/" + repo
    about = api.send(Request("GET", path))
    if about is None:
        raise PipelineError(f"{repo}: repository not found, or the token cannot see it")
    found = []
    actions = api.send(Request("GET", f"{path}/actions/permissions")) or {}
    found.append(
        Finding("ok", "GitHub Actions is enabled")
        if actions.get("enabled")
        else Finding("missing", "GitHub Actions is disabled: Settings > Actions > General > Allow actions")
    )
    workflow = api.send(Request("GET", f"{path}/actions/permissions/workflow")) or {}
    found.append(
        Finding("ok", "Actions may create pull requests (CT promotion PRs)")
        if workflow.get("can_approve_pull_request_reviews")
        else Finding(
            "missing",
            "Actions may not create pull requests: Settings > Actions > General > "
            "Workflow permissions > Allow GitHub Actions to create and approve pull requests",
        )
    )
    pages = api.send(Request("GET", f"{path}/pages"))
    found.append(
        Finding("ok", "Pages is published by GitHub Actions")
        if (pages or {}).get("build_type") == "workflow"
        else Finding(
            "missing",
            "Pages is not published from Actions: Settings > Pages > Build and deployment > Source: GitHub Actions",
        )
    )
    found += optional(api, path)
    found.append(required_checks(api, path, about.get("default_branch") or "main"))
    return found


def required_checks(api, path: str, branch: str) -> Finding:
    """Whether the default branch requires CI's two checks, by branch protection or by a ruleset."""
    protection = api.send(Request("GET", f"{path}/branches/{branch}/protection/required_status_checks")) or {}
    required = set(protection.get("contexts") or []) | {c.get("context") for c in protection.get("checks") or []}
    for rule in api.send(Request("GET", f"{path}/rules/branches/{branch}")) or []:
        if rule.get("type") == "required_status_checks":
            required |= {c.get("context") for c in rule.get("parameters", {}).get("required_status_checks", [])}
    lacking = [name for name in REQUIRED_CHECKS if name not in required]
    if not lacking:
        return Finding("ok", f"{branch} requires the checks {', '.join(REQUIRED_CHECKS)}")
    return Finding(
        "optional",
        f"{branch} does not require the checks {', '.join(lacking)}: a pull request can merge with them red "
        f"(Settings > Branches > a rule for {branch} > Require status checks to pass)",
    )


def optional(api, path: str) -> list[Finding]:
    """The environments and their secrets, the App token, and the DVC remote (data of your own)."""
    listed = (api.send(Request("GET", f"{path}/environments")) or {}).get("environments") or []
    environments = {e.get("name"): e for e in listed}
    secrets = {
        name: {
            s.get("name")
            for s in (api.send(Request("GET", f"{path}/environments/{name}/secrets")) or {}).get("secrets") or []
        }
        for name in ENVIRONMENTS
        if name in environments
    }
    found = [_environment(name, environments.get(name), secrets.get(name, set())) for name in ENVIRONMENTS]
    client_id = api.send(Request("GET", f"{path}/actions/variables/{APP_CLIENT_ID}"))
    found.append(
        Finding("ok", f"GitHub App token configured ({APP_CLIENT_ID}, {APP_PRIVATE_KEY} in environment ct)")
        if client_id and APP_PRIVATE_KEY in secrets.get("ct", set())
        else Finding(
            "optional",
            f"no GitHub App ({APP_CLIENT_ID} variable and {APP_PRIVATE_KEY} secret of environment ct): CT "
            "opens PRs with the default token and starts CI on them by a dispatch",
        )
    )
    found.append(
        Finding("ok", "DVC remote configured (.dvc/config)")
        if has_dvc_remote()  # in the committed .dvc/config, so every clone (and workflow) sees it
        else Finding("optional", "no DVC remote in .dvc/config: data/ is rebuilt from the embedded source")
    )
    return found


def _environment(name: str, environment: dict | None, secrets: set[str]) -> Finding:
    """One environment: absent (fine without a remote or an App), unrestricted `ct` (missing), or its secrets."""
    where = f"Settings > Environments > {name}"
    if environment is None:
        return Finding("optional", f"no environment {name} ({ENVIRONMENTS[name]}): fine for a public remote or none")
    if name == "ct" and not environment.get("deployment_branch_policy"):
        return Finding(
            "missing",
            f"environment ct is open to every branch: {where} > Deployment branches > the default branch only "
            "(its write key must never reach another branch's code)",
        )
    held = ", ".join(sorted(secrets)) or "no secret"
    state = "ok" if REMOTE_CONFIG in secrets else "optional"
    return Finding(state, f"environment {name} ({ENVIRONMENTS[name]}) holds {held}")


def write_remote_credentials(text: str, out: Path) -> str:
    """Write the DVC remote's credentials (`.dvc/config.local` text) to `out`, readable by this user only.

    Checked as DVC's INI format first, so a secret pasted wrongly fails here with a reason instead of as a
    confusing DVC error later; the text itself is never printed.

    Returns:
        What was done, in words.

    Raises:
        PipelineError: The text is not INI, or configures no remote.
    """
    if not text.strip():
        return f"no {REMOTE_CONFIG}: DVC uses the remote as .dvc/config gives it (public, or none)"
    parser = configparser.ConfigParser()
    try:
        parser.read_string(text)
    except configparser.Error as exc:
        raise PipelineError(f"{REMOTE_CONFIG}: not in the format of .dvc/config.local ({type(exc).__name__})") from None
    remotes = [s for s in parser.sections() if s.strip("'").startswith("remote ")]  # DVC quotes them: ['remote "x"']
    if not remotes:
        raise PipelineError(f"{REMOTE_CONFIG}: no ['remote \"NAME\"'] section; see `dvc remote modify --local`")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.touch(mode=0o600)
    out.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    return f"wrote {out} (credentials of {', '.join(remotes)})"


def credentials_main(
    out: Annotated[Path, typer.Option(help="Where DVC reads local credentials.")] = Path(".dvc/config.local"),
) -> None:
    """Write the DVC remote's credentials from the DVC_REMOTE_CONFIG environment variable (a secret)."""
    typer.echo(write_remote_credentials(os.environ.get(REMOTE_CONFIG, ""), out))


def main(repo: Annotated[str, typer.Option(envvar="GITHUB_REPOSITORY", help="OWNER/NAME on GitHub.")]) -> None:
    """Check a fork's GitHub settings for the workflows; exit status 1 when something required is missing."""
    findings = check(github.client(), github.check_repo(repo))
    for finding in findings:
        typer.echo(f"{finding.state:8} {finding.text}")
    if any(f.state == "missing" for f in findings):
        raise typer.Exit(1)
