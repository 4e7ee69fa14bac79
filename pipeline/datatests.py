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
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pipeline.config import Params, Target, Task
from pipeline.contract import Contract
from pipeline.labels import binary_label, class_names

if TYPE_CHECKING:
    from pipeline.engine import Parts

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


def run(tables: dict[str, Parts], params: Params, contract: Contract, data: Path) -> list[dict]:
    """The data tests on the accepted files (`tables`: table -> its files' frames, held by pandas or Dask)."""
    found = []
    for name, parts in tables.items():
        table = contract.tables[name]
        if table.per_period:
            for key in table.unique:
                found += overlap(parts, key, data / name)
        for column, target in table.references.items():
            ref_table, ref_column = target.split(".", 1)
            ref = tables.get(ref_table)
            if ref is not None and None in ref.frames and ref_column in ref.columns(None):  # else the schema says
                known = ref.apply(_distinct, None, column=ref_column)
                files = {period: _file(data, name, period) for period in parts.frames}
                found += reference_gaps(parts, column=column, known=known, files=files, target=target)
    batches = tables.get(params.prepare.batches)
    if batches is not None and batches.frames:
        folder = data / params.prepare.batches
        found += label_sanity(batches, params, contract, folder)
        found += new_classes(batches, params, folder)
        found += leakage(batches, params, contract, folder)
        found += straddling_duplicates(batches, params, folder)
    return found


