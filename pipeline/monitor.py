"""Monitoring the live model: one record per continuous-training round, and the alerts they raise.

The gate of a CT round scores the live model (the champion the base branch pins) on a period it never saw:
that is its real, out-of-sample performance, the thing a team watches. This module keeps it:

- `round_record` gathers, after the gate, what the round learned: the live model's version and its metric
  on the period with an interval, the challenger's, the decision and its reasons, the drift verdict and the
  share of drifted columns, the label rate, and the cost figures (the challenger's training run from
  `<paths.cost>/train.json`; both models' scoring rate and file size from the gate).
- `store` commits the record as `rounds/<period>.json` on the data branch `monitor.branch` (default
  `monitoring`) and pushes it, promoted or not. Why a data branch: the records must survive rejected rounds,
  which commit nothing to the default branch, and no bot may push to `main` unreviewed. A branch of JSON
  files is what benchmark-tracking actions use: git keeps the history, anyone can read it (`git show
  origin/monitoring:rounds/2013-07.json`), and it needs no storage beyond the repository. The commit is
  written with git's plumbing (a private index), so the round's working tree and branch are never touched.
- `decay` and `stale` say when someone should act; `pipeline ct` opens or updates one issue for each (the
  same marker-and-author rule as the drift alert, through `pipeline.github`). Decay looks at the model's
  metric, not at the inputs: a change of P(y|x) (concept drift) lowers it while input drift says "no drift".
- `pipeline monitor` prints the records as a table; the site's Monitoring page draws them
  (pipeline/report/monitoring.py).
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from pipeline import metrics_format, registry
from pipeline.artifacts import read_json
from pipeline.config import Monitor, Params, ParamsFile, load_params
from pipeline.errors import PipelineError
from pipeline.markdown import code, escape
from pipeline.repo import git

FORMAT = 1
FOLDER = "rounds"  # on the data branch: rounds/<period>.json
DECAY_MARKER = "<!-- model-decay-alert -->"
STALE_MARKER = "<!-- model-stale-alert -->"


def _optional(path: Path) -> dict | None:
    return read_json(path) if path.exists() else None


def live_model(params: Params, base: str) -> dict:
    """The model `base` pins: its md5, registered version, evaluation period and metrics at promotion."""
    md5 = registry.model_md5(base, params.paths.model)
    version = next((v.tag for v in registry.versions(params) if md5 and v.model_md5 == md5), None)
    evaluate = registry.committed_json(base, (params.paths.metrics / "evaluate.json").as_posix()) or {}
    prepare = registry.committed_json(base, (params.paths.metrics / "prepare.json").as_posix()) or {}
    model = metrics_format.headline(evaluate, f"{base}:evaluate.json")["model"] if evaluate else {}
    return {
        "model_md5": md5,
        "version": version,
        "evaluated_on": (prepare.get("periods") or {}).get("evaluation"),
        "at_promotion": model,
    }


def _on_period(primary: dict | None, side: str) -> dict | None:
    """One model's gate metric on the period as {value, low, high}, when the gate scored it."""
    if not primary or primary.get(side) is None:
        return None
    low, high = primary.get(f"{side}_interval") or (None, None)
    return {"value": primary[side], "low": low, "high": high}


def round_record(params: Params, *, period: str, base: str) -> dict:
    """What this round learned, from the files the run and the gate wrote (see the module docstring)."""
    decision = read_json(params.paths.gate / "decision.json")
    drift = _optional(params.paths.metrics / "drift.json") or {}
    prepare = _optional(params.paths.metrics / "prepare.json") or {}
    primary = decision.get("primary") or {}
    metric = primary.get("metric") or params.gate.metric or params.task.primary_metric
    live = live_model(params, base)
    live["at_promotion"] = live["at_promotion"].get(metric)
    live["on_period"] = _on_period(primary, "champion")
    labelled = (prepare.get("rows") or {}).get("test")
    unlabelled = (prepare.get("unlabelled") or {}).get("test")
    return {
        "format": FORMAT,
        "period": period,
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "metric": metric,
        "decision": decision["decision"],
        "reasons": decision.get("reasons", []),
        "live": live,
        "challenger": {
            "on_period": _on_period(primary, "challenger"),
            "training": _optional(params.paths.cost / "train.json"),
        },
        "scoring": decision.get("cost"),
        "drift": {"drifted": drift.get("drifted"), "share": drift.get("share_drifted")},
        "labels": {
            "labelled": labelled,
            "unlabelled": unlabelled,
            "rate": labelled / (labelled + unlabelled)
            if labelled is not None and unlabelled is not None and labelled + unlabelled
            else None,
        },
    }


