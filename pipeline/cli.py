"""The command line: `pipeline <command>` or `python -m pipeline <command>`; every command has `--help`.

`run` is the main job (data, `dvc repro`, site); `ingest` manages the raw data; `infer-contract` proposes
a data contract; `validate`, `prepare`, `train`, `evaluate` and `drift` run one stage alone, exactly as
`dvc.yaml` calls them (`python -m pipeline.<stage> ...`); `gate` compares this model with the base
branch's (`gate-check`: the required check's verdict on its decision); `predict` scores a file of rows with
the model; `ct` runs a continuous-training round, `monitor` prints the records the rounds left; `tune` and
`staleness` are searches and measurements run by hand, not stages.
Input problems (`PipelineError`) print one line starting with `error:` and exit with status 1.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

from pipeline.command import guarded, setup_logging
from pipeline.config import ParamsFile, load_params
from pipeline.errors import PipelineError

# command -> "module:function" of pipeline/. A command's module is imported only when that command runs (or
# when --help lists them all): `pipeline github comment` need not load scikit-learn, pandas and matplotlib,
# which took 4-5 seconds of every call when this file imported every stage.
COMMANDS = {
    "validate": "validate:main",
    "prepare": "prepare:main",
    "train": "train:main",
    "tune": "tune:main",
    "evaluate": "evaluate:main",
    "staleness": "staleness:main",
    "drift": "drift:main",
    "report": "report.render:main",
    "gate": "gate:main",
    "gate-check": "gate_check:main",
    "shadow": "shadow:main",
    "predict": "predict:main",
    "pr-comment": "pr_comment:main",
    "ct": "ct:main",
    "monitor": "monitor:main",
    "check-setup": "check_setup:main",
    "remote-credentials": "check_setup:credentials_main",
    "init": "init:main",
}
GITHUB_COMMANDS = {"comment": "github:comment_main", "push": "github:push_main", "dispatch": "github:dispatch_main"}


def lazy(commands: dict[str, str]) -> type[TyperGroup]:
    """A command group that adds `commands` to its own, each built from its module on first use."""

    class LazyGroup(TyperGroup):
        def list_commands(self, ctx) -> list[str]:
            return sorted([*commands, *super().list_commands(ctx)])

        def get_command(self, ctx, name: str):
            if name not in commands:
                return super().get_command(ctx, name)
            module, function = commands[name].split(":")
            main = getattr(importlib.import_module(f"pipeline.{module}"), function)
            single = typer.Typer(add_completion=False)
            single.command(name, help=main.__doc__)(guarded(main))
            return typer.main.get_command(single)

    return LazyGroup


app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False, cls=lazy(COMMANDS))


@app.callback()
def _main() -> None:
    setup_logging()


github_app = typer.Typer(
    help="The GitHub layer's commands for the workflows (see pipeline/github.py).",
    no_args_is_help=True,
    cls=lazy(GITHUB_COMMANDS),
)
app.add_typer(github_app, name="github")


@app.command("ingest")
@guarded
def ingest_command(
    next_: Annotated[bool, typer.Option("--next", help="Release the next period and record it in data.dvc.")] = False,
    through: Annotated[
        str | None, typer.Option(help="Release every period up to this one (2013-01, 2013-Q1, 2013).")
    ] = None,
    params_file: ParamsFile = Path("params.yaml"),
) -> None:
    """Make data/ match data.dvc (pull or rebuild), or release new periods with --next / --through."""
    from pipeline import ingest  # here, not above: see COMMANDS

    params = load_params(params_file)
    typer.echo(ingest.release(params, through) if next_ or through else ingest.restore(params))


@app.command("run")
@guarded
def run_command(
    site: Annotated[bool, typer.Option(help="Build the report site after the pipeline.")] = True,
    check: Annotated[
        bool,
        typer.Option(
            help="Check data/ against the contract first (`pipeline ct` says --no-check: it just released it, checked)."
        ),
    ] = True,
    params_file: ParamsFile = Path("params.yaml"),
) -> None:
    """The main job: restore data/ if absent, check it, `dvc repro`, then build the report site.

    With a default DVC remote, `dvc repro --pull`: unchanged stages' outputs are pulled, not recomputed.
    """
    from pipeline import ingest, validate
    from pipeline.contract import load_contract
    from pipeline.repo import dvc, has_dvc_remote, ran_with_these_params

    params = load_params(params_file)  # a bad key fails here, before DVC touches anything
    # A hyper-parameter the estimator does not take fails here too. Checking means importing scikit-learn (two
    # seconds); parameters the train stage already ran with passed the check then, so only a change is checked.
    if not ran_with_these_params("train", params):
        from pipeline import train

        train.check_hyperparameters(params.train, params.task.type, params_file)
    ingest.recover(params)  # a release that was interrupted is rolled back before anything reads data/
    if not params.paths.data.exists():
        typer.echo(ingest.restore(params))
    # Checked before `dvc repro` as well as in its first stage: repro records a changed data/ in data.dvc
    # before any stage runs, and bad data must leave data.dvc as it was.
    if check:
        checked, _ = validate.validate(params.paths.data, params, load_contract(params.paths.contract))
        if not checked["passed"]:
            raise validate.failure(checked)
    # With a DVC remote, a stage whose inputs are unchanged gets its outputs from the remote (where CT and every
    # promotion pushed them) instead of running again: a pull request's CI recomputes only what the PR changed.
    dvc("repro", *(["--pull"] if has_dvc_remote() else []), capture=False)
    if site:
        build_site(params.paths.site)


@app.command("infer-contract")
@guarded
def infer_contract_command(
    *,
    out: Annotated[Path, typer.Option(help="Where to write the proposed contract.")] = Path("contract.yaml"),
    leakage: Annotated[list[str] | None, typer.Option(help="A column known only after the event (repeat).")] = None,
    max_categories: Annotated[int, typer.Option(help="Text columns with fewer values get an allowed list.")] = 50,
    force: Annotated[bool, typer.Option(help="Replace an existing contract.")] = False,
    params_file: ParamsFile = Path("params.yaml"),
) -> None:
    """Propose a data contract from the data already in data/, for review; never overwrites without --force."""
    from pipeline.contract import dump_contract, propose_contract

    if out.exists() and not force:
        raise PipelineError(f"{out}: exists; edit it by hand, or pass --force to replace it with a new proposal")
    contract = propose_contract(load_params(params_file), leakage or [], max_categories)
    out.write_text(dump_contract(contract), encoding="utf-8")
    typer.echo(f"wrote {out}: {len(contract.tables)} tables; review it before committing")


registry_app = typer.Typer(
    help="The model registry (git tags `model@vX.Y.Z`): list the versions, or `tag` one.", add_completion=False
)
app.add_typer(registry_app, name="registry")


@registry_app.callback(invoke_without_command=True)
@guarded
def registry_command(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the versions as JSON.")] = False,
    params_file: ParamsFile = Path("params.yaml"),
) -> None:
    """List the registered model versions (tag, commit, date, primary metric, live), from git alone."""
    from pipeline import registry

    if ctx.invoked_subcommand is None:
        registered = registry.versions(load_params(params_file))
        typer.echo(json.dumps([v.summary() for v in registered], indent=2) if as_json else registry.text(registered))


@registry_app.command("tag")
@guarded
def registry_tag_command(
    rev: Annotated[str, typer.Option(help="The commit whose model to register (after a promotion's merge).")] = "HEAD",
    params_file: ParamsFile = Path("params.yaml"),
) -> None:
    """Register REV's model as the next version `model@vX.Y.Z` (an annotated tag); print the tag's name.

    Idempotent: when REV's model is already registered, no tag is made and the existing tag's name is printed,
    so `git push origin "$(pipeline registry tag)"` is safe to re-run.
    """
    from pipeline import registry

    tag, created = registry.register(rev, load_params(params_file))
    typer.echo(f"{'registered' if created else 'already registered, no new tag'}: {tag}", err=True)
    typer.echo(tag)


def build_site(site: Path) -> None:
    """Build the report site with `mkdocs build --strict` (broken links fail the build)."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-f", str(site / "mkdocs.yml")]
    if subprocess.run(command, env=env, check=False).returncode != 0:
        raise PipelineError(f"{site / 'mkdocs.yml'}: `mkdocs build --strict` failed (see above)")
    typer.echo(f"site built: {site / 'build' / 'index.html'}")
