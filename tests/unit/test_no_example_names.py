"""Nothing of the example's data lives in the pipeline package: its table and column names appear only in its
own configuration (params.yaml, contract.yaml). Issue 8: "no column name of the example in the pipeline
package's code (a test searches the package for them)".

The names are read from the example's configuration at test time, so a new column of the example is checked
too. A few of them are also ordinary words the package uses in their ordinary sense; each is allowed only in
that sense, recognized on its line by a pattern, and the reason is written next to it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.conftest import EXAMPLE, ROOT

PACKAGE = ROOT / "pipeline"

# word -> (why the package may use it, the line pattern that shows that generic use). Matching is
# case-insensitive for the name, so "Flights" in prose is found like `flights` in code.
GENERIC = {
    **{
        unit: ("a calendar unit: the calendar features prepare derives and the period kinds", r"")
        for unit in ("year", "month", "day", "hour", "minute", "weekday")
    },
    "model": ("the machine-learning model itself", r""),
    "name": ("the name of anything (a file, a column, a class)", r""),
    "type": ("a data type, a task type, a Python type", r""),
    "origin": ("the git remote", r"\bgit\b|\bGit\b|push|fetch|branch|remote|origin/"),
    "distance": (
        "a statistical distance between distributions",
        r"Wasserstein|Jensen-Shannon|JS distance|scipy\.spatial",
    ),
    "dest": ("a destination folder, as a Python name", r"\bdest\s*[/:,)]|\(dest\b|`dest/"),
    "speed": ("how fast the code runs (a paragraph's heading)", r"\bSpeed:"),
    "tz": ("time-zone aware timestamps", r"\btz-aware\b"),
    "dst": ("daylight saving time", r"(?-i:\bDST\b)"),
    "engine": (
        "the engine the stages run on (params.yaml `engine`, pipeline/engine.py)",
        r"\bengine\b[.:(),]|(?-i:\bEngine\b)|(dask|pandas|import)\b.*\bengine\b|\bengine\b.*\b(dask|pandas)"
        r"|\bpipeline\.engine\b",
    ),
}


def example_names() -> set[str]:
    """Every table and column name of the example's configuration, and the package it is shipped in."""
    contract = yaml.safe_load((EXAMPLE / "contract.yaml").read_text(encoding="utf-8"))
    params = yaml.safe_load((EXAMPLE / "params.yaml").read_text(encoding="utf-8"))
    names = set(contract["tables"]) | {contract["target"]["column"], *contract.get("leakage", [])}
    for table in contract["tables"].values():
        names |= set(table["columns"])
    features, prepare = params["features"], params["prepare"]
    names |= {
        *features["categorical"],
        *features["numeric"],
        *features["identifiers"],
        prepare["batches"],
        prepare["timestamp"],
        params["task"]["target"]["column"],
    }
    for join in prepare.get("joins", []):
        names |= {join["table"], *join["keys"], *join["columns"], *join["columns"].values()}
    source = params["ingest"]["source"]
    names |= set(source.get("tables", {})) | ({source["package"]} if source.get("package") else set())
    return names


def package_files() -> list[Path]:
    """Every file of the package: code, templates and anything else it ships."""
    return sorted(p for p in PACKAGE.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def hits(names: set[str], files: list[Path]) -> list[str]:
    """`file:line: name` for each use of an example name that is not its allowed generic use."""
    found = []
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for name in names:
                if not re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", line, re.IGNORECASE):
                    continue
                allowed = GENERIC.get(name.lower())
                if allowed is None or not re.search(allowed[1], line, re.IGNORECASE):
                    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
                    found.append(f"{where}:{number}: {name}: {line.strip()}")
    return found


def test_the_package_names_nothing_of_the_example():
    names = example_names()
    assert {"flights", "carrier", "arr_delay", "time_hour", "tailnum"} <= names  # the configuration was read
    found = hits(names, package_files())
    assert not found, "the example's names in the package:\n" + "\n".join(sorted(found))


@pytest.mark.parametrize(
    ("line", "caught"),
    [
        ("rows = rows[rows.carrier != 'AA']", True),
        ("# Flights without an arrival are dropped", True),
        ("git push origin main", False),
        ("group by origin and dest", True),
        ("def write(dest: Path) -> None:", False),
        ("Jensen-Shannon distance of the categories", False),
        ("the distance column in miles", True),
        ("handles DST transitions", False),
        ("a dst column", True),
        ("with engine.cluster(params.engine) as client:", False),
        ('rows["engine"].isin(KINDS)', True),
        ("planes with one engine", True),
    ],
    ids=[
        "code",
        "prose",
        "git-remote",
        "column-prose",
        "path-name",
        "statistic",
        "column-distance",
        "daylight-saving",
        "column-dst",
        "compute-engine",
        "column-engine",
        "column-engine-prose",
    ],
)
def test_the_search_tells_the_generic_use_from_the_example(tmp_path, line, caught):
    file = tmp_path / "module.py"
    file.write_text(line + "\n", encoding="utf-8")
    found = hits({"carrier", "flights", "origin", "dest", "distance", "dst", "engine"}, [file])
    assert bool(found) is caught


def test_every_allowed_word_is_an_example_name():
    """An allowance for a word the example no longer has is dead weight: remove it."""
    assert set(GENERIC) <= {n.lower() for n in example_names()}
