"""The site's "Use this template for your data" page: the README's section of that name, added at build time.

The guide is written once, in README.md (where a person who forks the repository reads first), and the site
shows the same text, so the two can never disagree. It is added by the mkdocs hook rather than by the
`report` stage because README.md is not an input of the pipeline: editing the guide must not re-run a stage.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

HEADING = "## Use this template for your data"
PAGE = "adopt.md"


def section(readme: str, heading: str = HEADING) -> str:
    """The text of the README section under `heading`, up to the next section of the same level.

    Raises:
        ValueError: The README has no such section.
    """
    lines = readme.splitlines()
    try:
        start = lines.index(heading)
    except ValueError:
        raise ValueError(f"no section {heading!r}") from None
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return "\n".join(lines[start + 1 : end]).strip() + "\n"


def page(readme: str) -> str:
    """The site page: the section with its heading promoted to the page's title."""
    return f"# {HEADING.removeprefix('## ')}\n\n{section(readme)}"


def on_files(files, config):
    """Add the guide page, from the README beside the site's folder (the repository's root)."""
    readme = Path(config.config_file_path).resolve().parent.parent / "README.md"
    try:
        files.append(File.generated(config, PAGE, content=page(readme.read_text(encoding="utf-8"))))
    except (OSError, ValueError) as exc:  # a fork that renamed the section sees why the build fails
        raise PluginError(f"{readme}: the guide page needs the section {HEADING!r} ({exc})") from None
    return files
