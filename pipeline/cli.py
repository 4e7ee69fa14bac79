"""The command line: `pipeline <command>` or `python -m pipeline <command>`; every command has `--help`.

`run` is the main job (data, `dvc repro`, site); `ingest` manages the raw data; `validate`, `prepare`,
`train` and `evaluate` run one stage alone, exactly as `dvc.yaml` calls them (`python -m pipeline.<stage> ...`).
Input problems (`PipelineError`) print one line starting with `error:` and exit with status 1.
"""

from __future__ import annotations

import functools
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from pipeline import evaluate, ingest, prepare, train, validate
from pipeline.config import ParamsFile, load_params
from pipeline.errors import PipelineError
from pipeline.repo import dvc

app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False)


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


def _setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)


def run_alone(command) -> None:
    """Run one stage's `main` as its own command line (`python -m pipeline.<stage>`)."""
    _setup_logging()
    typer.run(guarded(command))


@app.callback()
def _main() -> None:
    _setup_logging()


app.command("validate", help=validate.main.__doc__)(guarded(validate.main))
app.command("prepare", help=prepare.main.__doc__)(guarded(prepare.main))
app.command("train", help=train.main.__doc__)(guarded(train.main))
app.command("evaluate", help=evaluate.main.__doc__)(guarded(evaluate.main))


@app.command("ingest")
@guarded
def ingest_command(
    next_: Annotated[bool, typer.Option("--next", help="Release the next period and record it in data.dvc.")] = False,
    through: Annotated[str | None, typer.Option(help="Release every period up to this one (YYYY-MM).")] = None,
    params_file: ParamsFile = Path("params.yaml"),
) -> None:
    """Make data/ match data.dvc (pull or rebuild), or release new periods with --next / --through."""
    params = load_params(params_file)
    source, data, record = params.ingest.source, params.paths.data, params.paths.release
    if next_ or through:
        typer.echo(ingest.release(source, data, record, through))
    else:
        typer.echo(ingest.restore(source, data, record))


@app.command("run")
@guarded
def run_command(
    site: Annotated[bool, typer.Option(help="Build the report site after the pipeline.")] = True,
    params_file: ParamsFile = Path("params.yaml"),
) -> None:
    """The main job: restore data/ if absent, check it, `dvc repro`, then build the report site."""
    params = load_params(params_file)  # a bad key fails here, before DVC touches anything
    train.check_hyperparameters(params.train, params.task.type, params_file)
    if not params.paths.data.exists():
        typer.echo(ingest.restore(params.ingest.source, params.paths.data, params.paths.release))
    # Checked before `dvc repro` as well as in its first stage: repro records a changed data/ in data.dvc
    # before any stage runs, and bad data must leave data.dvc as it was.
    checked = validate.validate(params.paths.data, params)
    if not checked["passed"]:
        raise validate.failure(checked)
    dvc("repro", capture=False)
    if site:
        build_site(params.paths.site)


def build_site(site: Path) -> None:
    """Build the report site with `mkdocs build --strict` (broken links fail the build)."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-f", str(site / "mkdocs.yml")]
    if subprocess.run(command, env=env, check=False).returncode != 0:
        raise PipelineError(f"{site / 'mkdocs.yml'}: `mkdocs build --strict` failed (see above)")
    typer.echo(f"site built: {site / 'build' / 'index.html'}")
