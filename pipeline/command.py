"""How a command runs: one line `error: <message>` and exit 1 for an input problem, logging to stderr.

It is its own small module, not part of `cli.py`, because every stage runs alone (`python -m pipeline.<stage>`,
as `dvc.yaml` calls it) through `run_alone`: a stage that imported the whole command line would import every
other stage too, and DVC could not tell which code a stage really depends on.
"""

from __future__ import annotations

import functools
import logging
import sys

import typer

from pipeline.errors import PipelineError


def guarded(command):
    """Turn a PipelineError into `error: <message>` on stderr and exit status 1, without a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except PipelineError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None

    return wrapper


def setup_logging() -> None:
    """Progress messages go to stderr, bare, so stdout stays for what a command prints as its result."""
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)


def run_alone(command) -> None:
    """Run one stage's `main` as its own command line (`python -m pipeline.<stage>`)."""
    setup_logging()
    typer.run(guarded(command))
