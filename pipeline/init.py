"""`pipeline init`: adopt the template on a team's own data, replacing the embedded example.

Reads:  the team's data (`--data`: one CSV file with a time column, or a folder of `<period>.csv` batch files,
        or a URL for `dvc import-url`), and the template's `params.yaml` for every default it keeps.
Writes: `sources/<name>...` (the data, tracked by DVC), `params.yaml`, `contract.yaml` (through
        `pipeline.contract.infer_contract`), `data.release.yaml` and `data.dvc` (through `pipeline.ingest`),
        the site's title in `site/mkdocs.yml` and the hand-written model card stubs in `site/model_card.md`;
        removes the example's results (`outputs/metrics`, `outputs/reports`, `outputs/plots`, `outputs/gate`,
        `dvc.lock`, `site/docs`), which `pipeline run` then rebuilds for the new data.

Every check of the input (pipeline.init_infer) runs before the first write, so bad input leaves the project
as it was. The plan (each path: create, replace or remove) is shown first; a file that git cannot bring back
(untracked, or changed since the last commit) is only replaced with `--force`, so the whole adoption is
reversible with `git checkout`/`git stash` (then `pipeline ingest` restores the example's data/).
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from pipeline import ingest
from pipeline.config import Params, load_params
from pipeline.contract import dump_contract, propose_contract
from pipeline.errors import PipelineError
from pipeline.init_infer import MAX_CATEGORIES, PeriodKind, Proposal, TaskType, propose
from pipeline.repo import dvc, git

TEMPLATES = Path(__file__).parent / "init_templates"
SOURCES = Path("sources")  # where the team's data is kept, DVC-tracked, inside the repository
MAX_SLICES = 3
# The choices of `Adoption` that `init_infer.propose` checks the data against, passed on by name.
PROPOSE_OPTIONS = (
    *("target", "task", "time", "period", "timezone", "threshold", "positive", "ids", "leakage", "through"),
    *("categorical", "drop", "time_format", "since"),
)


@dataclass(frozen=True)
class Change:
    """One path the adoption creates, replaces or removes, and what it is."""

    path: Path
    action: str  # create | replace | remove
    what: str
    generated: bool = False  # a DVC output git ignores, rebuilt from data.dvc or by `dvc repro`


@dataclass(frozen=True)
class Adoption:
    """What the team asked `init` for on the command line (repeated options as lists; a URL is imported)."""

    data: str
    target: str
    task: TaskType
    time: str
    name: str | None
    period: PeriodKind
    timezone: str
    threshold: float | None
    positive: str | None
    ids: list[str]
    leakage: list[str]
    categorical: list[str]
    drop: list[str]
    time_format: str | None
    since: str | None
    through: str | None
    title: str | None
    import_url: bool


def table_name(data: str, name: str | None) -> str:
    """The table's name: `--name`, else the file's or folder's name before its first dot, made an identifier."""
    raw = name or Path(data.rstrip("/")).name.split(".")[0]
    cleaned = re.sub(r"[^0-9a-z_]+", "_", raw.lower()).strip("_")
    if not cleaned or cleaned[0].isdigit():
        raise PipelineError(f"--name {raw!r}: a table name needs a letter first (letters, digits, _)")
    return cleaned


def source_path(data: str, name: str, folder: bool) -> Path:
    """Where the data is kept in the repository: `sources/<name>/` or `sources/<name><suffixes>`."""
    suffixes = "" if folder else "".join(Path(data.rstrip("/")).suffixes)
    return SOURCES / f"{name}{suffixes}"


