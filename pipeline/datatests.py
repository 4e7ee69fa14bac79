"""Data tests beyond the schema, run by `validate` on the files the contract accepted, and the quality summary.

Each test names the risk it guards:
- a feature the contract does not describe, or lists as leakage (a model reading the future);
- the same row in two periods (training and evaluation overlap, so metrics would flatter the model);
- a label whose positive rate leaves its bounds (a broken target, or a definition that changed);
- (multiclass) a class in the newest period that no earlier period holds (the model cannot predict it);
- a column that ranks the label almost perfectly on its own, or is a monotone transform of the target
  (leakage the contract does not list yet);
- a key missing from the table it refers to (a referential gap: joined columns will be empty).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.config import Params
from pipeline.contract import Contract
from pipeline.labels import binary_label, class_names

LEAKAGE_SAMPLE = 50_000  # rows scored per column: enough to see a near-perfect ranking, bounded in time
TOP = 5


EXAMPLES = 3


def finding(
    *,
    file: str,
    column: str | None,
    rule: str,
    severity: str,
    what: str,
    rows: int | None = None,
    examples: Sequence = (),
) -> dict:
    """One entry of the validation report; `message` is what a person reads (values quoted with repr, never raw).

    Args:
        file: The file the rule was checked on.
        column: The column it concerns, or None for the whole file.
        rule: The rule's name, as reports and tests refer to it.
        severity: `failure` (stops the pipeline) or `warning`.
        what: What is wrong, in words; the message adds file, column, row count and rule.
        rows: How many rows break the rule; None when the rule is not about rows.
        examples: Offending values, of which the first few are shown.
    """
    where = f"column {column!r}: " if column else ""
    count = f"{rows} rows " if rows is not None else ""
    return {
        "file": file,
        "column": column,
        "rule": rule,
        "severity": severity,
        "failing_rows": rows,
        "examples": [repr(v) for v in examples[:EXAMPLES]],
        "message": f"{file}: {where}{count}{what} (rule: {rule})",
    }


def allowed_features(params: Params, contract: Contract) -> set[str]:
    """Columns a model may read: the batch table's and the joined ones (renamed), calendar parts, minus leakage."""
    batch = contract.tables.get(params.prepare.batches)
    columns = set(batch.columns) if batch else set()
    for join in params.prepare.joins:
        table = contract.tables.get(join.table)
        columns |= {new for old, new in join.columns.items() if table and old in table.columns}
    columns |= set(params.prepare.calendar)
    return columns - set(contract.leakage) - {contract.target.column}


def features_match_contract(params: Params, contract: Contract) -> list[dict]:
    """Every model input must be a column the contract describes and does not list as leakage."""
    found = []
    if params.task.target.column != contract.target.column:
        found.append(
            finding(
                file="params.yaml",
                column=params.task.target.column,
                rule="target matches contract",
                severity="failure",
                what=f"is the target, but the contract's target is {contract.target.column!r}",
            )
        )
    allowed = allowed_features(params, contract)
    for name in params.features.inputs:
        if name in contract.leakage or name == contract.target.column:
            found.append(
                finding(
                    file="params.yaml",
                    column=name,
                    rule="no leakage feature",
                    severity="failure",
                    what="is a feature but the contract lists it as known only after the event",
                )
            )
        elif name not in allowed:
            found.append(
                finding(
                    file="params.yaml",
                    column=name,
                    rule="feature in contract",
                    severity="failure",
                    what="is a feature but no table of the contract describes it",
                )
            )
    return found


def run(frames: dict[str, dict], params: Params, contract: Contract, data: Path) -> list[dict]:
    """The data tests on the accepted files (`frames`: table -> period -> frame)."""
    found = []
    for name, periods in frames.items():
        table = contract.tables[name]
        if table.per_period:
            for key in table.unique:
                found += overlap(periods, key, data / name)
        for column, target in table.references.items():
            ref_table, ref_column = target.split(".", 1)
            if ref_column in frames.get(ref_table, {}).get(None, {}):  # else the schema reports what is absent
                files = {period: _file(data, name, period) for period in periods}
                found += reference_gaps(
                    periods, column=column, known=frames[ref_table][None][ref_column], files=files, target=target
                )
    batches = frames.get(params.prepare.batches, {})
    if batches:
        found += label_sanity(batches, params, contract, data / params.prepare.batches)
        found += new_classes(batches, params, data / params.prepare.batches)
        found += leakage(batches, params, contract, data / params.prepare.batches)
        found += straddling_duplicates(batches, params, data / params.prepare.batches)
    return found


