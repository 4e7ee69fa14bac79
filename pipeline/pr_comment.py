"""`pipeline pr-comment`: what a change did to the model, as one Markdown comment for its pull request.

Reads:  `dvc params diff` and `dvc metrics diff` against the base revision, the gate's decision
        (`<gate>/decision.json`), the drift verdict (`<metrics>/drift.json`) and the curve files of
        `dvc.yaml`'s `plots:` in the working tree and at the base revision (`git show`).
Writes: the comment body (Markdown) to `--out`, and beside it `report.json`, the data it shows (`Report`):
        comment.yml checks that data and renders it with the default branch's code before posting it.
Params: `paths.metrics`, `paths.plots`, `paths.gate` (and `dvc.yaml`'s `plots:` for each curve's x and y).

The plots' change is drawn with Mermaid `xychart-beta` charts, which GitHub renders in comments, plus a
compact table of the same points: no image host, and the numbers stay readable where Mermaid is not drawn.
Every string that a pull request can change (parameter values, metric and column names, reasons) is escaped
for Markdown and HTML, because a fork's pull request chooses them.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import typer
import yaml
from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from pipeline.artifacts import file_md5, read_json, write_json
from pipeline.config import Params, ParamsFile, load_params
from pipeline.errors import PipelineError
from pipeline.github import COMMENT_MARKER, OVERRIDE_LABEL, check_number, limit
from pipeline.markdown import code, escape
from pipeline.repo import dvc

CHART_POINTS = 11
REPORT_FILE = "report.json"  # beside the body: the data comment.yml renders with the default branch's code
INTERVAL = re.compile(r"\.(value|low|high)$")
MAX_ROWS = 40  # rows per metrics file other than evaluate.json: a long diff is cut, and says so
PALETTE = '%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "#9e9e9e, #d62728"}}}}%%'


def number(value) -> str:
    """A metric or parameter value for a table: numbers to 4 significant digits, anything else escaped."""
    if isinstance(value, bool) or value is None:
        return escape(value) if value is not None else "–"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return escape(value)


def change(old, new) -> str:
    """`new - old` with its sign, or a word when the values are not two numbers."""
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (old, new))
    if numeric:
        return f"{new - old:+.4g}" if new != old else "0"
    if old is None:
        return "new"
    return "removed" if new is None else ("changed" if old != new else "")


# --- params and metrics -----------------------------------------------------------------------------------


def params_section(diff: dict) -> list[str]:
    """A table of the parameters this change edits (`dvc params diff --json`)."""
    rows = [(f, k, v) for f, keys in sorted(diff.items()) for k, v in sorted(keys.items())]
    if not rows:
        return ["No parameter changed."]
    lines = ["| file | parameter | base | this PR |", "| --- | --- | --- | --- |"]
    lines += [f"| {escape(f)} | {escape(k)} | {number(v.get('old'))} | {number(v.get('new'))} |" for f, k, v in rows]
    return lines


def group_intervals(keys: dict) -> dict[str, dict]:
    """Merge `m.value`/`m.low`/`m.high` (evaluate.json format 2) and plain `m` (format 1) into one row each.

    Returns:
        {metric: {"old": x, "new": y, "old_ci": (low, high) | None, "new_ci": (low, high) | None}}
    """
    rows: dict[str, dict] = {}
    for key, values in keys.items():
        match = INTERVAL.search(key)
        name, part = (key[: match.start()], match[1]) if match else (key, "value")
        row = rows.setdefault(
            name, {"old": None, "new": None, "old_low": None, "old_high": None, "new_low": None, "new_high": None}
        )
        for side in ("old", "new"):  # a format change leaves `m` on one side and `m.value` on the other
            if values.get(side) is not None:
                row[side if part == "value" else f"{side}_{part}"] = values[side]
    return rows


def interval(row: dict, side: str) -> str:
    """The row's confidence interval on one side ("old" or "new"), or a dash when it has none."""
    low, high = row[f"{side}_low"], row[f"{side}_high"]
    return f"[{low:.4g}, {high:.4g}]" if isinstance(low, int | float) and isinstance(high, int | float) else "–"


def reading_order(item: tuple[str, dict]) -> tuple[int, str]:
    """The model's metrics first, then the rest, the baseline's last (format 1 and 2 name them alike)."""
    key = item[0]
    return (0 if key.startswith("model.") else 2 if key.startswith("baseline.") else 1), key


