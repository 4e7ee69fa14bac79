"""Stage `report`: render the report site's pages from the pipeline's outputs, with jinja2 and matplotlib.

Reads:   the metrics files (`evaluate.json`, `slices.json`, `importance.json`, `prepare.json`, `validate.json`,
         `drift.json`), the data-quality summary, the drift figures, the plots files, the contract, `data.dvc`
         and the team's own model-card text (`site/model_card.md`).
Writes:  `site/docs/` (Markdown pages and figures) for `mkdocs build` with `site/mkdocs.yml`. The figures of
         the model card follow the task type through the plots files that exist: calibration (binary),
         confusion matrix (multiclass), residuals (regression).
Params:  `task`, `features`, `train`.

A page shows what exists: a missing input gives an honest "not available yet" section, never an invented
number; a malformed one fails the stage, naming the file. Every value that comes from data (column names,
categories, file names, reasons) goes through the `md` or `code` filter, which escapes HTML and Markdown, so a
column called `<img src=x onerror=alert(1)>` is shown as text and never runs.
"""

from __future__ import annotations

import importlib.metadata
import logging
import shutil
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from pipeline import figures, markdown, metrics_format
from pipeline.artifacts import read_json
from pipeline.config import ParamsFile, load_params

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).parent / "templates"
PAGES = ["index.md", "model-card.md", "drift.md", "data-quality.md", "tuning.md", "staleness.md"]
LIBRARIES = ["scikit-learn", "pandas", "numpy", "skops", "dvc"]


def md(value) -> Markup:
    """Text from data, safe in Markdown and HTML (`pipeline.markdown.escape`), marked safe for jinja."""
    return Markup(markdown.escape(value))


def code(value) -> Markup:
    """A name shown as code (`pipeline.markdown.code`), marked safe for jinja."""
    return Markup(markdown.code(value))


def fmt(value, spec: str) -> str:
    """`format` for the templates (jinja's own `format` filter is printf-style)."""
    return format(value, spec)


def environment() -> Environment:
    """Templates escape by default; missing variables are errors, not empty strings."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters |= {"md": md, "code": code}
    env.globals["fmt"] = fmt
    return env


def optional_json(path: Path) -> dict | None:
    """The file's content, None when it does not exist yet; a malformed file fails with its name."""
    return read_json(path) if path.exists() else None


def headline_metrics(evaluate: dict | None, path: Path) -> dict | None:
    """Model and baseline metrics as intervals (either format of evaluate.json), and whether any has one."""
    if evaluate is None:
        return None
    headline = metrics_format.headline(evaluate, str(path))
    return {**headline, "intervals": any(x["low"] is not None for x in headline["model"].values())}


def save(fig, path: Path) -> None:
    """Write a figure without a version stamp (same bytes on every machine) and free it."""
    fig.tight_layout()
    figures.save(fig, path)


def plot_calibration(points: list[dict], path: Path) -> None:
    """Observed rate against predicted probability per bin, with the diagonal of perfect calibration."""
    fig, ax = figures.subplots(figsize=(4, 4), dpi=100)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    ax.plot([p["predicted"] for p in points], [p["observed"] for p in points], marker="o", label="model")
    ax.set_xlabel("predicted probability")
    ax.set_ylabel("observed rate")
    ax.legend(fontsize=8)
    save(fig, path)


def plot_confusion(rows: list[dict], path: Path) -> None:
    """The confusion matrix of the evaluation period: rows per actual and predicted class, shaded by share."""
    classes = sorted({r["actual"] for r in rows} | {r["predicted"] for r in rows})
    index = {c: i for i, c in enumerate(classes)}
    counts = np.zeros((len(classes), len(classes)), dtype=int)
    np.add.at(counts, ([index[r["actual"]] for r in rows], [index[r["predicted"]] for r in rows]), 1)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)  # per actual class: recall on the diagonal
    size = 2 + 0.6 * len(classes)
    fig, ax = figures.subplots(figsize=(size, size), dpi=100)
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for (i, j), n in np.ndenumerate(counts):
        ax.text(j, i, str(n), ha="center", va="center", fontsize=8, color="white" if shares[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(classes)), classes, fontsize=8)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("actual class")
    save(fig, path)


def plot_residuals(points: list[dict], path: Path) -> None:
    """Mean residual (actual - predicted) per bin of the prediction, with the zero line of an unbiased model."""
    fig, ax = figures.subplots(figsize=(5, 3.5), dpi=100)
    ax.axhline(0, linestyle="--", color="grey", label="unbiased")
    ax.plot([p["predicted"] for p in points], [p["residual"] for p in points], marker="o", label="model")
    ax.set_xlabel("predicted value (bin mean)")
    ax.set_ylabel("mean residual (actual - predicted)")
    ax.legend(fontsize=8)
    save(fig, path)