def straddling_duplicates(batches: dict[str, pd.DataFrame], params: Params, folder: Path) -> list[dict]:
    """Rows of the newest period that repeat a row of an earlier one in every column but the time: a warning.

    Such a row is in training and in evaluation at once, label included, so the evaluation flatters the model
    by what it memorised (leakage by duplication). A warning, not a failure: repeated records can be real.
    """
    periods = list(batches)
    if len(periods) < 2:
        return []
    time = params.prepare.timestamp
    newest, earlier = batches[periods[-1]], [batches[p] for p in periods[:-1]]
    known = set(_columns(earlier))
    columns = [c for c in newest.columns if c != time and c in known]
    if not columns:
        return []
    # One 64-bit hash per row (pandas' own, the same one `duplicated` builds on): comparing them is a set lookup,
    # where comparing the rows column by column as text took most of `validate`'s time on a large history. Each
    # file is hashed alone, so the history is never copied into one table.
    seen = np.concatenate([_row_hashes(frame, columns) for frame in earlier])
    repeats = np.isin(_row_hashes(newest, columns), seen)
    if not repeats.any():
        return []
    return [
        finding(
            file=(folder / f"{periods[-1]}.csv").as_posix(),
            column=None,
            rule="no duplicate across periods",
            severity="warning",
            rows=int(repeats.sum()),
            examples=[newest.loc[repeats, columns[:4]].iloc[0].to_dict()],
            what=f"repeat a row of an earlier period in every column but {time!r}: in training and evaluation at "
            "once, they flatter the metrics (leakage)",
        )
    ]


