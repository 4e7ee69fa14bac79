"""The report stage: pages for what exists, honest gaps, escaped data, and a strict offline mkdocs build."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.errors import PipelineError
from pipeline.report.render import code, main, md
from tests.conftest import EXAMPLE, ROOT, command_env
from tests.site.conftest import DECISION, HOSTILE, git, render_project


def render(tmp_path, metrics=None, reports=None, project=None):
    """The report stage on the example's configuration; with `project`, also its plots and data.dvc."""
    out = tmp_path / "site" / "docs"
    main(
        metrics=metrics or tmp_path / "none",
        reports=reports or tmp_path / "none",
        plots=project / "outputs/plots" if project else tmp_path / "none",
        contract=EXAMPLE / "contract.yaml",
        data_dvc=project / "data.dvc" if project else tmp_path / "none",
        card=EXAMPLE / "model_card.md",
        out=out,
        params_file=EXAMPLE / "params.yaml",
    )
    return out


def test_filters_escape_html_and_markdown():
    assert md(HOSTILE) == "&lt;img src=x onerror=alert(1)&gt;"
    assert md("a|b_[c]") == "a\\|b\\_\\[c\\]"
    assert code(HOSTILE) == "<code>&lt;img src=x onerror=alert(1)&gt;</code>"


def test_missing_inputs_give_not_available_sections(tmp_path):
    out = render(tmp_path)
    home = (out / "index.md").read_text()
    assert "Not available yet" in home and "Metrics: the evaluate stage has not run" in home
    assert "Drift: the drift stage has not run" in (out / "drift.md").read_text()
    assert "| roc" not in home  # no invented numbers


def test_malformed_metrics_file_fails_naming_it(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "evaluate.json").write_text("{not json")
    with pytest.raises(PipelineError, match=r"m/evaluate.json: cannot be read as JSON"):
        render(tmp_path, metrics=tmp_path / "m")


def test_a_hostile_column_name_is_shown_as_text(tmp_path):
    reports = tmp_path / "r"
    reports.mkdir()
    stats = {"count": 1, "missing_pct": 0.0, "distinct": 1, "top": [{"value": HOSTILE, "share": 1.0}]}
    quality = {
        "current": "2013-06",
        "reference": ["2013-05"],
        "leakage": [],
        "columns": {HOSTILE: {"reference": stats, "current": stats}},
    }
    (reports / "data_quality.json").write_text(json.dumps(quality))
    page = (render(tmp_path, reports=reports) / "data-quality.md").read_text()
    assert HOSTILE not in page and "<code>&lt;img src=x onerror=alert(1)&gt;</code>" in page


@pytest.fixture(scope="module")
def built(tmp_path_factory, ran_clone):
    """The site of the example project's outputs (a clone that ran the pipeline), built by mkdocs --strict."""
    site = tmp_path_factory.mktemp("repo") / "site"
    site.mkdir()
    shutil.copy(ROOT / "README.md", site.parent / "README.md")  # the guide page's text
    shutil.copy(ROOT / "site/mkdocs.yml", site / "mkdocs.yml")
    shutil.copy(ROOT / "site/hooks.py", site / "hooks.py")
    shutil.copy(ROOT / "site/maturity.md", site / "maturity.md")  # the Maturity page's source
    shutil.copytree(ROOT / "site/overrides", site / "overrides")
    render_project(ran_clone, site / "docs")
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-f", str(site / "mkdocs.yml")],
        env=command_env(),
        check=True,
    )
    return site / "build"


def test_built_site_requests_nothing_outside(built):
    """No script, style, font or image is loaded from another host: the site works offline."""
    external = []
    for page in built.rglob("*.html"):
        text = page.read_text()
        external += re.findall(r'<(?:script|img|link|iframe)[^>]+(?:src|href)="(?:https?:)?//[^"]+"', text)
    for sheet in built.rglob("*.css"):
        external += re.findall(r"url\((?:['\"])?(?:https?:)?//[^)]+\)", sheet.read_text())
    assert external == []


def test_home_page_numbers_equal_the_metrics_file(built, ran_clone):
    metrics = json.loads((ran_clone / "outputs/metrics/evaluate.json").read_text())
    home = (built / "index.html").read_text()
    auc = metrics["model"]["roc_auc"]
    assert f"<td>roc_auc</td>\n<td>{auc['value']:.3f} ({auc['low']:.3f}–{auc['high']:.3f})</td>" in home


def test_every_figure_has_alt_text_and_exists(built):
    for page in built.rglob("*.html"):
        for tag in re.findall(r"<img [^>]+>", page.read_text()):
            assert re.search(r'alt="[^"]+"', tag), tag
            src = re.search(r'src="([^"]+)"', tag)[1]
            assert (page.parent / src).resolve().is_file(), src


FORMAT_2 = {
    "format": 2,
    "task": "binary",
    "primary": "roc_auc",
    "rows": 27075,
    "threshold": 0.31,
    "model": {
        "roc_auc": {"value": 0.75, "low": 0.744, "high": 0.757},
        "average_precision": {"value": 0.59, "low": 0.58, "high": 0.6},
    },
    "baseline": {"roc_auc": {"value": 0.5, "low": 0.5, "high": 0.5}},
}


