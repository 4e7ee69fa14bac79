"""`pipeline staleness`: the gate's rule and the cadence by hand, then models trained on synthetic periods.

The synthetic periods share one relationship between the inputs and the label, or reverse it from a given period
on. Each row carries its month, as the example's rows do, so a model retrained after the change can learn where
the change starts; a model trained on the first period never sees it.
"""

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image
from threadpoolctl import threadpool_limits

from pipeline.config import Params, load_params
from pipeline.errors import PipelineError
from pipeline.features import LABEL, PERIOD
from pipeline.gate import gate_would_promote
from pipeline.metrics import Difference
from pipeline.staleness import cadence, main, staleness

PERIODS = ["2013-01", "2013-02", "2013-03", "2013-04"]
CLASSES = np.array(["a", "b", "c"])


def task_params(params: Params, task: str, train_periods: int = 1) -> Params:
    """The example's params for a small problem (level, month) of `task`, quick to fit and bootstrap."""
    raw = params.model_dump(mode="json")
    raw["task"] = {"type": task, "target": {"column": "y", "threshold": 0.5 if task == "binary" else None}}
    raw["features"] = {"categorical": [], "numeric": ["level", "month"], "identifiers": []}
    raw["train"] |= {"monotonic": {}, "hyperparameters": {"max_iter": 30}}
    raw["model_checks"] = {"invariant": [], "directional": []}  # the example's checks name its own columns
    raw["evaluate"]["slices"] = {"columns": ["level"], "bands": {}, "min_rows": 100}
    raw["evaluate"]["bootstrap"] = {"resamples": 50, "confidence": 0.95}  # the fewest allowed: quick
    raw["drift"]["critical"] = []
    if task == "regression":  # gate.min_delta is in the metric's units: for mae, the label's (levels 0 to 3)
        raw["gate"]["min_delta"] = 0.1
    raw["staleness"] = {"train_periods": train_periods}
    return Params.model_validate(raw)


def periods(task: str, reversed_from: str | None = None, n: int = 400) -> pd.DataFrame:
    """One block of `n` rows per period; from `reversed_from` on, the label follows the reversed level.

    Four levels and a step relationship: a model trained on one period has already learned all there is, so
    more periods of the same relationship do not make a retrained model better (its deltas are 0).
    """
    frames = []
    for i, period in enumerate(PERIODS):
        rng = np.random.default_rng(i)
        level = rng.integers(0, 4, n)
        effect = level if reversed_from is None or period < reversed_from else 3 - level
        if task == "binary":
            label = (rng.random(n) < 0.1 + 0.25 * effect).astype("int64")
        elif task == "multiclass":
            label = np.where(rng.random(n) < 0.7, CLASSES[effect % 3], rng.choice(CLASSES, n))
        else:
            label = effect + rng.normal(scale=0.5, size=n)
        frames.append(pd.DataFrame({"level": level, "month": i + 1, LABEL: label, PERIOD: period}))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(autouse=True)
def one_thread():
    """One OpenMP thread, as in the suite's xdist workers: run alone on a busy machine, spinning threads triple
    these tests' time (the results are the same)."""
    with threadpool_limits(limits=1):
        yield


