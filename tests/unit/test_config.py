"""The typed loader: the template's params load, and every kind of mistake names its key."""

import pytest
import yaml
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.config import load_params
from pipeline.errors import PipelineError
from pipeline.repo import ran_with_these_params
from pipeline.train import check_hyperparameters
from tests.conftest import EXAMPLE


def write_params(tmp_path, edit):
    raw = yaml.safe_load((EXAMPLE / "params.yaml").read_text())
    edit(raw)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_template_params_load(params):
    assert params.task.type == "binary"
    assert params.features.inputs[:6] == params.features.categorical


def test_params_are_frozen(params):
    with pytest.raises(Exception, match="frozen"):
        params.base.seed = 1


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda p: p["train"].update(estimatr="x"), r"key 'train.estimatr': unknown key"),
        (lambda p: p.update(extra_section={}), r"key 'extra_section': unknown key"),
        (lambda p: p["base"].pop("seed"), r"key 'base.seed': missing"),
        (lambda p: p["base"].update(seed="abc"), r"key 'base.seed': .*integer"),
        (lambda p: p["task"].update(type="ranking"), r"key 'task.type': .*'binary', 'multiclass' or 'regression'"),
        (lambda p: p["features"]["categorical"].append("tailnum"), r"identifier columns: \['tailnum'\]"),
        (lambda p: p["features"]["numeric"].append("distance"), r"list these columns twice: \['distance'\]"),
        (lambda p: p["features"]["numeric"].append("arr_delay"), r"the target 'arr_delay' is listed as a feature"),
        (lambda p: p["task"]["target"].update(threshold=None), r"binary task needs exactly one of .*threshold"),
        (lambda p: p["task"]["target"].update(positive="late"), r"binary task needs exactly one of .*positive"),
        (lambda p: p["task"].update(type="regression", target={"column": "x", "positive": "a"}), r"binary tasks only"),
        (lambda p: p["train"].update(validation_fraction=1.5), r"key 'train.validation_fraction'"),
    ],
    ids=[
        "unknown-key",
        "unknown-section",
        "missing-key",
        "wrong-type",
        "bad-choice",
        "identifier-feature",
        "duplicate-feature",
        "target-as-feature",
        "binary-without-threshold",
        "binary-with-threshold-and-positive",
        "positive-for-regression",
        "out-of-range",
    ],
)
def test_bad_params_name_the_key(tmp_path, edit, message):
    path = write_params(tmp_path, edit)
    with pytest.raises(PipelineError, match=message) as info:
        load_params(path)
    assert str(info.value).startswith(f"{path}: ")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda p: p["ingest"].update(period="week"), r"key 'ingest.period': .*'month', 'quarter' or 'year'"),
        (
            lambda p: p["ingest"]["source"]["tables"]["planes"].update(cut_by="year"),
            r"key 'ingest.source.tables.planes.cut_by': unknown key",
        ),
        (
            lambda p: p["ingest"]["source"]["tables"].pop("flights"),
            r"params.yaml: prepare.batches is 'flights', which ingest.source.tables does not list \(airlines, "
            r"airports, planes, weather\): the batches must come from a source$",
        ),
    ],
    ids=["period-length", "source-table-key", "batches-not-a-source"],
)
def test_bad_ingest_params_name_the_key(tmp_path, edit, message):
    with pytest.raises(PipelineError, match=message):
        load_params(write_params(tmp_path, edit))


def test_unreadable_and_invalid_yaml(tmp_path):
    with pytest.raises(PipelineError, match="missing.yaml: cannot read"):
        load_params(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("base: [unclosed\n")
    with pytest.raises(PipelineError, match="bad.yaml: not valid YAML"):
        load_params(tmp_path / "bad.yaml")


def test_unknown_hyperparameter_names_key_and_known_ones(tmp_path):
    params = load_params(write_params(tmp_path, lambda p: p["train"]["hyperparameters"].update(learning_rat=0.1)))
    with pytest.raises(
        PipelineError,
        match=r"train.hyperparameters.learning_rat': unknown for hist_gradient_boosting"
        r" \(binary\); known: .*learning_rate",
    ):
        check_hyperparameters(params.train, params.task.type, tmp_path / "params.yaml")


def test_regression_variant_is_one_value(tmp_path):
    params = load_params(write_params(tmp_path, lambda p: p["task"].update(type="regression")))
    assert params.task.type == "regression"
    check_hyperparameters(params.train, params.task.type, tmp_path / "params.yaml")  # same knobs apply


def test_infer_contract_never_overwrites_without_force(tmp_path):
    import subprocess
    import sys

    from tests.conftest import command_env

    (tmp_path / "contract.yaml").write_text("# reviewed by hand\n")
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "infer-contract", "--params", str(EXAMPLE / "params.yaml")],
        cwd=tmp_path,
        env=command_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == "error: contract.yaml: exists; edit it by hand, or pass --force to replace it with a new proposal"
    )
    assert (tmp_path / "contract.yaml").read_text() == "# reviewed by hand\n"


def test_run_checks_the_hyperparameters_unless_the_train_stage_ran_with_them(tmp_path, monkeypatch):
    """`pipeline run` refuses an unknown hyper-parameter before DVC runs anything; it skips the check (and
    scikit-learn's import) only for the very values dvc.lock records the train stage ran with."""
    monkeypatch.chdir(tmp_path)
    path = write_params(tmp_path, lambda p: None)
    raw = yaml.safe_load(path.read_text())
    ran = {"base.seed": raw["base"]["seed"], "task.type": raw["task"]["type"], "train": raw["train"]}
    lock = tmp_path / "dvc.lock"
    assert not ran_with_these_params("train", load_params(path), lock)  # no lock yet: check
    lock.write_text(yaml.safe_dump({"schema": "2.0", "stages": {"train": {"params": {"params.yaml": ran}}}}))
    assert ran_with_these_params("train", load_params(path), lock)
    assert not ran_with_these_params("evaluate", load_params(path), lock)  # no record of that stage: check
    write_params(tmp_path, lambda p: p["train"]["hyperparameters"].update(learning_rat=0.1))
    assert not ran_with_these_params("train", load_params(path), lock)
    result = CliRunner().invoke(app, ["run", "--no-site"])
    assert result.exit_code == 1
    assert "key 'train.hyperparameters.learning_rat': unknown for hist_gradient_boosting" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dvc.lock", "params.yaml"]  # nothing else ran