def with_metrics(tmp_path, project, evaluate) -> Path:
    """The project's metrics files with `evaluate` as its evaluate.json."""
    metrics = tmp_path / "m"
    shutil.copytree(project / "outputs/metrics", metrics)
    (metrics / "evaluate.json").write_text(json.dumps(evaluate))
    return metrics


def test_format_2_metrics_are_shown_with_their_intervals(tmp_path, ran_clone):
    out = render(tmp_path, project=ran_clone, metrics=with_metrics(tmp_path, ran_clone, FORMAT_2))
    for page in ["index.md", "model-card.md"]:
        text = (out / page).read_text()
        assert "| roc\\_auc | 0.750 (0.744–0.757) | 0.500 (0.500–0.500) |" in text
        assert "| average\\_precision | 0.590 (0.580–0.600) | – |" in text  # no baseline value: a dash, not 0
        assert "bootstrap confidence interval" in text


@pytest.mark.parametrize(("rows", "said"), [(20_000, True), (50_000, False)], ids=["sampled", "every-row"])
def test_the_model_card_says_when_the_model_learnt_from_a_sample(tmp_path, ran_clone, rows, said):
    evaluate = {**FORMAT_2, "training": {"rows": rows, "available": 50_000}}
    card = (render(tmp_path, project=ran_clone, metrics=with_metrics(tmp_path, ran_clone, evaluate))) / "model-card.md"
    sentence = "The model learnt from a sample of 20,000 of the 50,000\ntraining rows (`engine.train_rows`)"
    assert (sentence in card.read_text()) is said


def test_format_1_metrics_have_no_interval_sentence(tmp_path, ran_clone):
    format_1 = {"rows": 10, "threshold": 0.3, "model": {"roc_auc": 0.75}, "baseline": {"roc_auc": 0.5}}
    home = (
        render(tmp_path, project=ran_clone, metrics=with_metrics(tmp_path, ran_clone, format_1)) / "index.md"
    ).read_text()
    assert "bootstrap confidence interval" not in home and " (0." not in home


def test_a_malformed_format_2_metric_fails_naming_file_and_metric(tmp_path, ran_clone):
    broken = {**FORMAT_2, "model": {"roc_auc": {"low": 0.7}}}
    with pytest.raises(PipelineError, match=r"m/evaluate.json: model.roc_auc: expected a number"):
        render(tmp_path, project=ran_clone, metrics=with_metrics(tmp_path, ran_clone, broken))


def test_report_stage_leaves_the_live_model_to_the_build(tmp_path, ran_clone):
    """site/docs (a DVC out) must not depend on git tags: Home carries the block the mkdocs hook fills."""
    home = (render(tmp_path, metrics=ran_clone / "outputs/metrics", project=ran_clone) / "index.md").read_text()
    assert re.search(r"<!-- live-model:start -->\n.*Not available yet.*\n.*<!-- live-model:end -->", home, re.S)
    assert not (tmp_path / "site/docs/history.md").exists()


def article(page: Path) -> str:
    """The page's main text without tags (what a reader sees)."""
    main_part = re.search(r"<article.*?</article>", page.read_text(), re.S)[0]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", main_part))


def test_outside_git_the_history_and_live_model_say_so(built):
    assert "No promoted model yet Not available yet: the site was built outside a git repository" in article(
        built / "history/index.html"
    )
    assert "The live model: the site was built outside a git repository" in article(built / "index.html")


def committed_auc(history_repo) -> float:
    """The newest version's ROC AUC (the example project's; the older version's is 0.02 less)."""
    return json.loads((history_repo / "outputs/metrics/evaluate.json").read_text())["model"]["roc_auc"]["value"]


def test_history_lists_every_version_newest_first_with_the_live_one(history_site, history_repo):
    text = article(history_site / "history/index.html")
    new, old = (re.escape(f"{auc:.3f}") for auc in (committed_auc(history_repo), committed_auc(history_repo) - 0.02))
    assert re.search(
        rf"v1\.1\.0 \S+ \w{{10}} promote roc_auc {new} \(\S+\) live v1\.0\.0 \S+ \w{{10}} – roc_auc {old}", text
    ), text
    assert (history_site / "figures/history.png").stat().st_size > 0
    assert "&lt;img src=x onerror=alert(1)&gt;" in (history_site / "history/index.html").read_text()


def test_home_shows_the_live_version_and_the_decision_that_promoted_it(history_site, history_repo):
    text = article(history_site / "index.html")
    auc = re.escape(f"{committed_auc(history_repo):.3f}")
    assert re.search(
        rf"The live model model@v1\.1\.0, registered \d{{4}}-\d\d-\d\d at commit \w{{10}}: roc_auc {auc}", text
    )
    assert "The gate's decision that promoted it: promote." in text and DECISION["reasons"][0] in text
    assert HOSTILE not in (history_site / "index.html").read_text()


def test_a_new_tag_reaches_the_site_at_the_next_build_without_the_report_stage(history_repo, tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(history_repo, repo)
    git(repo, "revert", "--no-edit", "HEAD")  # roll back: the older model is live again
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-f", "site/mkdocs.yml"],
        cwd=repo,
        env=command_env(),
        check=True,
    )
    assert "The live model model@v1.0.0," in article(repo / "site/build/index.html")
