"""The statistics of data drift, used by the `drift` stage.

Is the current batch drawn from the same distribution as the reference?

Pure functions on pandas objects, no files: the stage that reads the tables and writes the report calls
`drift_report`. Why it is built this way:

* A p-value alone is not a drift decision. With a million rows every test rejects a shift of 0.01 standard
  deviations that no model notices; with a hundred rows a real shift goes unseen. So a column drifts only
  when the test is significant *and* an effect size that does not grow with n is large enough. The test
  keeps sampling noise out (small n), the effect size keeps trivial differences out (large n).
* Many columns are tested at once, so p-values are adjusted with Benjamini-Hochberg (false discovery rate
  `alpha` across the tested columns) before the comparison with `alpha`.
* Numeric columns: two-sample Kolmogorov-Smirnov (exact statistic; p-value from scipy's distributions), the
  normalized Wasserstein-1 distance (primary effect size) and PSI. Categorical columns: Pearson's chi-square
  on the 2 x k table of counts (primary effect size: Jensen-Shannon distance, base 2), and PSI.
* Where the textbook p-values are wrong, they are simulated. scipy's KS distributions assume no ties: on
  tied data they are conservative (1.2% false alarms at alpha 5% for Poisson(3), 1% for a column of 70%
  zeros), so such columns lose power. The chi-square distribution fails when categories are expected fewer
  than 5 times (a sprinkle of rare labels makes p too small), and pooling those categories instead hides a
  batch whose labels are all new. In both cases the p-value is that of the permutation test (shuffle the
  rows between the sides), estimated from MC_DRAWS tables drawn under "no drift" with the observed totals
  per value or category, as R's `chisq.test(simulate.p.value = TRUE)` does. Both statistics depend only on
  the counts per value, so a draw costs k hypergeometric numbers, not n rows (KS: at most KS_CELLS).
  Below the simulation's floor 1 / (MC_DRAWS + 1), a p-value valid without simulation is kept.
* Missing values: a category of their own for categorical columns. For a numeric column with missing values
  their share is tested as well (chi-square on missing / present, Jensen-Shannon distance as its effect, the
  categorical threshold), so 0% -> 51% missing drifts here as it does there. The column keeps one p-value
  for Benjamini-Hochberg, the two tests' smaller one with Bonferroni's correction; the column drifts when a
  part whose own test is significant changed by more than its threshold (`_decide_columns`).
* Magnitudes: a numeric column beyond 1e100 (or below 1e-100) is scaled by a power of two, which is exact,
  so sums of squares neither overflow nor underflow (`_rescale`).
* Speed: each numeric side is sorted once. A stable argsort of the two sorted runs is a linear merge
  (timsort finds the runs), measured faster than `searchsorted` of one side into the other; the running count
  of current rows along the merge gives both ECDFs at every merged value, hence KS and W1 in a few
  vectorized passes. PSI bin counts come from `searchsorted` of the bin edges into the sorted sides.
  Categorical columns are counted with `np.bincount` on codes (pandas' own codes for `category` columns,
  `pd.factorize` per side otherwise), then only the k-long count vectors are aligned.
* Every column gets an outcome, never a crash and never a silent "no drift": `status` is one of STATUSES.

Default thresholds (the stage reads its own from `params.yaml`; the tests and benchmarks use these):

* `alpha = 0.05`: the false discovery rate of the tests across columns.
* numeric `0.1`: W1 / sd of the reference, i.e. a tenth of a standard deviation. For a location shift W1 / sd
  is the shift in sd units, so the threshold reads "the distribution moved by more than 0.1 sd" (Evidently
  uses the same default). It flags a +0.15 sd mean shift, lognormal(sigma=0.5) x1.08 (W1/sd = 0.150) and
  Poisson 3 -> 3.3 (0.173) from 10k rows on, and never shifts of 0.005-0.02 sd, even at 1M rows. Note:
  a lognormal with sigma=1 scaled by 1.08 has W1/sd = 0.061 and is deliberately *not* flagged.
  The normalizer is the reference's sd, not the IQR: the IQR is 0 for zero-inflated or low-count columns
  (rain, counts) where the sd is not. When the reference sd is 0 (a constant reference) the IQR is 0 too,
  so we use the sd of both sides pooled, which is > 0 whenever the current batch differs.
* categorical `0.04`: Jensen-Shannon distance. A normal shift of d sd has JS distance ~ d / 2.35, so 0.04 is
  about the same tenth of a sd. Moving 6 points of probability mass between categories gives JS >= 0.05
  (the minimum is for two categories of 50% each; between categories of 30% and 25%, 0.069).
* `share = 0.5`: the dataset drifts when at least half of the decided columns drift (Evidently's default),
  or when any column listed as critical drifts.
* `min_rows = 30` non-missing values per side; `bins = 10` reference-quantile bins for numeric PSI.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial.distance import jensenshannon

Kind = Literal["numeric", "categorical"]

ALPHA = 0.05
EFFECT_THRESHOLDS = {"numeric": 0.1, "categorical": 0.04}
SHARE = 0.5
MIN_ROWS = 30
BINS = 10

# PSI is infinite for a bin empty on one side; empty shares are raised to this (Evidently's value), which
# caps one bin's contribution at about |share| * 9.
PSI_EPSILON = 1e-4
# Cochran's rule: with a category expected fewer than 5 times on a side, the chi-square distribution is no
# longer trusted and the p-value is simulated (see MC_DRAWS).
RARE_EXPECTED = 5.0
# Monte Carlo p-values. 2,000 draws is R's default for `chisq.test`: the p-value's standard error near alpha
# is 0.5 point, and a draw of k counts costs about 0.15 us per count.
MC_DRAWS = 2000
# Sequential Monte Carlo (Besag and Clifford, 1991): the draws stop at the MC_EXCEEDANCES-th one at least as
# extreme as the observed table, and p = MC_EXCEEDANCES / draws so far; a p-value near alpha then takes about
# 1,000 draws and a column without drift (p ~ 0.5) about 100, with the same guarantee P(p <= a) <= a. Drawn
# MC_CHUNK at a time. 50 exceedances give p within about 14% of its value, as 2,000 fixed draws do at 0.05.
MC_EXCEEDANCES = 50
MC_CHUNK = 100
# The draws are seeded, so the same tables give the same report, byte for byte.
MC_SEED = 20130101
# Statistics within this relative gap of the observed one count as ties (as extreme): equal tables
# summed in another order must not turn a tie into "less extreme".
MC_TIE = 1e-9
# A simulated chi-square table has at most this many categories, so 2,000 draws cost at most 0.15 s. Over
# more categories the asymptotic p-value is kept: no few rare cells dominate a sum of hundreds (measured at
# most 3.5% false alarms at alpha 5% with 600-2,000 sparse labels: valid, if a little conservative).
MC_MAX_VALUES = 500
# KS on more distinct values is simulated on this many cells of consecutive values (`_cells`): scipy's
# distribution is conservative whenever values are tied, even many distinct ones (false alarms at alpha 5%:
# 0.95% with 70% zeros, 4.4% at 680 equally spread values). KS at 100 points, a percent of the rows apart,
# loses next to no power, and 2,000 draws cost 0.03 s.
KS_CELLS = 100
# Sums of squares of values beyond these magnitudes over- or underflow (1e154^2 = inf, 1e-160^2 = 0).
SAFE_MAGNITUDES = (1e-100, 1e100)
# Below this many pairs (about 3,000 rows a side) scipy's exact KS distribution costs milliseconds and
# matters (the asymptotic one is anti-conservative for small samples); above it we use the asymptotic one.
EXACT_MAX_PAIRS = 10_000_000
# Above this effective size, the far tail of the KS p-value is approximated (see ks_p_value).
TAIL_EXACT_N = 1000
# A change of the missing rate at least this large is written into the column's reason.
MISSING_NOTE = 0.01

STATUSES = {
    "tested": "tested: KS or chi-square ran (`p_method` says how its p-value was computed); `drifted` follows the rule",
    "constant": "one single value on both sides: drifted if and only if the value changed, no test needed",
    "not_enough_data": "fewer than `min_rows` non-missing values on a side: not tested, no decision",
    "missing_in_reference": "the column is absent from the reference table: no decision",
    "missing_in_current": "the column is absent from the current table: no decision",
    "not_numeric": "declared numeric but its values are not numbers: no decision",
}
PRIMARY_EFFECT = {"numeric": "wasserstein_normalized", "categorical": "jensen_shannon"}
EFFECT_WORDS = {"numeric": "normalized Wasserstein distance", "categorical": "Jensen-Shannon distance"}


def column_drift(
    reference: pd.Series | None, current: pd.Series | None, *, kind: Kind, min_rows: int = MIN_ROWS, bins: int = BINS
) -> dict:
    """Test and measure one column; the drift decision is `drift_report`'s, which sees all columns.

    Args:
        reference: The column in the reference table, or None when the table lacks it.
        current: The column in the current table, or None when the table lacks it.
        kind: "numeric" (KS, Wasserstein, PSI) or "categorical" (chi-square, Jensen-Shannon, PSI).
        min_rows: Fewest non-missing values a side needs for the column to be tested.
        bins: Reference-quantile bins for the PSI of a numeric column.

    Returns:
        Plain JSON values, None where not applicable: `kind`, `status` (a key of STATUSES), `note` (words,
        for statuses other than "tested"), `test` ("ks" | "chi2"), `p_method` (how the test's p-value was
        computed: "exact" | "asymptotic" | "monte_carlo"), `statistic`, `p_value` (the column's, the one
        Benjamini-Hochberg adjusts), `values_p_value` (the test's), `effect_size` (the kind's primary one),
        `wasserstein` (None beyond the largest float), `wasserstein_normalized`, `normalizer`
        ("reference_sd" | "pooled_sd"), `jensen_shannon`, `psi`, `missing_p_value` and
        `missing_effect_size` (numeric columns with missing values: chi-square p-value and the
        Jensen-Shannon distance of the missing / present shares; then `p_value` = min(1, 2 min(values_p_value,
        missing_p_value))), `rows_reference`, `rows_current`, `n_reference`, `n_current` (non-missing
        values), `missing_rate_reference`, `missing_rate_current`, `unseen_rate` (share of current rows whose
        category the reference never had), `n_categories`.
    """
    if kind not in PRIMARY_EFFECT:
        raise ValueError(f"kind must be 'numeric' or 'categorical', got {kind!r}")
    result = _empty_result(kind, reference, current)
    if reference is None or current is None:
        where = "reference" if reference is None else "current"
        both = " and the current" if reference is None and current is None else ""
        return {**result, "status": f"missing_in_{where}", "note": f"absent from the {where}{both} table"}
    if kind == "numeric":
        return _numeric(reference, current, result=result, min_rows=min_rows, bins=bins)
    return _categorical(reference, current, result, min_rows)


def drift_report(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    kinds: dict[str, Kind],
    *,
    alpha: float = ALPHA,
    effect_thresholds: dict[str, float] | None = None,
    share: float = SHARE,
    critical: list[str] | tuple[str, ...] = (),
    min_rows: int = MIN_ROWS,
    bins: int = BINS,
    expected: list[str] | tuple[str, ...] = (),
) -> dict:
    """Decide, per column and for the dataset, whether `current` drifted from `reference`.

    Args:
        reference: The table the model learned from.
        current: The new batch.
        kinds: Column name -> "numeric" | "categorical"; only these columns are examined.
        alpha: False discovery rate: Benjamini-Hochberg-adjusted p-values below it are significant.
        effect_thresholds: Kind -> the primary effect size a drifting column must exceed
            (default EFFECT_THRESHOLDS).
        share: The dataset drifts when at least this share of the decided columns drift...
        critical: ...or when any of these columns drifts.
        min_rows: Fewest non-missing values per side for a column to be tested.
        bins: Reference-quantile bins for numeric PSI.
        expected: Columns expected to shift with time (derived from the timestamp: a new period brings
            new months or weekdays by construction). Tested and shown like the others, marked `expected`,
            and left out of the dataset's share, which would otherwise always count them as drifted.

    Returns:
        `columns`: name -> `column_drift`'s dict plus `adjusted_p_value`, `drifted` (True | False | None =
        no decision), `expected` and `reason` (words). Dataset level: `drifted` (None when it cannot be decided: no
        column was decided, or a critical column was not), `reason`, `share_drifted` (of the decided
        columns), `n_columns`, `n_columns_tested` (ran a test), `n_columns_decided` (tested or constant),
        `n_columns_drifted`, `drifted_columns`, `undecided_columns` (name -> status), `rule` (the
        rule in words) and `settings`.

    Raises:
        ValueError: A kind, a threshold or a critical column is unknown (configuration mistakes).
    """
    thresholds = _checked_thresholds(effect_thresholds, critical, kinds)
    columns = {
        name: column_drift(reference.get(name), current.get(name), kind=kind, min_rows=min_rows, bins=bins)
        for name, kind in kinds.items()
    }
    _decide_columns(columns, alpha, thresholds)
    for name, column in columns.items():
        column["expected"] = name in expected
    dataset = _decide_dataset(columns, share, list(critical))
    settings = {
        "alpha": alpha,
        "effect_thresholds": thresholds,
        "share": share,
        "critical": list(critical),
        "min_rows": min_rows,
        "bins": bins,
    }
    return {
        **dataset,
        "columns": columns,
        "rule": explain_rule(alpha, thresholds, share, list(critical)),
        "settings": settings,
    }


def _checked_thresholds(effect_thresholds: dict[str, float] | None, critical, kinds: dict[str, Kind]) -> dict:
    """The effect thresholds to apply, after refusing settings that name an unknown kind or column."""
    thresholds = dict(EFFECT_THRESHOLDS if effect_thresholds is None else effect_thresholds)
    missing = sorted(set(PRIMARY_EFFECT) - set(thresholds))
    if missing:
        raise ValueError(f"effect_thresholds lacks {missing}")
    unknown = sorted(set(critical) - set(kinds))
    if unknown:
        raise ValueError(f"critical columns {unknown} are not among the examined columns")
    return thresholds


def explain_rule(
    alpha: float = ALPHA,
    effect_thresholds: dict[str, float] | None = None,
    share: float = SHARE,
    critical: list[str] | tuple[str, ...] = (),
) -> str:
    """The decision rule in plain words, thresholds filled in, for the report."""
    thresholds = EFFECT_THRESHOLDS if effect_thresholds is None else effect_thresholds
    critical_words = f", or when any of the critical columns ({', '.join(critical)}) drifts" if critical else ""
    return (
        "Each column is compared between the reference data and the current batch with a statistical test "
        "(Kolmogorov-Smirnov for numbers, chi-square for categories; for numbers with few distinct values "
        "and for rare categories, where the textbook p-values are wrong, the p-value is found by simulating "
        "batches without drift). Missing values count as a category; for numbers, the share of missing "
        "values is tested too, and the column keeps the smaller of the two p-values, doubled (Bonferroni). "
        f"Because many columns are tested at once, the p-values are adjusted (Benjamini-Hochberg) so that "
        f"at most {alpha:.0%} of the columns flagged are expected to be false alarms. A significant test is "
        "not enough: with many rows, tiny harmless differences are significant too. So a column drifts only "
        f"if its adjusted p-value is below {alpha:g} and the size of a change whose own test is significant "
        "is above a threshold that does not depend on the number of rows: a Wasserstein distance of more "
        f"than {thresholds['numeric']:g} standard deviations of the reference for numbers (how far values "
        f"moved, on average), a Jensen-Shannon distance of more than {thresholds['categorical']:g} for "
        "categories and for the share of missing numbers (0 = same shares, 1 = no category in common). A "
        "column with one single value on both sides drifts if that value changed. Columns with too few "
        "values, or absent from one table, get no decision and are listed. The dataset drifts when at "
        f"least {share:.0%} of the decided columns drift{critical_words}."
    )


# --- numeric -------------------------------------------------------------------------------------------


def _numeric(reference: pd.Series, current: pd.Series, *, result: dict, min_rows: int, bins: int) -> dict:
    """KS, Wasserstein and PSI of one numeric column, or the reason it was not tested."""
    try:
        ref, ref_missing = _sorted_finite(reference)
        cur, cur_missing = _sorted_finite(current)
    except (TypeError, ValueError) as exc:
        return {**result, "status": "not_numeric", "note": f"values are not numbers ({exc})"}
    result |= _counts(result, n_ref=len(ref), ref_missing=ref_missing, n_cur=len(cur), cur_missing=cur_missing)
    short = _too_few(len(ref), len(cur), min_rows)
    if short:
        return {**result, "status": "not_enough_data", "note": short}
    constant = ref[0] == ref[-1] and cur[0] == cur[-1]
    note = _constant_note(ref[0], cur[0]) if constant else None  # before `_rescale`: the values as they are
    if constant and ref[0] == cur[0]:
        return {
            **result,
            "status": "constant",
            "note": note,
            "statistic": 0.0,
            "effect_size": 0.0,
            "wasserstein": 0.0,
            "wasserstein_normalized": 0.0,
            "psi": 0.0,
        }
    exponent = _rescale(ref, cur)
    table = _tied_table(ref, cur)
    statistic, w1 = _ks_wasserstein(ref, cur, table)
    normalizer, spread = _spread(ref, cur)
    effects = {
        "statistic": statistic,
        "effect_size": w1 / spread,
        "wasserstein": _times_power_of_two(w1, exponent),
        "wasserstein_normalized": w1 / spread,
        "normalizer": normalizer,
        "psi": psi(*_quantile_bin_counts(ref, cur, bins)),
    }
    if constant:  # a single value that changed: drift without a test (KS = 1, effect sizes finite)
        return {**result, **effects, "status": "constant", "note": note}
    p_value, p_method = _ks_p_value(statistic, ref, cur, table)
    tested = {**result, **effects, "status": "tested", "test": "ks", "p_method": p_method}
    return tested | _with_missing_share(
        p_value, n_ref=len(ref), ref_missing=ref_missing, n_cur=len(cur), cur_missing=cur_missing
    )


def _sorted_finite(series: pd.Series) -> tuple[np.ndarray, int]:
    """The finite values sorted, and how many values were missing (NaN, None, NA or +-inf).

    Sorting first puts -inf first and +inf, NaN last, so the finite values are one contiguous slice found by
    two binary searches: the missing values cost no extra pass. Infinities count as missing because they
    would make every Wasserstein distance infinite.
    """
    values = series.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)  # our own copy: sort in place
    values.sort()
    start = np.searchsorted(values, -np.inf, side="right")
    stop = np.searchsorted(values, np.inf, side="left")
    return values[start:stop], len(values) - (stop - start)


def _rescale(ref: np.ndarray, cur: np.ndarray) -> int:
    """Scale both sorted sides in place by 2^-e when their magnitude is unsafe; return e (0 when not scaled).

    Beyond SAFE_MAGNITUDES the sd's sum of squares overflows (W1 / inf read 0 at 1e154, Python's float
    raised OverflowError at 1e160) or underflows. A power of two changes only the exponent of each value, so
    the order (KS, PSI bins) and every ratio (W1 / sd) stay exactly as they were; only W1 is scaled back.
    (Values more than 1e300 times smaller than the largest would underflow to 0, which no statistic feels.)
    The largest magnitude is at an end of a sorted side, so ordinary columns pay four comparisons.
    """
    largest = max(abs(ref[0]), abs(ref[-1]), abs(cur[0]), abs(cur[-1]))
    if SAFE_MAGNITUDES[0] <= largest <= SAFE_MAGNITUDES[1]:
        return 0
    exponent = int(np.frexp(largest)[1])  # largest x 2^-exponent is in [0.5, 1)
    for side in (ref, cur):
        np.ldexp(side, -exponent, out=side)
    return exponent


def _times_power_of_two(value: float, exponent: int) -> float | None:
    """The value times 2^exponent, or None beyond the largest float: the report is JSON, which has no inf."""
    try:
        return math.ldexp(value, exponent)
    except OverflowError:
        return None


def ks_wasserstein(ref: np.ndarray, cur: np.ndarray) -> tuple[float, float]:
    """Exact two-sample KS statistic and Wasserstein-1 distance from the two sorted samples.

    Both come from the ECDF difference F_ref - F_cur along the merged values: KS is its largest absolute
    value at the end of each run of equal values, W1 its absolute value integrated over the gaps between
    merged values.

    Args:
        ref: Sorted reference values (finite, non-empty).
        cur: Sorted current values (finite, non-empty).

    Returns:
        (sup |F_ref - F_cur|, integral |F_ref - F_cur| dx), equal to scipy's `ks_2samp(...).statistic` and
        `wasserstein_distance` up to rounding.
    """
    return _ks_wasserstein(ref, cur, _tied_table(ref, cur))


def _tied_table(ref: np.ndarray, cur: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """When either side is mostly tied: the distinct values of both sides, and each side's rows per value.

    Counts, rounded or zero-inflated data have few distinct values, or a heavy one: merging the runs of
    equal values, weighted by their lengths, is cheaper than merging every value. KS and W1 need only these
    counts, and so does the permutation test of KS (`_ks_p_value`).
    """
    if not (_mostly_tied(ref) or _mostly_tied(cur)):
        return None
    (ref_values, ref_weights), (cur_values, cur_weights) = _runs(ref), _runs(cur)
    merged, order, _ = _merge(ref_values, cur_values)
    weights = np.concatenate((ref_weights, cur_weights))[order]
    starts = np.flatnonzero(np.concatenate(([True], merged[1:] != merged[:-1])))
    ref_counts = np.add.reduceat(np.where(order < len(ref_values), weights, 0), starts)
    return merged[starts], ref_counts, np.add.reduceat(weights, starts) - ref_counts


def _ks_wasserstein(ref: np.ndarray, cur: np.ndarray, table: tuple | None) -> tuple[float, float]:
    """`ks_wasserstein`, given `_tied_table(ref, cur)` (computed once: the KS p-value uses it too)."""
    n_ref, n_cur = len(ref), len(cur)
    if table is not None:  # every distinct value ends a run: all gaps below are > 0
        merged, ref_counts, cur_counts = table
        scaled = np.cumsum(ref_counts * (n_cur / n_ref) - cur_counts)
        spare = np.empty_like(merged)
    else:
        merged, order, spare = _merge(ref, cur)
        scaled = _scaled_difference(order >= n_ref, n_ref=n_ref, n_cur=n_cur, counts=spare, out=order.view(np.float64))
    # scaled = n_cur (F_ref - F_cur) after each merged value; the last is 0 (both ECDFs reached 1).
    scaled = np.abs(scaled, out=scaled)[:-1]
    gaps = np.subtract(merged[1:], merged[:-1], out=spare[:-1])
    # Inside a run of ties the running difference is not an ECDF value; only run ends (gap > 0) count. The
    # unrestricted maximum is the answer when it sits at a run end, as it always does without ties.
    top = int(np.argmax(scaled))
    largest = scaled[top] if gaps[top] > 0 else np.max(scaled, where=gaps > 0, initial=0)
    # In place and summed pairwise rather than `np.dot`: BLAS threads stall on a busy machine (ms per call).
    w1 = float(np.multiply(scaled, gaps, out=scaled).sum()) / n_cur
    return float(largest) / n_cur, w1


def _merge(ref: np.ndarray, cur: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The merged sorted values, the index each came from (< len(ref): the reference), and a free buffer.

    A stable argsort of two sorted runs is a linear-time merge (timsort finds the runs); measured faster than
    `searchsorted` of one side into the other. Being stable, it puts the reference first among equal values.
    The concatenation it sorted is returned as the free buffer: reusing memory is cheaper than fresh arrays,
    whose page faults cost as much as the arithmetic done in them.
    """
    both = np.concatenate((ref, cur))
    order = np.argsort(both, kind="stable")
    return both[order], order, both


