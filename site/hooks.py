"""mkdocs hooks of the report site: the parts that come from git at build time (see pipeline/report/history.py).

mkdocs calls these functions by name on every build, `mkdocs serve` included.
"""

from pipeline.report.history import on_files, on_page_markdown  # noqa: F401