def _row_hashes(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """One hash per row of `columns`, numbers hashed as float64.

    A count read as 3 in one file and as 3.0 in another (a file with a gap reads it as float) is the same value.
    """
    rows = frame.reindex(columns=columns)
    numbers = [c for c in columns if pd.api.types.is_numeric_dtype(rows[c]) and not pd.api.types.is_bool_dtype(rows[c])]
    return pd.util.hash_pandas_object(rows.astype(dict.fromkeys(numbers, "float64")), index=False).to_numpy()


def _columns(frames: list[pd.DataFrame]) -> list[str]:
    """The columns of all `frames`, in order of appearance (those of `pd.concat(frames)`)."""
    return list(dict.fromkeys(c for frame in frames for c in frame.columns))


def _stacked(frames: list[pd.DataFrame], column: str) -> pd.Series:
    """`pd.concat(frames, ignore_index=True)[column]`, without stacking the other columns.

    One column of a long history is in memory at a time, not every column at once. A frame without the column
    gives missing values, as the stacked table would.
    """
    return pd.concat(
        [frame[column] if column in frame else pd.Series(np.nan, index=frame.index) for frame in frames],
        ignore_index=True,
    )


def _file(data: Path, table: str, period: str | None) -> str:
    return (data / table / f"{period}.csv" if period else data / f"{table}.csv").as_posix()


def overlap(periods: dict[str, pd.DataFrame], key: list[str], folder: Path) -> list[dict]:
    """Rows whose unique key appears in more than one period's file."""
    if not all(set(key) <= set(f.columns) for f in periods.values()):
        return []  # the schema already reported the missing key column
    keys = pd.concat([f[key].assign(_period=n) for n, f in enumerate(periods.values())], ignore_index=True)
    repeated = keys[keys.duplicated(key, keep=False)]
    spread = repeated.groupby(key, dropna=False)["_period"].nunique()
    shared = spread[spread > 1]
    if shared.empty:
        return []
    examples = [dict(zip(key, k if isinstance(k, tuple) else (k,), strict=True)) for k in shared.index[:3]]
    return [
        finding(
            file=folder.as_posix(),
            column=None,
            rule=f"unique {key} across periods",
            severity="failure",
            rows=len(shared),
            examples=examples,
            what="appear in more than one period's file (training and evaluation would overlap)",
        )
    ]


def reference_gaps(
    frames: dict[str | None, pd.DataFrame], *, column: str, known: pd.Series, files: dict[str | None, str], target: str
) -> list[dict]:
    """Per file, values of `column` not found in the referenced column: a warning (joined columns will be empty)."""
    present = {period: frame[column].dropna() for period, frame in frames.items() if column in frame}
    if not present:
        return []
    # One lookup for all the files: for text, each `isin` call first converts `known` value by value in Python.
    unknown = ~pd.concat(present.values()).isin(known.dropna().unique()).to_numpy()
    found, start = [], 0
    for period, values in present.items():
        gap = values[unknown[start : start + len(values)]]
        start += len(values)
        if len(gap):
            found.append(
                finding(
                    file=files[period],
                    column=column,
                    rule=f"in {target}",
                    severity="warning",
                    rows=len(gap),
                    examples=gap.unique()[:3].tolist(),
                    what=f"not found in {target}",
                )
            )
    return found


def label_sanity(batches: dict[str, pd.DataFrame], params: Params, contract: Contract, folder: Path) -> list[dict]:
    """The positive rate of the label in each batch must stay within the contract's bounds (binary tasks)."""
    bounds, column = contract.target.positive_rate, contract.target.column
    if params.task.type != "binary" or bounds is None:
        return []
    found = []
    for period, frame in batches.items():
        if column not in frame:
            continue  # the schema reports the absent target column
        labelled = binary_label(frame[column], params.task.target).dropna()
        rate = float(labelled.mean()) if len(labelled) else float("nan")
        if not bounds[0] <= rate <= bounds[1]:
            file = (folder / f"{period}.csv").as_posix()
            found.append(
                finding(
                    file=file,
                    column=column,
                    rule=f"positive rate in {list(bounds)}",
                    severity="failure",
                    rows=len(labelled),
                    what=f"labelled, positive rate {rate:.3f} outside the bounds",
                )
            )
    return found


def new_classes(batches: dict[str, pd.DataFrame], params: Params, folder: Path) -> list[dict]:
    """Classes of the newest period that no earlier period holds: a warning (multiclass tasks).

    A model trained on the earlier periods has never seen them, so it cannot predict them: their rows count
    as errors in the evaluation, and the class's recall is 0 until it has been trained on.
    """
    column = params.task.target.column
    periods = sorted(batches)
    if params.task.type != "multiclass" or len(periods) < 2 or any(column not in f for f in batches.values()):
        return []  # the schema reports an absent target column
    newest = class_names(batches[periods[-1]][column]).dropna()
    seen = set(pd.concat([class_names(batches[p][column]) for p in periods[:-1]]).dropna())
    unseen = newest[~newest.isin(seen)]
    if unseen.empty:
        return []
    file = (folder / f"{periods[-1]}.csv").as_posix()
    return [
        finding(
            file=file,
            column=column,
            rule="classes seen before",
            severity="warning",
            rows=len(unseen),
            examples=sorted(unseen.unique()),
            what="hold a class no earlier period has; the model cannot predict it",
        )
    ]


def leakage(batches: dict[str, pd.DataFrame], params: Params, contract: Contract, folder: Path) -> list[dict]:
    """Columns that alone rank the label almost perfectly, or move in lockstep with the target: failures.

    Any column counts, a feature or not: a column that copies the target today is one edit of `params.yaml`
    away from being learned from, and its presence says the export changed. A column known only after the
    event belongs under `leakage` in the contract, which excludes it from this test and from every model.
    Screened once on a sample of all the periods; a column that scores too high is then scored file by file,
    so each finding names the file it is in and the rows it was measured on.
    """
    if contract.target.column not in next(iter(batches.values()), {}):
        return []  # the schema reports an absent target column
    skip = {*contract.leakage, contract.target.column, *params.features.identifiers}
    frames = list(batches.values())
    target = _outcome(_stacked(frames, contract.target.column), params)  # once per table, not once per column
    overall = {c: _leakage(_stacked(frames, c), target) for c in _columns(frames) if c not in skip}
    found, start = [], np.cumsum([0, *(len(f) for f in frames)])
    files = {
        (folder / f"{p}.csv").as_posix(): slice(a, b) for p, a, b in zip(batches, start[:-1], start[1:], strict=True)
    }
    for column in (c for c, scored in overall.items() if _too_high(scored, contract)):
        values = _stacked(frames, column)
        per_file = {file: _leakage(values[at], target[at]) for file, at in files.items()}
        # Too few rows in each file to score alone (or high only together): the folder, with the rows scored.
        leaky = {file: s for file, s in per_file.items() if _too_high(s, contract)} or {
            folder.as_posix(): overall[column]
        }
        found += [_leakage_finding(file, column, scored, contract) for file, scored in leaky.items()]
    return found


def _leakage_finding(file: str, column: str, scored: tuple[float, int], contract: Contract) -> dict:
    return finding(
        file=file,
        column=column,
        rule=f"leakage score < {contract.leakage_auc:g}",
        severity="failure",
        rows=scored[1],
        what=f"scored; the column predicts the target almost perfectly alone (score {scored[0]:.3f}): "
        "list it under `leakage` in the contract if it is known only after the event, else drop it",
    )


def _too_high(scored: tuple[float, int] | None, contract: Contract) -> bool:
    return scored is not None and scored[0] >= contract.leakage_auc


def _outcome(target: pd.Series, params: Params) -> pd.DataFrame:
    """What a leaking column would predict: `raw` (the target as a number) and, binary, `y` (the label)."""
    if params.task.type == "binary":
        label = binary_label(target, params.task.target)
        return pd.DataFrame({"raw": label, "y": label})
    return pd.DataFrame({"raw": pd.to_numeric(target, errors="coerce"), "y": np.nan})


def _leakage(values: pd.Series, target: pd.DataFrame) -> tuple[float, int] | None:
    """The leakage score of a column on at most LEAKAGE_SAMPLE labelled rows, and the rows it was measured on.

    None when it cannot be scored: fewer than 100 labelled rows with a value, one value.
    """
    usable = np.flatnonzero(target["raw"].notna().to_numpy() & values.notna().to_numpy())
    if len(usable) < 100:
        return None
    # positions: sampling them copies no unsampled row
    chosen = pd.Series(usable).sample(n=min(LEAKAGE_SAMPLE, len(usable)), random_state=0).to_numpy()
    sample, outcome = values.take(chosen), target.take(chosen)
    y = None if outcome["y"].isna().all() else outcome["y"].astype(int)
    score = _leakage_score(sample, y, outcome["raw"])
    return None if score is None else (score, len(chosen))


def _leakage_score(values: pd.Series, y: pd.Series | None, y_raw: pd.Series) -> float | None:
    """max(AUC, 1 - AUC) of the column as a score for a binary label, or |Spearman rho| with the raw target.

    For a binary label the AUC alone suffices: a monotone transform of the target ranks the label perfectly.
    A text column is scored by the label rate of its value measured on the other half of the rows: measured
    on the same rows, a value seen once (an id, a timestamp) would reproduce its own label and look perfect.
    """
    if values.nunique() < 2:
        return None
    if pd.api.types.is_numeric_dtype(values):
        if y is None or y.nunique() < 2:
            return abs(values.rank().corr(y_raw.rank()))
        auc = rank_auc(y, values)
        return max(auc, 1 - auc)
    if y is None or y.nunique() < 2:
        return None
    auc = rank_auc(y, _cross_fitted_rates(values.astype(str), y))
    return max(auc, 1 - auc)


def _cross_fitted_rates(values: pd.Series, y: pd.Series) -> pd.Series:
    """Each row's value encoded by the label rate of that value in the other half of the (shuffled) rows."""
    half = np.arange(len(values)) % 2 == 0
    encoded = pd.Series(float(y.mean()), index=values.index)
    for this in (half, ~half):
        rates = y[~this].groupby(values[~this].to_numpy()).mean()
        encoded[this] = values[this].map(rates).fillna(float(y.mean())).to_numpy()
    return encoded


def rank_auc(y, score) -> float:
    """ROC AUC as the Mann-Whitney U statistic of the positives' scores over the negatives', divided by n1 * n0.

    U is the positives' rank sum (average ranks for ties) less its minimum n1 (n1 + 1) / 2, as scipy's
    `mannwhitneyu` computes it; pandas ranks it here because importing scipy.stats would add a second to every
    process that validates (each `pipeline run`, the validate stage) for these two lines. `pipeline.metrics`
    scores ROC AUC with it too: equal to scikit-learn's `roc_auc_score` (to 1e-15), four times faster, which
    counts in every bootstrap resample.
    """
    positive = np.asarray(y) == 1
    n1, n0 = int(positive.sum()), int((~positive).sum())
    ranks = pd.Series(np.asarray(score, dtype=float)).rank(method="average").to_numpy()
    u = ranks[positive].sum() - n1 * (n1 + 1) / 2
    return float(u / (n1 * n0))


def quality_summary(batches: dict[str, pd.DataFrame], contract: Contract) -> dict:
    """Per column: count, missing %, distinct count, and min/max/mean or the top categories; newest vs reference."""
    periods = sorted(batches)
    current, reference = batches[periods[-1]], [batches[p] for p in periods[:-1]] or [batches[periods[-1]]]
    known = set(_columns(reference))
    return {
        "current": periods[-1],
        "reference": periods[:-1],
        "columns": {
            column: {"reference": _describe(_stacked(reference, column)), "current": _describe(current[column])}
            for column in current.columns
            if column in known
        },
        "leakage": sorted(contract.leakage),
        "duplicate_rows": {period: int(frame.duplicated().sum()) for period, frame in batches.items()},
    }


def _describe(values: pd.Series) -> dict:
    summary = {"count": int(values.size), "missing_pct": 100 * float(values.isna().mean()) if values.size else 0.0}
    if pd.api.types.is_numeric_dtype(values):
        present = values.dropna()
        summary |= {
            "distinct": int(values.nunique()),
            "min": float(present.min()) if len(present) else None,
            "max": float(present.max()) if len(present) else None,
            "mean": float(present.mean()) if len(present) else None,
        }
    else:
        counts = values.value_counts(dropna=True)  # one pass over the text gives both the distinct and the top
        summary["distinct"] = len(counts)
        summary["top"] = [{"value": str(k), "share": float(v)} for k, v in (counts.head(TOP) / counts.sum()).items()]
    return summary
