"""The site's Monitoring page: the live model round after round, from the records on the monitoring branch.

Added while mkdocs builds the site, like the metrics history (pipeline/report/history.py) and for the same
reason: continuous training writes the records to a git branch (`monitor.branch`, see pipeline/monitor.py),
which no DVC stage declares, so a stage that read them would go stale. The page shows, on one time axis, the
live model's metric on each new period against its interval at promotion and the floor, each round's
decision, the share of drifted columns and the label rate; then the alerts raised and the cost figures, as a
table too (a figure is not the only way to read it). With no record yet it says so and invents nothing.
"""

from __future__ import annotations

import io
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

from pipeline import figures, monitor
from pipeline.config import Monitor, load_params
from pipeline.errors import PipelineError
from pipeline.repo import toplevel
from pipeline.report.render import environment

PAGE = "monitoring.md"
NO_REPOSITORY = "the site was built outside a git repository, so there is no branch of records to read"
FIGURE = "figures/monitoring.png"
MARKERS = {"promote": ("o", "tab:green"), "reject": ("X", "tab:red")}  # others: a grey dot


def plot(found: list[dict], floor: float | None) -> bytes | None:
    """The page's figure: the live model's metric above, the data below, on one axis of periods.

    None when no round scored the live model (there is nothing to draw).
    """
    if not any(r["live"].get("on_period") for r in found):
        return None
    fig, (top, bottom) = figures.subplots(nrows=2, sharex=True, figsize=(7, 4.6), dpi=100, height_ratios=[3, 2])
    _plot_metric(top, found, floor)
    _plot_data(bottom, found)
    fig.tight_layout()
    buffer = io.BytesIO()
    figures.save(fig, buffer, format="png")
    return buffer.getvalue()


def _plot_metric(ax, found: list[dict], floor: float | None) -> None:
    """Per period: the live metric with its interval, the interval it had at promotion (a band), the floor.

    The marker is the round's decision; an alert is written above its point.
    """
    for i, r in enumerate(found):
        now, then = r["live"].get("on_period"), r["live"].get("at_promotion") or {}
        if not now:
            continue
        if then.get("low") is not None:
            ax.fill_between([i - 0.4, i + 0.4], then["low"], then["high"], color="tab:blue", alpha=0.15, lw=0)
        errors = None  # a percentile interval may, rarely, leave the point estimate at or past its edge
        if now.get("low") is not None:
            errors = [[max(0.0, now["value"] - now["low"])], [max(0.0, now["high"] - now["value"])]]
        marker, color = MARKERS.get(r["decision"], (".", "grey"))
        ax.errorbar([i], [now["value"]], yerr=errors, marker=marker, color=color, capsize=3, linestyle="none")
        if r.get("alerts"):
            ax.annotate(
                "alert",
                (i, now["value"]),
                textcoords="offset points",
                xytext=(0, 10),
                ha="center",
                color="tab:red",
                fontsize=8,
            )
    if floor is not None:
        ax.axhline(floor, linestyle="--", color="tab:red", linewidth=1, label=f"floor {floor:g}")
    ax.fill_between([], [], [], color="tab:blue", alpha=0.15, label="interval at promotion")
    for decision, (marker, color) in MARKERS.items():
        ax.plot([], [], marker=marker, color=color, linestyle="none", label=f"live model; round: {decision}")
    ax.set_ylabel(found[-1]["metric"])
    ax.legend(fontsize=7, loc="best")


def _plot_data(ax, found: list[dict]) -> None:
    """Per period: the share of drifted columns (bars) and the share of rows with an outcome (line)."""
    x = list(range(len(found)))
    ax.bar(x, [r["drift"].get("share") or 0 for r in found], color="tab:orange", alpha=0.6, label="drifted columns")
    rates = [r["labels"].get("rate") for r in found]
    ax.plot(x, [float("nan") if v is None else v for v in rates], marker=".", color="tab:purple", label="label rate")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("share")
    ax.set_xticks(x, [r["period"] for r in found], rotation=45, fontsize=8)
    ax.set_xlabel("period released by continuous training")
    ax.legend(fontsize=7, loc="lower left")


def render(
    found: list[dict], *, branch: str, floor: float | None, margin: float, reason: str | None
) -> tuple[str, bytes | None]:
    """The page's Markdown and its figure (None when there is nothing to plot)."""
    figure = plot(found, floor)
    context = {
        "rows": found,
        "branch": branch,
        "floor": floor,
        "margin": margin,
        "reason": reason,
        "figure": FIGURE if figure else None,
        "alerts": [(r["period"], a) for r in found for a in r.get("alerts") or []],
    }
    return environment().get_template("monitoring.md.j2").render(context), figure


def read(site: Path) -> tuple[list[dict], dict, str | None]:
    """The records of the repository holding `site`, its monitor settings, and why there are none if so."""
    root = toplevel(site)
    if root is None:
        settings = Monitor()  # the defaults, for the page's words
        return [], {"branch": settings.branch, "floor": None, "margin": settings.margin}, NO_REPOSITORY
    settings = load_params(root / "params.yaml").monitor
    found = monitor.records(settings.branch, cwd=root)
    reason = None if found else f"no branch {settings.branch} yet: continuous training has not recorded a round"
    return found, {"branch": settings.branch, "floor": settings.floor, "margin": settings.margin}, reason


def on_files(files, config):
    """Add the Monitoring page and its figure to this build."""
    try:
        found, settings, reason = read(Path(config.config_file_path).parent)
        page, figure = render(found, reason=reason, **settings)
    except PipelineError as exc:  # a malformed record fails the build, naming it
        raise PluginError(str(exc)) from None
    files.append(File.generated(config, PAGE, content=page))
    if figure:
        files.append(File.generated(config, FIGURE, content=figure))
    return files