# plots file (its stem, also its top-level key) -> the figure drawn from it. Only the files of the task type
# that ran exist, so the model card shows that task's figure. FORK: a new task type's figure.
FIGURES = {"calibration": plot_calibration, "confusion": plot_confusion, "residuals": plot_residuals}


def draw_figures(plots: Path, into: Path) -> dict[str, str | None]:
    """Each figure of FIGURES whose plots file exists, drawn into `into`; name -> path relative to the pages."""
    drawn = {}
    for name, draw in FIGURES.items():
        data = optional_json(plots / f"{name}.json")
        drawn[name] = f"figures/{name}.png" if data else None
        if data:
            draw(data[name], into / f"{name}.png")
    return drawn


def copy_figures(source: Path, into: Path) -> dict[str, str]:
    """Copy the drift figures next to the pages; name -> path relative to the pages."""
    if not source.is_dir():
        return {}
    into.mkdir(parents=True, exist_ok=True)
    names = {}
    for png in sorted(source.glob("*.png")):
        shutil.copyfile(png, into / png.name)
        names[png.stem] = f"figures/drift/{png.name}"
    return names


def main(
    *,
    metrics: Annotated[Path, typer.Option(help="Folder of the metrics files (paths.metrics).")],
    reports: Annotated[Path, typer.Option(help="Folder of the reports (paths.reports).")],
    plots: Annotated[Path, typer.Option(help="Folder of the curve files (paths.plots).")],
    contract: Annotated[Path, typer.Option(help="The data contract (paths.contract).")],
    data_dvc: Annotated[Path, typer.Option(help="The .dvc file of the raw data.")],
    card: Annotated[Path, typer.Option(help="The team's hand-written model-card text (Markdown).")],
    out: Annotated[Path, typer.Option(help="Folder of the site's pages (site/docs).")],
    params_file: ParamsFile = Path("params.yaml"),
) -> None:
    """Render the report site's pages from the pipeline's outputs."""
    from pipeline.contract import load_contract  # here: mkdocs' hook imports this module and needs no pandas

    params = load_params(params_file)
    if out.exists():
        shutil.rmtree(out)
    (out / "figures").mkdir(parents=True)
    figures = copy_figures(reports / "drift", out / "figures" / "drift")
    if (reports / "staleness.png").exists():
        shutil.copyfile(reports / "staleness.png", out / "figures" / "staleness.png")
    evaluate = optional_json(metrics / "evaluate.json")
    hash_of_data = yaml.safe_load(data_dvc.read_text())["outs"][0]["md5"] if data_dvc.exists() else "unknown"
    context = {
        "title": "Model report",
        "task": params.task.type,
        "target": params.task.target.column,
        "threshold": params.task.target.threshold,
        "positive_class": params.task.target.positive_class if params.task.type == "binary" else None,
        "period_metric": params.task.primary_metric,
        "estimator": params.train.estimator,
        "hyperparameters": params.train.hyperparameters,
        "categorical": params.features.categorical,
        "numeric": params.features.numeric,
        "leakage": load_contract(contract).leakage,
        "evaluate": evaluate,
        "headline": headline_metrics(evaluate, metrics / "evaluate.json"),
        "slices": optional_json(metrics / "slices.json"),
        "importance": optional_json(metrics / "importance.json"),
        "tuning": optional_json(reports / "tuning.json"),  # `pipeline tune`, run by hand
        "staleness": optional_json(reports / "staleness.json"),  # `pipeline staleness`, run by hand
        "threshold_objective": params.train.threshold_objective,
        "validation_fraction": params.train.validation_fraction,
        "prepare": optional_json(metrics / "prepare.json"),
        "validate": optional_json(metrics / "validate.json"),
        "drift": optional_json(metrics / "drift.json"),
        "quality": optional_json(reports / "data_quality.json"),
        "hand_written": Markup(card.read_text(encoding="utf-8")) if card.exists() else "",
        "per_class": (evaluate or {}).get("per_class"),
        "figures": {
            **draw_figures(plots, out / "figures"),
            "timeline": figures.pop("timeline", None),
            "staleness": "figures/staleness.png" if (reports / "staleness.png").exists() else None,
            "columns": figures,
        },
        "data_hash": hash_of_data,
        "versions": {name: importlib.metadata.version(name) for name in LIBRARIES},
    }
    env = environment()
    for page in PAGES:
        (out / page).write_text(env.get_template(f"{page}.j2").render(context), encoding="utf-8")
    log.info("report: %d pages in %s", len(PAGES), out)