def moved(row: dict) -> bool:
    """Whether a value moved beyond the noise: either side's value lies outside the other side's interval.

    A value new or gone has moved; rows without an interval move when they differ.
    """
    if row["old"] is None or row["new"] is None:
        return row["old"] != row["new"]
    if row["new_low"] is None or row["old_low"] is None:
        return row["old"] != row["new"]
    return not (row["new_low"] <= row["old"] <= row["new_high"] and row["old_low"] <= row["new"] <= row["old_high"])


def metrics_section(diff: dict, everything: str, skip: set[str], significant: set[str] = frozenset()) -> list[str]:
    """Tables of `dvc metrics diff --json --all`: every metric of `everything`, changed ones of other files.

    Of the files in `significant` (each feature's contribution), only the rows that moved beyond their intervals:
    every contribution shifts a little whenever the model changes.

    The 95% confidence intervals of evaluate.json (format 2) sit next to their value, so a reviewer sees
    whether a change is larger than the noise of the evaluation set.
    """
    lines = []
    for file, keys in sorted(diff.items()):
        name = Path(file).name
        if name in skip:
            continue
        rows = group_intervals(keys)
        changed = moved if name in significant else lambda r: r["old"] != r["new"]
        shown = [
            (k, r)
            for k, r in sorted(rows.items(), key=reading_order)
            if k != "format" and (name == everything or changed(r))
        ]
        if not shown:
            continue
        lines += [
            "",
            f"**{escape(file)}**",
            "",
            "| metric | base | this PR | change | 95% CI, base | 95% CI, this PR |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        lines += [
            f"| {escape(k)} | {number(r['old'])} | {number(r['new'])} | {change(r['old'], r['new'])} | "
            f"{interval(r, 'old')} | {interval(r, 'new')} |"
            for k, r in shown[:MAX_ROWS]
        ]
        if len(shown) > MAX_ROWS:
            lines.append(f"\n*… and {len(shown) - MAX_ROWS} more changed metrics in this file.*")
    return lines or ["No metric changed."]


# --- gate and drift ---------------------------------------------------------------------------------------


def gate_section(decision: dict | None, stale: bool, override: bool = False, shadow: dict | None = None) -> list[str]:
    """The gate's decision and its reasons, or an honest "not run"; a reject says what the Gate check does."""
    if decision is None or stale:
        why = "no decision file" if decision is None else "the decision file is the base revision's own"
        return [f"The gate did not run in this job ({why}); run `pipeline gate` to compare with the champion."]
    lines = [
        f"**Decision: {escape(decision.get('decision'))}** (shadow evaluation on period "
        f"{escape(decision.get('period'))}: both models score its labelled rows, which neither was trained on; "
        f"champion {code(str((decision.get('champion') or {}).get('rev'))[:12])})",
        "",
    ]
    if decision.get("decision") == "reject":
        label = code(OVERRIDE_LABEL)
        lines += [
            f"**Accepted by a reviewer**: the label {label} accepts this worse model deliberately, so the check "
            "*Gate* passes."
            if override
            else f"The check *Gate* fails on this reject. A reviewer who accepts the model deliberately (a trade-off "
            f"worth its cost) adds the label {label}.",
            "",
        ]
    primary = decision.get("primary") or {}
    if primary:
        lines += [
            "| metric | champion | challenger | change | 95% CI of the change |",
            "| --- | --- | --- | --- | --- |",
            f"| {escape(primary.get('metric'))} | {number(primary.get('champion'))} | "
            f"{number(primary.get('challenger'))} | {number(primary.get('delta'))} | "
            f"[{number(primary.get('low'))}, {number(primary.get('high'))}] |",
            "",
        ]
    lines += [f"- {escape(reason)}" for reason in decision.get("reasons", [])]
    return lines + (["", shadow_sentence(shadow)] if shadow else [])


def shadow_sentence(record: dict) -> str:
    """`pipeline shadow`'s record in words: how many of the next batch's decisions the challenger changes."""
    if record.get("period") is None:
        return f"Shadow scoring of the next batch: not done ({escape(record.get('why'))})."
    text = f"Shadow scoring of the next batch, {escape(record['period'])} ({record['rows']:,} rows, no outcomes yet): "
    parts = []
    if record.get("changed") is not None:
        parts.append(f"{record['changed']:,} decisions ({record['share']:.1%}) would change")
    if record.get("mean_score_change") is not None:
        parts.append(f"the score moves by {record['mean_score_change']:.4f} on average")
    return text + "; ".join(parts) + "."


