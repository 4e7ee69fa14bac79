"""Data tests: every released file meets the data contract (contract.yaml), the data tests across files pass,
and every feature is shown to contribute (or is named in a warning).

A fork adds its own rules to contract.yaml (ranges, categories, missing values, row counts) rather than here:
`validate` checks them on every run and names the file, the column and the rule of each failure.
"""

from __future__ import annotations

import json
import warnings

from pipeline.batches import period_files
from pipeline.importance import unproven
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


def test_every_feature_earns_its_place_or_is_named(project):
    """Each feature's contribution (evaluate's `importance.json`): one whose interval reaches zero is not shown
    to help. That is a warning, not a failure: a feature may matter in months the evaluation period lacks; the
    reviewer decides whether to keep it, and the warning names it in every test run until then."""
    importance = json.loads((project.root / project.params.paths.metrics / "importance.json").read_text())
    assert set(importance["features"]) == set(project.params.features.inputs)
    assert importance["unproven"] == unproven(importance["features"])
    for name in importance["unproven"]:
        entry = importance["features"][name]
        warnings.warn(
            f"feature {name!r} ({entry['source']}) is not shown to help: shuffling it changes the "
            f"{importance['loss']} by {entry['value']:+.5f} (interval {entry['low']:+.5f} to {entry['high']:+.5f})",
            stacklevel=1,
        )
