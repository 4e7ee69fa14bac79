"""`pipeline ct`: continuous training, one period at a time, ending in a promotion pull request or a reason.

Run in a clean git checkout whose `origin` is the team's repository (`.github/workflows/ct.yml` runs it on a
schedule). The steps, each a project command a person can run alone:
1. `pipeline ingest --through <period>`: release the next period of the source, the one after those released or
   recorded by an earlier round (`next_period`; nothing new: stop here, change nothing);
2. `pipeline run --no-site`: validate the data and `dvc repro`;
3. `pipeline gate --base origin/<base>`: compare this challenger with the champion `<base>` pins; then
   `pipeline shadow`: both score the next batch, before its outcomes exist (how many decisions would change);
4. drift: when `<metrics>/drift.json` says the data drifted, open or update the one drift-alert issue;
   monitoring: the round's record (the live model on the new period, the decision, drift, labels, cost) is
   pushed to the data branch `monitor.branch`, promoted or not, and a decayed or stale live model opens or
   updates its issue (pipeline/monitor.py);
5. promote: commit exactly what the run changed among `produced()` on branch `ct/<period>`, push it and open
   a pull request whose body is `pipeline pr-comment` of that branch (with a DVC remote, `dvc push` first, so
   the pull request's CI finds the new data); reject or no champion: no branch,
   the reasons go to the job summary.
A second run for the same period finds the branch `ct/<period>` on origin and only makes sure its pull request exists,
so it never makes a duplicate branch or pull request. GitHub is reached only through `pipeline.github`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from pipeline import github, ingest, monitor, pr_comment
from pipeline.artifacts import read_json
from pipeline.config import Params, ParamsFile, load_params
from pipeline.errors import PipelineError
from pipeline.markdown import code, escape
from pipeline.repo import dvc, git, has_dvc_remote

GATE_EXIT = {0: "promote", 3: "reject", 4: "no-champion", 5: "unchanged"}


def produced(params: Params) -> list[Path]:
    """What a CT run may change, and so may commit: the data record, the lock file and the small outputs.

    Also the `.dvc` files of DVC-tracked sources: `dvc update` rewrites an import's when it fetches new data.
    """
    paths = params.paths
    return [
        paths.data.with_name(paths.data.name + ".dvc"),
        paths.release,
        Path("dvc.lock"),
        paths.metrics,
        paths.plots,
        paths.reports,
        paths.gate,
        *ingest.tracked(params),
    ]


def project(*args: str) -> int:
    """Run `pipeline <args>` as its own process (its output goes to the log) and return its exit status."""
    return subprocess.run([sys.executable, "-m", "pipeline", *args], check=False).returncode


def summarize(summary: Path | None, lines: list[str]) -> None:
    """Append Markdown to the job summary (GitHub's $GITHUB_STEP_SUMMARY) and echo it to the log."""
    text = "\n".join(lines) + "\n"
    typer.echo(text)
    if summary is not None:
        with summary.open("a", encoding="utf-8") as out:
            out.write(text)


def next_period(params: Params) -> str | None:
    """The period this round releases, or None when the source has nothing new.

    The one after the newest period the base branch released, as `pipeline ingest --next` says, or after the
    newest a round recorded on the monitoring branch, if later (unless that one's promotion is still proposed:
    then it again, so its pull request is made sure of, never doubled). A rejected round commits nothing to the base
    branch; without its record the next round would release the same period again, round after round. With it,
    the next round releases everything up to its new period (`ingest --through`), so the challenger learns
    from the rejected round's period too, and both models are judged on the new one.
    """
    tables, pending = ingest.pending(params)
    if not pending:
        return None
    seen = monitor.periods(params.monitor.branch)
    if not seen or seen[-1] < pending[-1]:
        return pending[-1]
    if proposed(seen[-1]):  # its promotion awaits review: the round makes sure its pull request exists
        return seen[-1]
    available = ingest.from_since(tables[params.prepare.batches].periods, params.ingest.since)
    return next((p for p in available if p > seen[-1]), None)


def proposed(period: str) -> bool:
    """Whether origin has the branch of `period`'s promotion (fetched first)."""
    return bool(git("branch", "--remotes", "--list", f"origin/ct/{period}").strip())


def alert_drift(api, repo: str, drift_file: Path, alert_file: Path) -> str | None:
    """Open or update the one drift-alert issue when the newest period drifted; None when it did not."""
    drift = read_json(drift_file) if drift_file.exists() else {}
    if not drift.get("drifted"):
        return None
    body = alert_file.read_text(encoding="utf-8")
    return github.upsert_issue(
        api, repo=repo, title=f"Data drift detected in {drift.get('current')}", body=body, marker=github.DRIFT_MARKER
    )


def propose(
    api: github.Api, *, repo: str, base: str, branch: str, params: Params, body_out: Path, dispatch_ci: str
) -> str:
    """Open the promotion pull request of the checked-out `branch` (body: `pr-comment` against the base)."""
    period = branch.removeprefix("ct/")
    body = pr_comment.build(f"origin/{base}", params, title=f"Promote the model retrained with {period}", marker="")
    body_out.write_text(body, encoding="utf-8")
    done = github.open_pull_request(
        api, repo=repo, head=branch, base=base, title=f"CT: promote the model retrained with {period}", body=body
    )
    if dispatch_ci and done.startswith("opened"):
        done += "; " + github.dispatch_workflow(api, repo, dispatch_ci, branch)
    return done


def record_round(params: Params, *, period: str, base: str, api: github.Api, repo: str) -> list[str]:
    """Record the round on the monitoring branch, promoted or not, after raising its alerts; the lines said."""
    record = monitor.round_record(params, period=period, base=f"origin/{base}")
    said = monitor.watch(params, record, api, repo, github.upsert_issue)
    monitor.store(record, params.monitor.branch, github.push)
    return [*said, f"Monitoring: the round is recorded on branch {code(params.monitor.branch)}.", ""]


def commit_promotion(branch: str, period: str, params: Params) -> list[str]:
    """Commit what the run changed among `produced` on a new branch; return the committed files."""
    git("checkout", "--quiet", "-b", branch)
    allowed = [str(p) for p in produced(params) if p.exists()]
    git("add", "--all", "--", *allowed)
    files = git("diff", "--cached", "--name-only").split()
    git(
        "commit",
        "--quiet",
        "-m",
        f"CT: retrain with {period} (gate: promote)",
        "-m",
        "Written by `pipeline ct`: the new data record, dvc.lock, metrics, plots, reports and gate decision.",
    )
    return files


def continuous_training(
    repo: str, *, base: str, params: Params, params_file: Path, body_out: Path, dispatch_ci: str
) -> list[str]:
    """One CT round; returns the job summary's lines (see the module docstring for the steps)."""
    ingest.recover(params)  # a round killed while releasing leaves a journal: its changes are undone first
    if git("status", "--porcelain", "--untracked-files=normal").strip():
        raise PipelineError(
            "the working tree has uncommitted changes; CT commits only what it produces, so it runs in a clean checkout"
        )
    github.remote_git("fetch", "--quiet", "--prune", "origin")
    period = next_period(params)
    if period is None:
        return ["### Continuous training: nothing new", "", "Every period of the source is released already."]
    branch = github.check_branch(f"ct/{period}")
    api = github.client()
    if proposed(period):
        git("checkout", "--quiet", "-B", branch, f"origin/{branch}")
        done = propose(
            api, repo=repo, base=base, branch=branch, params=params, body_out=body_out, dispatch_ci=dispatch_ci
        )
        return [
            f"### Continuous training: {escape(period)} was proposed already",
            "",
            f"Branch {code(branch)} exists on origin: no new branch. {done}.",
        ]

    typer.echo(ingest.release(params, period))
    # --no-check: the release was checked with the whole contract before it counted (`ingest.release`)
    if project("run", "--no-site", "--no-check", "--params", str(params_file)) != 0:
        raise PipelineError("`pipeline run` failed (see above): nothing committed")
    status = project("gate", "--base", f"origin/{base}")
    if status not in GATE_EXIT:
        raise PipelineError(f"`pipeline gate` failed with exit status {status} (see above): nothing committed")
    drift = alert_drift(api, repo, params.paths.metrics / "drift.json", params.paths.reports / "drift_alert.md")
    lines = [f"### Continuous training: {escape(period)}, gate says {GATE_EXIT[status]}", ""]
    lines += [f"Drift: {drift}." if drift else "Drift: the new period did not drift.", ""]
    if GATE_EXIT[status] == "promote":  # what the promotion would change, for the pull request's reviewer
        if project("shadow", "--base", f"origin/{base}") != 0:
            raise PipelineError("`pipeline shadow` failed (see above): nothing committed")
        lines += [pr_comment.shadow_sentence(read_json(params.paths.gate / "shadow.json")), ""]
    lines += record_round(params, period=period, base=base, api=api, repo=repo)
    summary_md = params.paths.gate / "summary.md"
    gate_text = summary_md.read_text(encoding="utf-8") if summary_md.exists() else ""
    if GATE_EXIT[status] != "promote":
        return lines + ["No branch and no pull request: the challenger is not promoted.", "", gate_text]
    files = commit_promotion(branch, period, params)
    if has_dvc_remote():  # the pull request's CI pulls the new data and model from the remote
        dvc("push", "--quiet", capture=False)
    github.push(branch)
    done = propose(api, repo=repo, base=base, branch=branch, params=params, body_out=body_out, dispatch_ci=dispatch_ci)
    return lines + [f"Pushed {code(branch)} ({len(files)} files). {done}.", "", gate_text]


def main(
    *,
    repo: Annotated[str, typer.Option(envvar="GITHUB_REPOSITORY", help="OWNER/NAME on GitHub.")],
    base: Annotated[str, typer.Option(help="The branch that pins the champion; promotion PRs target it.")] = "main",
    summary: Annotated[
        Path | None, typer.Option(envvar="GITHUB_STEP_SUMMARY", help="Append the outcome (Markdown) to this file.")
    ] = None,
    body_out: Annotated[Path, typer.Option(help="Where to write the pull request body.")] = Path("ct-pr-body.md"),
    dispatch_ci: Annotated[
        str,
        typer.Option(
            help="Workflow file to start on the new branch (for a pull request "
            "opened with the default token, which starts no CI); empty: none."
        ),
    ] = "",
    params_file: ParamsFile = Path("params.yaml"),
) -> None:
    """Continuous training: ingest the next period, re-run, gate; promote through a pull request, or say why not."""
    github.check_repo(repo)
    github.check_branch(base)
    lines = continuous_training(
        repo,
        base=base,
        params=load_params(params_file),
        params_file=params_file,
        body_out=body_out,
        dispatch_ci=dispatch_ci,
    )
    summarize(summary, lines)
