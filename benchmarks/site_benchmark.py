"""Benchmark of the report site: prints figures, asserts nothing (targets: build < 10 s, site < 5 MB).

Builds the working tree's site (`site/docs`, rendered by `pipeline run`) with `mkdocs build --strict`, as
`pipeline run` does, hook included (registry history from git), into a temporary folder, several times; prints
the wall time of each build (interpreter start-up included, as a person or CI pays it), their median, and the
built site's total size, with its largest parts.

    uv run pipeline run && uv run python benchmarks/site_benchmark.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.conftest import ROOT, command_env  # noqa: E402

MB = 1024 * 1024


def build(out: Path) -> float:
    """Seconds of one `mkdocs build --strict` of site/mkdocs.yml into `out`."""
    command = [
        sys.executable,
        "-m",
        "mkdocs",
        "build",
        "--strict",
        "--quiet",
        "-f",
        str(ROOT / "site/mkdocs.yml"),
        "-d",
        str(out),
    ]
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=command_env(), check=True)
    return time.perf_counter() - start


def sizes(site: Path) -> dict[str, int]:
    """Bytes per top-level entry of the built site."""
    parts = {}
    for file in site.rglob("*"):
        if file.is_file():
            top = file.relative_to(site).parts[0]
            parts[top] = parts.get(top, 0) + file.stat().st_size
    return parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not (ROOT / "site/docs/index.md").exists():
        sys.exit("site/docs is empty: run `uv run pipeline run` first")
    with tempfile.TemporaryDirectory() as tmp:
        seconds = [build(Path(tmp) / f"build{i}") for i in range(args.repeats)]
        parts = sizes(Path(tmp) / "build0")
    each = ", ".join(f"{s:.2f}" for s in seconds)
    print(f"mkdocs build --strict: {each} s; median {statistics.median(seconds):.2f} s (target < 10 s)")
    print(
        f"built site: {sum(parts.values()) / MB:.2f} MB (target < 5 MB); largest parts: "
        + ", ".join(f"{name} {size / MB:.2f} MB" for name, size in sorted(parts.items(), key=lambda p: -p[1])[:4])
    )


if __name__ == "__main__":
    main()
