"""The trained Pipeline: its shape, determinism, and behaviour on inputs it has not seen."""

import numpy as np
import pytest

from pipeline.errors import PipelineError
from pipeline.train import build_model, train_model
from tests.conftest import synthetic_rows


@pytest.fixture(scope="module")
def rows(params):
    return synthetic_rows(params, 2000, seed=1)


@pytest.fixture(scope="module")
def model(rows, params):
    return train_model(rows, params)


def test_feature_transforms_are_the_first_step(params):
    steps = [name for name, _ in build_model(params).steps]
    assert steps == ["features", "model"]


def test_probabilities_are_valid(model, rows, params):
    proba = model.predict_proba(rows[params.features.inputs])
    assert proba.shape == (len(rows), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_model_learns_the_signal(model, params):
    holdout = synthetic_rows(params, 2000, seed=2)
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(holdout["label"], model.predict_proba(holdout[params.features.inputs])[:, 1]) > 0.8


def test_same_seed_same_model(model, rows, params):
    again = train_model(rows, params)
    x = rows[params.features.inputs]
    np.testing.assert_array_equal(again.predict_proba(x), model.predict_proba(x))


def test_unseen_category_scores_without_error(model, rows, params):
    x = rows[params.features.inputs].head(3).copy()
    x["carrier"] = "never-seen"
    x.loc[x.index[0], "dest"] = np.nan
    assert np.isfinite(model.predict_proba(x)).all()


@pytest.mark.parametrize("estimator", ["hist_gradient_boosting", "linear"])
@pytest.mark.parametrize("task", ["binary", "regression"])
def test_every_estimator_and_task_trains(rows, params, estimator, task):
    p = params.model_copy(
        update={
            "train": params.train.model_copy(update={"estimator": estimator, "hyperparameters": {}}),
            "task": params.task.model_copy(update={"type": task}),
        }
    )
    fitted = train_model(rows.head(500), p)
    predicted = fitted.predict(rows[p.features.inputs].head(5))
    assert predicted.shape == (5,)


def test_refuses_no_rows_and_one_class(rows, params):
    with pytest.raises(PipelineError, match="no labelled rows"):
        train_model(rows.head(0), params)
    with pytest.raises(PipelineError, match=r"one class only \(0\)"):
        train_model(rows[rows["label"] == 0], params)


def test_the_fitted_model_does_not_depend_on_the_machines_thread_count(rows, params, tmp_path):
    """A runner with more cores reproduces the bytes dvc.lock recorded: the fit uses `train.threads`."""
    from threadpoolctl import threadpool_limits

    from pipeline.artifacts import file_md5, save_model

    digests = set()
    for machine in (1, 3):  # what OpenMP would use if the fit did not set its own count
        with threadpool_limits(limits=machine):
            save_model(train_model(rows, params), tmp_path / f"{machine}.skops")
        digests.add(file_md5(tmp_path / f"{machine}.skops"))
    assert len(digests) == 1