def drift_section(head: dict | None, base: dict | None) -> list[str]:
    """The drift verdict of this revision, and the base's when it differs."""
    if head is None:
        return ["No drift report (the drift stage did not run)."]
    verdict = "**the data drifted**" if head.get("drifted") else "no dataset drift"
    lines = [f"Period {escape(head.get('current'))}: {verdict} ({escape(head.get('reason'))})."]
    drifted = head.get("drifted_columns") or []
    if drifted:
        lines += ["", f"Columns that drifted: {', '.join(str(code(c)) for c in drifted)}."]
    if base is not None and (base.get("drifted"), base.get("current")) != (head.get("drifted"), head.get("current")):
        was = "drifted" if base.get("drifted") else "no drift"
        lines += ["", f"Base: period {escape(base.get('current'))}, {was}."]
    return lines


# --- plots ------------------------------------------------------------------------------------------------


def plot_definitions(dvc_yaml: Path, params: Params) -> list[tuple[str, str, Path, str]]:
    """(title, x column, file, y column) for each curve of `dvc.yaml`'s top-level `plots:`.

    A confusion matrix (template `confusion`) is not a curve: its change shows in the per-class metrics.
    """
    spec = yaml.safe_load(dvc_yaml.read_text(encoding="utf-8")) or {}
    paths = params.paths.model_dump(mode="json")
    found = []
    for entry in spec.get("plots") or []:
        for title, plot in entry.items() if isinstance(entry, dict) else []:
            if plot.get("template") == "confusion":
                continue
            for file, y in (plot.get("y") or {}).items():
                path = re.sub(r"\$\{paths\.(\w+)\}", lambda m: str(paths[m[1]]), file)
                found.append((title, plot["x"], Path(path), y))
    return found


def curve(data: dict | None, x: str, y: str) -> tuple[np.ndarray, np.ndarray] | None:
    """The (x, y) points of a DVC plot file ({name: [{x: .., y: ..}, ...]}), sorted by x."""
    rows = next(iter(data.values()), None) if data else None
    if not rows:
        return None
    xs, ys = np.array([r[x] for r in rows], float), np.array([r[y] for r in rows], float)
    order = np.argsort(xs, kind="stable")
    return xs[order], ys[order]


def chart(title: str, *, x: str, y: str, grid: np.ndarray, base: np.ndarray | None, head: np.ndarray) -> list[str]:
    """A Mermaid xychart (grey: base, red: this PR) and the same points as a table."""
    label = lambda s: re.sub(r"[^A-Za-z0-9 _.-]", "", str(s))[:40]  # noqa: E731 - inside a quoted chart label
    ticks = ", ".join(f'"{v:.2g}"' for v in grid)
    series = [f"    line [{', '.join(f'{v:.4f}' for v in base)}]"] if base is not None else []
    lines = [
        "```mermaid",
        PALETTE,
        "xychart-beta",
        f'    title "{label(title)}"',
        f'    x-axis "{label(x)}" [{ticks}]',
        f'    y-axis "{label(y)}"',
        *series,
        f"    line [{', '.join(f'{v:.4f}' for v in head)}]",
        "```",
        "",
        f"| {escape(x)} | " + " | ".join(f"{v:.2g}" for v in grid) + " |",
        "| --- |" + " --- |" * len(grid),
    ]
    if base is not None:
        lines.append("| base | " + " | ".join(f"{v:.3f}" for v in base) + " |")
    lines.append(f"| this PR ({escape(y)}) | " + " | ".join(f"{v:.3f}" for v in head) + " |")
    if base is not None:
        lines.append("| change | " + " | ".join(f"{v:+.3f}" for v in head - base) + " |")
    return lines


