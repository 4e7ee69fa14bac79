"""Drift statistics: exact against scipy, calibrated under no shift, sound decisions at any n, no crash."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from pipeline import drift_stats as drift

RNG_SEED = 20130101


def sorted_pair(a, b):
    return np.sort(np.asarray(a, dtype=float)), np.sort(np.asarray(b, dtype=float))


def samples(case):
    rng = np.random.default_rng(RNG_SEED)
    return {
        "normal-unequal": (rng.normal(size=3000), rng.normal(0.1, 1.2, size=4111)),
        "normal-large": (rng.normal(size=60_000), rng.normal(size=50_000)),
        "tied-integers": (rng.integers(0, 5, 2000), rng.integers(0, 6, 2500)),
        "tied-poisson-large": (rng.poisson(3, 80_000), rng.poisson(3.1, 70_000)),
        "zero-inflated": (
            np.where(rng.random(9000) < 0.7, 0, rng.lognormal(size=9000)),
            np.where(rng.random(7000) < 0.6, 0, rng.lognormal(size=7000)),
        ),
        "same-values": (np.arange(500.0), np.arange(500.0)),
        "cross-ties-only": (np.arange(0, 1000, 2.0), np.arange(0, 1000, 3.0)),
        "reference-constant": (np.full(300, 2.0), rng.integers(0, 4, 400)),
        "disjoint": (rng.normal(size=400), rng.normal(size=300) + 100),
        "tiny": ([1.0, 2.0, 2.0, 3.0], [2.0, 2.0, 5.0]),
    }[case]


CASES = [
    "normal-unequal",
    "normal-large",
    "tied-integers",
    "tied-poisson-large",
    "zero-inflated",
    "same-values",
    "cross-ties-only",
    "reference-constant",
    "disjoint",
    "tiny",
]


@pytest.mark.parametrize("case", CASES, ids=CASES)
def test_ks_and_wasserstein_equal_scipy(case):
    a, b = samples(case)
    ref, cur = sorted_pair(a, b)
    statistic, w1 = drift.ks_wasserstein(ref, cur)
    assert abs(statistic - stats.ks_2samp(a, b).statistic) <= 1e-12
    assert math.isclose(w1, stats.wasserstein_distance(a, b), rel_tol=1e-12, abs_tol=1e-15)


@pytest.mark.parametrize("shift", [0.0, 0.01, 0.02, 0.04, 0.06], ids=lambda s: f"shift-{s}")
def test_ks_p_value_matches_scipy_asymptotic_for_large_samples(shift):
    rng = np.random.default_rng(RNG_SEED)
    a, b = rng.normal(size=20_000), rng.normal(shift, size=15_000)
    ref, cur = sorted_pair(a, b)
    statistic, _ = drift.ks_wasserstein(ref, cur)
    ours = drift.ks_p_value(statistic, len(ref), len(cur), ref=ref, cur=cur)
    scipys = stats.ks_2samp(a, b, method="asymp").pvalue
    # scipy's own formula above p ~ 0.025 (so around alpha); the Maag-Dicaire tail below, within 1%.
    assert ours == pytest.approx(scipys, rel=1e-9 if scipys > 0.03 else 1e-2)


def test_ks_p_value_tail_approximation_is_within_one_percent_of_scipy():
    for n in (1001, 5000, 50_000):
        for n_d_squared in (2.2, 3.0, 5.0):  # p from 0.024 down to 1e-4
            statistic = math.sqrt(n_d_squared / n)
            ours = drift.ks_p_value(statistic, 2 * n, 2 * n)
            assert ours == pytest.approx(stats.kstwo.sf(statistic, n), rel=1e-2)


def test_ks_p_value_is_scipys_exact_one_for_small_samples():
    rng = np.random.default_rng(RNG_SEED)
    a, b = rng.normal(size=60), rng.normal(0.5, size=45)
    ref, cur = sorted_pair(a, b)
    statistic, _ = drift.ks_wasserstein(ref, cur)
    assert drift.ks_p_value(statistic, 60, 45, ref=ref, cur=cur) == stats.ks_2samp(a, b, method="exact").pvalue


def test_normalized_wasserstein_is_scipy_over_reference_sd():
    rng = np.random.default_rng(RNG_SEED)
    a, b = rng.lognormal(size=5000) * 3, rng.lognormal(0.1, size=4000) * 3
    result = drift.column_drift(pd.Series(a), pd.Series(b), kind="numeric")
    expected = stats.wasserstein_distance(a, b) / np.std(a)
    assert result["normalizer"] == "reference_sd"
    assert math.isclose(result["wasserstein_normalized"], expected, rel_tol=1e-9)
    assert result["effect_size"] == result["wasserstein_normalized"]


def test_sd_guard_keeps_precision_for_large_means():
    values = np.sort(1e9 + np.random.default_rng(RNG_SEED).normal(size=1000))
    assert math.isclose(drift._sd(values), np.std(values), rel_tol=1e-9)


@pytest.mark.parametrize("scale", [1.0, 1e154, 1e160, 1e-160], ids=lambda s: f"x{s:g}")
def test_magnitude_does_not_change_the_result(scale):
    """Sums of squares overflowed at 1e154 (effect size 0) and raised OverflowError at 1e160; 1e-160 underflowed."""
    rng = np.random.default_rng(RNG_SEED)
    a, b = rng.normal(size=2000), rng.normal(0.3, size=2000)
    plain = drift.column_drift(pd.Series(a), pd.Series(b), kind="numeric")
    scaled = drift.column_drift(pd.Series(a * scale), pd.Series(b * scale), kind="numeric")
    for key in ("statistic", "p_value", "effect_size", "psi"):
        assert scaled[key] == pytest.approx(plain[key], rel=1e-9), key
    assert scaled["wasserstein"] == pytest.approx(plain["wasserstein"] * scale, rel=1e-9)
    report = drift.drift_report(pd.DataFrame({"x": a * scale}), pd.DataFrame({"x": b * scale}), {"x": "numeric"})
    assert report["columns"]["x"]["drifted"] is True


def test_huge_constant_reference_and_overflowing_wasserstein():
    result = drift.column_drift(pd.Series([0.0] * 40), pd.Series([0.0, 1e160] * 20), kind="numeric")
    assert (result["status"], result["normalizer"], result["statistic"]) == ("tested", "pooled_sd", 0.5)
    assert result["wasserstein"] == pytest.approx(0.5e160, rel=1e-12)
    assert math.isclose(result["effect_size"], 0.5 / np.std([0.0] * 40 + [0.0, 1.0] * 20), rel_tol=1e-12)
    # W1 = 1.9e308 exceeds the largest float: reported as None (JSON has no inf), the effect size still exact.
    result = drift.column_drift(pd.Series([-1e308, -9e307] * 20), pd.Series([1e308, 9e307] * 20), kind="numeric")
    assert result["wasserstein"] is None and result["effect_size"] == pytest.approx(38.0, rel=1e-12)
    assert json.loads(json.dumps(result, allow_nan=False)) == result


def test_tied_integer_ks_false_positive_rate_is_alpha():
    """Poisson(3), 2,000 rows a side, no shift, 500 times: scipy's KS p-values assume no ties and were below alpha
    1.2% of the time; the Monte Carlo permutation p-value is (sd of the rate 1 point, the band +-2.5 points)."""
    rng = np.random.default_rng(RNG_SEED)
    results = [
        drift.column_drift(pd.Series(rng.poisson(3, 2000)), pd.Series(rng.poisson(3, 2000)), kind="numeric")
        for _ in range(500)
    ]
    assert {result["p_method"] for result in results} == {"monte_carlo"}
    rate = np.mean([result["p_value"] < drift.ALPHA for result in results])
    assert abs(rate - drift.ALPHA) <= 0.025, rate


def test_zero_inflated_ks_false_positive_rate_is_alpha():
    """70% zeros, the rest lognormal, 5,000 rows a side, 400 times: thousands of distinct values, yet scipy's
    p-value was below alpha 1% of the time; on KS_CELLS cells the permutation test is calibrated (sd of the
    rate 1.1 points, the band +-2.5 points)."""
    rng = np.random.default_rng(RNG_SEED)

    def draw():
        return pd.Series(np.where(rng.random(5000) < 0.7, 0.0, rng.lognormal(size=5000)))

    results = [drift.column_drift(draw(), draw(), kind="numeric") for _ in range(400)]
    assert {result["p_method"] for result in results} == {"monte_carlo"}
    rate = np.mean([result["p_value"] < drift.ALPHA for result in results])
    assert abs(rate - drift.ALPHA) <= 0.025, rate


def test_ks_cells_split_the_rows_evenly_but_keep_a_heavy_value_whole():
    totals = np.r_[7000, np.ones(3000, dtype=np.int64)]  # one value with 70% of the rows, 3,000 singletons
    ref_counts = np.r_[3500, np.ones(3000, dtype=np.int64) * np.arange(3000) % 2]
    cell_ref, cell_totals = drift._cells(ref_counts, totals)
    assert cell_totals[0] == 7000 and cell_totals.sum() == totals.sum() and cell_ref.sum() == ref_counts.sum()
    # The heavy value counts as one cell's rows, 10,000 / 100 = 100: the other cells hold (3,100 / 100 =) 31.
    assert drift.KS_CELLS - 3 <= len(cell_totals) <= drift.KS_CELLS and cell_totals[1:].max() <= 31


def test_tied_ks_monte_carlo_matches_brute_force_permutations():
    """The count-vector draws give the p-value of shuffling the rows between the sides (20,000 shuffles)."""
    rng = np.random.default_rng(RNG_SEED)
    a, b = rng.poisson(3, 80), rng.poisson(3.8, 70)
    result = drift.column_drift(pd.Series(a), pd.Series(b), kind="numeric")
    pooled = np.sort(np.r_[a, b])
    run_ends = np.r_[np.flatnonzero(pooled[1:] != pooled[:-1]), len(pooled) - 1]
    in_reference = np.argsort(rng.random((20_000, len(pooled))), axis=1) < len(a)
    seen = np.cumsum(in_reference, axis=1)[:, run_ends]
    shuffled = np.abs(seen / len(a) - (run_ends + 1 - seen) / len(b)).max(axis=1)
    brute = np.mean(shuffled >= result["statistic"] - 1e-12)
    assert result["p_method"] == "monte_carlo" and 0.01 < brute < 0.2
    se = math.sqrt(brute * (1 - brute) * (1 / drift.MC_DRAWS + 1 / 20_000))
    assert abs(result["p_value"] - brute) <= 4 * se, (result["p_value"], brute)


def test_p_method_says_how_the_p_value_was_computed():
    rng = np.random.default_rng(RNG_SEED)

    def method(a, b, kind="numeric"):
        return drift.column_drift(pd.Series(a), pd.Series(b), kind=kind)["p_method"]

    assert method(rng.normal(size=100), rng.normal(size=100)) == "exact"
    assert method(rng.normal(size=20_000), rng.normal(size=20_000)) == "asymptotic"
    assert method(rng.poisson(3, 20_000), rng.poisson(3, 20_000)) == "monte_carlo"
    # Many distinct values, 70% of them zeros: still tied, simulated on KS_CELLS cells.
    zeros = np.where(rng.random((2, 50_000)) < 0.7, 0.0, rng.lognormal(size=(2, 50_000)))
    assert method(*zeros) == "monte_carlo"
    # Below the Monte Carlo's floor 1 / (B + 1), the asymptotic p-value (an upper bound with ties) is kept.
    result = drift.column_drift(pd.Series(rng.poisson(3, 20_000)), pd.Series(rng.poisson(4, 20_000)), kind="numeric")
    assert result["p_method"] == "asymptotic" and result["p_value"] < 1e-100


def test_categorical_counts_js_and_chi_square_equal_scipy():
    rng = np.random.default_rng(RNG_SEED)
    ref = pd.Series(rng.choice(list("abcd"), 3000, p=[0.4, 0.3, 0.2, 0.1]))
    cur = pd.Series(rng.choice(list("abcd"), 2000, p=[0.35, 0.3, 0.2, 0.15]))
    result = drift.column_drift(ref, cur, kind="categorical")
    table = pd.crosstab(np.r_[np.zeros(3000), np.ones(2000)], np.r_[ref, cur]).to_numpy()
    statistic, p_value, _, _ = stats.chi2_contingency(table, correction=False)
    assert math.isclose(result["statistic"], statistic, rel_tol=1e-12)
    assert math.isclose(result["p_value"], p_value, rel_tol=1e-9)
    assert math.isclose(result["jensen_shannon"], jensenshannon(table[0], table[1], base=2), rel_tol=1e-12)
    assert result["effect_size"] == result["jensen_shannon"]
    assert (result["status"], result["test"], result["p_method"], result["n_categories"]) == (
        "tested",
        "chi2",
        "asymptotic",
        4,
    )


def test_categorical_codes_of_category_dtype_equal_factorized_strings():
    rng = np.random.default_rng(RNG_SEED)
    ref, cur = rng.choice(list("xyz"), 500), rng.choice(list("wxyz"), 400)
    as_category = drift.column_drift(
        pd.Series(ref, dtype="category"), pd.Series(cur, dtype="category"), kind="categorical"
    )
    as_strings = drift.column_drift(pd.Series(ref), pd.Series(cur), kind="categorical")
    assert as_category.keys() == as_strings.keys()
    for key, value in as_category.items():  # categories in another order: sums in another order
        assert (
            value == pytest.approx(as_strings[key], rel=1e-12) if isinstance(value, float) else value == as_strings[key]
        ), key


@pytest.mark.parametrize("labels", [100, 1000], ids=["100-labels", "1000-labels"])
def test_disjoint_rare_labels_drift(labels):
    """Each side has its own labels, each seen twice: every category is rare (expected count 1 a side).

    Pooling the rare categories left one cell and read "no drift, p = 1". Unpooled, no table drawn under the
    null is as extreme (p = 1 / (B + 1)); past MC_MAX_VALUES categories the asymptotic p-value is used.
    """
    reference = pd.Series([f"r{i}" for i in range(labels)] * 2)
    current = pd.Series([f"n{i}" for i in range(labels)] * 2)
    column = drift.column_drift(reference, current, kind="categorical")
    assert (column["status"], column["test"]) == ("tested", "chi2") and column["effect_size"] == pytest.approx(1.0)
    assert column["p_method"] == ("monte_carlo" if labels <= drift.MC_MAX_VALUES else "asymptotic")
    assert column["p_value"] <= 1 / (drift.MC_DRAWS + 1)
    report = drift.drift_report(pd.DataFrame({"c": reference}), pd.DataFrame({"c": current}), {"c": "categorical"})
    assert report["columns"]["c"]["adjusted_p_value"] < drift.ALPHA and report["columns"]["c"]["drifted"] is True


def test_rare_categories_under_no_shift_are_calibrated():
    """Two common labels and 30 rare ones (expected 3.3 a side), drawn alike on both sides, 300 times: the Monte
    Carlo p-value is below alpha about alpha of the time (sd of the rate 1.3 points; the band is +-3 points)."""
    rng = np.random.default_rng(RNG_SEED)
    shares = np.r_[0.45, 0.45, np.full(30, 0.1 / 30)]
    results = [drift.chi_square(rng.multinomial(1000, shares), rng.multinomial(1000, shares)) for _ in range(300)]
    assert {method for _, _, method in results} == {"monte_carlo"}
    rate = np.mean([p_value < drift.ALPHA for _, p_value, _ in results])
    assert abs(rate - drift.ALPHA) <= 0.03, rate


def test_monte_carlo_chi_square_matches_the_exact_permutation_p_value():
    # 2 x 2, missing in 0 of 1000 reference rows and 4 of 1000 current ones: expected 2 a side, so rare. Given
    # the margins, the reference's count a is hypergeometric and X^2 grows with |a - 2|: exact p = P(a = 0 or 4).
    # a = 0 and a = 4 give the same X^2, a tie that must count as "at least as extreme".
    statistic, p_value, method = drift.chi_square(np.array([0, 1000]), np.array([4, 996]))
    exact = 2 * stats.hypergeom.pmf(0, 2000, 4, 1000)
    assert method == "monte_carlo"
    assert math.isclose(statistic, stats.chi2_contingency([[0, 1000], [4, 996]], correction=False)[0], rel_tol=1e-12)
    assert abs(p_value - exact) <= 4 * math.sqrt(exact * (1 - exact) / drift.MC_DRAWS), (p_value, exact)
    # Not pooled away: a rare label that vanished and another that appeared are evidence (exact p = 0.0039).
    _, p_value, method = drift.chi_square(np.array([500, 500, 5, 0]), np.array([500, 500, 0, 5]))
    assert method == "monte_carlo" and p_value < 0.01


def test_psi_hand_computed():
    assert math.isclose(drift.psi(np.array([50, 50]), np.array([25, 75])), 0.25 * math.log(3), rel_tol=1e-12)
    # An empty bin counts as a share of 1e-4.
    expected = (1e-4 - 0.5) * math.log(1e-4 / 0.5) + (1 - 0.5) * math.log(1 / 0.5)
    assert math.isclose(drift.psi(np.array([50, 50]), np.array([0, 80])), expected, rel_tol=1e-12)


def test_numeric_psi_uses_reference_deciles():
    # Reference 0..99: edges 10, 20, ..., 90. Current 50..149: 0 in the first five bins, 10 in each of the
    # next four, 60 in the last.
    result = drift.column_drift(pd.Series(np.arange(100.0)), pd.Series(np.arange(50.0, 150.0)), kind="numeric")
    expected = 5 * (1e-4 - 0.1) * math.log(1e-4 / 0.1) + (0.6 - 0.1) * math.log(0.6 / 0.1)
    assert math.isclose(result["psi"], expected, rel_tol=1e-12)


def test_benjamini_hochberg_adjusts_over_tested_columns_only():
    rng = np.random.default_rng(RNG_SEED)
    reference = pd.DataFrame({f"x{i}": rng.normal(size=2000) for i in range(5)} | {"few": [1.0] * 2000})
    current = pd.DataFrame(
        {f"x{i}": rng.normal(0.04 * i, size=2000) for i in range(5)} | {"few": [np.nan] * 1990 + [1.0] * 10}
    )
    report = drift.drift_report(reference, current, dict.fromkeys(reference, "numeric"))
    raw = [report["columns"][f"x{i}"]["p_value"] for i in range(5)]
    adjusted = stats.false_discovery_control(raw, method="bh")
    assert [report["columns"][f"x{i}"]["adjusted_p_value"] for i in range(5)] == list(adjusted)
    assert report["columns"]["few"]["adjusted_p_value"] is None
    assert report["n_columns_tested"] == 5


# --- calibration and soundness ---------------------------------------------------------------------------

FPR_COLUMNS, FPR_REPETITIONS, FPR_ROWS = 40, 100, 10_000
LABELS = list("abcde")
SHARES = np.array([0.3, 0.25, 0.2, 0.15, 0.1])


def null_table(rng, columns, rows):
    numbers = {f"x{i}": rng.normal(size=rows) for i in range(columns)}
    codes = rng.choice(len(LABELS), size=(columns, rows), p=SHARES)
    categories = {f"c{i}": pd.Categorical.from_codes(codes[i], categories=LABELS) for i in range(columns)}
    return pd.DataFrame(numbers | categories)


def test_false_positive_rate_of_raw_tests_is_alpha_under_no_shift():
    """4,000 trials per test (40 columns x 100 pairs of 10k-row tables): the rate's sd is 0.34 points, so
    the +-1 point band is +-2.9 sd (a correct test fails it with probability 0.4%, the seed is fixed)."""
    rng = np.random.default_rng(RNG_SEED)
    kinds = {f"x{i}": "numeric" for i in range(FPR_COLUMNS)} | {f"c{i}": "categorical" for i in range(FPR_COLUMNS)}
    hits = {"numeric": 0, "categorical": 0}
    for _ in range(FPR_REPETITIONS):
        report = drift.drift_report(
            null_table(rng, FPR_COLUMNS, FPR_ROWS), null_table(rng, FPR_COLUMNS, FPR_ROWS), kinds
        )
        for column in report["columns"].values():
            hits[column["kind"]] += column["p_value"] < drift.ALPHA
    trials = FPR_COLUMNS * FPR_REPETITIONS
    for kind, count in hits.items():
        assert abs(count / trials - drift.ALPHA) <= 0.01, (kind, count / trials)


def shifted_table(rng, rows, shifted):
    """Four shifted columns and five near-null ones; `shifted=False` draws the reference."""

    def near(size):
        return rng.normal(size=rows) + (size if shifted else 0.0)

    shares = SHARES.copy()
    near_shares = SHARES.copy()
    if shifted:
        shares[:2] += [-0.06, 0.06]  # 6 points of mass moved between the two largest categories
        near_shares[:2] += [-0.005, 0.005]
    return pd.DataFrame(
        {
            "normal": rng.normal(size=rows) + (0.15 if shifted else 0.0),
            "lognormal": rng.lognormal(0.0, 0.5, size=rows) * (1.08 if shifted else 1.0),
            "poisson": rng.poisson(3.3 if shifted else 3.0, size=rows),
            "category": pd.Categorical.from_codes(rng.choice(5, size=rows, p=shares), categories=LABELS),
            "near_0.005": near(0.005),
            "near_0.01": near(0.01),
            "near_0.015": near(0.015),
            "near_0.02": near(0.02),
            "near_category": pd.Categorical.from_codes(rng.choice(5, size=rows, p=near_shares), categories=LABELS),
        }
    )


SHIFTED = ["normal", "lognormal", "poisson", "category"]


@pytest.mark.parametrize("rows", [10_000, 100_000, 1_000_000], ids=["10k", "100k", "1M"])
def test_decision_flags_real_shifts_and_ignores_near_null_ones(rows):
    rng = np.random.default_rng(RNG_SEED + rows)
    reference, current = shifted_table(rng, rows, False), shifted_table(rng, rows, True)
    kinds = {name: "categorical" if "category" in name else "numeric" for name in reference}
    report = drift.drift_report(reference, current, kinds)
    drifted = sorted(name for name, column in report["columns"].items() if column["drifted"])
    assert drifted == sorted(SHIFTED)
    assert report["n_columns_decided"] == 9 and report["drifted"] is False  # 4 of 9 < 50%
    if rows == 1_000_000:  # the near-null shifts are significant at 1M rows: the effect size decides
        near = [report["columns"][f"near_{size}"] for size in ("0.01", "0.015", "0.02")]
        assert all(column["adjusted_p_value"] < drift.ALPHA for column in near)
        assert all(column["effect_size"] < drift.EFFECT_THRESHOLDS["numeric"] / 4 for column in near)


# --- bad input -----------------------------------------------------------------------------------------


def small_tables():
    rng = np.random.default_rng(RNG_SEED)
    reference = pd.DataFrame({"x": rng.normal(size=200), "c": rng.choice(["a", "b"], 200)})
    current = pd.DataFrame({"x": rng.normal(size=100), "c": rng.choice(["a", "b"], 100)})
    return reference, current


def test_empty_current_batch_is_not_enough_data_and_no_decision():
    reference, current = small_tables()
    report = drift.drift_report(reference, current.iloc[:0], {"x": "numeric", "c": "categorical"})
    for name in ("x", "c"):
        column = report["columns"][name]
        assert (column["status"], column["drifted"], column["n_current"]) == ("not_enough_data", None, 0)
        assert column["missing_rate_current"] is None
        assert column["note"] == "0 non-missing values in the current, fewer than min_rows = 30"
    assert report["drifted"] is None
    assert report["reason"] == "cannot decide: no column could be tested (see each column's reason)"
    assert report["undecided_columns"] == {"x": "not_enough_data", "c": "not_enough_data"}


def test_column_missing_on_one_side():
    reference, current = small_tables()
    report = drift.drift_report(
        reference.drop(columns="x"), current.drop(columns="c"), {"x": "numeric", "c": "categorical"}
    )
    assert report["columns"]["x"]["status"] == "missing_in_reference"
    assert report["columns"]["c"]["status"] == "missing_in_current"
    assert report["columns"]["c"]["reason"] == "not tested (missing in current): absent from the current table"
    assert report["drifted"] is None and report["n_columns_decided"] == 0


def test_all_nan_column_is_not_enough_data_for_both_kinds():
    for kind, values in (("numeric", [np.nan] * 100), ("categorical", [None] * 100)):
        result = drift.column_drift(
            pd.Series(["a", "b"] * 50 if kind == "categorical" else np.arange(100.0)),
            pd.Series(values, dtype=object if kind == "categorical" else float),
            kind=kind,
        )
        assert (result["status"], result["n_current"], result["missing_rate_current"]) == ("not_enough_data", 0, 1.0)


def test_category_only_in_current_is_counted_as_unseen():
    reference = pd.Series(["a"] * 60 + ["b"] * 40)
    current = pd.Series(["a"] * 50 + ["b"] * 30 + ["new"] * 15 + [None] * 5)
    result = drift.column_drift(reference, current, kind="categorical")
    assert result["status"] == "tested" and result["n_categories"] == 4  # a, b, new, missing
    assert result["unseen_rate"] == 0.15
    assert (result["missing_rate_reference"], result["missing_rate_current"]) == (0.0, 0.05)
    counts = jensenshannon([0, 60, 40, 0], [5, 50, 30, 15], base=2)
    assert math.isclose(result["jensen_shannon"], counts, rel_tol=1e-12)


def test_category_dtypes_with_different_categories_align_by_label():
    reference = pd.Series(pd.Categorical(["a", "b"] * 50, categories=["b", "a", "unused"]))
    current = pd.Series(pd.Categorical(["a"] * 70 + ["z"] * 30, categories=["z", "a"]))
    ref_counts, cur_counts, labels = drift.category_counts(reference, current)
    assert list(labels) == [None, "b", "a", "unused", "z"]
    assert list(ref_counts) == [0, 50, 50, 0, 0] and list(cur_counts) == [0, 0, 70, 0, 30]


@pytest.mark.parametrize(
    ("kind", "reference", "current", "drifted", "reason"),
    [
        ("numeric", [3.0] * 50, [3.0] * 40, False, "no drift: the single value 3.0 on both sides"),
        ("numeric", [3.0] * 50, [4.0] * 40, True, "drifted: the single value changed from 3.0 to 4.0"),
        ("categorical", ["a"] * 50, ["a"] * 40, False, "no drift: the single value 'a' on both sides"),
        ("categorical", ["a"] * 50, ["b"] * 40, True, "drifted: the single value changed from 'a' to 'b'"),
    ],
    ids=["numeric-same", "numeric-changed", "categorical-same", "categorical-changed"],
)
def test_constant_columns_are_decided_without_a_test(kind, reference, current, drifted, reason):
    report = drift.drift_report(pd.DataFrame({"v": reference}), pd.DataFrame({"v": current}), {"v": kind})
    column = report["columns"]["v"]
    assert (column["status"], column["p_value"], column["drifted"], column["reason"]) == (
        "constant",
        None,
        drifted,
        reason,
    )
    assert report["n_columns_tested"] == 0 and report["n_columns_decided"] == 1


def test_constant_reference_with_varying_current_is_tested_with_pooled_sd():
    result = drift.column_drift(pd.Series([0.0] * 40), pd.Series([0.0, 1.0] * 20), kind="numeric")
    assert (result["status"], result["normalizer"], result["statistic"], result["wasserstein"]) == (
        "tested",
        "pooled_sd",
        0.5,
        0.5,
    )
    assert math.isclose(result["effect_size"], 0.5 / np.std([0.0] * 40 + [0.0, 1.0] * 20), rel_tol=1e-12)


def test_too_few_rows_missing_values_and_infinities():
    reference = pd.Series([1.0, 2.0, np.nan, np.inf] * 25)  # 50 finite of 100
    current = pd.Series([1.0, np.nan, np.nan, -np.inf] * 25)  # 25 finite of 100
    result = drift.column_drift(reference, current, kind="numeric")
    assert (result["status"], result["n_reference"], result["n_current"]) == ("not_enough_data", 50, 25)
    assert (result["missing_rate_reference"], result["missing_rate_current"]) == (0.5, 0.75)
    assert result["note"] == "25 non-missing values in the current, fewer than min_rows = 30"
    assert drift.column_drift(reference, current, kind="numeric", min_rows=20)["status"] == "tested"


def test_missing_share_of_a_numeric_column_is_tested():
    """0% -> 51% missing, the values alike: drift, as the same change drifts a categorical column."""
    rng = np.random.default_rng(RNG_SEED)
    reference = pd.DataFrame({"x": rng.normal(size=2000)})
    current = pd.DataFrame({"x": np.r_[rng.normal(size=980), [np.nan] * 1020]})
    column = drift.drift_report(reference, current, {"x": "numeric"})["columns"]["x"]
    assert column["drifted"] is True
    assert "the missing share moved from 0.0% to 51.0%, Jensen-Shannon distance 0.5" in column["reason"]
    assert column["missing_p_value"] < 1e-100 and column["missing_effect_size"] > 0.5
    # One p-value per column for Benjamini-Hochberg: the two tests' smaller one, Bonferroni-corrected.
    assert column["p_value"] == min(1.0, 2 * min(column["values_p_value"], column["missing_p_value"]))


def test_missing_rate_change_is_reported_in_the_reason():
    rng = np.random.default_rng(RNG_SEED)
    reference = pd.DataFrame({"x": rng.normal(size=1000)})
    # 0% -> 20% of 1000 rows is significant (p ~ 1e-50) and large (Jensen-Shannon 0.33): drift since issue 17.
    current = pd.DataFrame({"x": np.r_[rng.normal(size=800), [np.nan] * 200]})
    reason = drift.drift_report(reference, current, {"x": "numeric"})["columns"]["x"]["reason"]
    assert reason.startswith("drifted: ") and "the missing share moved from 0.0% to 20.0%" in reason
    # 10% -> 12% is neither: no drift, and the change is still written in the reason.
    reference = pd.DataFrame({"x": np.r_[rng.normal(size=900), [np.nan] * 100]})
    current = pd.DataFrame({"x": np.r_[rng.normal(size=880), [np.nan] * 120]})
    reason = drift.drift_report(reference, current, {"x": "numeric"})["columns"]["x"]["reason"]
    assert reason.startswith("no drift: not significant") and reason.endswith("; missing rate 10.0% -> 12.0%")


def test_a_part_drifts_only_when_its_own_test_is_significant():
    """The column is significant through its missing share, whose change is small; its values moved a lot but
    their own test is not significant: no drift. (Significant: Bonferroni p <= the BH cutoff, here 0.002.)"""
    column = {
        **drift._empty_result("numeric", pd.Series(range(100)), pd.Series(range(100))),
        "status": "tested",
        "test": "ks",
        "p_method": "exact",
        "values_p_value": 0.2,
        "effect_size": 0.5,
        "missing_p_value": 0.001,
        "missing_effect_size": 0.02,
        "missing_rate_reference": 0.1,
        "missing_rate_current": 0.15,
        "p_value": 0.002,
    }
    columns = {"x": column}
    drift._decide_columns(columns, drift.ALPHA, drift.EFFECT_THRESHOLDS)
    assert columns["x"]["adjusted_p_value"] == 0.002 and columns["x"]["drifted"] is False
    assert columns["x"]["reason"].startswith("no drift: significant (KS and missing-share chi-square")
    assert "normalized Wasserstein distance 0.5 > 0.1 (not significant alone)" in columns["x"]["reason"]
    column["values_p_value"] = 0.0005  # now both parts are significant: the values' large change drifts
    drift._decide_columns(columns, drift.ALPHA, drift.EFFECT_THRESHOLDS)
    assert columns["x"]["drifted"] is True


def test_non_numbers_in_a_numeric_column():
    result = drift.column_drift(pd.Series(["a"] * 50), pd.Series(["b"] * 50), kind="numeric")
    assert result["status"] == "not_numeric"


def test_inputs_are_not_modified():
    values = np.random.default_rng(RNG_SEED).normal(size=500)
    reference = pd.Series(values.copy())
    drift.column_drift(reference, pd.Series(values[::-1].copy()), kind="numeric")
    assert np.array_equal(reference.to_numpy(), values)


# --- the dataset rule ------------------------------------------------------------------------------------


def test_dataset_rule_share_and_critical_columns():
    rng = np.random.default_rng(RNG_SEED)
    reference = pd.DataFrame({name: rng.normal(size=3000) for name in "abcd"})
    current = pd.DataFrame({"a": rng.normal(1, size=3000)} | {name: rng.normal(size=3000) for name in "bcd"})
    kinds = dict.fromkeys("abcd", "numeric")
    report = drift.drift_report(reference, current, kinds)
    assert (report["drifted"], report["share_drifted"], report["drifted_columns"]) == (False, 0.25, ["a"])
    assert drift.drift_report(reference, current, kinds, share=0.25)["drifted"] is True
    critical = drift.drift_report(reference, current, kinds, critical=["a"])
    assert (critical["drifted"], critical["reason"]) == (True, "drifted: critical column(s) a drifted")
    undecided = drift.drift_report(reference, current.drop(columns="b"), kinds, critical=["b"])
    assert (undecided["drifted"], undecided["reason"]) == (None, "cannot decide: critical column(s) b untested")
    with pytest.raises(ValueError, match=r"critical columns \['z'\]"):
        drift.drift_report(reference, current, kinds, critical=["z"])


def test_significant_but_small_shift_is_not_drift_and_says_why():
    rng = np.random.default_rng(RNG_SEED)
    report = drift.drift_report(
        pd.DataFrame({"x": rng.normal(size=400_000)}),
        pd.DataFrame({"x": rng.normal(0.03, size=400_000)}),
        {"x": "numeric"},
    )
    column = report["columns"]["x"]
    assert column["drifted"] is False
    assert column["reason"].startswith("no drift: significant (KS adjusted p = ")
    assert "but small (normalized Wasserstein distance 0.0" in column["reason"]


def test_rule_explanation_names_the_thresholds():
    text = drift.explain_rule(0.01, {"numeric": 0.2, "categorical": 0.05}, 0.3, ["dest"])
    for part in (
        "below 0.01",
        "more than 0.2 standard deviations",
        "more than 0.05 for categories",
        "at least 30% of the decided columns",
        "critical columns (dest)",
    ):
        assert part in text


def test_report_is_plain_json():
    reference, current = small_tables()
    report = drift.drift_report(reference, current, {"x": "numeric", "c": "categorical", "gone": "numeric"})
    assert json.loads(json.dumps(report, allow_nan=False)) == report


def test_columns_expected_to_shift_are_shown_but_left_out_of_the_share():
    rng = np.random.default_rng(0)
    reference = pd.DataFrame({"month": rng.integers(1, 7, 3000), "x": rng.normal(size=3000)})
    current = pd.DataFrame({"month": np.full(500, 7), "x": rng.normal(size=500)})  # a month never seen: drifts
    kinds = {"month": "categorical", "x": "numeric"}
    plain = drift.drift_report(reference, current, kinds, share=0.5)
    assert plain["drifted"] and plain["drifted_columns"] == ["month"]
    report = drift.drift_report(reference, current, kinds, share=0.5, expected=["month"])
    assert report["columns"]["month"]["drifted"] and report["columns"]["month"]["expected"]
    assert report["drifted"] is False and report["n_columns_decided"] == 1 and report["expected_columns"] == ["month"]
