"""`dvc repro` in real clones: no-op when nothing changed, partial re-runs, bad input.

That two clones make the same bytes is checked where a second clone runs anyway: tests/e2e/test_gate.py.
"""

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from pipeline.artifacts import load_model
from pipeline.config import load_params
from pipeline.contract import load_contract
from tests.repos import digest, pipeline, sh
from tests.unit.test_dvc_deps import stage_imports

pytestmark = pytest.mark.e2e

PRECIOUS = [
    "outputs/model",
    "outputs/metrics/evaluate.json",
    "outputs/metrics/prepare.json",
    "outputs/plots",
    "data.dvc",
    "data.release.yaml",
    "dvc.lock",
]


def stages_run(output: str) -> list[str]:
    return re.findall(r"Running stage '(\w+)'", output)


def test_second_repro_reruns_nothing(ran_copy):
    result = sh("dvc", "repro", cwd=ran_copy)
    assert stages_run(result.stdout) == []
    assert sh("dvc", "status", cwd=ran_copy).stdout.strip() == "Data and pipelines are up to date."


def test_python_bytecode_beside_the_code_reruns_nothing(ran_copy):
    """Python writes __pycache__/ beside each module it runs (unless PYTHONDONTWRITEBYTECODE is set); a stage
    whose dependency is a code folder (pipeline/report) must not count it, or every run would look stale."""
    cache = ran_copy / "pipeline" / "report" / "__pycache__"
    cache.mkdir(exist_ok=True)
    (cache / "render.cpython-311.pyc").write_bytes(b"compiled")
    assert sh("dvc", "status", cwd=ran_copy).stdout.strip() == "Data and pipelines are up to date."


def test_a_hyperparameter_change_makes_stale_only_the_stages_that_read_it(ran_copy):
    """`train` (and the model card, which shows the hyper-parameters) is stale; validate and prepare are not, so
    they never re-run for a model change. What reads the model (evaluate, drift) re-runs because the model file
    changes: DVC's own rule, seen end to end wherever a retrained model is evaluated (test_gate, test_ct).
    `dvc status` names each stage whose own deps changed, without re-running anything."""
    params = ran_copy / "params.yaml"
    params.write_text(params.read_text().replace("learning_rate: 0.1\n", "learning_rate: 0.05\n"))
    changed = json.loads(sh("dvc", "status", "--json", cwd=ran_copy).stdout)
    assert changed == {
        "train": [{"changed deps": {"params.yaml": {"train": "modified"}}}],
        "report": [{"changed deps": {"params.yaml": {"train": "modified"}}}],
    }


@pytest.mark.parametrize("helper", ["pipeline/config.py", "pipeline/features.py"])
def test_editing_a_shared_helper_changes_exactly_the_stages_that_import_it(ran_copy, helper):
    """dvc.yaml's code deps are the import graph: no stage that loads the helper is missed (stale outputs), and
    none that does not load it re-runs for nothing (issue 15). `dvc status` names a stage whose own deps changed.
    """
    path = ran_copy / helper
    path.write_text(path.read_text(encoding="utf-8") + "# an edit that changes no output\n", encoding="utf-8")
    changed = set(json.loads(sh("dvc", "status", "--json", cwd=ran_copy).stdout))
    importers = {stage for stage, files in stage_imports(ran_copy).items() if Path(helper) in files}
    assert importers  # the helper is shared, so the test says something
    assert changed == importers


def test_split_is_by_time_with_no_shared_row(ran_clone):
    train = pd.read_parquet(ran_clone / "outputs/prepared/train.parquet")
    test = pd.read_parquet(ran_clone / "outputs/prepared/test.parquet")
    assert set(train["period"]) == {"2013-01"} and set(test["period"]) == {"2013-02"}
    keys = ["period", "flight", "tailnum"]
    assert train[keys].merge(test[keys]).empty
    counts = pd.read_json(ran_clone / "outputs/metrics/prepare.json", typ="series")
    assert counts["rows"] == {"train": len(train), "test": len(test)}


def test_model_reads_exactly_the_configured_inputs(ran_clone):
    params, contract = load_params(ran_clone / "params.yaml"), load_contract(ran_clone / "contract.yaml")
    model = load_model(ran_clone / "outputs/model/model.skops")
    assert list(model.feature_names_in_) == params.features.inputs
    assert not set(model.feature_names_in_) & {*contract.leakage, *params.features.identifiers}


def drop_column(path, column):
    frame = pd.read_csv(path)
    frame.drop(columns=[column]).to_csv(path, index=False)


def drop_values(path, column, share):
    frame = pd.read_csv(path)
    frame.loc[frame.index[: int(len(frame) * share)], column] = None
    frame.to_csv(path, index=False)


BAD_INPUTS = {
    "missing-file": (lambda r: (r / "data/weather/2013-02.csv").unlink(), r"data/weather/2013-02.csv: file not found"),
    "unreadable-file": (
        lambda r: (r / "data/flights/2013-02.csv").write_bytes(b"\xff\xfe\x00\x81garbage\x00\n\x9c"),
        r"data/flights/2013-02.csv: binary content, not CSV text \(NUL byte at offset 2\)",
    ),
    "missing-column": (
        lambda r: drop_column(r / "data/flights/2013-02.csv", "distance"),
        r"data/flights/2013-02.csv: column 'distance': column absent \(rule: column_in_dataframe\)",
    ),
    "empty-month": (
        lambda r: (r / "data/flights/2013-02.csv").write_text(
            (r / "data/flights/2013-01.csv").read_text().split("\n")[0] + "\n"
        ),
        r"data/flights/2013-02.csv: no rows \(header only\)",
    ),
    "below-minimum": (
        lambda r: (r / "data/flights/2013-02.csv").write_text(
            (r / "data/flights/2013-02.csv").read_text().replace(",1400,", ",-1400,")
        ),
        r"data/flights/2013-02.csv: column 'distance': \d+ rows below minimum 0 \(rule: ge 0\)",
    ),
    "nan-flood": (
        lambda r: drop_values(r / "data/flights/2013-02.csv", "dep_time", 0.5),
        r"column 'dep_time': \d+ rows missing, more than the 0.15 share allowed",
    ),
    "feature-is-leakage": (
        lambda r: (r / "params.yaml").write_text(
            (r / "params.yaml").read_text().replace("numeric: [distance,", "numeric: [dep_delay, distance,")
        ),
        r"params.yaml: column 'dep_delay': is a feature but the contract lists it as known only after",
    ),
    "unknown-params-key": (
        lambda r: (r / "params.yaml").write_text((r / "params.yaml").read_text().replace("max_iter:", "max_iters:")),
        r"params.yaml: key 'train.hyperparameters.max_iters': unknown",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS), ids=list(BAD_INPUTS))
def test_bad_input_stops_the_run_and_loses_nothing(ran_copy, case):
    corrupt, message = BAD_INPUTS[case]
    before = {path: digest(ran_copy / path) for path in PRECIOUS}
    corrupt(ran_copy)
    result = pipeline("run", "--no-site", cwd=ran_copy, check=False)
    assert result.returncode == 1, result.stdout
    assert re.search(message, result.stderr), result.stderr
    assert "Traceback" not in result.stderr
    assert {path: digest(ran_copy / path) for path in PRECIOUS} == before
