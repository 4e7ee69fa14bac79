"""The parts of the report site that come from the registry (git tags), added while mkdocs builds the site.

Why at build time and not in the `report` stage: tags change without any file DVC tracks. If the stage read
them, `site/docs/` (its DVC output) would depend on an undeclared input, stay stale after a new tag, and
differ between clones with and without tags. So the stage renders what its declared inputs determine, and
this mkdocs hook (`site/hooks.py`, listed under `hooks:` in `site/mkdocs.yml`) adds, on every build:
- the *Metrics history* page (`history.md`, with `figures/history.png`): every registered version's
  metrics, read from the tags and the `evaluate.json` committed at each tagged commit;
- on *Home*, the live model (version, date, the gate's decision that promoted it), in place of the block
  between the `live-model` markers that the stage leaves as "not available yet".
Both say plainly when there is nothing to show (no tag yet, no git repository), and never invent a number.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

from pipeline import figures, metrics_format, registry
from pipeline.config import load_params
from pipeline.errors import PipelineError
from pipeline.repo import git, toplevel
from pipeline.report.render import environment

PAGE = "history.md"
FIGURE = "figures/history.png"
LIVE_BLOCK = re.compile(r"<!-- live-model:start -->.*?<!-- live-model:end -->", re.DOTALL)
COMMIT_BLOCK = re.compile(r"<!-- build-commit:start -->.*?<!-- build-commit:end -->", re.DOTALL)
NO_REPOSITORY = "the site was built outside a git repository, so there are no tags to read"
_built: dict[str, str] = {}  # this build's Home section, from on_files to on_page_markdown


def read_registry(site: Path) -> tuple[list[registry.Version] | None, str | None]:
    """The registered versions of the repository that holds `site`, or None and the reason there are none."""
    root = toplevel(site)
    if root is None:
        return None, NO_REPOSITORY
    return registry.versions(load_params(root / "params.yaml"), root), None


def history_rows(versions: list[registry.Version]) -> list[dict]:
    """One row per version: its summary, with every metric as an interval (either format of evaluate.json)."""
    return [
        {
            **v.summary(),
            "baseline": metrics_format.headline(v.metrics, f"{v.tag}:evaluate.json")["baseline"] if v.metrics else {},
        }
        for v in versions
    ]


def plot_history(rows: list[dict]) -> bytes | None:
    """The primary metric of each version (with its interval when recorded) and the baseline's, as a PNG."""
    shown = [r for r in rows if r["primary"] and r["primary"]["value"] is not None]
    if not shown:
        return None
    name = shown[-1]["primary"]["metric"]
    shown = [r for r in shown if r["primary"]["metric"] == name]  # a fork that changed its metric: newest only
    x = range(len(shown))
    values = [r["primary"]["value"] for r in shown]
    below = [r["primary"]["value"] - r["primary"]["low"] if r["primary"]["low"] is not None else 0 for r in shown]
    above = [r["primary"]["high"] - r["primary"]["value"] if r["primary"]["high"] is not None else 0 for r in shown]
    fig, ax = figures.subplots(figsize=(6, 3.2), dpi=100)
    ax.errorbar(x, values, yerr=[below, above], marker="o", capsize=4, label="model (interval when recorded)")
    baseline = [r["baseline"].get(name, {}).get("value") for r in shown]
    if any(b is not None for b in baseline):
        ax.plot(
            x,
            [float("nan") if b is None else b for b in baseline],
            linestyle="--",
            marker=".",
            color="grey",
            label="baseline",
        )
    ax.set_xticks(list(x), [r["version"] for r in shown])
    ax.margins(x=0.15)
    ax.set_xlabel("registered version (oldest first)")
    ax.set_ylabel(name)
    ax.legend(fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    figures.save(fig, buffer, format="png")
    return buffer.getvalue()


def render(versions: list[registry.Version] | None, reason: str | None) -> tuple[str, str, bytes | None]:
    """The history page, Home's live-model section and the chart (None when there is nothing to plot)."""
    rows = history_rows(versions or [])
    figure = plot_history(rows)
    names = sorted({name for r in rows for name in (r["metrics"] or {})})
    context = {
        "rows": rows,
        "reason": reason,
        "names": names,
        "figure": FIGURE if figure else None,
        "live": next((r for r in rows if r["live"]), None),
        "latest": rows[-1] if rows else None,
        "decision": next((v.decision for v in versions or [] if v.live), None),
    }
    env = environment()
    return env.get_template("history.md.j2").render(context), env.get_template("live.md.j2").render(context), figure


# mkdocs events (https://www.mkdocs.org/dev-guide/plugins/#events), re-exported by site/hooks.py.


def on_files(files, config):
    """Add the history page and its chart to this build; keep Home's section for `on_page_markdown`."""
    try:
        page, live, figure = render(*read_registry(Path(config.config_file_path).parent))
    except PipelineError as exc:  # a malformed metrics file at a tagged commit fails the build, naming it
        raise PluginError(str(exc)) from None
    files.append(File.generated(config, PAGE, content=page))
    if figure:
        files.append(File.generated(config, FIGURE, content=figure))
    _built["live"] = live
    _built["commit"] = build_commit(Path(config.config_file_path).parent)
    return files


def build_commit(site: Path) -> str:
    """The commit the site is built from, for the model card's lineage (a DVC stage cannot know it)."""
    try:
        sha = git("rev-parse", "HEAD", cwd=site).strip()
        dirty = git("status", "--porcelain", "--untracked-files=no", cwd=site).strip()
    except PipelineError:
        return "none (built outside a git repository)"
    return f"<code>{sha[:12]}</code>" + (" with uncommitted changes" if dirty else "")


def on_page_markdown(markdown, page, config, files):  # noqa: ARG001 (mkdocs passes them by name)
    """Put the live model in the `live-model` blocks (Home, model card) and the build's commit in the lineage."""
    if page.file.src_uri not in ("index.md", "model-card.md") or "live" not in _built:
        return markdown
    markdown = COMMIT_BLOCK.sub(lambda _: _built["commit"], markdown, count=1)
    return LIVE_BLOCK.sub(lambda _: _built["live"], markdown, count=1)
