"""Command `gate`: may the challenger (this working tree's model) replace the champion (the base branch's)?

Reads:   the working tree's model and its evaluation rows (`<prepared>/test.parquet`, the newest period);
         the base branch's `dvc.lock` (which model it pins) and `evaluate.json` (its metrics format);
         the champion itself from the DVC cache, or rebuilt from the base branch in a temporary git worktree.
Writes:  `<gate>/decision.json` and `<gate>/summary.md` (the Markdown the workflows post).
Params:  `gate`, `evaluate.bootstrap`, `evaluate.slices`, `base.seed`, `task`, `features`.
Exit:    0 promote, 3 reject, 4 no-champion (the base pins no model yet), 5 unchanged (the challenger is the
         champion, byte for byte: nothing to judge), 1 an error before any decision.

This is a shadow evaluation: both models score the same rows, the newest labelled period, which neither was
trained on, as if the challenger had served beside the champion; so the comparison is paired: the interval of
the difference comes from resampling those rows, and both models face the same resample each time. The rule
(all in `params.yaml`): the primary metric improves by at least `min_delta` and the interval's lower bound is
above `-margin`; and the guard-rails hold: no judged slice loses more than `max_slice_drop`, and (binary)
calibration error does not grow by more than `max_calibration_increase`. Anything that prevents a fair
comparison (too few rows, a champion that cannot be found or rebuilt, a metrics file from an older format)
is a `reject` with the reason: a worse model must never be promoted by default.

`pipeline gate-check` (pipeline/gate_check.py) turns the decision into a pass or a fail for a required status
check (ci.yml's job "Gate"): a reject fails unless a reviewer accepted it deliberately (the override label).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pandas as pd
import typer

from pipeline import github
from pipeline.artifacts import file_md5, load_model, read_json, write_json
from pipeline.config import Gate, Params, ParamsFile, load_params
from pipeline.errors import PipelineError
from pipeline.evaluate import FORMAT
from pipeline.features import LABEL
from pipeline.markdown import code, escape
from pipeline.metrics import TASKS, Difference, Setting, TaskKind, metric_interval, paired_difference, slice_metrics
from pipeline.registry import committed_json, model_md5, pinned_md5
from pipeline.repo import dvc, git, git_file, has_dvc_remote, python

if TYPE_CHECKING:  # for the annotations only: importing them costs seconds and the gate never builds one
    import numpy as np
    from sklearn.pipeline import Pipeline

log = logging.getLogger(__name__)
EXIT = {"promote": 0, "reject": 3, "no-champion": 4, "unchanged": 5}


@dataclass
class Decision:
    """What the gate decided and every check behind it, each in words and numbers."""

    decision: str
    base: str
    champion: str | None = None
    checks: list[dict] = field(default_factory=list)
    primary: dict | None = None
    period: str | None = None
    rows: int | None = None
    cost: dict | None = None

    def check(self, name: str, passed: bool, detail: str) -> bool:
        """Record one check of the rule; returns `passed` so a failed precondition can end the gate early."""
        self.checks.append({"check": name, "passed": passed, "detail": detail})
        return passed

    def as_json(self) -> dict:
        """The decision file: the decision, each reason as one sentence, and the checks as data."""
        reasons = [f"{'passed' if c['passed'] else 'failed'}: {c['detail']}" for c in self.checks]
        return {
            "format": 1,
            "decision": self.decision,
            "base": self.base,
            "champion": {"rev": self.champion},
            "period": self.period,
            "rows": self.rows,
            "primary": self.primary,
            "cost": self.cost,
            "reasons": reasons,
            "checks": self.checks,
        }


# The `--base` option of the commands that need the champion (`gate`, `shadow`).
ChampionBase = Annotated[
    str | None, typer.Option(help="The branch whose model is the champion (default: origin/main, else main).")
]


def default_base() -> str:
    """`origin/main` when the remote branch is known (CI, CT), else the local `main`."""
    try:
        git("rev-parse", "--verify", "--quiet", "origin/main")
        return "origin/main"
    except PipelineError:
        return "main"


def champion_from_cache(md5: str) -> Path | None:
    """The file DVC cached under `md5`, if this machine has it (DVC 3 layout: files/md5/ab/cdef...)."""
    cached = Path(dvc("cache", "dir").strip()) / "files" / "md5" / md5[:2] / md5[2:]
    return cached if cached.is_file() else None


def fetch_or_rebuild_champion(base: str, model: Path, md5: str, into: Path) -> Path:
    """Check out `base` in a temporary worktree and get its model there: from the DVC remote, else rebuilt.

    A fresh CI or CT checkout has no cache, but a team that set up a remote pushed the champion there (`dvc push`
    after every promotion): fetching it takes seconds where reproducing it takes the whole pipeline. Without a
    remote, or when the remote lacks it, the base's model is reproduced from its own code, params and data. The
    worktree shares this repository's DVC cache (and its `.dvc/config.local`, where a remote's credentials
    live), so the champion is cached for the next gate. A rebuilt model must have the md5 the base pins: a model
    that cannot be rebuilt bit for bit is not the champion, and the gate says so.
    """
    worktree = into / "champion"
    git("worktree", "add", "--detach", "--force", str(worktree), base)
    try:
        credentials = Path(".dvc") / "config.local"
        if credentials.is_file():
            shutil.copyfile(credentials, worktree / ".dvc" / "config.local")
        dvc("cache", "dir", "--local", dvc("cache", "dir").strip(), cwd=worktree)
        kept = into / "champion.skops"
        fetched = fetch_champion(worktree, md5)
        if fetched is not None:
            log.info("gate: the champion fetched from the DVC remote (%s's train stage)", base)
            return Path(shutil.copyfile(fetched, kept))
        log.info("gate: rebuilding the champion from %s (no DVC remote holds it)", base)
        python("-m", "pipeline", "ingest", cwd=worktree)  # the base's data, through the base's own code
        dvc("repro", "--quiet", "train", cwd=worktree)
        built = worktree / model
        rebuilt = file_md5(built)
        if rebuilt != md5:
            raise PipelineError(f"the champion rebuilt from {base} has md5 {rebuilt}, not the pinned {md5}")
        return Path(shutil.copyfile(built, kept))
    finally:
        git("worktree", "remove", "--force", str(worktree))


def fetch_champion(worktree: Path, md5: str) -> Path | None:
    """The champion's model fetched from the default DVC remote into the cache, else None.

    None when there is no remote or it does not hold the model: `dvc fetch` of the base's `train` stage (whose
    only output is the model) then fails.
    """
    if not has_dvc_remote(worktree):
        return None
    try:
        dvc("fetch", "--quiet", "train", cwd=worktree)
    except PipelineError:
        return None
    return champion_from_cache(md5)


def another_problem(params: Params, base: str) -> str | None:
    """How the champion on `base` was trained for another problem, or None when the two models are comparable.

    Another batch table, target, task type or label rule (threshold, positive class) is another problem: its
    champion cannot be scored on these rows, and rebuilding it (a minute, in a fork whose `origin/main` is still
    the template) would only end in a meaningless reject. Features and hyper-parameters may differ: judging such
    a change is the gate's work.
    """
    text = git_file(base, "params.yaml")
    if text is None:
        return f"{base} has no params.yaml"
    with tempfile.TemporaryDirectory(prefix="pipeline-gate-") as scratch:
        path = Path(scratch) / "params.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            theirs = load_params(path)
        except PipelineError as exc:
            return f"its params.yaml does not load ({str(exc).removeprefix(str(path) + ': ')})"
    ours = params
    if (theirs.prepare.batches, theirs.task, theirs.ingest.source) == (
        ours.prepare.batches,
        ours.task,
        ours.ingest.source,
    ):
        return None
    return f"its model predicts {_problem(theirs)}, this one {_problem(ours)}"


def _problem(params: Params) -> str:
    """`'churned' as 'yes' (binary) from sources/customers.csv`, for the gate's reason."""
    target, source = params.task.target, params.ingest.source
    label = f"{target.column!r}" + (f" as {target.positive_class!r}" if params.task.type == "binary" else "")
    where = source.tables[params.prepare.batches].path
    return f"{label} ({params.task.type}) from {where}" + (f" of package {source.package}" if source.package else "")


