"""Each model property, fed a model broken on purpose, reports the breakage: the model tests can fail."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from pipeline.metrics import TASKS, paired_difference
from tests.conftest import synthetic_rows
from tests.properties import identifier_gap, mean_shift, single_row_gap

NUMERIC = ["precip", "hour", "visib"]


class BatchScaler(TransformerMixin, BaseEstimator):
    """Training/serving skew in one class: it standardizes each batch with that batch's own statistics."""

    def fit(self, x, y=None):  # noqa: ARG002
        self.feature_names_in_ = np.asarray(x.columns)
        return self

    def transform(self, x):
        return (x - x.mean()) / (x.std(ddof=0) + 1e-9)


def rows(params, seed=0):
    frame = synthetic_rows(params, 2000, seed)
    frame["flight"] = np.arange(len(frame))
    frame["visib"] = 10.0
    return frame


def test_single_row_scoring_catches_batch_dependent_features(params):
    train = rows(params)
    skewed = make_pipeline(BatchScaler(), LogisticRegression()).fit(train[NUMERIC], train["label"])
    assert single_row_gap(skewed, train.head(50)) > 0.01


def test_invariance_catches_a_model_that_reads_an_identifier(params):
    train = rows(params).assign(label=lambda f: (f["flight"] > 1000).astype(int))  # the id "predicts" the label
    leaky = LogisticRegression().fit(train[[*NUMERIC, "flight"]], train["label"])
    assert identifier_gap(leaky, train, ["flight"]) > 0.01


def test_directional_check_catches_a_model_where_rain_lowers_the_risk(params):
    train = rows(params)
    train["label"] = 1 - train["label"]  # the synthetic label rises with precip; flipped, rain now "helps"
    backwards = LogisticRegression().fit(train[NUMERIC], train["label"])
    assert mean_shift(backwards, train, "precip", low=0.0, high=0.3) < 0


def test_baseline_check_catches_a_model_trained_on_shuffled_labels(params):
    train, test = rows(params, 1), rows(params, 2)
    shuffled = train.assign(label=train["label"].sample(frac=1, random_state=0).to_numpy())
    noise = LogisticRegression().fit(shuffled[NUMERIC], shuffled["label"])
    y = test["label"].to_numpy()
    diff = paired_difference(
        TASKS["binary"],
        metric="roc_auc",
        y=y,
        score_a=noise.predict_proba(test[NUMERIC])[:, 1],
        score_b=np.full(len(y), train["label"].mean()),
        setting_a=0.5,
        setting_b=0.5,
        bootstrap=params.evaluate.bootstrap,
        seed=0,
    )
    assert diff.low <= 0