def _scaled_difference(
    from_cur: np.ndarray, *, n_ref: int, n_cur: int, counts: np.ndarray, out: np.ndarray
) -> np.ndarray:
    """n_cur (F_ref - F_cur) after each merged value, from which side each merged value came.

    With r and c the reference and current values seen so far it is r n_cur / n_ref - c. The counts
    accumulate in int32 (several times faster than int64 or float64) inside `counts`, a free float64 buffer of
    the same length; the result goes to `out`. Both buffers are overwritten.
    """
    total = len(from_cur)
    halves = counts.view(np.int32)
    seen_cur = np.cumsum(from_cur.view(np.int8), dtype=np.int32, out=halves[:total])
    seen_ref = np.cumsum(np.logical_not(from_cur, out=from_cur).view(np.int8), dtype=np.int32, out=halves[total:])
    scaled = np.multiply(seen_ref, n_cur / n_ref, out=out)
    scaled -= seen_cur
    return scaled


def _mostly_tied(values: np.ndarray) -> bool:
    """Whether most of the sorted values sit in long runs of ties, judged on about 4,000 evenly spaced ones."""
    sample = values[:: max(1, len(values) // 4096)]
    return len(sample) > 1 and np.count_nonzero(sample[1:] == sample[:-1]) > len(sample) // 2


def _runs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of a sorted array and how many times each occurs."""
    last = np.append(np.flatnonzero(values[1:] != values[:-1]), len(values) - 1)
    return values[last], np.diff(last, prepend=-1)


def ks_p_value(
    statistic: float, n_ref: int, n_cur: int, *, ref: np.ndarray | None = None, cur: np.ndarray | None = None
) -> float:
    """Two-sided p-value of the two-sample KS statistic, as scipy's `ks_2samp` computes it, but fast.

    Small samples, when given, get scipy's exact two-sample distribution (cheap there, and more accurate).
    Otherwise it is scipy's asymptotic method: the one-sample distribution `kstwo` at the effective size
    n = n_ref n_cur / (n_ref + n_cur). In its tail (n D^2 >= 2.2, p below about 0.025) scipy evaluates an
    exact sum of n terms, 0.7 s per call at a million rows a side; there, for n > TAIL_EXACT_N, we use the
    Maag-Dicaire approximation 2 exp(-(6 n D + 1)^2 / (18 n)) instead, within 1% of scipy's value for
    p >= 1e-4 (and for p >= 1e-9 from n = 5,000): far below any threshold a decision uses.
    """
    if ref is not None and cur is not None and n_ref * n_cur <= EXACT_MAX_PAIRS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # scipy falls back to asymp itself, as below
            return float(stats.ks_2samp(ref, cur, method="exact").pvalue)
    large, small = max(n_ref, n_cur), min(n_ref, n_cur)
    n = float(np.round(large * small / (large + small)))
    if n > TAIL_EXACT_N and n * statistic**2 >= 2.2:
        return float(min(1.0, 2 * np.exp(-((6 * n * statistic + 1) ** 2) / (18 * n))))
    return float(np.clip(stats.kstwo.sf(statistic, n), 0.0, 1.0))


def _ks_p_value(statistic: float, ref: np.ndarray, cur: np.ndarray, table: tuple | None) -> tuple[float, str]:
    """The KS p-value and how it was computed: scipy's distributions, or the permutation test's for tied data.

    scipy's distributions assume no ties; with ties the permutation distribution of KS is stochastically
    smaller (ties hide steps of the ECDFs), so their p-value is an upper bound of the right one. It is kept
    when it is below the Monte Carlo's floor 1 / (MC_DRAWS + 1): simulating could only raise it to the floor,
    and with Benjamini-Hochberg over m columns a lone column at the floor misses alpha from m = 100. Tied
    columns with more than KS_CELLS distinct values are simulated on cells (`_cells`).
    """
    n_ref, n_cur = len(ref), len(cur)
    p_value = ks_p_value(statistic, n_ref, n_cur, ref=ref, cur=cur)
    method = "exact" if n_ref * n_cur <= EXACT_MAX_PAIRS else "asymptotic"
    if table is None or p_value < 1 / (MC_DRAWS + 1):
        return p_value, method
    _, ref_counts, cur_counts = table
    ref_counts, totals = _cells(ref_counts, ref_counts + cur_counts)
    return monte_carlo_p_value(_ks_of_counts(totals, n_ref), ref_counts, totals), "monte_carlo"


def _cells(ref_counts: np.ndarray, totals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The counts summed into at most KS_CELLS cells of consecutive values.

    KS evaluated at the cells' ends only is a statistic of its own, within a hair of KS, and its permutation
    test is exact: the cuts depend on the pooled counts only, never on which side a row came from. The cuts
    split the pooled rows evenly, except that a value counts for at most one cell's rows: a value holding
    70% of the rows (zero-inflated data) is one cell, and the other cells share the other 30%.
    """
    if len(totals) <= KS_CELLS:
        return ref_counts, totals
    capped = np.cumsum(np.minimum(totals, totals.sum() / KS_CELLS))
    ends = np.searchsorted(capped, capped[-1] * np.arange(1, KS_CELLS) / KS_CELLS)
    starts = np.unique(np.concatenate(([0], ends + 1)))
    starts = starts[starts < len(totals)]
    return np.add.reduceat(ref_counts, starts), np.add.reduceat(totals, starts)


def _ks_of_counts(totals: np.ndarray, n_ref: int):
    """KS as a function of the reference's counts per distinct value (rows of a matrix), given the totals."""
    n_cur = int(totals.sum()) - n_ref
    cumulative_totals = np.cumsum(totals)

    def statistic(ref_counts: np.ndarray) -> np.ndarray:
        seen_ref = np.cumsum(ref_counts, axis=-1)
        return np.abs(seen_ref / n_ref - (cumulative_totals - seen_ref) / n_cur).max(axis=-1)

    return statistic


def _spread(ref: np.ndarray, cur: np.ndarray) -> tuple[str, float]:
    """The Wasserstein normalizer: the reference sd, or the pooled sd when the reference is constant.

    The pooled sd is > 0 here: a reference and a current batch that are the same constant never get here.
    """
    sd = _sd(ref)
    if sd > 0:
        return "reference_sd", sd
    # Reference constant, current not (both constant is handled before): var of the pooled sample.
    # Pooled variance = within-side variance (the current's only) + between-side variance of the means.
    weight_ref = len(ref) / (len(ref) + len(cur))
    gap = float(cur.mean()) - float(ref[0])
    var = (1 - weight_ref) * float(cur.var()) + weight_ref * (1 - weight_ref) * gap**2
    return "pooled_sd", var**0.5


def _sd(values: np.ndarray) -> float:
    """Population sd (ddof 0) without a temporary array: from sum and sum of squares, unless inaccurate.

    E[x^2] - E[x]^2 loses about (mean / sd)^2 ulps; beyond 10^6 (a mean a thousand sds from 0, say
    timestamps) the two-pass `np.std` is used instead.
    """
    mean = float(values.sum()) / len(values)
    var = max(float(np.einsum("i,i->", values, values)) / len(values) - mean**2, 0.0)  # no BLAS, see above
    if mean**2 > 1e6 * var:
        return float(values.std())
    return var**0.5


def _quantile_bin_counts(ref: np.ndarray, cur: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Counts per bin, bins cut at the reference's quantiles (lower order statistics), both sides sorted.

    Bins are [edge_i, edge_i+1), the outer ones open-ended. Tied quantiles give one edge, so a column with few
    distinct values gets fewer, fuller bins rather than empty ones.
    """
    edges = np.unique(ref[(np.arange(1, bins) * len(ref)) // bins])
    ref_below = np.concatenate(([0], np.searchsorted(ref, edges), [len(ref)]))
    cur_below = np.concatenate(([0], np.searchsorted(cur, edges), [len(cur)]))
    return np.diff(ref_below), np.diff(cur_below)


# --- categorical ---------------------------------------------------------------------------------------


def _categorical(reference: pd.Series, current: pd.Series, result: dict, min_rows: int) -> dict:
    """Chi-square, Jensen-Shannon and PSI of one categorical column, missing values as a category."""
    ref_counts, cur_counts, labels = category_counts(reference, current)
    result |= _counts(
        result,
        n_ref=int(ref_counts[1:].sum()),
        ref_missing=int(ref_counts[0]),
        n_cur=int(cur_counts[1:].sum()),
        cur_missing=int(cur_counts[0]),
    )
    short = _too_few(result["n_reference"], result["n_current"], min_rows)
    if short:
        return {**result, "status": "not_enough_data", "note": short}
    result["unseen_rate"] = float(cur_counts[1:][ref_counts[1:] == 0].sum() / len(current))
    present = (ref_counts + cur_counts) > 0  # `category` columns may declare labels no row has
    ref_counts, cur_counts, labels = ref_counts[present], cur_counts[present], labels[present]
    result["n_categories"] = int(present.sum())
    js = float(jensenshannon(ref_counts, cur_counts, base=2))
    effects = {"effect_size": js, "jensen_shannon": js, "psi": psi(ref_counts, cur_counts)}
    ref_slots, cur_slots = np.flatnonzero(ref_counts), np.flatnonzero(cur_counts)
    if len(ref_slots) == 1 and len(cur_slots) == 1:  # one category per side: JS is 0 (same) or 1 (changed)
        note = _constant_note(labels[ref_slots[0]], labels[cur_slots[0]])
        return {**result, **effects, "status": "constant", "note": note}
    statistic, p_value, p_method = chi_square(ref_counts, cur_counts)
    return {
        **result,
        **effects,
        "status": "tested",
        "test": "chi2",
        "p_method": p_method,
        "statistic": statistic,
        "p_value": p_value,
        "values_p_value": p_value,
    }


def category_counts(reference: pd.Series, current: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows per category on each side, aligned: slot 0 is missing, then the reference's labels, then new ones.

    Each side is counted on its own codes (a pass of `bincount`), then only the k-long count vectors are
    aligned by label, so the rows are never concatenated nor re-coded.

    Returns:
        (reference counts, current counts, the label of each slot: None for slot 0, then the labels).
    """
    ref_codes, ref_labels = _codes(reference)
    cur_codes, cur_labels = _codes(current)
    # bincount takes non-negative integers; the shift sends missing (code -1) to slot 0.
    ref_side = np.bincount(np.add(ref_codes, 1, dtype=np.intp), minlength=len(ref_labels) + 1)
    cur_side = np.bincount(np.add(cur_codes, 1, dtype=np.intp), minlength=len(cur_labels) + 1)
    where = ref_labels.get_indexer(cur_labels)
    new = where < 0
    size = 1 + len(ref_labels) + int(new.sum())
    ref_counts = np.zeros(size, dtype=np.int64)
    ref_counts[: len(ref_side)] = ref_side
    cur_counts = np.zeros(size, dtype=np.int64)
    cur_counts[0] = cur_side[0]
    cur_counts[np.where(new, len(ref_labels) + np.cumsum(new), where + 1)] = cur_side[1:]
    labels = np.empty(size, dtype=object)  # slot 0 stays None
    labels[1:] = ref_labels.append(cur_labels[new]).to_numpy(dtype=object)
    return ref_counts, cur_counts, labels


def _codes(series: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer codes (-1 = missing) and each code's label: pandas' own for `category`, else factorized."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.array.codes, series.cat.categories
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    return codes, pd.Index(uniques)


def chi_square(ref_counts: np.ndarray, cur_counts: np.ndarray) -> tuple[float, float, str]:
    """Pearson's chi-square test of homogeneity on the 2 x k table (no Yates correction).

    Its p-value is asymptotic, equal to `scipy.stats.chi2_contingency(table, correction=False)`'s, when every
    category is expected RARE_EXPECTED times or more on each side. Otherwise it is the permutation test's
    (`monte_carlo_p_value`), except beyond MC_MAX_VALUES categories (asymptotic again, see there) and below
    the Monte Carlo's floor (see `_pooled_p_value`).

    Returns:
        (statistic, p-value, "asymptotic" | "monte_carlo").
    """
    table = np.vstack((ref_counts, cur_counts)).astype(np.float64)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:  # one category: the sides cannot differ
        return 0.0, 1.0, "asymptotic"
    totals, n_ref = table.sum(axis=0), int(table[0].sum())
    statistic = _pearson_of_counts(totals, n_ref)
    observed = float(statistic(table[0]))
    rare = min(n_ref, totals.sum() - n_ref) * totals / totals.sum() < RARE_EXPECTED
    if not rare.any() or table.shape[1] > MC_MAX_VALUES:
        return observed, float(stats.chi2.sf(observed, table.shape[1] - 1)), "asymptotic"
    pooled = _pooled_p_value(table, rare)
    if pooled < 1 / (MC_DRAWS + 1):
        return observed, pooled, "asymptotic"
    return observed, monte_carlo_p_value(statistic, table[0], totals.astype(np.int64)), "monte_carlo"


def _pearson_of_counts(totals: np.ndarray, n_ref: int):
    """Pearson's X^2 as a function of the reference's counts per category (rows of a matrix), given the totals.

    The current's deviation from its expected count is minus the reference's, so X^2 = N^2 / (n_ref n_cur)
    sum_j (r_j - n_ref t_j / N)^2 / t_j: one pass over the reference's counts.
    """
    n = float(totals.sum())
    expected, scale = n_ref * totals / n, n * n / (n_ref * (n - n_ref))

    def statistic(ref_counts: np.ndarray) -> np.ndarray:
        return scale * ((ref_counts - expected) ** 2 / totals).sum(axis=-1)

    return statistic


def _pooled_p_value(table: np.ndarray, rare: np.ndarray) -> float:
    """The asymptotic p-value of the table with its rare categories pooled (Cochran), a bound for the tail.

    A Monte Carlo p-value cannot go below 1 / (MC_DRAWS + 1); with Benjamini-Hochberg over m columns a lone
    column at that floor misses alpha from m = 100. Pooling keeps the chi-square distribution trustworthy,
    so when the pooled table is already beyond the floor its p-value is used. It is not used otherwise: it
    cannot see rare labels, and a batch whose labels are all new pools into one cell, p = 1.
    """
    rows = table.sum(axis=1)
    pooled = table[:, rare].sum(axis=1, keepdims=True)
    table = table[:, ~rare]
    if rows.min() * pooled.sum() / rows.sum() < RARE_EXPECTED and table.shape[1] > 0:
        table[:, np.argmin(table.sum(axis=0))] += pooled[:, 0]  # the pool is still rare: into the smallest label
    else:
        table = np.hstack((table, pooled))
    if table.shape[1] < 2:
        return 1.0
    expected = np.outer(rows, table.sum(axis=0)) / rows.sum()
    return float(stats.chi2.sf(((table - expected) ** 2 / expected).sum(), table.shape[1] - 1))


# --- shared --------------------------------------------------------------------------------------------


def monte_carlo_p_value(
    statistic: Callable[[np.ndarray], np.ndarray], ref_counts: np.ndarray, totals: np.ndarray
) -> float:
    """The permutation test's p-value of a 2 x k table, estimated from MC_DRAWS tables drawn under the null.

    With no drift, given the rows per side and per value (or category), every way of dealing the rows to the
    sides is equally likely: the reference's counts are multivariate hypergeometric, the current's are the
    totals minus them. p = (1 + #{draws at least as extreme}) / (MC_DRAWS + 1) counts the observed table
    among the draws, so P(p <= a) <= a under the null for any number of draws. Sequentially (Besag and
    Clifford): the draws stop at the MC_EXCEEDANCES-th extreme one, L draws in, and p = MC_EXCEEDANCES / L,
    also valid; a column far from drifting is decided in a few chunks of draws.

    Args:
        statistic: The reference's counts (a B x k matrix, one row per table) -> the B statistics; larger is
            more extreme.
        ref_counts: The reference's count per value, in the order of `totals`.
        totals: Rows per value, both sides.
    """
    threshold = statistic(ref_counts[np.newaxis])[0] * (1 - MC_TIE)
    rng = np.random.default_rng(MC_SEED)
    n_ref, extreme, drawn = int(ref_counts.sum()), 0, 0
    while drawn < MC_DRAWS:
        size = min(MC_CHUNK, MC_DRAWS - drawn)
        hits = np.cumsum(statistic(rng.multivariate_hypergeometric(totals, n_ref, size=size)) >= threshold)
        if extreme + hits[-1] >= MC_EXCEEDANCES:  # the draw that brought the last needed exceedance
            return MC_EXCEEDANCES / (drawn + 1 + int(np.searchsorted(hits, MC_EXCEEDANCES - extreme)))
        extreme, drawn = extreme + int(hits[-1]), drawn + size
    return float((1 + extreme) / (MC_DRAWS + 1))


def _with_missing_share(values_p: float, *, n_ref: int, ref_missing: int, n_cur: int, cur_missing: int) -> dict:
    """The column's p-value, with the test of its missing share when a side has missing values.

    Missing / present is a 2 x 2 table: the chi-square test, and the Jensen-Shannon distance of the shares
    as the effect size, as for a categorical column whose missing values are a category. The column's
    p-value, the one Benjamini-Hochberg adjusts, is the smaller of the two tests' with Bonferroni's
    correction, so the false discovery rate over columns holds with two tests per column.
    """
    if not (ref_missing or cur_missing):
        return {"p_value": values_p, "values_p_value": values_p}
    ref_counts, cur_counts = np.array([ref_missing, n_ref]), np.array([cur_missing, n_cur])
    _, missing_p, _ = chi_square(ref_counts, cur_counts)
    return {
        "p_value": min(1.0, 2 * min(values_p, missing_p)),
        "values_p_value": values_p,
        "missing_p_value": missing_p,
        "missing_effect_size": float(jensenshannon(ref_counts, cur_counts, base=2)),
    }


def psi(ref_counts: np.ndarray, cur_counts: np.ndarray, epsilon: float = PSI_EPSILON) -> float:
    """Population stability index, sum of (q - p) ln(q / p) over bins, shares below `epsilon` raised to it.

    Args:
        ref_counts: Reference rows per bin (or category).
        cur_counts: Current rows per bin, same order.
        epsilon: Floor of a share, so that a bin empty on one side adds a large but finite amount.
    """
    p = np.maximum(ref_counts / ref_counts.sum(), epsilon)
    q = np.maximum(cur_counts / cur_counts.sum(), epsilon)
    return float(np.sum((q - p) * np.log(q / p)))


def _empty_result(kind: Kind, reference: pd.Series | None, current: pd.Series | None) -> dict:
    """Every key `column_drift` returns, not applicable (None) until computed."""
    keys = [
        "status",
        "note",
        "test",
        "p_method",
        "statistic",
        "p_value",
        "values_p_value",
        "effect_size",
        "wasserstein",
        "wasserstein_normalized",
        "normalizer",
        "jensen_shannon",
        "psi",
        "missing_p_value",
        "missing_effect_size",
        "n_reference",
        "n_current",
        "missing_rate_reference",
        "missing_rate_current",
        "unseen_rate",
        "n_categories",
    ]
    return {
        **dict.fromkeys(keys),
        "kind": kind,
        "rows_reference": None if reference is None else len(reference),
        "rows_current": None if current is None else len(current),
    }


def _counts(result: dict, *, n_ref: int, ref_missing: int, n_cur: int, cur_missing: int) -> dict:
    """Non-missing counts and missing rates (None for an empty side)."""
    rows_ref, rows_cur = result["rows_reference"], result["rows_current"]
    return {
        "n_reference": n_ref,
        "n_current": n_cur,
        "missing_rate_reference": ref_missing / rows_ref if rows_ref else None,
        "missing_rate_current": cur_missing / rows_cur if rows_cur else None,
    }


def _too_few(n_ref: int, n_cur: int, min_rows: int) -> str | None:
    """Why the column cannot be tested, or None when both sides have `min_rows` non-missing values."""
    short = [
        f"{n} non-missing values in the {side}"
        for side, n in (("reference", n_ref), ("current", n_cur))
        if n < min_rows
    ]
    return f"{' and '.join(short)}, fewer than min_rows = {min_rows}" if short else None


def _constant_note(ref_value, cur_value) -> str:
    """Words for a column with one value per side."""

    def show(value):
        return "missing" if value is None else repr(value.item() if hasattr(value, "item") else value)

    if ref_value is cur_value or ref_value == cur_value:
        return f"the single value {show(ref_value)} on both sides"
    return f"the single value changed from {show(ref_value)} to {show(cur_value)}"


# --- decision ------------------------------------------------------------------------------------------


def _decide_columns(columns: dict[str, dict], alpha: float, thresholds: dict[str, float]) -> None:
    """Add `adjusted_p_value`, `drifted` and `reason` to every column (Benjamini-Hochberg over the tested).

    BH rejects the columns whose raw p-value is at most a cutoff: the largest raw p-value among those whose
    adjusted one is below alpha. A part of a column (its values, its missing share) is significant when its
    own Bonferroni-corrected p-value is at most that cutoff too: then it is one of the rejected hypotheses.
    """
    tested = [name for name, col in columns.items() if col["status"] == "tested"]
    cutoff = None
    if tested:
        raw = [columns[name]["p_value"] for name in tested]
        adjusted = stats.false_discovery_control(raw, method="bh")
        for name, value in zip(tested, adjusted, strict=True):
            columns[name]["adjusted_p_value"] = float(value)
        cutoff = max((p for p, a in zip(raw, adjusted, strict=True) if a < alpha), default=None)
    for col in columns.values():
        col.setdefault("adjusted_p_value", None)
        col["drifted"], col["reason"] = _column_verdict(col, alpha, thresholds, cutoff)


def _column_verdict(
    col: dict, alpha: float, thresholds: dict[str, float], cutoff: float | None
) -> tuple[bool | None, str]:
    """The column's decision and the reason in words."""
    missing = _missing_note(col)
    if col["status"] == "constant":
        drifted = col["effect_size"] > 0
        return drifted, f"{'drifted' if drifted else 'no drift'}: {col['note']}{missing}"
    if col["status"] != "tested":
        return None, f"not tested ({col['status'].replace('_', ' ')}): {col['note']}{missing}"
    test = "KS" if col["test"] == "ks" else "chi-square"
    if col["missing_p_value"] is not None:
        test += " and missing-share chi-square (Bonferroni)"
    significant = col["adjusted_p_value"] < alpha
    p_words = f"{test} adjusted p = {col['adjusted_p_value']:.3g} {'<' if significant else '>='} {alpha:g}"
    parts = _parts(col, thresholds, cutoff if significant else None)
    drifted = [words for part_drifted, words in parts.values() if part_drifted]
    if drifted:
        note = "" if "missing" in parts and parts["missing"][0] else missing  # that part's words show the rates
        return True, f"drifted: {p_words} and {' and '.join(drifted)}{note}"
    values = parts["values"][1]
    if significant and len(parts) == 1:
        return False, f"no drift: significant ({p_words}) but small ({values}){missing}"
    if significant:
        each = "; ".join(words for _, words in parts.values())
        return False, f"no drift: significant ({p_words}) but no part is both significant and large ({each})"
    return False, f"no drift: not significant ({p_words}); {values}{missing}"


def _parts(col: dict, thresholds: dict[str, float], cutoff: float | None) -> dict[str, tuple[bool, str]]:
    """Per part of the column ("values", and "missing" when its share was tested): drifted, and words.

    A part drifts when its own test is significant (its Bonferroni-corrected p-value at most the BH cutoff,
    None when nothing is significant) and its effect size is above its kind's threshold.
    """
    tests = 1 if col["missing_p_value"] is None else 2

    def judge(p_value: float, effect: float, threshold: float, name: str) -> tuple[bool, str]:
        large = effect > threshold
        significant = cutoff is not None and min(1.0, tests * p_value) <= cutoff
        alone = "" if significant or cutoff is None else " (not significant alone)"
        return significant and large, f"{name} {effect:.3g} {'>' if large else '<='} {threshold:g}{alone}"

    kind = col["kind"]
    parts = {"values": judge(col["values_p_value"], col["effect_size"], thresholds[kind], EFFECT_WORDS[kind])}
    if tests == 2:
        drifted, words = judge(
            col["missing_p_value"], col["missing_effect_size"], thresholds["categorical"], "Jensen-Shannon distance"
        )
        before, after = f"{col['missing_rate_reference']:.1%}", f"{col['missing_rate_current']:.1%}"
        shares = (
            f"the missing share moved from {before} to {after}" if drifted else f"missing share {before} -> {after}"
        )
        parts["missing"] = (drifted, f"{shares}, {words}")
    return parts


def _missing_note(col: dict) -> str:
    """A note on the missing rate when it changed by MISSING_NOTE or more."""
    before, after = col["missing_rate_reference"], col["missing_rate_current"]
    if before is None or after is None or abs(after - before) < MISSING_NOTE:
        return ""
    return f"; missing rate {before:.1%} -> {after:.1%}"


def _decide_dataset(columns: dict[str, dict], share: float, critical: list[str]) -> dict:
    """The dataset-level decision from the column decisions (columns expected to shift do not count)."""
    decided = [name for name, col in columns.items() if col["drifted"] is not None and not col.get("expected")]
    drifted = [name for name in decided if columns[name]["drifted"]]
    undecided = {name: col["status"] for name, col in columns.items() if col["drifted"] is None}
    critical_drifted = [name for name in critical if columns[name]["drifted"]]
    critical_undecided = [name for name in critical if columns[name]["drifted"] is None]
    share_drifted = len(drifted) / len(decided) if decided else None
    if critical_drifted:
        verdict, reason = True, f"drifted: critical column(s) {', '.join(critical_drifted)} drifted"
    elif share_drifted is not None and share_drifted >= share:
        verdict, reason = (
            True,
            f"drifted: {len(drifted)} of {len(decided)} decided columns drifted ({share_drifted:.0%} >= {share:.0%})",
        )
    elif not decided:
        verdict, reason = None, "cannot decide: no column could be tested (see each column's reason)"
    elif critical_undecided:
        verdict, reason = None, f"cannot decide: critical column(s) {', '.join(critical_undecided)} untested"
    else:
        verdict, reason = (
            False,
            f"no drift: {len(drifted)} of {len(decided)} decided columns drifted ({share_drifted:.0%} < {share:.0%})",
        )
    return {
        "drifted": verdict,
        "reason": reason,
        "share_drifted": share_drifted,
        "n_columns": len(columns),
        "n_columns_tested": sum(col["status"] == "tested" for col in columns.values()),
        "n_columns_decided": len(decided),
        "n_columns_drifted": len(drifted),
        "drifted_columns": drifted,
        "undecided_columns": undecided,
        "expected_columns": [name for name, col in columns.items() if col.get("expected")],
    }