def decay(record: dict, monitor: Monitor, better: int) -> list[str]:
    """Why the live model's metric on the period says it decayed; empty when it did not (or was not scored).

    Two rules, either enough: worse than `monitor.floor` (a level the team fixed), or worse than the worst end
    of its own interval at promotion by more than `monitor.margin` (it no longer does what it was promoted for).
    `better` is +1 when a higher value is better, -1 when lower is (the task's metric direction).
    """
    now, then, metric = record["live"].get("on_period"), record["live"].get("at_promotion"), record["metric"]
    if not now or now.get("value") is None:
        return []
    value, reasons = now["value"], []
    if monitor.floor is not None and better * (value - monitor.floor) < 0:
        reasons.append(f"{metric} {value:.4f} on {record['period']} is worse than the floor {monitor.floor:g}")
    worst = (then or {}).get("low" if better > 0 else "high")
    if worst is not None:
        bound = worst - better * monitor.margin
        if better * (value - bound) < 0:
            reasons.append(
                f"{metric} {value:.4f} on {record['period']} is worse than {bound:.4f}, the worst end of its interval "
                f"at promotion ({then['low']:.4f} to {then['high']:.4f}) by more than the margin {monitor.margin:g}"
            )
    return reasons


def stale(record: dict, seen: list[str], monitor: Monitor) -> str | None:
    """Why the live model is stale, or None: more periods arrived since its evaluation period than `max_age`.

    `seen`: the periods continuous training has released, this round's included (the recorded ones: a rejected
    round releases nothing on the default branch, but its period arrived all the same).
    """
    since = record["live"].get("evaluated_on")
    if since is None:
        return None
    newer = sorted({p for p in seen if p > since})  # periods sort as text: 2013-07 < 2013-10 < 2014-01
    if len(newer) <= monitor.max_age:
        return None
    return (
        f"the live model was evaluated on {since}; {len(newer)} periods arrived since ({newer[0]} to "
        f"{newer[-1]}) without a promotion, more than monitor.max_age = {monitor.max_age}"
    )


def alert_body(record: dict, reasons: list[str], what: str) -> str:
    """The issue's Markdown: the reasons, the live model and what to do; every value escaped."""
    live = record["live"]
    lines = [
        f"### {what}",
        "",
        *[f"- {escape(reason)}" for reason in reasons],
        "",
        f"Live model: {code(live.get('version') or 'unregistered')} (md5 {code((live.get('model_md5') or '?')[:12])}), "
        f"evaluated on {escape(live.get('evaluated_on'))}. Round of {escape(record['period'])}: the gate says "
        f"{escape(record['decision'])}; drift share {_share(record['drift'].get('share'))}.",
        "",
        "What to do: read the site's Monitoring page; retrain (the next CT round, or `pipeline ct` now), or review "
        "the gate's reasons if challengers keep being rejected. This issue is updated by each round that finds "
        "the same; close it when it is handled.",
    ]
    return "\n".join(lines) + "\n"


def _share(share) -> str:
    return "unknown" if share is None else f"{share:.0%}"


def store(record: dict, branch: str, push) -> str:
    """Commit `record` as rounds/<period>.json on `branch` (after origin's) and push it; returns the commit.

    `push(ref)` is pipeline.github.push: the one way this project reaches origin.
    """
    parent = _rev(f"refs/remotes/origin/{branch}") or _rev(f"refs/heads/{branch}")
    text = json.dumps(record, indent=1, sort_keys=True) + "\n"
    with tempfile.TemporaryDirectory(prefix="monitor-") as tmp:
        env = {**os.environ, "GIT_INDEX_FILE": str(Path(tmp) / "index")}  # a private index: the checkout stays
        if parent:
            git("read-tree", parent, env=env)
        blob = git("hash-object", "-w", "--stdin", env=env, stdin=text).strip()
        git("update-index", "--add", "--cacheinfo", f"100644,{blob},{FOLDER}/{record['period']}.json", env=env)
        tree = git("write-tree", env=env).strip()
    message = f"monitor: round {record['period']} (gate: {record['decision']})"
    commit = git("commit-tree", tree, *(["-p", parent] if parent else []), "-m", message).strip()
    git("update-ref", f"refs/heads/{branch}", commit)
    push(branch)
    return commit