def planned_changes(params: Params, stored: Path) -> list[Change]:
    """Every path the adoption touches, in the order it is shown."""
    p = params.paths
    changes = [
        (stored, "the team's data, tracked by DVC"),
        (Path(f"{stored}.dvc"), "DVC's pointer to it"),
        (SOURCES / ".gitignore", "keeps the data out of git (written by `dvc add`)"),
        (Path("params.yaml"), "every knob, for the new data"),
        (p.contract, "the data contract, inferred from the released data"),
        (p.release, "the periods released"),
        (Path(f"{p.data}.dvc"), "DVC's pointer to data/"),
        (p.site / "mkdocs.yml", "the site's title"),
        (p.site / "model_card.md", "the model card's stubs (TODO)"),
    ]
    out = [Change(path, "replace" if path.exists() else "create", what) for path, what in changes]
    out.append(Change(p.data, "replace" if p.data.exists() else "create", "the released periods", True))
    stale = [p.metrics, p.reports, p.plots, p.gate, Path("dvc.lock"), p.site / "docs"]
    out += [
        Change(path, "remove", "the example's results (`pipeline run` rebuilds them)", True)
        for path in stale
        if path.exists()
    ]  # what git ignores there is DVC's (drift figures, site/docs)
    return out


def unrecoverable(changes: list[Change]) -> list[str]:
    """The replaced or removed paths git cannot bring back: untracked, or changed since the last commit.

    What git ignores under data/ and the example's outputs is DVC's, rebuilt from data.dvc and dvc.lock.
    """
    touched = [c for c in changes if c.action != "create"]
    if not touched:
        return []
    try:
        git("rev-parse", "--verify", "--quiet", "HEAD")
    except PipelineError:
        return [str(c.path) for c in touched]  # not a git repository, or no commit yet: nothing to go back to
    lost = []
    for change in touched:
        status = git("status", "--porcelain=v1", "--ignored", "--untracked-files=all", "--", str(change.path))
        entries = [line for line in status.splitlines() if not (change.generated and line.startswith("!!"))]
        if entries:
            lost.append(f"{change.path} ({_describe_status(entries[0][:2])})")
    return lost


def _describe_status(code: str) -> str:
    return {"??": "not in git", "!!": "ignored by git"}.get(code, "changed since the last commit")


def render(template: str, **values) -> str:
    """Fill one of init's templates; values go through the `yaml` filter where YAML is written."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False
    )  # noqa: S701 (YAML and Markdown, not HTML)
    env.filters["yaml"] = _yaml_value
    return env.get_template(template).render(**values)


def _yaml_value(value) -> str:
    """One value as flow-style YAML on one line (quoted where YAML needs it)."""
    if isinstance(value, Path):
        value = value.as_posix()
    return (
        yaml.safe_dump(value, default_flow_style=True, width=10_000, sort_keys=False)
        .removesuffix("\n")
        .removesuffix("\n...")
    )


def align_comments(text: str) -> str:
    """Start the end-of-line comments of a YAML text at column 42, as in the template's params.yaml."""

    def align(match: re.Match) -> str:
        return f"{match[1].ljust(41)}# {match[2]}" if len(match[1]) < 41 else f"{match[1]} # {match[2]}"

    return re.sub(r"^( *[^#\s][^\n]*?)  # (.*)$", align, text, flags=re.MULTILINE)


def params_text(
    template: Params,
    proposal: Proposal,
    *,
    data: str,
    name: str,
    stored: Path,
    folder: bool,
    task: TaskType,
    time: str,
    period: PeriodKind,
    timezone: str,
    target: str,
    ids: list[str],
    since: str | None = None,
) -> str:
    """params.yaml for the new data: the proposal's features, the template's defaults for everything else."""
    categorical = proposal.categorical
    numeric = [*proposal.numeric, *proposal.calendar]
    slices, gate_rows, slice_rows = derived(proposal)
    values = dict(
        t=template,
        data=data,
        paths={k: v.as_posix() for k, v in template.paths.model_dump().items()},
        period=period,
        since=since,
        name=name,
        table={"path": stored.as_posix()} if folder else {"path": stored.as_posix(), "time": time},
        time=time,
        timezone=timezone,
        calendar=proposal.calendar,
        task=task,
        target=target,
        threshold=proposal.label.threshold if proposal.label else None,
        positive=proposal.label.positive if proposal.label else None,
        time_format=proposal.time_format,
        categorical=categorical,
        numeric=numeric,
        ids=ids,
        slices=slices,
        slice_rows=slice_rows,
        gate_rows=gate_rows,
        simpler_check=simpler_check(proposal)[0],
        simpler_check_why=simpler_check(proposal)[1],
        **gate_steps(template, proposal),
        slice_rows_why=f"2 % of the evaluation period's {proposal.labelled} labelled rows, at least {MIN_SLICE_ROWS}",
        gate_rows_why=f"half the evaluation period's {proposal.labelled} labelled rows, at least {MIN_GATE_ROWS}",
        **engine_choice(template, proposal.rows),
    )
    return align_comments(render("params.yaml.j2", **values))