def plot_data(definitions, base_ref: str) -> list[dict]:
    """Each curve at the base and in this PR, on a common grid of x values (linear interpolation), as data."""
    plots = []
    for title, x, path, y in definitions:
        head = curve(read_json(path), x, y) if path.exists() else None
        if head is None:
            continue
        base = curve(git_json(base_ref, path), x, y)
        low = min(head[0].min(), base[0].min()) if base else head[0].min()
        high = max(head[0].max(), base[0].max()) if base else head[0].max()
        grid = np.linspace(low, high, CHART_POINTS)
        old = np.interp(grid, *base).tolist() if base else None
        plots.append(
            {
                "title": title,
                "x": x,
                "y": y,
                "grid": grid.tolist(),
                "base": old,
                "head": np.interp(grid, *head).tolist(),
            }
        )
    return plots


def plots_section(plots: list[dict]) -> list[str]:
    """A chart and a table per curve that changed; a line for each that did not."""
    lines = []
    for plot in plots:
        grid, head = np.array(plot["grid"], float), np.array(plot["head"], float)
        base = np.array(plot["base"], float) if plot["base"] is not None else None
        if base is not None and np.allclose(base, head, atol=5e-4):
            lines += ["", f"**{escape(plot['title'])}**: unchanged."]
            continue
        note = "grey is the base, red is this PR" if base is not None else "new in this PR"
        lines += ["", f"**{escape(plot['title'])}** ({note}):", ""]
        lines += chart(plot["title"], x=plot["x"], y=plot["y"], grid=grid, base=base, head=head)
    return lines or ["No plot files."]


def git_json(ref: str, path: Path) -> dict | None:
    """A JSON file as committed at `ref`, or None when it does not exist there."""
    shown = subprocess.run(["git", "show", f"{ref}:{path.as_posix()}"], capture_output=True, text=True, check=False)
    return json.loads(shown.stdout) if shown.returncode == 0 else None


# --- the comment ------------------------------------------------------------------------------------------


class _Data(BaseModel):
    """Part of the report's data: the fields the comment shows, typed; anything else is dropped unread."""

    model_config = ConfigDict(extra="ignore")


Value = float | int | str | bool | None


class Change(_Data):
    """One parameter or metric at the base (`old`) and in this pull request (`new`)."""

    old: JsonValue = None
    new: JsonValue = None


class Primary(_Data):
    """The gate's primary metric: champion, challenger, their difference and its interval."""

    metric: str | None = None
    champion: Value = None
    challenger: Value = None
    delta: Value = None
    low: Value = None
    high: Value = None


class Champion(_Data):
    """The revision the champion came from."""

    rev: str | None = None


class GateDecision(_Data):
    """The gate's decision file, as far as the comment shows it."""

    decision: str | None = None
    period: str | None = None
    champion: Champion | None = None
    primary: Primary | None = None
    reasons: list[str] = []


class ShadowRecord(_Data):
    """`pipeline shadow`'s record: the next batch scored by both models (CT writes it after the gate)."""

    period: str | None = None
    why: str | None = None
    rows: int | None = None
    changed: int | None = None
    share: float | None = None
    mean_score_change: float | None = None


class DriftVerdict(_Data):
    """The drift report's verdict, as far as the comment shows it."""

    drifted: bool | None = None
    current: str | None = None
    reason: str | None = None
    drifted_columns: list[str] = []


class Plot(_Data):
    """One curve on the common grid of x values: base (None: new in this PR) and this PR."""

    title: str
    x: str
    y: str
    grid: list[float] = Field(max_length=CHART_POINTS)
    base: list[float] | None = Field(max_length=CHART_POINTS)
    head: list[float] = Field(max_length=CHART_POINTS)


class Report(BaseModel):
    """Everything the comment shows, as data: what CI uploads, and what comment.yml renders with its own code.

    A fork's pull request runs its own code in CI, so the artifact is checked against this schema (unknown
    keys, wrong types and oversized plots are refused) and rendered by the default branch's `render`: the
    fork chooses numbers and names, never the text, links or markup the bot posts.
    """

    model_config = ConfigDict(extra="forbid")

    format: Literal[1] = 1
    base: str
    params: dict[str, dict[str, Change]]
    metrics: dict[str, dict[str, Change]]
    decision: GateDecision | None
    stale: bool
    override: bool = False  # the pull request carries the label that accepts a rejected model
    shadow: ShadowRecord | None = None
    drift: DriftVerdict | None
    drift_base: DriftVerdict | None
    plots: list[Plot]