def gate_would_promote(diff: Difference, gate: Gate) -> bool:
    """Whether model a replaces b by the rule on the gate's metric (the guard-rails aside).

    Better by at least `gate.min_delta`, with the paired interval's lower bound above `-gate.margin` (a NaN
    difference, an undefined metric: never).

    The guard-rails (slices, calibration) are `compare`'s further checks; `pipeline staleness` applies this rule
    alone (it asks when retraining would pay, not whether a challenger is safe).
    """
    return bool(diff.delta >= gate.min_delta and diff.low > -gate.margin)


def compare(
    *,
    params: Params,
    kind: TaskKind,
    rows: pd.DataFrame,
    challenger: Pipeline,
    champion: Pipeline,
    decision: Decision,
    sizes: dict[str, int] | None = None,
) -> None:
    """Run every check of the rule on the same rows and record each in `decision`.

    The cost check runs when `sizes` (each model file's bytes) is given, as `decide` does.
    """
    gate, y = params.gate, rows[LABEL].to_numpy()
    metric = gate.metric or kind.primary
    missing = sorted(set(champion.feature_names_in_) - set(rows.columns))
    if not decision.check(
        "inputs",
        not missing,
        f"the champion reads columns the new rows lack: {missing}"
        if missing
        else "the champion's input columns are all in the new rows",
    ):
        return
    scores, seconds = {}, {}
    for name, m in (("challenger", challenger), ("champion", champion)):
        started = time.perf_counter()  # the same rows, one process, one after the other: a fair race
        scores[name] = kind.score(m, rows[list(m.feature_names_in_)])
        seconds[name] = time.perf_counter() - started
    settings = {"challenger": kind.setting(challenger), "champion": kind.setting(champion)}
    diff = paired_difference(
        kind,
        metric=metric,
        y=y,
        score_a=scores["challenger"],
        score_b=scores["champion"],
        setting_a=settings["challenger"],
        setting_b=settings["champion"],
        bootstrap=params.evaluate.bootstrap,
        seed=params.base.seed,
    )
    decision.primary = {
        "metric": metric,
        "challenger": diff.a,
        "champion": diff.b,
        "delta": diff.delta,
        "low": diff.low,
        "high": diff.high,
    }
    for name in scores:  # each model's own interval on these rows: what monitoring compares a later period with
        decision.primary[f"{name}_interval"] = metric_interval(
            kind,
            metric,
            y=y,
            score=scores[name],
            setting=settings[name],
            bootstrap=params.evaluate.bootstrap,
            seed=params.base.seed,
        )
    level = f"{params.evaluate.bootstrap.confidence:.0%}"
    decision.check(
        metric,
        gate_would_promote(diff, gate),
        f"{metric} {diff.a:.4f} (challenger) vs {diff.b:.4f} (champion): better by {diff.delta:+.4f}, "
        f"{level} paired interval {diff.low:+.4f} to {diff.high:+.4f}; the rule asks at least {gate.min_delta:+.4f} "
        f"with the lower bound above {0.0 - gate.margin + 0.0:+.4f}",
    )
    slice_guard(params=params, kind=kind, rows=rows, y=y, scores=scores, settings=settings, decision=decision)
    if "ece" in kind.metrics:  # binary only: a calibration error of one probability per row
        ece = {name: kind.metrics["ece"](y, scores[name], None) for name in scores}
        growth = ece["challenger"] - ece["champion"]
        decision.check(
            "calibration",
            growth <= gate.max_calibration_increase,
            f"expected calibration error {ece['champion']:.4f} -> {ece['challenger']:.4f} "
            f"({growth:+.4f}; at most {gate.max_calibration_increase:+.4f} allowed)",
        )
    if sizes is not None:
        cost_check(gate, decision, rate={n: len(rows) / max(s, 1e-9) for n, s in seconds.items()}, sizes=sizes)


