"""mkdocs hooks of the report site: the pages that do not come from the `report` stage.

- from git, at build time: the metrics history and Home's live model (see pipeline/report/history.py);
- from README.md: the guide "Use this template for your data" (see pipeline/report/guide.py).
mkdocs calls these functions by name on every build, `mkdocs serve` included.
"""

from pipeline.report import guide, history
from pipeline.report.history import on_page_markdown  # noqa: F401


def on_files(files, config):
    """Add the generated pages to this build."""
    return guide.on_files(history.on_files(files, config), config)
