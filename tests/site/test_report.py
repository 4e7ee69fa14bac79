"""The report stage: pages for what exists, honest gaps, escaped data, and a strict offline mkdocs build."""

import json
import re
import shutil
import subprocess
import sys

import pytest

from pipeline.errors import PipelineError
from pipeline.report.render import code, main, md
from tests.conftest import ROOT, command_env

HOSTILE = "<img src=x onerror=alert(1)>"


def render(tmp_path, metrics=None, reports=None):
    out = tmp_path / "site" / "docs"
    main(metrics=metrics or tmp_path / "none", reports=reports or tmp_path / "none", plots=ROOT / "outputs/plots",
         contract=ROOT / "contract.yaml", data_dvc=ROOT / "data.dvc", card=ROOT / "site/model_card.md", out=out,
         params_file=ROOT / "params.yaml")
    return out


def test_filters_escape_html_and_markdown():
    assert md(HOSTILE) == "&lt;img src=x onerror=alert(1)&gt;"
    assert md("a|b_[c]") == "a\\|b\\_\\[c\\]"
    assert code(HOSTILE) == "<code>&lt;img src=x onerror=alert(1)&gt;</code>"


def test_missing_inputs_give_not_available_sections(tmp_path):
    out = render(tmp_path)
    home = (out / "index.md").read_text()
    assert 'Not available yet' in home and "Metrics: the evaluate stage has not run" in home
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
    quality = {"current": "2013-06", "reference": ["2013-05"], "leakage": [],
               "columns": {HOSTILE: {"reference": stats, "current": stats}}}
    (reports / "data_quality.json").write_text(json.dumps(quality))
    page = (render(tmp_path, reports=reports) / "data-quality.md").read_text()
    assert HOSTILE not in page and "<code>&lt;img src=x onerror=alert(1)&gt;</code>" in page


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The site of the template's committed outputs, built by mkdocs in strict mode."""
    site = tmp_path_factory.mktemp("site")
    shutil.copy(ROOT / "site/mkdocs.yml", site / "mkdocs.yml")
    main(metrics=ROOT / "outputs/metrics", reports=ROOT / "outputs/reports", plots=ROOT / "outputs/plots",
         contract=ROOT / "contract.yaml", data_dvc=ROOT / "data.dvc", card=ROOT / "site/model_card.md",
         out=site / "docs", params_file=ROOT / "params.yaml")
    subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-f", str(site / "mkdocs.yml")],
                   env=command_env(), check=True)
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


def test_home_page_numbers_equal_the_metrics_file(built):
    metrics = json.loads((ROOT / "outputs/metrics/evaluate.json").read_text())
    home = (built / "index.html").read_text()
    auc = metrics["model"]["roc_auc"]
    assert f"<td>roc_auc</td>\n<td>{auc['value']:.3f} [{auc['low']:.3f}, {auc['high']:.3f}]</td>" in home


def test_every_figure_has_alt_text_and_exists(built):
    for page in built.rglob("*.html"):
        for tag in re.findall(r"<img [^>]+>", page.read_text()):
            assert re.search(r'alt="[^"]+"', tag), tag
            src = re.search(r'src="([^"]+)"', tag)[1]
            assert (page.parent / src).resolve().is_file(), src