def cost_check(gate: Gate, decision: Decision, *, rate: dict[str, float], sizes: dict[str, int]) -> None:
    """The challenger may score at most `max_slowdown` times slower and be at most `max_growth` times larger.

    With `gate.cost: warn` (the default) the check is recorded as passed, with the word "warning": a timing
    measured once on a shared runner varies, so by default it informs the reviewer rather than decides.
    """
    decision.cost = {n: {"rows_per_second": rate[n], "model_bytes": sizes[n]} for n in rate}
    slower, larger = rate["champion"] / rate["challenger"], sizes["challenger"] / sizes["champion"]
    over = slower > gate.max_slowdown or larger > gate.max_growth
    detail = (
        f"the challenger scores {rate['challenger']:,.0f} rows/s against the champion's {rate['champion']:,.0f} "
        f"({slower:.2f}x the time; at most {gate.max_slowdown:g}x), and its model file is {sizes['challenger']:,} "
        f"bytes against {sizes['champion']:,} ({larger:.2f}x; at most {gate.max_growth:g}x)"
    )
    if over and gate.cost == "warn":
        detail = f"warning: {detail} (gate.cost is warn: this does not decide)"
    decision.check("cost", not over or gate.cost == "warn", detail)


def slice_guard(
    *,
    params: Params,
    kind: TaskKind,
    rows: pd.DataFrame,
    y: np.ndarray,
    scores: dict[str, np.ndarray],
    settings: dict[str, Setting],
    decision: Decision,
) -> None:
    """No slice judged on both sides may lose more than `gate.max_slice_drop` of the primary metric."""
    by = {
        name: slice_metrics(
            kind, rows=rows, y=y, score=scores[name], setting=settings[name], slices=params.evaluate.slices
        )
        for name in scores
    }
    metric, worst = by["champion"]["metric"], None
    for column, summary in by["champion"]["columns"].items():
        challenger = {g["group"]: g for g in by["challenger"]["columns"][column]["groups"]}
        for old in summary["groups"]:
            group, new = old["group"], challenger.get(old["group"])
            if new and old["judged"] and new["judged"]:
                drop = kind.better(metric) * (old[metric] - new[metric])
                if worst is None or drop > worst[0]:
                    worst = (drop, column, group, old[metric], new[metric])
    if worst is None:
        decision.check("slices", True, "no slice has enough rows to judge")
        return
    drop, column, group, old, new = worst
    decision.check(
        "slices",
        drop <= params.gate.max_slice_drop,
        f"the worst slice, {column}={group}, {metric} {old:.4f} -> {new:.4f} "
        f"({'drops by' if drop > 0 else 'improves by'} {abs(drop):.4f}; a drop of at most "
        f"{params.gate.max_slice_drop:.4f} is allowed)",
    )