def _rev(ref: str, cwd: Path | None = None) -> str | None:
    """The commit `ref` names, None when there is no such ref."""
    try:
        return git("rev-parse", "--verify", "--quiet", ref, cwd=cwd).strip()
    except PipelineError:
        return None


def _branch_ref(branch: str, cwd: Path | None) -> str | None:
    """The ref of `branch`: origin's when fetched (CI, CT), else the local one, else None."""
    return next((r for r in (f"origin/{branch}", branch) if _rev(r, cwd)), None)


def periods(branch: str, cwd: Path | None = None) -> list[str]:
    """The periods recorded on `branch`, oldest first (what continuous training has seen)."""
    ref = _branch_ref(branch, cwd)
    if ref is None:
        return []
    names = git("ls-tree", "--name-only", f"{ref}:{FOLDER}", cwd=cwd).split()
    return sorted(n.removesuffix(".json") for n in names if n.endswith(".json"))


def records(branch: str, cwd: Path | None = None) -> list[dict]:
    """Every record on origin's `branch` (else the local one), oldest period first; none when there is no branch."""
    ref, found = _branch_ref(branch, cwd), []
    for period in periods(branch, cwd):
        name = f"{period}.json"
        text = git("show", f"{ref}:{FOLDER}/{name}", cwd=cwd)
        try:
            found.append(json.loads(text))
        except json.JSONDecodeError as exc:
            raise PipelineError(f"{ref}:{FOLDER}/{name}: not valid JSON ({exc})") from None
    return found


def table(found: list[dict]) -> str:
    """The records as a Markdown table, one row per round (what `pipeline monitor` prints)."""
    lines = [
        "| period | live model | live metric (interval) | decision | drift share | label rate | alerts |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in found:
        now = r["live"].get("on_period")
        metric = "not scored" if not now else f"{r['metric']} {_interval(now)}"
        alerts = "; ".join(r.get("alerts") or []) or "none"
        lines.append(
            f"| {escape(r['period'])} | {escape(r['live'].get('version') or 'unregistered')} | {escape(metric)} | "
            f"{escape(r['decision'])} | {_share(r['drift'].get('share'))} | {_share(r['labels'].get('rate'))} | "
            f"{escape(alerts)} |"
        )
    return "\n".join(lines) + "\n"


def _interval(m: dict) -> str:
    if m.get("low") is None:
        return f"{m['value']:.4f}"
    return f"{m['value']:.4f} ({m['low']:.4f} to {m['high']:.4f})"


def watch(params: Params, record: dict, api, repo: str, upsert) -> list[str]:
    """Apply both alert rules to `record`, open or update their issues, note them in the record; the lines said.

    `upsert` is pipeline.github.upsert_issue (passed in, so this module never imports the GitHub layer's
    transport and tests can call the rules alone).
    """
    better = params.task.better(record["metric"])
    said, record["alerts"] = [], []
    reasons = decay(record, params.monitor, better)
    if reasons:
        title = f"Model decay: {record['metric']} on {record['period']}"
        done = upsert(api, repo=repo, title=title, body=alert_body(record, reasons, title), marker=DECAY_MARKER)
        record["alerts"].append(f"decay ({done})")
        said.append(f"Model decay: {done}.")
    why = stale(record, [*periods(params.monitor.branch), record["period"]], params.monitor)
    if why:
        title = f"Stale model: no promotion since {record['live']['evaluated_on']}"
        done = upsert(api, repo=repo, title=title, body=alert_body(record, [why], title), marker=STALE_MARKER)
        record["alerts"].append(f"stale ({done})")
        said.append(f"Stale model: {done}.")
    return said


def main(
    branch: Annotated[
        str | None, typer.Option(help="The data branch of the records (default: monitor.branch).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the records as JSON instead of a table.")] = False,
    params_file: ParamsFile = Path("params.yaml"),
) -> None:
    """Print every continuous-training round's record: the live model on each new period, decisions, alerts."""
    params = load_params(params_file)
    found = records(branch or params.monitor.branch)
    if not found:
        typer.echo(
            f"No records: no branch origin/{branch or params.monitor.branch} yet (continuous training writes it)."
        )
        return
    typer.echo(json.dumps(found, indent=1) if as_json else table(found))