def current_shadow(path: Path, model: Path) -> dict | None:
    """The shadow record when it was made for the model in the working tree (not one committed for an older)."""
    record = read_json(path) if path.exists() else None
    if record is None or not model.exists() or record.get("challenger") != file_md5(model):
        return None
    return record


def gather(base: str, params: Params, override: bool = False) -> dict:
    """The report's data, compared with revision `base` (see `Report`); `override`: the override label is on."""
    decision_path = params.paths.gate / "decision.json"  # written by `pipeline gate` (not a DVC stage)
    decision = read_json(decision_path) if decision_path.exists() else None
    drift_path = params.paths.metrics / "drift.json"
    shadow_path = params.paths.gate / "shadow.json"  # written by `pipeline shadow` (CT, after the gate)
    return {
        "format": 1,
        "base": base,
        "params": json.loads(dvc("params", "diff", base, "--json") or "{}"),
        "metrics": json.loads(dvc("metrics", "diff", base, "--all", "--json") or "{}"),
        "decision": decision,
        "stale": decision is not None and decision == git_json(base, decision_path),
        "override": override,
        "shadow": current_shadow(shadow_path, params.paths.model),
        "drift": read_json(drift_path) if drift_path.exists() else None,
        "drift_base": git_json(base, drift_path),
        "plots": plot_data(plot_definitions(Path("dvc.yaml"), params), base),
    }


def checked(data: dict) -> dict:
    """The report's data as its schema keeps it (the renderer's input).

    Raises:
        PipelineError: The data does not match the schema, with where and why (at most five problems).
    """
    try:
        return Report.model_validate(data).model_dump(mode="json")
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))[:80]}: {e['msg']}" for e in exc.errors()[:5])
        raise PipelineError(f"the report's data does not match its schema: {problems}") from None


def render(
    report: dict,
    title: str = "Model report for this pull request",
    marker: str = COMMENT_MARKER,
    source: str | None = None,
) -> str:
    """The whole comment body from the report's data; `marker` (hidden) heads it when not empty.

    `source`: the fork whose code computed the data, said in the comment (its numbers are that code's).
    """
    note = (
        [f"Computed by the pull request's own code, from the fork {code(source)}: the figures are that code's.", ""]
        if source
        else []
    )
    sections = [
        *([marker] if marker else []),
        f"## {title}",
        "",
        f"Compared with {code(report['base'])}.",
        "",
        *note,
        "### Gate",
        "",
        *gate_section(report["decision"], report["stale"], report["override"], report["shadow"]),
        "",
        "### Metrics",
        *metrics_section(report["metrics"], "evaluate.json", {"drift.json"}, {"importance.json"}),
        "",
        "### Parameters",
        "",
        *params_section(report["params"]),
        "",
        "### Drift",
        "",
        *drift_section(report["drift"], report["drift_base"]),
        "",
        "### Plots",
        *plots_section(report["plots"]),
        "",
    ]
    return "\n".join(sections)


def build(
    base: str, params: Params, title: str = "Model report for this pull request", marker: str = COMMENT_MARKER
) -> str:
    """The whole comment body, compared with revision `base` (the promotion pull request's body too)."""
    return render(checked(gather(base, params)), title, marker)


def main(
    base: Annotated[str, typer.Option(help="The revision to compare with (e.g. origin/main).")],
    out: Annotated[Path, typer.Option(help="Where to write the comment body (Markdown).")],
    pr_number: Annotated[
        str,
        typer.Option(
            help="Also write this pull request number to `pr-number` next to "
            "--out, for the workflow that posts the comment."
        ),
    ] = "",
    override: Annotated[
        bool, typer.Option(envvar="GATE_OVERRIDE", help=f"The pull request carries the label {OVERRIDE_LABEL!r}.")
    ] = False,
    params_file: ParamsFile = Path("params.yaml"),
) -> None:
    """Write the pull request comment: params, metrics (with intervals), gate, drift and plots vs `--base`."""
    number = check_number(pr_number) if pr_number else None
    report = checked(gather(base, load_params(params_file), override))
    body = limit(render(report))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(body, encoding="utf-8")
    write_json(report, out.parent / REPORT_FILE)
    if number is not None:
        (out.parent / "pr-number").write_text(f"{number}\n", encoding="utf-8")
    typer.echo(f"wrote {out} ({len(body):,} characters) and {out.parent / REPORT_FILE}, the data it shows")
