"""Figures as PNG files, for the drift stage, the report stage and the site's history page.

The one place that chooses matplotlib's backend: Agg draws to files with no display, so a figure is drawn
alike on a laptop, in CI and in a container. It is chosen when a figure is made, not as a side effect of
importing a module, so no module has to run code between its imports.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, TYPE_CHECKING

import matplotlib

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# No version string in the files: figures stay byte-identical across matplotlib upgrades.
PNG = {"Software": None}


def subplots(**options) -> tuple[Figure, Axes]:
    """A figure and its axes (`pyplot.subplots` with `options`), drawn by Agg: files only, no display."""
    matplotlib.use("Agg")
    from matplotlib import pyplot  # after the backend is chosen, so pyplot never opens a display

    return pyplot.subplots(**options)


def save(fig: Figure, target: Path | IO[bytes], **options) -> None:
    """Write `fig` as PNG without a version stamp (the same bytes on every machine), and free it."""
    from matplotlib import pyplot

    fig.savefig(target, metadata=PNG, **options)
    pyplot.close(fig)
