"""Feature contributions (a feature of pure noise is flagged), their cost, and the simpler model beside the chosen one.

The data are synthetic (tests/conftest.py `synthetic_rows`): the label depends on `precip` and `hour` only, so
every other input is noise by construction, and the tests know which features must earn their place.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from pipeline.config import Bootstrap
from pipeline.evaluate import beats_simpler, evaluate, simpler_model_results
from pipeline.importance import input_width, permutation_importance, row_losses, sources, unproven
from pipeline.train import train_model
from tests.conftest import synthetic_rows

FAST = {"max_iter": 30, "learning_rate": 0.2, "max_leaf_nodes": 7, "min_samples_leaf": 20}


@pytest.fixture(scope="module")
def small(params):
    """The example's params with a small, fast model and 100 bootstrap resamples."""
    train = params.train.model_copy(update={"hyperparameters": FAST})
    evaluate_ = params.evaluate.model_copy(update={"bootstrap": Bootstrap(resamples=60, confidence=0.95)})
    return params.model_copy(update={"train": train, "evaluate": evaluate_})


@pytest.fixture(scope="module")
def fitted(small):
    rows = synthetic_rows(small, 6000, seed=3)
    return train_model(rows.iloc[:4000], small), rows.iloc[4000:]


def test_the_features_the_label_depends_on_are_proven_and_pure_noise_is_flagged(small, fitted):
    model, test = fitted
    features = permutation_importance(model, test, small)
    flagged = unproven(features)
    assert "precip" not in flagged and "hour" not in flagged
    assert features["precip"]["low"] > 0.05  # the strongest signal: shuffling it costs the most
    noise = [f for f in small.features.inputs if f not in {"precip", "hour"}]
    assert set(noise) - set(flagged) <= {max(noise, key=lambda f: features[f]["low"])}  # at most one fluke
    assert set(flagged) <= set(noise)
    again = permutation_importance(model, test, small)
    assert again == features  # seeded: the same bytes on every run


def test_per_row_losses_by_hand():
    y, p = np.array([1, 0]), np.array([0.8, 0.4])
    assert row_losses("binary", y, p, 0.5) == pytest.approx([-np.log(0.8), -np.log(0.6)])
    score = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    losses = row_losses("multiclass", np.array(["b", "z"]), score, ("a", "b", "c"))
    assert losses[0] == pytest.approx(-np.log(0.2)) and losses[1] > 30  # a class the model never saw: p = 0
    assert row_losses("regression", np.array([1.0, 3.0]), np.array([2.0, 3.5]), None) == pytest.approx([1.0, 0.5])


def test_a_one_hot_feature_is_as_wide_as_its_kept_categories_a_tree_feature_one_column(small, fitted):
    tree, test = fitted
    assert set(input_width(tree).values()) == {1} and len(input_width(tree)) == len(small.features.inputs)
    family = {"estimator": "linear", "hyperparameters": {}, "monotonic": {}}
    linear = small.model_copy(update={"train": small.train.model_copy(update=family)})
    widths = input_width(train_model(test, linear))
    assert {widths[c] for c in small.features.categorical} == {3}  # "a", "b", "c" (all frequent)
    assert {widths[c] for c in small.features.numeric} == {1}


def test_each_feature_is_traced_to_the_work_that_makes_it(params):
    source = sources(params)
    assert source["weekday"] == "calendar" and source["temp"] == "join weather"
    assert source["plane_seats"] == "join planes" and source["distance"] == "batch"


class Formula:
    """A binary "model" whose probability is a formula of the row (plus `noise` x `temp`), threshold 0.5."""

    def __init__(self, inputs, formula, noise=0.0):
        self.feature_names_in_ = np.asarray(inputs, dtype=object)
        self.threshold, self.formula, self.noise = 0.5, formula, noise

    def predict_proba(self, x):
        p = norm.cdf((self.formula(x) + self.noise * x["temp"]).to_numpy())
        return np.column_stack([1 - p, p])


def linear_signal(x):
    return 1.5 * x["precip"] + 0.2 * (x["hour"] - 14) - 1.5  # as synthetic_rows draws the label


def test_a_model_that_loses_to_the_linear_one_fails_the_model_test(small):
    rows = synthetic_rows(small, 2400, seed=4)
    blurred = Formula(small.features.inputs, linear_signal, noise=3.0)  # the right formula, drowned in noise
    results, _, _ = evaluate(blurred, rows.iloc[:1600], rows.iloc[1600:], small)
    versus = results["versus_simpler"]
    assert versus["estimator"] == "linear" and versus["high"] < 0
    assert "not shown better than the simpler linear model" in beats_simpler(results)
    assert set(results["simpler"]) == set(results["model"])  # every metric, as the model's


def test_a_model_that_beats_the_linear_one_passes_and_the_comparison_can_be_switched_off(small):
    rows = synthetic_rows(small, 2400, seed=5)
    rows["label"] = (rows["temp"].abs() > 1).astype("int64")  # no line separates it: a linear model cannot learn it
    curved = Formula(small.features.inputs, lambda x: 3 * (x["temp"].abs() - 1))
    train, test = rows.iloc[:1600], rows.iloc[1600:]
    score = curved.predict_proba(test)[:, 1]
    results = simpler_model_results(train, test, small, score=score, setting=0.5)
    assert results["versus_simpler"]["low"] > 0 and beats_simpler(results) is None
    off = small.model_copy(update={"evaluate": small.evaluate.model_copy(update={"simpler": None})})
    assert simpler_model_results(train, test, off, score=score, setting=0.5) == {}
    same = small.model_copy(
        update={"evaluate": small.evaluate.model_copy(update={"simpler": "hist_gradient_boosting"})}
    )
    assert simpler_model_results(train, test, same, score=score, setting=0.5) == {}  # not simpler than itself
