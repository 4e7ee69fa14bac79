"""Drift on the embedded data: months known to differ drift on the weather; two halves of one month do not."""

import pandas as pd
import pytest

from pipeline.drift_stats import drift_report
from pipeline.ingest import build

WEATHER = {
    "temp": "numeric",
    "dewp": "numeric",
    "humid": "numeric",
    "wind_speed": "numeric",
    "precip": "numeric",
    "pressure": "numeric",
    "visib": "numeric",
    "origin": "categorical",
}


@pytest.fixture(scope="module")
def weather(tmp_path_factory, params):
    data = tmp_path_factory.mktemp("months") / "data"
    build(params, ["2013-01", "2013-07"], data)
    return {m: pd.read_csv(data / "weather" / f"2013-{m}.csv") for m in ("01", "07")}


def test_winter_and_summer_weather_drift(weather, params):
    report = drift_report(
        weather["01"],
        weather["07"],
        WEATHER,
        alpha=params.drift.alpha,
        effect_thresholds=params.drift.effect_thresholds,
        share=params.drift.share,
    )
    assert {"temp", "dewp"} <= set(report["drifted_columns"])
    assert "origin" not in report["drifted_columns"]  # the same three airports report every hour
    assert report["drifted"] is True


@pytest.mark.parametrize("month", ["01", "07"])
def test_two_random_halves_of_one_month_do_not_drift(weather, params, month):
    rows = weather[month].sample(frac=1.0, random_state=0)
    first, second = rows.iloc[: len(rows) // 2], rows.iloc[len(rows) // 2 :]
    report = drift_report(
        first,
        second,
        WEATHER,
        alpha=params.drift.alpha,
        effect_thresholds=params.drift.effect_thresholds,
        share=params.drift.share,
    )
    assert report["drifted_columns"] == [] and report["drifted"] is False
