"""The Maturity page (site/maturity.md): everything it names exists, and its scores add up."""

import re

import pytest
from mkdocs.config import load_config
from mkdocs.exceptions import PluginError

from pipeline.report import maturity
from tests.conftest import ROOT

PAGE = (ROOT / "site" / "maturity.md").read_text(encoding="utf-8")
NAMED = re.findall(r"`([^`]+)`", PAGE)
ROW = re.compile(r"^\| (D|M|I|Mo)(\d) \| .* \| (0|0\.5|1) \|$", re.MULTILINE)
SECTIONS = {"D": "Data", "M": "Model", "I": "Infrastructure", "Mo": "Monitoring"}


def is_path(token: str) -> bool:
    return "/" in token or token.endswith((".py", ".yml", ".yaml", ".json", ".md", ".lock"))


@pytest.mark.parametrize("token", sorted({t for t in NAMED if is_path(t)}))
def test_every_named_file_and_test_exists(token):
    path, _, test = token.partition("::")
    assert (ROOT / path).exists(), f"the Maturity page names {path}, which does not exist"
    if test:
        text = (ROOT / path).read_text(encoding="utf-8")
        assert f"def {test.split('[')[0]}(" in text, f"{path} defines no test {test}"


def test_the_page_names_at_least_the_monitoring_parts():
    """Guards the parser: a page whose backticks were lost would pass the test above vacuously."""
    assert {"pipeline/monitor.py", "pipeline/health.py", ".github/dependabot.yml"} <= set(NAMED)


def test_each_of_the_28_tests_is_scored_once_and_the_sums_add_up():
    rows = ROW.findall(PAGE)
    assert sorted(f"{s}{n}" for s, n, _ in rows) == sorted(f"{s}{n}" for s in SECTIONS for n in range(1, 8))
    sums = {name: sum(float(p) for s, _, p in rows if s == key) for key, name in SECTIONS.items()}
    for name, total in sums.items():
        assert f"| {name} | {total:g} |" in PAGE, f"the page's {name} score is not {total:g}"
    assert f"| **final (the lowest)** | **{min(sums.values()):g}** |" in PAGE


def test_the_hook_adds_the_page(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "mkdocs.yml").write_text("site_name: test\n")
    (site / "docs").mkdir()
    (site / "maturity.md").write_text("# Maturity\n")
    config = load_config(str(site / "mkdocs.yml"))
    config.plugins._current_plugin = None  # what mkdocs sets while it runs the hooks of a build
    files = maturity.on_files([], config)
    assert [f.src_uri for f in files] == ["maturity.md"] and files[0].content_string == "# Maturity\n"
    (site / "maturity.md").unlink()
    with pytest.raises(PluginError, match=r"maturity.md: the Maturity page's source is missing"):
        maturity.on_files([], config)
