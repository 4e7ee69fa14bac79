"""Shadow scoring's count: what the challenger changes in the next batch's decisions and scores, row by row."""

import pandas as pd
import pytest

from pipeline.shadow import changes


def test_binary_decisions_that_flip_are_counted_and_the_scores_mean_gap_measured():
    champion = pd.DataFrame({"score": [0.2, 0.6, 0.7, 0.1], "decision": pd.array([0, 1, 1, 0], dtype="Int64")})
    challenger = pd.DataFrame({"score": [0.4, 0.4, 0.8, 0.1], "decision": pd.array([1, 0, 1, 0], dtype="Int64")})
    assert changes(champion, challenger, "binary") == {
        "rows": 4,
        "changed": 2,
        "share": 0.5,
        "mean_score_change": pytest.approx((0.2 + 0.2 + 0.1 + 0.0) / 4),
    }


def test_a_multiclass_change_is_the_predicted_class_and_a_regression_one_the_value():
    champion = pd.DataFrame({"score": [0.5, 0.9], "decision": ["a", "b"]})
    challenger = pd.DataFrame({"score": [0.6, 0.4], "decision": ["a", "c"]})
    assert changes(champion, challenger, "multiclass") == {"rows": 2, "changed": 1, "share": 0.5}
    values = pd.DataFrame({"score": [10.0, 20.0]}), pd.DataFrame({"score": [13.0, 19.0]})
    assert changes(*values, "regression") == {"rows": 2, "mean_score_change": 2.0}