def straddling_duplicates(batches: Parts, params: Params, folder: Path) -> list[dict]:
    """Rows of the newest period that repeat a row of an earlier one in every column but the time: a warning.

    Such a row is in training and in evaluation at once, label included, so the evaluation flatters the model
    by what it memorised (leakage by duplication). A warning, not a failure: repeated records can be real.
    """
    periods = list(batches.frames)
    if len(periods) < 2:
        return []
    time = params.prepare.timestamp
    newest, earlier = periods[-1], periods[:-1]
    known = set(_columns([batches.columns(p) for p in earlier]))
    columns = [c for c in batches.columns(newest) if c != time and c in known]
    if not columns:
        return []
    # One 64-bit hash per row (pandas' own, the same one `duplicated` builds on): comparing them is a set lookup,
    # where comparing the rows column by column as text took most of `validate`'s time on a large history. Only
    # the newest file's hashes travel: each earlier file says, where it is, which of them it holds.
    hashes = batches.apply(_row_hashes, newest, columns=columns)
    repeats = np.logical_or.reduce(batches.map(_holds, earlier, columns=columns, hashes=hashes))
    if not repeats.any():
        return []
    return [
        finding(
            file=(folder / f"{newest}.csv").as_posix(),
            column=None,
            rule="no duplicate across periods",
            severity="warning",
            rows=int(repeats.sum()),
            examples=[batches.apply(_first_row, newest, where=repeats, columns=columns[:4])],
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


def _distinct_hashes(frame: pd.DataFrame, *, columns: list[str]) -> np.ndarray:
    """The distinct hashes of a file's rows of `columns`: a value repeated within the file is sent once."""
    return np.unique(_row_hashes(frame, columns))


def _holds(frame: pd.DataFrame, *, columns: list[str], hashes: np.ndarray) -> np.ndarray:
    """Which of `hashes` (rows of another file) this file has a row of."""
    return np.isin(hashes, _row_hashes(frame, columns))


def _first_row(frame: pd.DataFrame, *, where: np.ndarray, columns: list[str]) -> dict:
    return frame.loc[where, columns].iloc[0].to_dict()


def _columns(columns: list[list]) -> list:
    """The columns of several files, in order of appearance (those of the files stacked)."""
    return list(dict.fromkeys(c for names in columns for c in names))


def _file(data: Path, table: str, period: str | None) -> str:
    return (data / table / f"{period}.csv" if period else data / f"{table}.csv").as_posix()


def overlap(parts: Parts, key: list[str], folder: Path) -> list[dict]:
    """Rows whose unique key appears in more than one period's file.

    Each file hashes its keys where it is; only the keys whose hash is in two files are then read, and compared
    by value (so two keys that merely share a hash are not reported).
    """
    if not all(set(key) <= set(parts.columns(p)) for p in parts.frames):
        return []  # the schema already reported the missing key column
    hashes = np.concatenate(parts.map(_distinct_hashes, columns=key))
    distinct, files = np.unique(hashes, return_counts=True)
    if not (files > 1).any():
        return []
    candidates = parts.map(_rows_hashed, columns=key, hashes=distinct[files > 1])
    keys = pd.concat([rows.assign(_period=n) for n, rows in enumerate(candidates)], ignore_index=True)
    spread = keys.groupby(key, dropna=False)["_period"].nunique()
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


def _rows_hashed(frame: pd.DataFrame, *, columns: list[str], hashes: np.ndarray) -> pd.DataFrame:
    """The distinct values of `columns` in the rows whose hash is one of `hashes`."""
    return frame.loc[np.isin(_row_hashes(frame, columns), hashes), columns].drop_duplicates()


def _distinct(frame: pd.DataFrame, *, column: str) -> pd.Index:
    """The distinct values of a column, as an index (its lookup table is built once, then reused by each file)."""
    return pd.Index(frame[column].dropna().unique())


def reference_gaps(
    parts: Parts, *, column: str, known: pd.Index, files: dict[str | None, str], target: str
) -> list[dict]:
    """Per file, values of `column` not found in the referenced column: a warning (joined columns will be empty)."""
    present = [period for period in parts.frames if column in parts.columns(period)]
    found = []
    for period, (rows, examples) in zip(present, parts.map(_gap, present, column=column, known=known), strict=True):
        if rows:
            found.append(
                finding(
                    file=files[period],
                    column=column,
                    rule=f"in {target}",
                    severity="warning",
                    rows=rows,
                    examples=examples,
                    what=f"not found in {target}",
                )
            )
    return found


def _gap(frame: pd.DataFrame, *, column: str, known: pd.Index) -> tuple[int, list]:
    """How many values of `column` are not in `known`, and the first few of them."""
    values = frame[column].dropna()
    gap = values[known.get_indexer(values) < 0]
    return len(gap), gap.unique()[:3].tolist()


def label_sanity(batches: Parts, params: Params, contract: Contract, folder: Path) -> list[dict]:
    """The positive rate of the label in each batch must stay within the contract's bounds (binary tasks)."""
    bounds, column = contract.target.positive_rate, contract.target.column
    if params.task.type != "binary" or bounds is None:
        return []
    present = [p for p in batches.frames if column in batches.columns(p)]  # else the schema reports it absent
    rates = batches.map(_label_rate, present, column=column, rule=params.task.target)
    found = []
    for period, (rate, rows) in zip(present, rates, strict=True):
        if not bounds[0] <= rate <= bounds[1]:
            found.append(
                finding(
                    file=(folder / f"{period}.csv").as_posix(),
                    column=column,
                    rule=f"positive rate in {list(bounds)}",
                    severity="failure",
                    rows=rows,
                    what=f"labelled, positive rate {rate:.3f} outside the bounds",
                )
            )
    return found


def _label_rate(frame: pd.DataFrame, *, column: str, rule: Target) -> tuple[float, int]:
    """The positive rate of a file's labelled rows (NaN when none is labelled), and how many there are."""
    labelled = binary_label(frame[column], rule).dropna()
    return (float(labelled.mean()) if len(labelled) else float("nan")), len(labelled)


def new_classes(batches: Parts, params: Params, folder: Path) -> list[dict]:
    """Classes of the newest period that no earlier period holds: a warning (multiclass tasks).

    A model trained on the earlier periods has never seen them, so it cannot predict them: their rows count
    as errors in the evaluation, and the class's recall is 0 until it has been trained on.
    """
    column = params.task.target.column
    periods = sorted(batches.frames)
    if params.task.type != "multiclass" or len(periods) < 2 or any(column not in batches.columns(p) for p in periods):
        return []  # the schema reports an absent target column
    seen = set().union(*batches.map(_classes, periods[:-1], column=column))
    rows, unseen = batches.apply(_unseen_classes, periods[-1], column=column, seen=seen)
    if not rows:
        return []
    return [
        finding(
            file=(folder / f"{periods[-1]}.csv").as_posix(),
            column=column,
            rule="classes seen before",
            severity="warning",
            rows=rows,
            examples=unseen,
            what="hold a class no earlier period has; the model cannot predict it",
        )
    ]


def _classes(frame: pd.DataFrame, *, column: str) -> set:
    return set(class_names(frame[column]).dropna())


def _unseen_classes(frame: pd.DataFrame, *, column: str, seen: set) -> tuple[int, list]:
    """How many rows hold a class not in `seen`, and those classes."""
    names = class_names(frame[column]).dropna()
    unseen = names[~names.isin(seen)]
    return len(unseen), sorted(unseen.unique())


def leakage(batches: Parts, params: Params, contract: Contract, folder: Path) -> list[dict]:
    """Columns that alone rank the label almost perfectly, or move in lockstep with the target: failures.

    Any column counts, a feature or not: a column that copies the target today is one edit of `params.yaml`
    away from being learned from, and its presence says the export changed. A column known only after the
    event belongs under `leakage` in the contract, which excludes it from this test and from every model.
    Screened once on a sample of all the periods; a column that scores too high is then scored file by file,
    so each finding names the file it is in and the rows it was measured on.

    The screen's sample is drawn from the positions of the usable rows as if the files were stacked, and each
    file sends only its sampled rows: the same rows and scores on either engine, the history never in one place.
    """
    target, periods = contract.target.column, list(batches.frames)
    if target not in batches.columns(periods[0]):
        return []  # the schema reports an absent target column
    skip = {*contract.leakage, target, *params.features.identifiers}
    columns = [c for c in _columns([batches.columns(p) for p in periods]) if c not in skip]
    starts = dict(zip(periods, np.cumsum([0, *batches.rows.values()])[:-1].tolist(), strict=True))  # stacked
    chosen = _screen_sample(batches.map(_usable, columns=columns, target=target, task=params.task), starts, batches)
    wanted = {
        p: (start, {c: at[(at >= start) & (at < start + batches.rows[p])] - start for c, at in chosen.items()})
        for p, start in starts.items()
    }
    taken = batches.map_each(_taken, wanted, target=target, task=params.task)
    high = {}
    for column, at in chosen.items():
        pieces = [piece[column] for piece in taken if column in piece]
        scored = _score(pd.concat([v for v, _ in pieces]).loc[at], pd.concat([o for _, o in pieces]).loc[at])
        if _too_high(scored, contract):
            high[column] = scored
    if not high:
        return []
    # Every column that scored too high, scored in each file in one pass: a file's outcome is computed once.
    per_file = batches.map(_file_leakage, columns=list(high), target=target, task=params.task)
    files = [(folder / f"{p}.csv").as_posix() for p in periods]
    found = []
    for column, scored in high.items():
        leaky = {f: s[column] for f, s in zip(files, per_file, strict=True) if _too_high(s[column], contract)}
        # Too few rows in each file to score alone (or high only together): the folder, with the rows scored.
        found += [_leakage_finding(f, column, s, contract) for f, s in (leaky or {folder.as_posix(): scored}).items()]
    return found


def _usable(frame: pd.DataFrame, *, columns: list[str], target: str, task: Task) -> dict[str, np.ndarray]:
    """Per column, which rows have both a value and an outcome (as packed bits: an eighth of the bytes to send)."""
    labelled = _file_outcome(frame, target, task)["raw"].notna().to_numpy()
    absent = np.zeros(len(frame), dtype=bool)
    return {c: np.packbits(labelled & frame[c].notna().to_numpy() if c in frame else absent) for c in columns}


def _screen_sample(usable: list[dict], starts: dict, batches: Parts) -> dict[str, np.ndarray]:
    """Per column, the sampled positions among the files' usable rows, numbered as if the files were stacked."""
    chosen = {}
    for column in usable[0] if usable else []:
        positions = np.concatenate(
            [
                np.flatnonzero(np.unpackbits(bits[column], count=batches.rows[p])) + starts[p]
                for bits, p in zip(usable, starts, strict=True)
            ]
        )
        at = _sample(positions)
        if at is not None:
            chosen[column] = at
    return chosen


def _taken(frame: pd.DataFrame, wanted: tuple[int, dict], *, target: str, task: Task) -> dict[str, tuple]:
    """Per column sampled in this file, its rows: (values, outcome), indexed by their stacked positions."""
    start, rows = wanted
    outcome = _file_outcome(frame, target, task)
    return {
        c: (frame[c].take(at).set_axis(at + start), outcome.take(at).set_axis(at + start))
        for c, at in rows.items()
        if len(at)  # none: the file lacks the column, or had no usable row of it drawn
    }


def _file_leakage(frame: pd.DataFrame, *, columns: list[str], target: str, task: Task) -> dict[str, tuple | None]:
    """Per column, its leakage score in one file (None: absent, or too few usable rows)."""
    outcome = _file_outcome(frame, target, task)
    return {c: _leakage(frame[c], outcome) if c in frame else None for c in columns}


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


def _outcome(target: pd.Series, task: Task) -> pd.DataFrame:
    """What a leaking column would predict: `raw` (the target as a number) and, binary, `y` (the label)."""
    if task.type == "binary":
        label = binary_label(target, task.target)
        return pd.DataFrame({"raw": label, "y": label})
    return pd.DataFrame({"raw": pd.to_numeric(target, errors="coerce"), "y": np.nan})


def _file_outcome(frame: pd.DataFrame, target: str, task: Task) -> pd.DataFrame:
    """`_outcome` of a file's rows; none where the file lacks the target column (the schema reports it absent)."""
    return _outcome(frame[target] if target in frame else pd.Series(np.nan, index=frame.index), task)


def _leakage(values: pd.Series, target: pd.DataFrame) -> tuple[float, int] | None:
    """The leakage score of a column on at most LEAKAGE_SAMPLE labelled rows, and the rows it was measured on.

    None when it cannot be scored: fewer than 100 labelled rows with a value, one value.
    """
    chosen = _sample(np.flatnonzero(target["raw"].notna().to_numpy() & values.notna().to_numpy()))
    return None if chosen is None else _score(values.take(chosen), target.take(chosen))


def _sample(usable: np.ndarray) -> np.ndarray | None:
    """At most LEAKAGE_SAMPLE of the `usable` positions, seeded; None when fewer than 100 (too few to score).

    Positions, not rows: sampling them copies no unsampled row.
    """
    if len(usable) < 100:
        return None
    return pd.Series(usable).sample(n=min(LEAKAGE_SAMPLE, len(usable)), random_state=0).to_numpy()


def _score(sample: pd.Series, outcome: pd.DataFrame) -> tuple[float, int] | None:
    """The leakage score of sampled values against their outcomes, and how many rows it was measured on."""
    y = None if outcome["y"].isna().all() else outcome["y"].astype(int)
    score = _leakage_score(sample, y, outcome["raw"])
    return None if score is None else (score, len(sample))


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


def quality_summary(batches: Parts, contract: Contract) -> dict:
    """Per column: count, missing %, distinct count, and min/max/mean or the top categories; newest vs reference.

    Each file summarizes its own rows where it is (`_part`); the parts are added up here (`_describe`), so a long
    history is never stacked, and pandas and Dask write the same bytes.
    """
    periods = sorted(batches.frames)
    current, reference = periods[-1], periods[:-1] or periods[-1:]
    known = set(_columns([batches.columns(p) for p in reference]))
    columns = [c for c in batches.columns(current) if c in known]
    numeric = {c: _numeric([batches.dtypes[p].get(c) for p in reference]) for c in columns}
    earlier = batches.map(_part, reference, numeric=numeric)
    now = batches.apply(_part, current, numeric={c: _numeric([batches.dtypes[current][c]]) for c in columns})
    return {
        "current": current,
        "reference": periods[:-1],
        "columns": {
            c: {"reference": _describe([part[c] for part in earlier]), "current": _describe([now[c]])} for c in columns
        },
        "leakage": sorted(contract.leakage),
        "duplicate_rows": dict(zip(batches.frames, batches.map(_repeated_rows), strict=True)),
    }


def _numeric(dtypes: list) -> bool:
    """Whether the files' values of a column, stacked, are numbers (a file without the column adds missing ones).

    As pandas stacks them: numbers with numbers (and missing) stay numbers, true/false only with true/false.
    """
    if all(d is not None and pd.api.types.is_bool_dtype(d) for d in dtypes):
        return True
    return all(d is None or (pd.api.types.is_numeric_dtype(d) and not pd.api.types.is_bool_dtype(d)) for d in dtypes)


def _part(frame: pd.DataFrame, *, numeric: dict[str, bool]) -> dict[str, dict]:
    """One file's share of each column's summary: counts, and the distinct values and sum, or the value counts."""
    parts = {}
    for column, number in numeric.items():
        values = frame[column] if column in frame else pd.Series(np.nan, index=frame.index)
        part = {"count": int(values.size), "missing": int(values.isna().sum())}
        if number:
            present = values.dropna()
            part |= {"distinct": present.unique(), "present": len(present), "sum": present.sum()}
            part |= {"min": present.min(), "max": present.max()} if len(present) else {"min": None, "max": None}
        else:
            part["counts"] = values.value_counts(dropna=True)
        parts[column] = part
    return parts


def _describe(parts: list[dict]) -> dict:
    """A column's summary from its files' parts (`_part`)."""
    count = sum(p["count"] for p in parts)
    summary = {"count": count, "missing_pct": 100 * (sum(p["missing"] for p in parts) / count) if count else 0.0}
    if "distinct" in parts[0]:
        present = sum(p["present"] for p in parts)
        ends = [p for p in parts if p["min"] is not None]
        summary |= {
            "distinct": len(pd.unique(np.concatenate([p["distinct"] for p in parts]))),
            "min": float(min(p["min"] for p in ends)) if ends else None,
            "max": float(max(p["max"] for p in ends)) if ends else None,
            "mean": float(sum(p["sum"] for p in parts) / present) if present else None,
        }
    else:
        counts = [p["counts"] for p in parts if len(p["counts"])]
        total = pd.concat(counts).groupby(level=0, sort=False).sum() if counts else pd.Series(dtype="int64")
        total = total.sort_values(ascending=False, kind="stable")
        summary["distinct"] = len(total)
        summary["top"] = [{"value": str(k), "share": float(v)} for k, v in (total.head(TOP) / total.sum()).items()]
    return summary


def _repeated_rows(frame: pd.DataFrame) -> int:
    return int(frame.duplicated().sum())