def engine_choice(template: Params, rows: int) -> dict[str, str]:
    """`engine.kind` for data of `rows` rows, and why: dask above `engine.suggest_above`, else pandas."""
    limit = template.engine.suggest_above
    if rows > limit:
        return {"engine_kind": "dask", "engine_why": f"{rows:,} rows, more than {limit:,}: partition by partition"}
    return {"engine_kind": "pandas", "engine_why": f"{rows:,} rows, at most {limit:,}: one process is enough"}


MIN_GATE_ROWS, MIN_SLICE_ROWS = 30, 10
MIN_ROWS_TO_COMPARE = 500  # fewer: the paired interval against the simpler model spans most of the metric's range


def simpler_check(proposal: Proposal) -> tuple[str, str]:
    """`model_checks.simpler` for the data, and why: fail, unless the evaluation period is too small to show it.

    On a few dozen rows the paired interval of the model against the linear one is as wide as the metric, so
    the model test could not pass whichever model is better: it warns instead (the model card still shows the
    comparison), and the team switches it to `fail` when the data grow.
    """
    if proposal.labelled >= MIN_ROWS_TO_COMPARE:
        return "fail", ""
    return "warn", (
        f"the evaluation period's {proposal.labelled} labelled rows are too few to show the model beats a simpler "
        f"one (fail from {MIN_ROWS_TO_COMPARE})"
    )


def gate_steps(template: Params, proposal: Proposal) -> dict:
    """gate.min_delta and gate.max_slice_drop, in the units of the task's primary metric.

    The template's values are steps of a score bounded by 0 and 1 (ROC AUC, macro F1), so classification keeps
    them. A regression metric (MAE) is in the target's units: the same steps are taken as fractions of the
    target's standard deviation, so a glucose model in mg/dL and a price model in dollars are judged alike.
    """
    gate = template.gate
    if proposal.spread is None:
        return {
            "min_delta": gate.min_delta,
            "slice_drop": gate.max_slice_drop,
            "min_delta_why": "",
            "slice_drop_why": "",
        }
    why = f" of the target's standard deviation ({proposal.spread:.4g}): a regression metric is in its units"
    return {
        "min_delta": float(f"{gate.min_delta * proposal.spread:.3g}"),
        "slice_drop": float(f"{gate.max_slice_drop * proposal.spread:.3g}"),
        "min_delta_why": f"  # {gate.min_delta:g}" + why,
        "slice_drop_why": f"  # {gate.max_slice_drop:g}" + why,
    }


