"""The tuning record: scikit-learn's search on time-ordered folds, ranked, with the present values placed in it."""

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.config import Tune, load_params
from pipeline.errors import PipelineError
from pipeline.features import PERIOD
from pipeline.tune import check_grid, time_folds, tune, where_present
from tests.conftest import EXAMPLE, synthetic_rows

PERIODS = [f"2013-{month:02d}" for month in range(1, 7)]
# A leaf needs more rows than there are: that candidate's trees never split, so it learns nothing.
HOPELESS = 100_000


def with_tune(params, grid, folds=3, **hyperparameters):
    """The example's params, fast to fit (20 trees), with a `tune` section and hyper-parameters changed."""
    settings = {**params.train.hyperparameters, "max_iter": 20, **hyperparameters}
    return params.model_copy(
        update={
            "train": params.train.model_copy(update={"hyperparameters": settings}),
            "tune": Tune(grid=grid, folds=folds),
        }
    )


def in_periods(rows):
    """Synthetic rows, the first sixth in the first period and so on: the order prepare writes them in."""
    return rows.assign(**{PERIOD: [PERIODS[i * len(PERIODS) // len(rows)] for i in range(len(rows))]})


@pytest.fixture(scope="module")
def rows(params):
    return in_periods(synthetic_rows(params, 1200, seed=1))


@pytest.fixture(scope="module")
def record(rows, params):
    return tune(rows, with_tune(params, {"min_samples_leaf": [HOPELESS, 20]}))


def test_the_clearly_better_candidate_ranks_first_and_is_the_best(record):
    first, second = record["candidates"]
    assert first["params"] == {"min_samples_leaf": 20} == record["best"]
    assert (first["rank"], second["rank"]) == (1, 2)
    assert first["mean"] > 0.8
    assert second["mean"] == pytest.approx(0.5)  # a constant score ranks no row above another
    assert len(first["scores"]) == record["folds"] == 3
    assert first["mean"] == pytest.approx(sum(first["scores"]) / 3)


def test_every_fold_is_scored_on_rows_after_those_it_was_fitted_on(record, rows):
    assert len(record["splits"]) == 3
    for split in record["splits"]:
        assert split["fit"]["last"] <= split["scored"]["first"]
    scored = [split["scored"]["rows"] for split in record["splits"]]
    assert sum(scored) + record["splits"][0]["fit"]["rows"] == len(rows)  # the blocks tile the rows, in order
    for fit, scored in time_folds(len(rows), 3):
        assert fit.max() < scored.min()


def test_the_scores_are_those_of_the_recorded_folds(record, rows, params):
    """Refitting the best candidate on a recorded fold's rows gives its recorded score: the search used them."""
    from sklearn.metrics import roc_auc_score

    from pipeline.train import build_model

    p = with_tune(params, {}, min_samples_leaf=20)
    x, y = rows[p.features.inputs], rows["label"]
    fitted, scored = record["splits"][-1]["fit"]["rows"], record["splits"][-1]["scored"]["rows"]
    model = build_model(p).fit(x.iloc[:fitted], y.iloc[:fitted])
    block = slice(fitted, fitted + scored)
    score = roc_auc_score(y.iloc[block], model.predict_proba(x.iloc[block])[:, 1])
    assert record["candidates"][0]["scores"][-1] == pytest.approx(score, abs=1e-12)


def test_rows_out_of_period_order_are_put_in_order(rows, params):
    """The folds follow the periods even when the file lists the newest period first."""
    newest_first = pd.concat([part for _, part in rows.groupby(PERIOD)][::-1], ignore_index=True)
    again = tune(newest_first, with_tune(params, {"min_samples_leaf": [20]}))
    assert [split["fit"]["first"] for split in again["splits"]] == [PERIODS[0]] * 3
    assert again["splits"][-1]["scored"]["last"] == PERIODS[-1]


def test_same_inputs_same_record(record, rows, params, tmp_path):
    from pipeline.artifacts import write_json

    write_json(record, tmp_path / "first.json")
    write_json(tune(rows, with_tune(params, {"min_samples_leaf": [HOPELESS, 20]})), tmp_path / "again.json")
    assert (tmp_path / "first.json").read_bytes() == (tmp_path / "again.json").read_bytes()


def test_the_record_holds_what_the_site_shows(record, params):
    assert record["format"] == 1
    assert (record["estimator"], record["metric"], record["rows"]) == ("hist_gradient_boosting", "roc_auc", 1200)
    assert "min_samples_leaf" not in record["fixed"]
    assert record["fixed"]["max_iter"] == 20
    assert record["fixed"]["learning_rate"] == params.train.hyperparameters["learning_rate"]


@pytest.mark.parametrize(
    ("present", "expected"),
    [
        (20, {"candidate": 2, "rank": 1, "best": True, "verdict": "the best candidate"}),
        (HOPELESS, {"candidate": 1, "rank": 2, "best": False, "verdict": "candidate 1, ranked 2 of 2"}),
        (7, {"candidate": None, "rank": None, "best": False, "verdict": "not in the grid"}),
    ],
)
def test_where_the_present_values_stand(record, present, expected):
    current = where_present(record["candidates"], {"min_samples_leaf": present})
    assert current == {"params": {"min_samples_leaf": present}, **expected}


def test_the_present_values_come_from_train_hyperparameters(rows, params):
    """A grid key train.hyperparameters leaves out is compared at the estimator's default."""
    p = with_tune(params, {"min_samples_leaf": [HOPELESS, 20]}, min_samples_leaf=HOPELESS)
    assert tune(rows, p)["current"]["verdict"] == "candidate 1, ranked 2 of 2"
    p = with_tune(params, {"max_depth": [None, 2]})
    assert tune(rows.head(400), p)["current"]["params"] == {"max_depth": None}


def test_the_example_params_are_not_in_the_grid_of_the_fixture(record, params):
    assert params.train.hyperparameters["min_samples_leaf"] not in (20, HOPELESS)
    assert record["current"]["verdict"] == "not in the grid"


def test_regression_reports_the_error_itself_lowest_first(rows, params):
    p = with_tune(params, {"min_samples_leaf": [HOPELESS, 20]})
    p = p.model_copy(update={"task": params.task.model_copy(update={"type": "regression"})})
    result = tune(rows, p)
    assert (result["metric"], result["scorer"]) == ("mae", "neg_mean_absolute_error")
    best, worst = result["candidates"]
    assert best["params"] == {"min_samples_leaf": 20}
    assert 0 < best["mean"] < worst["mean"]


def test_an_unknown_grid_key_fails_naming_it(params, tmp_path):
    with pytest.raises(
        PipelineError, match=r"key 'tune.grid.learning_rat': unknown for hist_gradient_boosting"
    ) as info:
        check_grid(with_tune(params, {"learning_rat": [0.1]}), tmp_path / "params.yaml")
    assert "learning_rate" in str(info.value)  # the known names are listed


def test_an_empty_grid_fails(params, tmp_path):
    with pytest.raises(PipelineError, match=r"key 'tune.grid': empty"):
        check_grid(with_tune(params, {}), tmp_path / "params.yaml")


def test_too_few_rows_for_the_folds_fail(rows, params):
    with pytest.raises(PipelineError, match=r"3 reference rows are too few for tune.folds=3"):
        tune(rows.head(3), with_tune(params, {"min_samples_leaf": [20]}))
    with pytest.raises(PipelineError, match="no labelled rows"):
        tune(rows.head(0), with_tune(params, {"min_samples_leaf": [20]}))


def test_a_fold_with_one_class_fails_naming_it(rows, params):
    one_class_first = rows.assign(label=[0] * 600 + list(rows["label"].iloc[600:]))
    with pytest.raises(PipelineError, match=r"fitting rows of fold 1 hold one class only"):
        tune(one_class_first, with_tune(params, {"min_samples_leaf": [20]}))


def test_a_value_the_estimator_refuses_fails_as_an_input_problem(rows, params):
    with pytest.raises(PipelineError, match=r"a candidate of tune.grid failed .*learning_rate"):
        tune(rows.head(400), with_tune(params, {"learning_rate": [-1.0]}))


def write_params(tmp_path, tune_section):
    raw = yaml.safe_load((EXAMPLE / "params.yaml").read_text())
    raw["train"]["hyperparameters"]["max_iter"] = 20
    if tune_section is not None:
        raw["tune"] = tune_section
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_params_without_a_tune_section_load_with_an_empty_grid(tmp_path):
    assert load_params(write_params(tmp_path, None)).tune == Tune(grid={}, folds=3)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"grid": {"learning_rate": [0.1]}, "folds": 1}, r"key 'tune.folds'"),
        ({"grid": {"learning_rate": []}}, r"key 'tune.grid.learning_rate'"),
        ({"grid": {"learning_rate": 0.1}}, r"key 'tune.grid.learning_rate'"),
        ({"grid": {}, "fold": 3}, r"key 'tune.fold': unknown key"),
    ],
    ids=["one-fold", "no-values", "not-a-list", "typo"],
)
def test_bad_tune_sections_name_the_key(tmp_path, section, message):
    with pytest.raises(PipelineError, match=message):
        load_params(write_params(tmp_path, section))


def test_the_command_writes_the_record(rows, tmp_path):
    params_file = write_params(tmp_path, {"grid": {"min_samples_leaf": [HOPELESS, 20]}, "folds": 2})
    (tmp_path / "prepared").mkdir()
    rows.to_parquet(tmp_path / "prepared" / "train.parquet", index=False)
    out = tmp_path / "reports" / "tuning.json"
    args = ["tune", "--prepared", str(tmp_path / "prepared"), "--out", str(out), "--params", str(params_file)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "best {'min_samples_leaf': 20}" in result.output
    assert yaml.safe_load(out.read_text())["folds"] == 2


def test_the_command_refuses_an_unknown_key_in_one_line(tmp_path):
    params_file = write_params(tmp_path, {"grid": {"learning_rat": [0.1]}})
    result = CliRunner().invoke(app, ["tune", "--prepared", str(tmp_path), "--params", str(params_file)])
    assert result.exit_code == 1
    assert "tune.grid.learning_rat" in result.output
