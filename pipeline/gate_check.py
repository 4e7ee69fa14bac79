"""Command `gate-check`: the required check "Gate" of a pull request, from the gate's decision.

ci.yml's job Gate runs it on the decision the job ci's gate step wrote as an output: a reject fails the check,
unless the pull request carries the override label (ci.yml passes whether it does, as `GATE_OVERRIDE`).
It reads no file and imports neither pandas nor scikit-learn: the job that runs it only checks out the code.
"""

from __future__ import annotations

from typing import Annotated

import typer

from pipeline.errors import PipelineError
from pipeline.github import OVERRIDE_LABEL

DECISIONS = ("promote", "reject", "no-champion", "unchanged")  # pipeline.gate's EXIT, by name


def verdict(decision: str, *, override: bool) -> tuple[bool, str]:
    """Whether the required check passes for the gate's `decision`, and the sentence that says why.

    Only a reject fails: a promotion, a first model (no champion) and an unchanged model pass. A reviewer may
    accept a worse model on purpose (a deliberate trade-off, say a cheaper model); the override label says so
    where everyone sees it, and the comment acknowledges it.
    """
    if decision not in DECISIONS:
        return False, f"no gate decision to check ({decision!r}): did the gate step run?"
    if decision != "reject":
        return True, f"the gate says {decision}"
    if override:
        return True, f"the gate rejected this model; the label {OVERRIDE_LABEL!r} accepts it deliberately"
    return False, (
        f"the gate rejected this model (see the pull request's comment for why); a reviewer who accepts it "
        f"deliberately adds the label {OVERRIDE_LABEL!r}"
    )


def main(
    decision: Annotated[str, typer.Option(help="The gate's decision (ci.yml passes the gate job's output).")],
    override: Annotated[
        bool,
        typer.Option(envvar="GATE_OVERRIDE", help=f"The pull request carries the label {OVERRIDE_LABEL!r}."),
    ] = False,
) -> None:
    """Pass or fail the required check "Gate": a reject fails it unless the override label accepts it."""
    passed, why = verdict(decision, override=override)
    if not passed:
        raise PipelineError(why)
    typer.echo(why)
