"""Joins, calendar features, the label policy and the time split, on rows small enough to check by hand."""

import numpy as np
import pandas as pd
import pytest

from pipeline.config import Join, Window
from pipeline.errors import PipelineError
from pipeline.features import (
    LABEL,
    PERIOD,
    add_calendar,
    add_label,
    join_table,
    prepare_rows,
    raw_columns,
)
from pipeline.prepare import select_periods


def flights(n=4, period="2013-01"):
    """`n` flight rows with every raw column of the example, including those known only after the flight."""
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "flight": range(n),
            "tailnum": ["N1", "N2", "N1", None][:n] * (n // 4 or 1),
            "time_hour": [
                "2013-01-01T10:00:00Z",
                "2013-01-02T04:00:00Z",
                "2013-01-05T23:00:00Z",
                "2013-01-06T12:00:00Z",
            ][:n]
            * (n // 4 or 1),
            "origin": "EWR",
            "dest": "IAH",
            "carrier": "UA",
            "distance": 1400.0,
            "hour": 5,
            "dep_time": rng.integers(500, 600, n),
            "dep_delay": rng.normal(size=n),
            "arr_time": 900,
            "air_time": 200.0,
            "arr_delay": [20.0, 15.0, np.nan, -3.0][:n] * (n // 4 or 1),
        }
    ).assign(**{PERIOD: period})


def weather():
    return pd.DataFrame(
        {
            "origin": ["EWR", "EWR", "EWR", "JFK"],
            "time_hour": [
                "2013-01-01T10:00:00Z",
                "2013-01-02T04:00:00Z",
                "2013-01-05T23:00:00Z",
                "2013-01-06T12:00:00Z",
            ],
            "temp": [30.0, 31.0, 32.0, 99.0],
            "dewp": 1.0,
            "humid": 2.0,
            "wind_dir": 3.0,
            "wind_speed": 4.0,
            "wind_gust": np.nan,
            "precip": 0.0,
            "pressure": 1012.0,
            "visib": 10.0,
        }
    )


def planes():
    return pd.DataFrame(
        {
            "tailnum": ["N1", "N2"],
            "year": [2004, 1998],
            "type": "Fixed wing",
            "manufacturer": ["EMBRAER", "AIRBUS"],
            "engines": 2,
            "seats": [55, 182],
            "engine": "Turbo-fan",
        }
    )


@pytest.mark.parametrize(
    ("available", "reference_periods", "expected"),
    [
        (["2013-01", "2013-02", "2013-03"], None, (["2013-01", "2013-02"], "2013-03")),
        (["2013-01", "2013-02", "2013-03"], 1, (["2013-02"], "2013-03")),
        (["2013-01", "2013-02"], 5, (["2013-01"], "2013-02")),
    ],
    ids=["expanding", "sliding-1", "window-longer-than-history"],
)
def test_select_periods_trains_only_on_the_past(available, reference_periods, expected):
    reference, evaluation = select_periods(available, Window(reference_periods=reference_periods))
    assert (reference, evaluation) == expected
    assert max(reference) < evaluation


def test_select_periods_needs_a_period_to_train_on():
    with pytest.raises(PipelineError, match=r"only one period \(2013-01\)"):
        select_periods(["2013-01"], Window())


def test_join_matches_keys_and_renames(params):
    planes_join = params.prepare.joins[1]
    joined = join_table(flights(), planes(), planes_join, source="planes")
    assert joined["plane_year"].tolist()[:3] == [2004, 1998, 2004]
    assert np.isnan(joined["plane_year"].iloc[3])  # no tailnum: no plane facts, the row stays
    assert len(joined) == 4


def test_join_weather_by_origin_and_hour(params):
    joined = join_table(flights(), weather(), params.prepare.joins[0], source="weather")
    assert joined["temp"].tolist()[:3] == [30.0, 31.0, 32.0]
    assert np.isnan(joined["temp"].iloc[3])  # JFK's weather must not be joined onto an EWR flight


def test_join_refuses_duplicate_keys():
    join = Join(table="planes", per_period=False, keys=["tailnum"], columns={"seats": "plane_seats"})
    doubled = pd.concat([planes(), planes().iloc[:1]])
    with pytest.raises(PipelineError, match=r"planes: 1 duplicated key\(s\) \['tailnum'\], e.g. \['N1'\]"):
        join_table(flights(), doubled, join, source="planes")


def test_calendar_uses_local_time(params):
    # 2013-01-06T04:00Z is Saturday 23:00 in New York: a UTC weekday would say Sunday.
    rows = pd.DataFrame({"time_hour": ["2013-01-06T04:00:00Z", "2013-02-01T12:00:00Z"]})
    out = add_calendar(rows, params.prepare, source="batch")
    assert out["weekday"].tolist() == [5, 4]
    assert out["month"].tolist() == [1, 2]


def test_calendar_rejects_unparsable_timestamps(params):
    rows = pd.DataFrame({"time_hour": ["2013-01-06T04:00:00Z", "yesterday"]})
    with pytest.raises(PipelineError, match=r"batch: column 'time_hour': 1 value\(s\) are not ISO 8601.*'yesterday'"):
        add_calendar(rows, params.prepare, source="batch")


def test_label_policy_drops_and_counts_unlabelled(params):
    labelled, dropped = add_label(flights(), params.task)
    assert dropped == 1
    assert labelled[LABEL].tolist() == [1, 0, 0]  # 20 > 15 is late; exactly 15 is not; -3 is not


def test_regression_label_is_the_target(params):
    task = params.task.model_copy(update={"type": "regression"})
    labelled, dropped = add_label(flights(), task)
    assert (labelled[LABEL].tolist(), dropped) == ([20.0, 15.0, -3.0], 1)


def test_prepared_rows_hold_no_leakage_column(params, contract):
    rows, _ = prepare_rows(
        flights(), {"weather": weather(), "planes": planes()}, params=params, contract=contract, source="batch"
    )
    assert list(rows.columns) == [*params.features.identifiers, PERIOD, *params.features.inputs, LABEL]
    assert not set(rows.columns) & set(contract.leakage)


def test_no_model_input_comes_from_leakage_columns(params, contract):
    """Scrambling every after-the-flight column but the target leaves the prepared inputs unchanged."""
    tables = {"weather": weather(), "planes": planes()}
    before, _ = prepare_rows(flights(), tables, params=params, contract=contract, source="batch")
    scrambled = flights().assign(dep_time=-1, dep_delay=999.0, arr_time=-1, air_time=-1.0)
    after, _ = prepare_rows(scrambled, tables, params=params, contract=contract, source="batch")
    pd.testing.assert_frame_equal(before, after)


def test_unseen_category_becomes_other_under_the_warn_policy(params, contract):
    rows = flights().assign(carrier=["UA", "ZZ", None, "AA"])
    prepared, _ = prepare_rows(
        rows, {"weather": weather(), "planes": planes()}, params=params, contract=contract, source="batch"
    )
    # carrier's policy is warn: "ZZ" (row 2) becomes "other"; row 3 has no arr_delay and is dropped.
    assert prepared["carrier"].tolist() == ["UA", "other", "AA"]


def test_raw_columns_are_what_the_batch_must_provide(params):
    columns = raw_columns(params)
    assert "arr_delay" in columns  # the target, to make the label
    assert not {"dep_time", "dep_delay", "arr_time", "air_time"} & set(columns)
    assert not {"temp", "plane_year", "weekday", "month"} & set(columns)  # joined or derived
