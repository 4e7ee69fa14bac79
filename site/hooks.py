"""mkdocs hooks of the report site: the pages that do not come from the `report` stage.

- from git, at build time: the metrics history and Home's live model (see pipeline/report/history.py), and
  the Monitoring page from the records continuous training pushes to its data branch (monitoring.py);
- from site/maturity.md: the Maturity page (see pipeline/report/maturity.py);
- from README.md: the guide "Use this template for your data" (see pipeline/report/guide.py).
mkdocs calls these functions by name on every build, `mkdocs serve` included.
"""

from pipeline.report import guide, history, maturity, monitoring
from pipeline.report.history import on_page_markdown  # noqa: F401

PAGE_MAKERS = [history, monitoring, maturity, guide]  # each adds its pages in `on_files`


def on_files(files, config):
    """Add the generated pages to this build."""
    for maker in PAGE_MAKERS:
        files = maker.on_files(files, config)
    return files