def derived(proposal: Proposal) -> tuple[list[str], int, int]:
    """The slice columns, gate.min_rows and evaluate.slices.min_rows for the proposal's data.

    Slices: up to three categorical features of at most MAX_CATEGORIES levels (a group per country of 200 would
    each be too small to judge), else the first calendar feature (weekday). The row minimums
    scale with the evaluation period: the template's fixed 1000 and 200 suit the example's ~27,000 rows a month, not
    91 days a quarter.
    """
    few = [c for c in proposal.categorical if c not in proposal.many]
    slices = few[:MAX_SLICES] or proposal.calendar[:1]
    return slices, max(MIN_GATE_ROWS, proposal.labelled // 2), max(MIN_SLICE_ROWS, proposal.labelled // 50)


def retitle(mkdocs: str, title: str) -> str:
    """The mkdocs configuration with `site_name` changed, everything else (comments too) kept."""
    line = f"site_name: {_yaml_value(title)}"
    new, count = re.subn(r"^site_name:.*$", lambda _: line, mkdocs, count=1, flags=re.MULTILINE)
    return new if count else f"{line}\n{mkdocs}"


def plan_text(
    proposal: Proposal,
    changes: list[Change],
    *,
    data: str,
    name: str,
    task: TaskType,
    target: str,
    time: str,
    period: PeriodKind,
    timezone: str,
) -> str:
    """What `init` found in the data and what it will change, for a person to check before anything is written."""
    slices, gate_rows, slice_rows = derived(proposal)
    released = list(proposal.periods)
    evaluation = released[-1]
    lines = [
        f"{data}: {proposal.rows} rows in {len(released)} periods ({period}) {released[0]}..{evaluation} "
        f"released as table {name!r} (of {len(proposal.available)} available); evaluation period {evaluation}: "
        f"{proposal.labelled} labelled rows",
        f"task: {task} on {target!r}" + _label_note(proposal),
        f"times: {time!r} read as {proposal.time_format or 'inferred value by value'}, local time in {timezone}",
        f"features: numeric {_names(proposal.numeric)}; categorical {_names(proposal.categorical)}; "
        f"calendar {_names(proposal.calendar)} (from {time!r})",
        *(f"  feature: {column}: {why}" for column, why in proposal.kept.items()),
        *(f"  no calendar feature {name}: {why}" for name, why in proposal.calendar_why.items()),
        *(f"  not a feature: {column}: {why}" for column, why in proposal.excluded.items()),
        f"slices: {_names(slices)}; evaluate.slices.min_rows {slice_rows}; gate.min_rows {gate_rows}",
        *([f"model_checks.simpler: warn: {why}"] if (why := simpler_check(proposal)[1]) else []),
        "changes:",
        *(f"  {c.action:8} {c.path.as_posix() + ('/' if c.path.is_dir() else ''):30} {c.what}" for c in changes),
    ]
    return "\n".join(lines)


def _names(columns: list[str]) -> str:
    return ", ".join(columns) if columns else "(none)"


def _label_note(proposal: Proposal) -> str:
    if proposal.label is not None:
        return f" (positive class: {proposal.label.positive_class})"
    if proposal.classes:
        many = " (many: is this the right target?)" if len(proposal.classes) > MAX_CATEGORIES else ""
        return f" ({len(proposal.classes)} classes: {', '.join(proposal.classes[:10])}{many})"
    return ""


def apply(
    changes: list[Change],
    *,
    data: str,
    stored: Path,
    folder: bool,
    import_url: bool,
    params: str,
    title: str,
    card: str,
    through: str | None,
    leakage: list[str],
) -> str:
    """Make the changes: the example's results out, the data in, the configuration written, data released.

    Returns:
        What was released, in words.
    """
    for change in changes:
        if change.action == "remove" or change.path in (stored, Path(f"{stored}.dvc")):
            _remove(change.path)
    stored.parent.mkdir(exist_ok=True)
    if import_url:
        dvc("import-url", data, str(stored))
    else:
        (shutil.copytree if folder else shutil.copyfile)(data, stored)
        dvc("add", "--quiet", str(stored))
    Path("params.yaml").write_text(params, encoding="utf-8")
    new = load_params("params.yaml")
    mkdocs = new.paths.site / "mkdocs.yml"
    mkdocs.write_text(retitle(mkdocs.read_text(encoding="utf-8"), title), encoding="utf-8")
    (new.paths.site / "model_card.md").write_text(card, encoding="utf-8")
    released = release(new, through)
    new.paths.contract.write_text(dump_contract(propose_contract(new, leakage, MAX_CATEGORIES)), encoding="utf-8")
    return released


def release(params: Params, through: str | None) -> str:
    """Release the periods through `through` (default: all) with the code `pipeline ingest --through` runs.

    Unchecked: the contract is inferred from these periods next (`validate` checks them in the first run).
    """
    return ingest.release(params, through, check=False)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def main(
    *,
    data: Annotated[
        str,
        typer.Option(
            help="A CSV file (.csv, .csv.gz, .zip) with a time column, a folder of "
            "<period>.csv batch files, or a URL (`dvc import-url`)."
        ),
    ],
    target: Annotated[str, typer.Option(help="The column to predict.")],
    task: Annotated[TaskType, typer.Option(help="binary | multiclass | regression.")],
    time: Annotated[str, typer.Option(help="The column holding each row's event time.")],
    name: Annotated[str | None, typer.Option(help="The table's name (default: the file's or folder's).")] = None,
    period: Annotated[PeriodKind, typer.Option(help="How a file is cut: month | quarter | year.")] = "month",
    timezone: Annotated[str, typer.Option(help="Naive times are local times in this zone (IANA name).")] = "UTC",
    threshold: Annotated[float | None, typer.Option(help="binary, a numeric target: the label is target > X.")] = None,
    positive: Annotated[
        str | None, typer.Option(help="binary, a text target: the value that is the positive class.")
    ] = None,
    ids: Annotated[
        list[str] | None, typer.Option("--id", help="An identifier column, never learned from (repeat).")
    ] = None,
    leakage: Annotated[list[str] | None, typer.Option(help="A column known only after the event (repeat).")] = None,
    categorical: Annotated[
        list[str] | None, typer.Option(help="Keep this column as a category, whatever it looks like (repeat).")
    ] = None,
    drop: Annotated[list[str] | None, typer.Option(help="Never learn from this column (repeat).")] = None,
    time_format: Annotated[
        str | None, typer.Option(help="How --time is written (strftime, e.g. %d/%m/%Y); default: inferred.")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Never release the periods before this one (a gap, or too old).")
    ] = None,
    through: Annotated[str | None, typer.Option(help="Release the periods up to this one (default: all).")] = None,
    title: Annotated[str | None, typer.Option(help="The report site's title.")] = None,
    import_url: Annotated[
        bool, typer.Option(help="Track --data with `dvc import-url` (remote storage) instead of copying it.")
    ] = False,
    dry_run: Annotated[bool, typer.Option(help="Show the plan and stop.")] = False,
    yes: Annotated[bool, typer.Option(help="Do not ask for confirmation on a terminal.")] = False,
    force: Annotated[bool, typer.Option(help="Replace files git cannot bring back (untracked or changed).")] = False,
) -> None:
    """Adopt the template on your data: write params.yaml, the contract, the source and the site's stubs.

    Every check of the data runs before anything is written. Shows the plan first; `--dry-run` stops there.
    On a terminal it asks before changing anything (unless --yes); without one it does not ask. It refuses to
    replace a file git cannot bring back (untracked, or changed since the last commit) unless --force.
    """
    adopt(
        Adoption(
            data=data,
            target=target,
            task=task,
            time=time,
            name=name,
            period=period,
            timezone=timezone,
            threshold=threshold,
            positive=positive,
            ids=ids or [],
            leakage=leakage or [],
            categorical=categorical or [],
            drop=drop or [],
            time_format=time_format,
            since=since,
            through=through,
            title=title,
            import_url=import_url or "://" in data,
        ),
        dry_run=dry_run,
        yes=yes,
        force=force,
    )


def adopt(asked: Adoption, *, dry_run: bool, yes: bool, force: bool) -> None:
    """Check the data, show the plan, and (unless it stops there) make the changes; see `main`."""
    template = load_params("params.yaml")  # the defaults every adoption keeps, read before it is replaced
    table = table_name(asked.data, asked.name)  # a bad --name fails before the data is fetched or read
    proposal, folder = _inspect(asked)
    stored = source_path(asked.data, table, folder)
    period = proposal.kind  # a folder's files say it
    params = params_text(
        template,
        proposal,
        data=asked.data,
        name=table,
        stored=stored,
        folder=folder,
        task=asked.task,
        time=asked.time,
        period=period,
        timezone=asked.timezone,
        target=asked.target,
        ids=asked.ids,
        since=asked.since,
    )
    _check_params(params)
    changes = planned_changes(template, stored)
    typer.echo(
        plan_text(
            proposal,
            changes,
            data=asked.data,
            name=table,
            task=asked.task,
            target=asked.target,
            time=asked.time,
            period=period,
            timezone=asked.timezone,
        )
    )
    if _go_ahead(changes, force=force, dry_run=dry_run, yes=yes):
        _write(asked, proposal, changes, table=table, stored=stored, folder=folder, params=params)


def _inspect(asked: Adoption) -> tuple[Proposal, bool]:
    """Every check of the data (a scratch copy of it, when remote): the proposal, and whether it is a folder."""
    with tempfile.TemporaryDirectory(prefix="pipeline-init-") as scratch:
        local = _fetch(asked.data, Path(scratch)) if asked.import_url else Path(asked.data)
        proposal = propose(local, **{option: getattr(asked, option) for option in PROPOSE_OPTIONS})
        return proposal, local.is_dir()


def _go_ahead(changes: list[Change], *, force: bool, dry_run: bool, yes: bool) -> bool:
    """Whether to write: never over what git cannot bring back (unless forced), nor on a dry run or a "no".

    Raises:
        PipelineError: A change would replace what git cannot bring back, without --force.
    """
    lost = unrecoverable(changes)
    if lost and not force:
        raise PipelineError(
            "refusing to replace what git cannot bring back (commit it, or pass --force): " + ", ".join(lost)
        )
    if dry_run:
        typer.echo("dry run: nothing written")
        return False
    if not yes and interactive() and not typer.confirm("Make these changes?"):
        typer.echo("nothing written")
        return False
    return True


def _write(
    asked: Adoption, proposal: Proposal, changes: list[Change], *, table: str, stored: Path, folder: bool, params: str
) -> None:
    """Make the planned changes and say what was released and how to go on (or back)."""
    released = list(proposal.periods)
    card = render(
        "model_card.md.j2",
        task=asked.task,
        target=asked.target,
        source=stored.as_posix(),
        period=proposal.kind,
        time=asked.time,
        first=released[0],
        last=released[-1],
    )
    done = apply(
        changes,
        data=asked.data,
        stored=stored,
        folder=folder,
        import_url=asked.import_url,
        params=params,
        title=asked.title or f"{table}: {asked.target} model report",
        card=card,
        through=released[-1],
        leakage=asked.leakage,
    )
    typer.echo(
        f"{done}\nnext: review params.yaml, contract.yaml and site/model_card.md, then `pipeline run`; "
        f"`git add -A && git commit` to keep it; to undo: `git checkout -- . && git clean -fd && "
        f"rm -rf {stored} && pipeline ingest`"
    )


def interactive() -> bool:
    """True when a person can answer on the terminal; CI and scripts (no TTY) are never asked."""
    return sys.stdin.isatty()


def _fetch(url: str, scratch: Path) -> Path:
    """A copy of remote data to check before anything is written (`dvc get-url`, outside the repository)."""
    stored = scratch / Path(url.rstrip("/")).name
    dvc("get-url", url, str(stored))
    return stored


def _check_params(text: str) -> None:
    """Load the params.yaml about to be written through the typed loader, so a bad one is never written."""
    with tempfile.TemporaryDirectory(prefix="pipeline-init-") as scratch:
        path = Path(scratch) / "params.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            load_params(path)
        except PipelineError as exc:  # a bug of init or of the template's params.yaml, not of the data
            raise PipelineError(f"the params.yaml init would write is not valid: {exc}") from exc
