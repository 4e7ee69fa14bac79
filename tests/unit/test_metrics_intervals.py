"""Bootstrap intervals of classification resample within each class, so a rare class is in every resample;
per-class metrics and the model card mark a class too small to judge, as they mark a slice (issue 16)."""

import tracemalloc

import numpy as np
import pytest
from jinja2 import ChainableUndefined

from pipeline import metrics
from pipeline.config import Bootstrap
from pipeline.metrics import TASKS, paired_difference, per_class, percentile_interval, with_intervals
from pipeline.report.render import environment

BINARY, MULTICLASS = TASKS["binary"], TASKS["multiclass"]
BOOT = Bootstrap(resamples=200, confidence=0.95)
CLASSES = ("a", "b", "c")


def rare_class_problem() -> tuple[np.ndarray, np.ndarray]:
    """300 rows of a and b, about 70 % called right, and one row of c that the model calls a."""
    y = np.array(["a"] * 150 + ["b"] * 149 + ["c"])
    truth = np.array([CLASSES.index(c) for c in y])
    right = np.random.default_rng(0).uniform(size=len(y)) < 0.7
    called = np.where(right, truth, 1 - np.minimum(truth, 1))  # a wrong a is called b, a wrong b a
    called[-1] = 0
    return y, np.eye(3)[called] * 0.6 + 0.4 / 3


def f1_macro(y: np.ndarray, score: np.ndarray) -> float:
    return MULTICLASS.compute(y, score, CLASSES, ["f1_macro"])["f1_macro"]


def position(value: float, low: float, high: float) -> float:
    """Where `value` lies in the interval: 0 at its lower edge, 1 at its upper one."""
    return (value - low) / (high - low)


def test_stratified_resamples_keep_every_class_count_and_draw_within_the_class():
    y, _ = rare_class_problem()
    rows = np.stack(list(metrics.bootstrap_rows(len(y), 50, np.random.default_rng(1), strata=y)))
    assert rows.shape == (50, len(y))
    counts = {c: int((y == c).sum()) for c in CLASSES}
    for resample in rows:
        assert {c: int((y[resample] == c).sum()) for c in CLASSES} == counts  # c's single row in every one
    assert len(np.unique(rows[:, :150])) > 100  # drawn with replacement from a's 150 rows, not copied
    assert set(np.unique(y[rows[:, :150]])) == {"a"}
    plain = np.stack(list(metrics.bootstrap_rows(len(y), 50, np.random.default_rng(1))))
    assert (~(y[plain] == "c").any(axis=1)).sum() > 5  # drawn from all rows, c is missing from about a third


def test_a_class_of_one_row_leaves_the_macro_f1_inside_its_interval():
    """The plain bootstrap mixes resamples with and without c: its interval puts the point estimate at the bottom."""
    y, score = rare_class_problem()
    value = f1_macro(y, score)
    plain = percentile_interval(f1_macro, (y, score), BOOT, seed=3)  # regression's resampling, for comparison
    assert position(value, *plain) < 0.2
    out = with_intervals(MULTICLASS, y=y, score=score, setting=CLASSES, bootstrap=BOOT, seed=3)["f1_macro"]
    assert out["value"] == value
    assert 0.3 < position(value, out["low"], out["high"]) < 0.7
    assert out["high"] - out["low"] < 0.5 * (plain[1] - plain[0])


def test_the_gates_paired_interval_keeps_the_rare_class_too():
    """Two models that differ only on c's row: the difference is the same in every resample."""
    y, score = rare_class_problem()
    right_on_c = score.copy()
    right_on_c[-1] = np.eye(3)[2] * 0.6 + 0.4 / 3
    diff = paired_difference(
        MULTICLASS,
        metric="f1_macro",
        y=y,
        score_a=right_on_c,
        score_b=score,
        setting_a=CLASSES,
        setting_b=CLASSES,
        bootstrap=BOOT,
        seed=3,
    )
    assert diff.delta > 0.3
    assert diff.low == pytest.approx(diff.delta, abs=0.01) and diff.high == pytest.approx(diff.delta, abs=0.01)


def test_intervals_and_resamples_repeat_with_the_seed():
    y, score = rare_class_problem()

    def drawn(seed):
        return np.stack(list(metrics.bootstrap_rows(len(y), 20, np.random.default_rng(seed), strata=y)))

    again = drawn(4)
    assert (again == drawn(4)).all() and (again != drawn(5)).any()
    few = Bootstrap(resamples=50, confidence=0.95)  # repeatability needs no precision: the fewest resamples allowed
    first = with_intervals(MULTICLASS, y=y, score=score, setting=CLASSES, bootstrap=few, seed=4)
    assert with_intervals(MULTICLASS, y=y, score=score, setting=CLASSES, bootstrap=few, seed=4) == first
    assert with_intervals(MULTICLASS, y=y, score=score, setting=CLASSES, bootstrap=few, seed=5) != first


def test_binary_intervals_contain_the_value_with_three_positives():
    """Drawn from all rows, some resamples have no positive and ROC AUC has no value: the interval had none."""
    rng = np.random.default_rng(6)
    y = np.zeros(300, dtype=int)
    y[[10, 150, 290]] = 1
    score = np.clip(0.1 + 0.5 * y + rng.normal(scale=0.2, size=300), 0, 1)
    out = with_intervals(BINARY, y=y, score=score, setting=0.5, bootstrap=BOOT, seed=7)
    for name in BINARY.interval_metrics:
        assert out[name]["low"] <= out[name]["value"] <= out[name]["high"], name


def test_per_class_marks_a_class_below_min_rows_and_the_model_card_says_too_small():
    y, score = rare_class_problem()
    table = per_class(y, score, CLASSES, min_rows=100)
    assert {c: row["judged"] for c, row in table.items()} == {"a": True, "b": True, "c": False}
    assert table["c"]["support"] == 1
    context = {
        "hyperparameters": {},
        "categorical": [],
        "numeric": [],
        "leakage": [],
        "versions": {},
        "task": "multiclass",
        "target": "weather",
        "per_class": table,
        "slices": {"metric": "f1_macro", "min_rows": 100, "columns": {}},
        "figures": {"confusion": None},
    }
    # The rest of the card is not under test: what this context lacks (the other stages' outputs) renders empty.
    card = environment().overlay(undefined=ChainableUndefined).get_template("model-card.md.j2").render(context)
    section = card.split("## Per class", 1)[1].split("\n## ", 1)[0]
    assert "fewer rows than a slice needs (100 rows)" in section
    rows = {line.split(" | ")[0].strip("| "): line for line in section.splitlines() if line.startswith("| ")}
    assert rows["c"].endswith("| too small to judge |")
    assert rows["a"].endswith("| yes |") and rows["b"].endswith("| yes |")


@pytest.mark.parametrize("stratified", [False, True])
def test_the_draws_are_held_at_half_the_size_of_the_row_indices_they_make(stratified):
    """At the scale benchmark's size (850,000 rows x 200 resamples) the matrix of 64-bit row indices alone was
    1.4 GB, held twice when the strata were concatenated; the draws are kept as 32-bit positions instead."""
    n, resamples = 100_000, 40
    strata = np.random.default_rng(2).integers(0, 3, n) if stratified else None
    matrix = n * resamples * np.dtype(np.int64).itemsize
    tracemalloc.start()
    try:
        for rows in metrics.bootstrap_rows(n, resamples, np.random.default_rng(3), strata):
            assert rows.dtype == np.int64 and len(rows) == n
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 0.75 * matrix  # the draws (half), one resample being made, the rows of each stratum