def decide(params: Params, base: str, work: Path) -> Decision:
    """The whole gate: find the champion, then compare; every way to fail is a recorded reason."""
    decision, kind = Decision("reject", base), TASKS[params.task.type]
    if params.gate.metric is not None and params.gate.metric not in kind.metrics:
        raise PipelineError(
            f"key 'gate.metric': {params.gate.metric!r} is not a {params.task.type} metric; "
            f"known: {', '.join(kind.metrics)}"
        )
    model_path = params.paths.model
    try:  # an unknown base is an error, not "no champion"
        git("rev-parse", "--verify", "--quiet", f"{base}^{{commit}}")
    except PipelineError:
        raise PipelineError(f"base {base!r}: no such branch or commit here (fetch it first?)") from None
    md5 = model_md5(base, model_path)
    if md5 is None:
        decision.decision = "no-champion"
        decision.check("champion", True, f"{base} pins no model yet: this model becomes the first champion")
        return decision
    if model_path.exists() and md5 == file_md5(model_path):  # a change of docs or code, the model's bytes alone
        decision.decision = "unchanged"
        decision.check("champion", True, f"this model is the one {base} pins (md5 {md5[:12]}): nothing to judge")
        return decision
    other = another_problem(params, base)
    if other is not None:
        decision.decision = "no-champion"
        decision.check(
            "champion",
            True,
            f"no comparable champion on {base}: {other}; the first model for this problem is promoted by review, "
            "not by the gate",
        )
        return decision
    decision.champion = git("rev-parse", "--short=12", base).strip()
    base_metrics = committed_json(base, (params.paths.metrics / "evaluate.json").as_posix()) or {}
    if not decision.check(
        "metrics format",
        base_metrics.get("format") == FORMAT,
        f"the champion's evaluate.json is format {base_metrics.get('format', 1)}, this gate reads format {FORMAT}",
    ):
        return decision
    rows = pd.read_parquet(params.paths.prepared / "test.parquet")
    decision.period = read_json(params.paths.metrics / "prepare.json")["periods"]["evaluation"]
    decision.rows = len(rows)
    if not decision.check(
        "rows",
        len(rows) >= params.gate.min_rows,
        f"{len(rows)} labelled rows in {decision.period} (at least {params.gate.min_rows} needed to decide)",
    ):
        return decision
    try:
        champion_file = champion_from_cache(md5) or fetch_or_rebuild_champion(base, model_path, md5, work)
        champion = load_model(champion_file)
    except PipelineError as exc:
        decision.check("champion", False, f"the champion pinned by {base} could not be found or rebuilt: {exc}")
        return decision
    sizes = {"challenger": model_path.stat().st_size, "champion": champion_file.stat().st_size}
    return judge(
        params=params, rows=rows, challenger=load_model(model_path), champion=champion, decision=decision, sizes=sizes
    )


