"""Data tests: every released file meets the data contract (contract.yaml), and the data tests across files pass.

A fork adds its own rules to contract.yaml (ranges, categories, missing values, row counts) rather than here:
`validate` checks them on every run and names the file, the column and the rule of each failure.
"""

from __future__ import annotations

from pipeline.batches import period_files
from pipeline.validate import validate


def test_every_released_file_meets_the_contract(project):
    report, _ = validate(project.root / project.params.paths.data, project.params, project.contract)
    failures = [check for check in report["checks"] if check["severity"] == "failure"]
    assert failures == [], failures
    assert report["files"] > 0 and report["rows"] > 0


def test_the_released_periods_are_the_batches_in_data(project):
    """data.release.yaml (what ingest released) and data/ (what DVC restored) tell the same story."""
    import yaml

    released = yaml.safe_load((project.root / project.params.paths.release).read_text())["released"]
    batches = project.root / project.params.paths.data / project.params.prepare.batches
    assert list(period_files(batches)) == [str(p) for p in released]
