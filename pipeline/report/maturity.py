"""The site's Maturity page, from `site/maturity.md`, added at build time.

The page is hand-written (what the repository does, mapped to Google's MLOps levels and the ML Test Score),
so it lives beside the other hand-written source, `site/model_card.md`, and not in `site/docs/`, which the
`report` stage generates. Adding it here keeps editing it from re-running a DVC stage.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

PAGE = "maturity.md"


def on_files(files, config):
    """Add the Maturity page from site/maturity.md (beside mkdocs.yml)."""
    source = Path(config.config_file_path).parent / PAGE
    try:
        files.append(File.generated(config, PAGE, content=source.read_text(encoding="utf-8")))
    except OSError as exc:
        raise PluginError(f"{source}: the Maturity page's source is missing ({exc})") from None
    return files