def judge(
    *,
    params: Params,
    rows: pd.DataFrame,
    challenger: Pipeline,
    champion: Pipeline,
    decision: Decision,
    sizes: dict[str, int] | None = None,
) -> Decision:
    """Compare both models on the same rows and decide: promote only when every check of the rule passed."""
    compare(
        params=params,
        kind=TASKS[params.task.type],
        rows=rows,
        challenger=challenger,
        champion=champion,
        decision=decision,
        sizes=sizes,
    )
    decision.decision = "promote" if all(c["passed"] for c in decision.checks) else "reject"
    return decision


def summary(decision: Decision) -> str:
    """The Markdown the workflows post: the decision, then one line per check."""
    lines = [f"### Gate: {decision.decision}", ""]
    against = (
        f"the champion ({code(decision.base)} at {code(decision.champion)})"
        if decision.champion
        else f"{code(decision.base)}"
    )
    if decision.rows is not None:
        lines += [
            f"Shadow evaluation: the challenger (this branch's model) against {against}, both scoring the "
            f"same {decision.rows:,} labelled rows of {escape(decision.period)}, which neither was trained on.",
            "",
        ]
    lines += [
        f"- {'✅' if c['passed'] else '❌'} **{escape(c['check'])}**: {escape(c['detail'])}" for c in decision.checks
    ]
    return "\n".join(lines) + "\n"


def check_challenger(params: Params) -> None:
    """The working tree's model must be the one its `dvc.lock` pins: the gate judges what would be merged.

    Raises:
        PipelineError: The model is missing or differs from the pinned one (run the pipeline first).
    """
    model = params.paths.model
    pinned = pinned_md5(Path("dvc.lock").read_text(encoding="utf-8") if Path("dvc.lock").exists() else None, model)
    if not model.exists() or pinned != file_md5(model):
        raise PipelineError(f"{model}: not the model dvc.lock pins; run the pipeline (`pipeline run`) first")


def main(
    base: ChampionBase = None,
    params_file: ParamsFile = Path("params.yaml"),
) -> None:
    """Compare this working tree's model with the champion on the newest data; exit 0 promote, 3 reject, 4 none."""
    params = load_params(params_file)
    check_challenger(params)
    base = base or default_base()
    with tempfile.TemporaryDirectory(prefix="gate-") as work:
        decision = decide(params, base, Path(work))
    out = params.paths.gate
    write_json(decision.as_json(), out / "decision.json")
    (out / "summary.md").write_text(summary(decision), encoding="utf-8")
    log.info("gate: %s (%s)", decision.decision, out / "summary.md")
    github.set_output("decision", decision.decision)
    raise typer.Exit(EXIT[decision.decision])


if __name__ == "__main__":
    from pipeline.command import run_alone

    run_alone(main)