def test_the_section_is_optional_and_checked(params, tmp_path):
    assert params.staleness.train_periods == 1  # the example's params.yaml has no `staleness:` section
    raw = params.model_dump(mode="json") | {"staleness": {"train_periods": 0}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    with pytest.raises(PipelineError, match=r"key 'staleness.train_periods': .*greater than or equal to 1"):
        load_params(tmp_path / "params.yaml")


# --- the rule, by hand -----------------------------------------------------------------------------------


def lead(delta, low, high=1.0):
    """The fresh model (a) against the stale one (b): positive when the fresh one is better."""
    return Difference("roc_auc", a=0.7, b=0.7 - delta, delta=delta, low=low, high=high)


@pytest.mark.parametrize(
    ("delta", "low", "margin", "replaced"),
    [
        (0.010, 0.001, 0.0, True),  # better by more than min_delta, the interval wholly above 0
        (0.002, 0.001, 0.0, True),  # exactly min_delta is enough, as in the gate
        (0.0019, 0.001, 0.0, False),  # better, surely, but by less than min_delta: not worth a retraining
        (0.010, 0.0, 0.0, False),  # the interval reaches 0: noise may explain the lead
        (0.010, -0.004, 0.005, True),  # a margin lets the interval reach below 0...
        (0.010, -0.005, 0.005, False),  # ...strictly above -margin
        (-0.010, -0.02, 0.0, False),  # the stale model is the better one
        (float("nan"), float("nan"), 0.0, False),  # undefined (one class in the period): no evidence
    ],
)
def test_the_stale_model_decays_where_the_gate_would_replace_it(params, delta, low, margin, replaced):
    gate = params.gate.model_copy(update={"min_delta": 0.002, "margin": margin})
    assert gate_would_promote(lead(delta, low), gate) is replaced


def entry(period, decayed, delta=0.0, low=0.0, high=0.0):
    return {"period": period, "rows": 100, "delta": delta, "low": low, "high": high, "decayed": decayed}


def test_the_cadence_counts_the_periods_served_before_the_first_decayed_one():
    scored = [entry("p2", False), entry("p3", False), entry("p4", True, 0.05, 0.03, 0.07), entry("p5", False)]
    result = cadence(scored, "roc_auc")
    assert (result["periods"], result["at_least"]) == (2, False)  # p5 does not undo p4
    assert result["reason"] == (
        "In p4 (3 periods after training), a model retrained on the periods before it beats the stale model's "
        "roc_auc by +0.0500 (paired interval +0.0300 to +0.0700), and the gate would replace it: retrain every "
        "2 period(s)."
    )
    held = cadence(scored[:2], "roc_auc")
    assert (held["periods"], held["at_least"]) == (2, True)
    assert held["reason"] == (
        "The stale model held for all 2 periods scored: in none would the gate replace it by a model retrained "
        "on the periods before, so retrain at least every 2 periods."
    )


# --- models on synthetic periods -------------------------------------------------------------------------


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_the_cadence_stops_once_a_retrained_model_has_seen_the_change(params, task):
    record = staleness(periods(task, reversed_from="2013-03"), task_params(params, task))
    # 2013-02: the fresh model is the stale one. 2013-03: the change; a model retrained on 2013-01 and -02 has
    # not seen it either, so retraining would not have helped. 2013-04: one retrained on 2013-03 too has.
    assert [p["decayed"] for p in record["periods"]] == [False, False, True]
    assert (record["cadence"]["periods"], record["cadence"]["at_least"]) == (2, False)
    changed = record["periods"][2]
    better = 1 if task != "regression" else -1  # mae: lower is better
    assert better * (changed["fresh"] - changed["stale"]["value"]) == pytest.approx(changed["delta"])
    assert changed["low"] > 0


@pytest.mark.parametrize("task", ["multiclass", "regression"])  # binary: its decay test holds until the change
def test_a_stationary_relationship_holds_for_every_period_scored(params, task):
    record = staleness(periods(task), task_params(params, task))
    assert (record["cadence"]["periods"], record["cadence"]["at_least"]) == (3, True)
    assert not any(p["decayed"] for p in record["periods"])
    first = record["periods"][0]  # the fresh model is the stale one: no difference by construction
    assert (first["fresh"], first["delta"], first["low"], first["high"]) == (first["stale"]["value"], 0, 0, 0)
    for p in record["periods"]:
        assert p["stale"]["low"] <= p["stale"]["value"] <= p["stale"]["high"]


def test_the_fresh_model_is_trained_on_the_window_ct_would_use(params):
    raw = task_params(params, "multiclass").model_dump(mode="json")
    raw["features"]["numeric"] = ["level"]  # no month: a model of every period mixes both relationships
    rows = periods("multiclass", reversed_from="2013-03")
    expanding = staleness(rows, Params.model_validate(raw))  # 2013-04's fresh model: two periods old, one new
    assert [p["decayed"] for p in expanding["periods"]] == [False, False, False]
    raw["window"] = {"reference_periods": 1}  # CT retrains on the last period alone: it forgets the old relationship
    window = staleness(rows, Params.model_validate(raw))
    assert [p["decayed"] for p in window["periods"]] == [False, False, True]


@pytest.mark.parametrize("train_periods", [4, 5])
def test_too_few_periods_name_the_key_and_the_periods(params, train_periods):
    with pytest.raises(
        PipelineError,
        match=rf"key 'staleness.train_periods' is {train_periods}, but the prepared rows hold 4 period\(s\) "
        r"\(2013-01, 2013-02, 2013-03, 2013-04\): it must be at most 3",
    ):
        staleness(periods("binary", n=100), task_params(params, "binary", train_periods))


def test_an_unknown_gate_metric_is_named_with_the_known_ones(params):
    raw = task_params(params, "regression").model_dump(mode="json")
    raw["gate"]["metric"] = "roc_auc"
    with pytest.raises(PipelineError, match=r"key 'gate.metric': 'roc_auc' is not a regression metric; known: mae"):
        staleness(periods("regression", n=100), Params.model_validate(raw))


def test_the_command_writes_one_entry_per_later_period_and_the_same_bytes_twice(params, tmp_path):
    rows = periods("regression", reversed_from="2013-03")
    prepared = tmp_path / "prepared"
    prepared.mkdir()
    rows[rows[PERIOD] < "2013-04"].to_parquet(prepared / "train.parquet")
    rows[rows[PERIOD] == "2013-04"].to_parquet(prepared / "test.parquet")
    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump(task_params(params, "regression", 2).model_dump(mode="json")))
    written = []
    for run in ("a", "b"):
        main(prepared=prepared, out=tmp_path / run, params_file=params_file)
        written.append({name: (tmp_path / run / name).read_bytes() for name in ("staleness.json", "staleness.png")})
    assert written[0] == written[1]
    record = json.loads(written[0]["staleness.json"])
    assert record["format"] == 2 and (record["task"], record["metric"]) == ("regression", "mae")
    assert record["trained_on"] == {"periods": PERIODS[:2], "rows": 800}
    assert [p["period"] for p in record["periods"]] == PERIODS[2:]
    keys = {"period", "rows", "stale", "fresh", "delta", "low", "high", "decayed"}
    assert all(set(p) == keys and set(p["stale"]) == {"value", "low", "high"} for p in record["periods"])
    assert [p["decayed"] for p in record["periods"]] == [False, True]
    assert record["cadence"]["periods"] == 1 and set(record["cadence"]) == {"periods", "at_least", "reason"}
    # An opaque ground (matplotlib's white, as the report's figures): readable on the site's dark theme too.
    image = Image.open(tmp_path / "a" / "staleness.png").convert("RGBA")
    assert image.getchannel("A").getextrema() == (255, 255)
