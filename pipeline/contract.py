"""The data contract: what every raw file must look like, in a YAML file in git (`contract.yaml`).

`load_contract` reads it into frozen, typed objects (unknown keys fail, as in `params.yaml`); pipeline/schemas.py
turns a table's contract into the pandera schemas `validate` checks rows with, so a fork edits YAML, not code.
`infer_contract` proposes a contract from data already accepted.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipeline.batches import period_files, read_csv
from pipeline.config import Params
from pipeline.config import Target as TargetRule
from pipeline.errors import PipelineError
from pipeline.labels import binary_label


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Share(_Rule):
    """A share of a file's rows: above `usual` is a warning, above `max` a failure."""

    usual: float = Field(default=0.0, ge=0, le=1)
    max: float = Field(default=0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> Share:
        if self.usual > self.max:
            raise ValueError(f"usual ({self.usual}) is above max ({self.max})")
        return self


class Missing(Share):
    """Share of missing values of a column: above `usual` is a warning, above `max` a failure (a NaN flood)."""


class Duplicates(Share):
    """Share of a file's rows that repeat an earlier row exactly, every column alike (an export run twice).

    By default any duplicate is a warning and none is a failure; `pipeline init` measures the share.
    """

    max: float = Field(default=1.0, ge=0, le=1)


class Column(_Rule):
    """One column: its type, how much may be missing, its range or its allowed values."""

    type: Literal["int", "float", "str", "datetime"]
    missing: Missing = Missing()
    min: int | float | None = None
    max: int | float | None = None
    bounds: Literal["fail", "warn"] = Field(
        default="fail",
        description="A value outside min/max: fail, or warn (init's choice for inferred bounds of columns the "
        "model never reads: identifiers, leakage, dropped columns).",
    )
    values: list[str] | None = Field(default=None, description="Allowed categories (str columns).")
    unseen: Literal["fail", "warn"] = Field(
        default="fail",
        description="A value outside `values`: fail, or warn and map it to 'other' before the model sees it.",
    )


class Period(_Rule):
    """Every row of a batch must fall in its file's period (the name: `2013-01`, `2013-Q1`, `2013`), in local time."""

    column: str
    timezone: str


class Rows(_Rule):
    """Row-count bounds for one file."""

    min: int = Field(default=1, ge=1)
    max: int | None = None


class Table(_Rule):
    """One table: `data/<name>/<period>.csv` when `per_period`, else `data/<name>.csv`."""

    per_period: bool
    columns: dict[str, Column]
    unique: list[list[str]] = Field(default=[], description="Column sets whose values must be unique.")
    period: Period | None = None
    rows: Rows = Rows()
    references: dict[str, str] = Field(
        default={},
        description="column -> 'table.column' it should be found "
        "in; a gap is a warning (e.g. a key missing from its reference table).",
    )
    extra: Literal["warn", "fail"] = Field(
        default="warn",
        description="A column the contract does not describe: a warning, or a failure (a strict schema).",
    )
    duplicates: Duplicates = Duplicates()


class Target(_Rule):
    """The target column and the bounds of the positive rate of its label (binary tasks)."""

    column: str
    positive_rate: tuple[float, float] | None = None


class Contract(_Rule):
    """The whole contract: the tables, the target, and the columns that must never be features."""

    tables: dict[str, Table]
    target: Target
    leakage: list[str] = Field(description="Known only after the event: never model inputs.")
    leakage_auc: float = Field(
        default=0.95,
        gt=0.5,
        le=1,
        description="A column whose values alone rank the "
        "label with ROC AUC above this (or below 1 - this) is flagged as leakage.",
    )


def load_contract(path: Path) -> Contract:
    """Read and check the contract file.

    Raises:
        PipelineError: The file is missing or not YAML, or a key is unknown, missing or of the wrong type.
    """
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Contract.model_validate(raw or {})
    except OSError as exc:
        raise PipelineError(f"{path}: cannot read the contract ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise PipelineError(f"{path}: not valid YAML ({exc})") from exc
    except ValidationError as exc:
        keys = "; ".join(f"key '{'.'.join(map(str, e['loc']))}': {e['msg']}" for e in exc.errors())
        raise PipelineError(f"{path}: {keys}") from exc


# ---- infer-contract ---------------------------------------------------------------------------------------


def infer_column(
    values: pd.Series, max_categories: int, missing_share: float | None = None, bounds: str = "fail"
) -> Column:
    """Propose a rule for one column from accepted values: type, range with a margin, categories, missing.

    `missing_share` is the largest share of missing values in one file (the rule holds per file); by default
    the share in `values`. `bounds` is what a value outside the inferred range does (warn: a column the model
    never reads, whose range nobody chose).
    """
    share = float(values.isna().mean()) if missing_share is None else missing_share
    missing = Missing(**share_rule(share)) if share else Missing()
    present = values.dropna()
    if pd.api.types.is_numeric_dtype(values):
        kind = "int" if pd.api.types.is_integer_dtype(values) else "float"
        if present.empty:
            return Column(type=kind, missing=missing)
        low, high = float(present.min()), float(present.max())
        margin = 0.1 * (high - low) or 1.0
        floor = max(0.0, low - margin) if low >= 0 else low - margin  # a non-negative quantity stays so
        low, high = int(np.floor(floor)), int(np.ceil(high + margin))
        return Column(type=kind, missing=missing, min=low, max=high, bounds=bounds)
    as_time = pd.to_datetime(present.head(1000), errors="coerce", utc=True, format="ISO8601")
    if len(present) and as_time.notna().all():
        return Column(type="datetime", missing=missing)
    categories = sorted(present.astype(str).unique())
    if len(categories) <= max_categories:
        return Column(type="str", missing=missing, values=categories, unseen="warn")
    return Column(type="str", missing=missing)


def share_rule(share: float) -> dict[str, float]:
    """`usual` and `max` around a share measured in accepted files: warn at 1.5 times it, fail well above."""
    return {"usual": _round_up(share * 1.5), "max": _round_up(max(share * 3, share + 0.05))}


def _round_up(share: float) -> float:
    return float(min(1.0, np.ceil(share * 1000) / 1000))


def infer_table(
    frames: list[pd.DataFrame],
    per_period: bool,
    period: Period | None,
    max_categories: int,
    loose: Collection[str] = (),
) -> Table:
    """Propose a table's contract from its accepted files (rows bounds: half the smallest, twice the largest).

    The missing-value and duplicate-row rules are checked file by file, so they are proposed from the file
    with the most. The inferred range of a column in `loose` (one the model never reads) only warns.
    """
    whole = pd.concat(frames, ignore_index=True)
    columns = {
        name: infer_column(
            whole[name],
            max_categories,
            max(float(f[name].isna().mean()) for f in frames if name in f),
            "warn" if name in loose else "fail",
        )
        for name in whole.columns
    }
    sizes = [len(f) for f in frames]
    duplicated = max(float(f.duplicated().mean()) for f in frames)
    return Table(
        per_period=per_period,
        columns=columns,
        unique=unique_key(frames, period.column if period else None),
        period=period,
        rows=Rows(min=max(1, min(sizes) // 2), max=max(sizes) * 2),
        duplicates=Duplicates(**share_rule(duplicated)),
    )


def unique_key(frames: list[pd.DataFrame], time: str | None) -> list[list[str]]:
    """The first column, else pair of columns, whose values are unique across all files and never missing.

    Across files, not only within each: `validate` also fails a key found in two periods. A float is never a
    key. A pair is looked for only among the time column and the columns that repeat
    (a country and a year: one row per country and year), so the search stays small.
    """
    whole = pd.concat(frames, ignore_index=True)
    usable = [c for c in whole.columns if whole[c].notna().all() and not pd.api.types.is_float_dtype(whole[c])]
    for name in usable:
        if whole[name].is_unique:
            return [[name]]
    pairs = [(a, b) for i, a in enumerate(usable) for b in usable[i + 1 :] if time in (a, b) or time is None]
    for pair in pairs[:MAX_KEY_PAIRS]:
        if not whole.duplicated(list(pair)).any():
            return [list(pair)]
    return []


MAX_KEY_PAIRS = 50


def dump_contract(contract: Contract) -> str:
    """The contract as YAML, readable: defaults left out, keys in declaration order."""
    body = contract.model_dump(mode="json", exclude_defaults=True)
    header = (
        "# The data contract: what every raw file must look like (checked by the `validate` stage).\n"
        "# Proposed by `pipeline infer-contract`; review it: tighten ranges, set `unique` keys and\n"
        "# `unseen` policies, list the leakage columns, `extra: fail` to refuse unknown columns.\n"
        "# See docs in pipeline/contract.py.\n"
    )
    return header + yaml.safe_dump(body, sort_keys=False, default_flow_style=None, width=110)


def infer_contract(
    data: Path,
    *,
    batches: str,
    per_period: dict[str, bool],
    target: str,
    label: TargetRule | None,
    leakage: list[str],
    period: Period | None,
    max_categories: int = 50,
    read: Collection[str] | None = None,
) -> Contract:
    """Propose a contract for every table under `data` from the files already accepted there.

    Args:
        data: The raw data folder.
        batches: The folder of batch files (one per period).
        per_period: Tables released one file per period (the batches and, e.g., hourly readings to join).
        target: The target column; it is listed as leakage (known only after the event).
        label: For a binary label, what makes a row positive: positive-rate bounds are proposed around it.
        leakage: Columns known only after the event.
        period: The period rule for per-period tables whose files have its column.
        max_categories: Text columns with at most this many distinct values get an allowed list.
        read: The batch table's columns a model input is built from (None: all); the inferred range of any
            other column only warns.
    """
    tables, rates = {}, []
    names = sorted({batches, *per_period, *(p.stem for p in data.glob("*.csv"))})
    frames_of = {}  # name -> (one file per period?, its files' frames): every file read once
    for name in names:
        periodic = per_period.get(name, name == batches)
        files = list(period_files(data / name).values()) if periodic else [data / f"{name}.csv"]
        frames_of[name] = periodic, [read_csv(path, required=[]) for path in files]
    header = frames_of[batches][1][0].columns if frames_of[batches][1] else []
    loose = set() if read is None else {c for c in header if c not in read}
    for name, (periodic, frames) in frames_of.items():
        rule = period if period is not None and periodic and period.column in frames[0] else None
        tables[name] = infer_table(frames, periodic, rule, max_categories, loose)
        if name == batches and label is not None and target in frames[0]:
            rates = [float(binary_label(f[target], label).dropna().mean()) for f in frames]
    bounds = (round(max(0.0, min(rates) - 0.1), 3), round(min(1.0, max(rates) + 0.1), 3)) if rates else None
    return Contract(
        tables=tables, target=Target(column=target, positive_rate=bounds), leakage=sorted({*leakage, target})
    )


def propose_contract(params: Params, leakage: list[str], max_categories: int = 50) -> Contract:
    """`infer_contract` for the project `params` describe: its batches, joins, target and time column.

    Used by `pipeline infer-contract` and by `pipeline init`, so both propose the same contract. The ranges of
    the columns no model input is built from (identifiers, leakage, the target, dropped columns) only warn:
    a bound nobody chose must not reject a period for a column the model never reads.
    """
    read = set(params.features.inputs) | {k for j in params.prepare.joins for k in j.keys}
    prepare = params.prepare
    per_period = {prepare.batches: True} | {j.table: j.per_period for j in prepare.joins}
    return infer_contract(
        params.paths.data,
        batches=prepare.batches,
        per_period=per_period,
        target=params.task.target.column,
        label=params.task.target if params.task.type == "binary" else None,
        leakage=leakage,
        period=Period(column=prepare.timestamp, timezone=prepare.timezone),
        max_categories=max_categories,
        read=read,
    )
