"""The guide is one text: README.md's section, shown as a site page."""

import pytest

from pipeline.report import guide
from tests.conftest import ROOT


def test_section_runs_from_its_heading_to_the_next_section():
    readme = "# T\n\n## A\n\na\n\n## Use this template for your data\n\nstep 1\n\n### sub\n\nstep 2\n\n## B\n\nb\n"
    assert guide.section(readme) == "step 1\n\n### sub\n\nstep 2\n"
    assert guide.page(readme).startswith("# Use this template for your data\n\nstep 1")


def test_a_readme_without_the_section_is_an_error():
    with pytest.raises(ValueError, match="no section"):
        guide.section("# T\n\n## Other\n")


def test_the_readme_has_the_guide_with_its_commands():
    text = guide.section((ROOT / "README.md").read_text(encoding="utf-8"))
    assert "pipeline init" in text and "```bash" in text
