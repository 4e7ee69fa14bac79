"""What `pipeline init` learns from a team's data before it writes anything: periods, target, features.

Every check of the input lives here and runs before the first file is written, so bad input leaves the
project as it was. The result, a `Proposal`, is plain values that `pipeline.init` turns into params.yaml and
the plan it shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd
from pandas.tseries.api import guess_datetime_format

from pipeline.batches import parse_csv, period_files, period_kind, period_of, period_range, read_csv
from pipeline.config import Target
from pipeline.errors import PipelineError
from pipeline.labels import binary_label, class_names
from pipeline.sources import parse_times, read_source

PeriodKind = Literal["month", "quarter", "year"]
TaskType = Literal["binary", "multiclass", "regression"]
MAX_CATEGORIES = 50  # text columns with more distinct values are many-level: the contract lists no values
MIN_ROWS_PER_LEVEL = 5  # fewer rows per distinct text value on average: free text or an identifier
MAX_LEVEL_LENGTH = 40  # a longer median text is free text (a sentence, an address), not a category
MIN_ROWS = 30  # fewest labelled rows in the evaluation period (and before it) for metrics to mean anything


@dataclass(frozen=True)
class Proposal:
    """What the data supports: the periods to release, the label, the features and why others are left out."""

    rows: int
    kind: PeriodKind  # --period for a file; a folder's files say it by their names
    periods: dict[str, int]  # period name -> rows, in time order (the released ones)
    available: list[str]  # every period of the data
    labelled: int  # labelled rows of the evaluation period (the newest released)
    label: Target | None  # binary: what makes a row positive (a threshold or a value)
    classes: list[str]
    categorical: list[str]
    numeric: list[str]
    calendar: list[str]
    excluded: dict[str, str] = field(default_factory=dict)  # column -> why it is not a feature
    spread: float | None = None  # regression: the target's standard deviation (the gate's thresholds scale with it)
    time_format: str | None = None  # the one strftime format of the times, when they share one
    kept: dict[str, str] = field(default_factory=dict)  # feature -> why it is one
    calendar_why: dict[str, str] = field(default_factory=dict)  # calendar feature left out -> why
    many: list[str] = field(default_factory=list)  # categorical features with more than MAX_CATEGORIES levels


def read_data(data: Path, required: list[str]) -> tuple[pd.DataFrame, pd.Series | None]:
    """Read a file (decompressed as ingest does), or the batch files of a folder stacked, with each row's period.

    Returns:
        The rows, and for a folder the period (file name) of each row; None for a file.
    """
    if data.is_dir():
        files = period_files(data)
        frames = [read_csv(path, required) for path in files.values()]
        names = [name for name, frame in zip(files, frames, strict=True) for _ in range(len(frame))]
        return pd.concat(frames, ignore_index=True), pd.Series(names)
    return parse_csv(read_source(data), data, required), None


def local_times(values: pd.Series, timezone: str, source: str, column: str, fmt: str | None = None) -> pd.Series:
    """The event times in `timezone`, parsed exactly as ingest's cut parses them (naive times are local).

    Raises:
        PipelineError: A time is missing or does not parse (one example named).
    """
    missing = values.isna()
    if missing.any():
        raise PipelineError(
            f"{source}: column {column!r}: {int(missing.sum())} row(s) have no time; every row "
            "needs one to fall in a period"
        )
    codes, distinct = pd.factorize(values.astype(str))
    instants = parse_times(pd.Index(distinct), timezone, fmt)
    if instants.isna().any():
        bad = distinct[int(instants.isna().argmax())]
        raise PipelineError(
            f"{source}: column {column!r}: {int(instants.isna().sum())} distinct value(s) do not "
            f"parse as times, e.g. {bad!r} (is --time the right column?)"
        )
    return pd.Series(instants.take(codes), index=values.index).dt.tz_convert(timezone)


def count_periods(names: pd.Series, source: str) -> dict[str, int]:
    """Rows per period, in time order, with no period missing between the first and the last.

    Raises:
        PipelineError: A period in the middle has no rows (the cut would leave a hole in the history).
    """
    counts = names.value_counts()
    every = period_range(min(counts.index), max(counts.index))
    empty = [name for name in every if name not in counts.index]
    if empty:
        raise PipelineError(
            f"{source}: no rows in period(s) {', '.join(empty[:5])}: periods must follow each other "
            "(use a longer --period, or --since a period after the gap)"
        )
    return {name: int(counts[name]) for name in every}


def label_of(
    target: pd.Series, *, task: TaskType, threshold: float | None, positive: str | None, source: str, column: str
) -> tuple[pd.Series, Target | None]:
    """The label of each row (NaN where the target is missing), and for binary the rule that makes it positive.

    binary: a text target needs `positive` (the value that is label 1); a number is cut at `threshold`, or
    needs none when it has exactly two values (the label is the larger value). multiclass: the class as text.
    regression: the number itself.

    Raises:
        PipelineError: The target is not numeric where it must be, or binary lacks the rule to use.
    """
    if task == "multiclass":  # the classes exactly as `prepare` will name them, so the counts here hold there
        return class_names(target), None
    if task == "binary" and positive is not None:
        return _positive_label(target, threshold=threshold, positive=positive, source=source, column=column)
    numbers = pd.to_numeric(target, errors="coerce")
    not_numbers = target.notna() & numbers.isna()
    if not_numbers.any():
        raise PipelineError(f"{source}: target {column!r} holds text, " + _text_hint(target, task))
    if task == "regression":
        return numbers, None
    if threshold is None:
        values = sorted(numbers.dropna().unique())
        if len(values) != 2:
            raise PipelineError(
                f"{source}: binary target {column!r} has {len(values)} distinct values: pass "
                "--threshold X (the label is target > X)"
            )
        threshold = float(values[0])
    rule = Target(column=column, threshold=threshold)
    return binary_label(target, rule), rule


def _text_hint(target: pd.Series, task: TaskType) -> str:
    """What to do about a text target: name its values and the option that reads them."""
    values = sorted(class_names(target).dropna().unique())
    shown = ", ".join(map(repr, values[:5])) + (f" and {len(values) - 5} more" if len(values) > 5 else "")
    if task == "regression":
        return f"e.g. {values[0]!r}, but a regression target must be numeric"
    if len(values) == 2:
        return (
            f"two values, {shown}: which one is the positive class? Pass --positive VALUE (e.g. --positive {values[1]})"
        )
    return (
        f"{len(values)} values ({shown}): pass --positive VALUE (every other value is negative), or --task multiclass"
    )


def _positive_label(
    target: pd.Series, *, threshold: float | None, positive: str, source: str, column: str
) -> tuple[pd.Series, Target]:
    """Binary on a text target: label 1 where the target is `positive`, which must be one of its values."""
    if threshold is not None:
        raise PipelineError("--threshold and --positive: pass one (a number is cut at a threshold, text is matched)")
    rule = Target(column=column, positive=positive)
    label = binary_label(target, rule)
    if not (label == 1).any():
        values = ", ".join(map(repr, sorted(class_names(target).dropna().unique())[:10]))
        raise PipelineError(f"{source}: --positive {positive!r} is not a value of target {column!r} ({values})")
    return label, rule


def check_label(label: pd.Series, evaluation: pd.Series, source: str, column: str) -> None:
    """Refuse a label that cannot be learned or scored: one value only, or too few rows to evaluate on.

    Args:
        label: The label of every row to be released (NaN: missing).
        evaluation: True for the rows of the evaluation period (the newest released).
        source: The data's path, for the message.
        column: The target column, for the message.

    Raises:
        PipelineError: Naming the file, the column and the counts.
    """
    values = label.dropna().drop_duplicates().tolist()
    if len(values) < 2:
        shown = f"only {values[0]!r}" if values else "no value at all"
        raise PipelineError(f"{source}: target {column!r} has {shown}: a model needs at least two")
    known = label.notna()
    for name, rows in (
        ("evaluation period (the newest)", int((known & evaluation).sum())),
        ("periods before it", int((known & ~evaluation).sum())),
    ):
        if rows < MIN_ROWS:
            raise PipelineError(
                f"{source}: the {name} has {rows} labelled row(s); at least {MIN_ROWS} are "
                "needed (more rows per period: a longer --period, or more data)"
            )


def infer_features(
    frame: pd.DataFrame, skip: dict[str, str], *, categorical: list[str] = (), drop: list[str] = ()
) -> tuple[list[str], list[str], dict[str, str], dict[str, str]]:
    """Sort the columns into categorical and numeric features, saying why each went where.

    Numbers are numeric features; text or true/false columns are categories, including many-level ones (a
    country code, a state): the model pools their rare levels. Free text (long or mostly unique strings),
    unique identifiers, empty and constant columns are left out. `categorical` forces columns to be categories
    (a numeric code such as a ZIP code, a text column read as free text); `drop` leaves columns out.

    Args:
        frame: The rows.
        skip: Columns that are never features (target, time, identifiers, leakage) -> why.
        categorical: Columns to keep as categories whatever they look like (--categorical).
        drop: Columns to leave out (--drop).

    Returns:
        The categorical and the numeric features (in the file's order), column -> why it is a feature, and
        column -> why it was left out.
    """
    cats, numeric, kept, excluded = [], [], {}, dict(skip)
    for name in frame.columns:
        if name in skip:
            continue
        values = frame[name].dropna()
        if name in drop:
            excluded[name] = "dropped (--drop)"
        elif name in categorical:
            cats.append(name)
            kept[name] = f"{values.nunique()} levels (--categorical)"
        elif reason := _not_a_feature(values, len(frame)):
            excluded[name] = reason
        elif pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            numeric.append(name)
            kept[name] = "numbers"
        else:
            cats.append(name)
            kept[name] = _levels(values)
    return cats, numeric, kept, excluded


def _levels(values: pd.Series) -> str:
    distinct = values.nunique()
    if distinct <= MAX_CATEGORIES:
        return f"{distinct} levels"
    return f"{distinct} levels, many: the model pools the rarest (other) and the contract lists none"


def _not_a_feature(values: pd.Series, rows: int) -> str | None:
    """Why a column cannot be a feature as it is, or None when it can."""
    distinct = values.nunique()
    if distinct == 0:
        return "always empty"
    if distinct == 1:
        return f"one value only ({values.iloc[0]!r})"
    if pd.api.types.is_integer_dtype(values) and distinct == rows and rows > MAX_CATEGORIES:
        return "a different integer on every row: an identifier (pass --id to keep it for tracing)"
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return None
    if distinct <= MAX_CATEGORIES:
        return None
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.notna().mean() > 0.9:
        odd = values[numbers.isna()].iloc[0]
        return f"numbers mixed with text such as {odd!r}: if it marks a missing value, write it empty in the file"
    return _free_text(values.astype(str), distinct, rows)


def _free_text(text: pd.Series, distinct: int, rows: int) -> str | None:
    """Why a many-level text column is free text or an identifier, or None for a many-level category.

    A category repeats: on average at least MIN_ROWS_PER_LEVEL rows per level, and short values. Free text and
    identifiers are mostly unique, or long (a sentence, a URL).
    """
    length = float(text.str.len().median())
    if rows / distinct < MIN_ROWS_PER_LEVEL or length > MAX_LEVEL_LENGTH:
        return (
            f"text with {distinct} distinct values in {rows} rows (median length {length:g}): free text or an "
            "identifier (--id to trace it, --categorical to keep it as a category)"
        )
    return None


# Calendar features a time can give, with how each is read from the local time.
CALENDAR = {"weekday": lambda t: t.dt.day_of_week, "hour": lambda t: t.dt.hour, "month": lambda t: t.dt.month}


def calendar_features(
    times: pd.Series, periods: pd.Series, evaluation: pd.Series, columns: list[str], kind: str = "period"
) -> tuple[list[str], dict[str, str]]:
    """The calendar features worth deriving from the event times, and why each of the others is left out.

    A feature is kept when it varies within a period (a year-only time makes every weekday the same: it would
    only code the year, a value the model never saw for the next one; monthly periods make `month` code the
    period), and when the evaluation period holds no value unseen before it (a one-year history has never
    met next January). A feature that is already a column of the data is left to that column.

    Args:
        times: Each row's local event time.
        periods: Each row's period.
        evaluation: True for the rows of the evaluation period.
        columns: The data's columns.
        kind: The period kind, for the reasons.
    """
    kept, why = [], {}
    for name, part in CALENDAR.items():
        values = part(times)
        unseen = sorted(set(values[evaluation]) - set(values[~evaluation]))
        if name in columns:
            why[name] = "a column of the data has this name"
        elif values.groupby(periods.to_numpy()).nunique().max() < 2:
            why[name] = f"the same on every row of a {kind}: it would only code the {kind}"
        elif unseen:
            why[name] = f"the evaluation period has {name} {unseen[0]}, never seen before it"
        else:
            kept.append(name)
    return kept, why


def time_format(values: pd.Series) -> str | None:
    """The one strftime format every time in `values` is written in, or None (inferred value by value).

    Written to `prepare.time_format`, so ingest and `predict` read a day-first date or a bare year the same
    way whatever value a batch starts with.
    """
    text = values.astype(str).drop_duplicates()
    fmt = guess_datetime_format(text.iloc[0])
    if fmt is None or pd.to_datetime(text, format=fmt, errors="coerce").isna().any():
        return None
    return fmt


def propose(
    data: Path,
    *,
    target: str,
    task: TaskType,
    time: str,
    period: PeriodKind,
    timezone: str,
    threshold: float | None,
    positive: str | None,
    ids: list[str],
    leakage: list[str],
    through: str | None,
    categorical: list[str] = (),
    drop: list[str] = (),
    time_format: str | None = None,
    since: str | None = None,
) -> Proposal:
    """Read the team's data and check everything `pipeline init` needs from it, writing nothing.

    Args:
        data: A CSV file (cut into periods by `time`) or a folder of `<period>.csv` batch files.
        target: The column to predict.
        task: binary, multiclass or regression.
        time: The column holding each row's event time.
        period: How a file is cut (a folder's files say it by their names, `2013-01.csv`, `2013-Q1.csv`, ...).
        timezone: The zone naive times are read in, and in which a row's period is decided.
        threshold: binary: the label is `target > threshold`.
        positive: binary, a text target: the value that is the positive class.
        ids: Identifier columns: traced, never features.
        leakage: Columns known only after the event: never features.
        through: The newest period to release (default: every period).
        categorical: Columns to keep as categories whatever they look like.
        drop: Columns never to learn from.
        time_format: How the times are written (strftime); None: the one format all of them share, if any.
        since: The first period to release (the rows before it never are).

    Returns:
        The proposal.

    Raises:
        PipelineError: Naming the file and the problem (missing column, unparsable time, a target with one
            value, too few periods or rows).
    """
    source = str(data)
    frame, names = read_data(data, list(dict.fromkeys([target, time, *ids, *leakage, *categorical, *drop])))
    fmt = time_format or _one_format(frame[time])
    times = local_times(frame[time], timezone, source, time, fmt)
    names, period = _period_names(names, times, period, timezone)
    if since is not None:  # the rows before it are never released: a hole before it is no hole in the history
        if since not in set(names):
            raise PipelineError(f"--since {since}: not a period of {source} with rows ({min(names)}..{max(names)})")
        names = names.where(names >= since)
    counts = count_periods(names.dropna(), source)
    released = _released(list(counts), through, counts, source)
    kept = names.isin(released)
    frame, times, names = frame[kept], times[kept], names[kept]
    label, rule = label_of(
        frame[target], task=task, threshold=threshold, positive=positive, source=source, column=target
    )
    evaluation = names == released[-1]
    check_label(label, evaluation, source, target)
    skip = _not_features(target, time, ids, leakage)
    cats, numeric, kept, excluded = infer_features(frame, skip, categorical=categorical, drop=drop)
    calendar, calendar_why = calendar_features(times, names, evaluation, list(frame.columns), period)
    return Proposal(
        rows=len(frame),
        kind=period,
        periods={p: counts[p] for p in released},
        available=list(counts),
        labelled=int((label.notna() & evaluation).sum()),
        label=rule,
        classes=sorted(map(str, label.dropna().unique())) if task != "regression" else [],
        categorical=cats,
        numeric=numeric,
        calendar=calendar,
        excluded=excluded,
        spread=float(label.std()) if task == "regression" else None,
        time_format=fmt,
        kept=kept,
        calendar_why=calendar_why,
        many=[c for c in cats if frame[c].nunique() > MAX_CATEGORIES],
    )


def _one_format(values: pd.Series) -> str | None:
    """`time_format` of the values, or None when they do not parse alike (the value-by-value reading then)."""
    return time_format(values.dropna()) if values.notna().any() else None


def _period_names(
    names: pd.Series | None, times: pd.Series, period: PeriodKind, timezone: str
) -> tuple[pd.Series, PeriodKind]:
    """Each row's period and their kind: from the batch files' names (a folder), else cut from the times."""
    if names is None:
        return period_of(times, period, timezone), period
    return names, period_kind(names.iloc[0])


def _not_features(target: str, time: str, ids: list[str], leakage: list[str]) -> dict[str, str]:
    """The columns never proposed as features, each with the reason the plan shows."""
    skip = {target: "the target", time: "the time column (calendar features are derived from it)"}
    return (
        skip | {c: "an identifier (--id)" for c in ids} | {c: "known only after the event (--leakage)" for c in leakage}
    )


def _released(available: list[str], through: str | None, counts: dict[str, int], source: str) -> list[str]:
    """The periods to release: every one, or up to `through`; at least two (one to train on, one to evaluate).

    Raises:
        PipelineError: `through` is not a period of the data, or fewer than two periods would be released.
    """
    if through is not None and through not in available:
        raise PipelineError(f"--through {through}: not a period of {source} ({available[0]}..{available[-1]})")
    released = available if through is None else available[: available.index(through) + 1]
    if len(released) < 2:
        shown = ", ".join(f"{p}: {counts[p]} rows" for p in released)
        raise PipelineError(
            f"{source}: {len(released)} period ({shown}); at least 2 are needed, one to train on "
            "and the newest to evaluate on (a shorter --period?)"
        )
    return released
