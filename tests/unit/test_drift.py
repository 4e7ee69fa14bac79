"""The `drift` stage around the statistics: which test each input gets, the alert body, the timeline."""

import numpy as np
import pandas as pd
import pytest

from pipeline.drift import PREDICTION, alert_body, column_kinds, compare, ecdf_points, timeline
from pipeline.features import LABEL, PERIOD


def test_each_input_gets_the_test_of_its_type(params):
    kinds = column_kinds(params)
    assert list(kinds) == params.features.inputs
    assert {kinds[c] for c in params.features.categorical} == {"categorical"}
    assert {kinds[c] for c in params.features.numeric} == {"numeric"}


def rows(n, period, shift, seed):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(shift, 1, n),
            "c": rng.choice(["a", "b"], n),
            PERIOD: period,
            LABEL: rng.integers(0, 2, n),
            PREDICTION: rng.uniform(size=n),
        }
    )


@pytest.fixture
def report(params):
    reference = pd.concat([rows(2000, "2013-01", 0, 1), rows(2000, "2013-02", 0, 2)])
    current = rows(2000, "2013-03", 1.0, 3)
    result = compare(reference, current, {"x": "numeric", "c": "categorical"}, params.drift)
    prediction = compare(reference, current, {PREDICTION: "numeric"}, params.drift)["columns"][PREDICTION]
    return result | {"prediction": prediction}


def test_alert_body_names_the_drifted_columns_and_links_the_report(report):
    body = alert_body(report, "2013-03", ["2013-01", "2013-02"], "https://example.org/drift/")
    lines = body.splitlines()
    # x moved by one sd, c did not: half the columns drifted, which meets the default share of 0.5.
    assert report["drifted_columns"] == ["x"] and report["share_drifted"] == 0.5 and report["drifted"] is True
    assert lines[0] == "## Data drift in 2013-03"
    assert "| <code>x</code> | ks |" in body and "<code>c</code>" not in body
    assert "[the drift report](https://example.org/drift/)" in body
    assert lines[-1] == "<!-- drift-alert -->"  # the marker the workflow finds the open issue by


def test_alert_heading_follows_the_verdict(report):
    drifted = alert_body(report | {"drifted": True}, "2013-03", ["2013-01"], "u")
    calm = alert_body(report | {"drifted": False}, "2013-03", ["2013-01"], "u")
    assert drifted.startswith("## Data drift in 2013-03\n") and calm.startswith("## No dataset drift in 2013-03\n")


def test_html_in_a_reason_is_escaped_in_the_alert(report):
    column = report["drifted_columns"][0]
    hostile = report | {
        "columns": {
            **report["columns"],
            column: {**report["columns"][column], "reason": "<img src=x onerror=alert(1)> | x"},
        }
    }
    body = alert_body(hostile, "2013-03", ["2013-01"], "u")
    assert "<img" not in body and "&lt;img src=x onerror=alert(1)&gt; \\| x" in body


def test_timeline_has_one_point_per_period_with_label_rate_and_metric(params):
    reference = pd.concat([rows(500, "2013-01", 0, 1), rows(500, "2013-02", 0, 2)])
    everything = pd.concat([reference, rows(500, "2013-03", 2.0, 3)])
    points = timeline(everything, reference, kinds={"x": "numeric"}, settings=params.drift, task_type="binary")
    assert [p["period"] for p in points] == ["2013-01", "2013-02", "2013-03"]
    assert [p["in_reference"] for p in points] == [True, True, False]
    assert points[2]["share_drifted"] == 1.0 and points[0]["share_drifted"] == 0.0
    assert points[0]["label_rate"] == pytest.approx(reference[reference[PERIOD] == "2013-01"][LABEL].mean())
    assert 0.4 < points[0]["roc_auc"] < 0.6  # random scores: no skill


def test_an_empty_newest_period_is_a_clear_error(tmp_path, params):
    from pipeline.drift import main
    from pipeline.errors import PipelineError
    from tests.conftest import EXAMPLE, synthetic_rows

    rows = synthetic_rows(params, 50, seed=0).assign(period="2013-01", flight=1, tailnum="N1")
    rows.to_parquet(tmp_path / "train.parquet")
    rows.head(0).to_parquet(tmp_path / "test.parquet")
    with pytest.raises(PipelineError, match=r"test.parquet: the newest period has no rows to compare"):
        main(
            prepared=tmp_path,
            model=tmp_path / "absent.skops",
            metrics=tmp_path / "d.json",
            alert=tmp_path / "a.md",
            figures=tmp_path / "f",
            params_file=EXAMPLE / "params.yaml",
        )


def test_a_constant_that_changed_value_is_reported_without_numbers(params):
    reference, current = pd.DataFrame({"m": [1] * 100}), pd.DataFrame({"m": [2] * 100})
    report = compare(reference, current, {"m": "numeric"}, params.drift)
    prediction = compare(
        reference.rename(columns={"m": PREDICTION}),
        current.rename(columns={"m": PREDICTION}),
        {PREDICTION: "numeric"},
        params.drift,
    )["columns"][PREDICTION]
    body = alert_body(report | {"prediction": prediction}, "2013-02", ["2013-01"], "u")
    assert report["drifted_columns"] == ["m"]
    assert "| <code>m</code> | constant | " in body


@pytest.mark.parametrize("rows", [5, 1000, 170_000])
def test_an_ecdf_figure_draws_at_most_a_thousand_points_of_the_full_ecdf(rows):
    values = np.random.default_rng(rows).normal(size=rows).round(2)  # ties, as real columns have
    x, share = ecdf_points(values)
    ordered = np.sort(values)
    ranks = np.rint(share * rows).astype(int) - 1  # each point's rank in the full drawing
    assert len(x) == min(rows, 1000) and (x == ordered[ranks]).all()  # points of the full drawing, no others
    assert (x[0], share[-1]) == (ordered[0], 1.0) and (np.diff(share) > 0).all()
    assert np.diff(share).max() <= 1 / 999 + 1 / rows  # the line between two points is never off by more
