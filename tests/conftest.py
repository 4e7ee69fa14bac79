"""Shared test helpers: the template's own params, and a subprocess environment like a user's shell."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from pipeline.config import Params, load_params

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def params() -> Params:
    """The template's own params.yaml: unit tests exercise the configuration forks start from."""
    return load_params(ROOT / "params.yaml")


def command_env() -> dict[str, str]:
    """Environment for `git`/`dvc`/`pipeline` subprocesses: this venv first on PATH, no analytics, a git identity."""
    return {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "DVC_NO_ANALYTICS": "1",
        "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.invalid",
        "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.invalid",
        "NO_MKDOCS_2_WARNING": "1",
    }
