"""What a target value means as a label: the one place the label policy lives.

Kept apart from `pipeline.features` (which needs the contract) so that the contract's inference, the data
tests, `init` and `prepare` all name classes and positives alike without importing one another.
"""

from __future__ import annotations

import pandas as pd

from pipeline.config import Target


def as_text(values: pd.Series) -> pd.Series:
    """Values as text, missing ones kept missing; whole numbers read as floats (a file with a gap) as `3`, not `3.0`.

    How a category or a slice is named whatever type reading gave its column (`features.typed`, slices).
    """
    if values.dtype.kind == "f" and (values.dropna() % 1 == 0).all():
        values = values.astype("Int64")
    return values.astype("str")


def class_names(values: pd.Series) -> pd.Series:
    """Class names as text, the way a multiclass label is stored: `3.0` read from a CSV becomes "3", not "3.0"."""
    numbers = pd.to_numeric(values, errors="coerce")
    whole = numbers.notna() & (numbers == numbers.round())
    text = values.astype("string").str.strip()
    return text.where(~whole, numbers.round().astype("Int64").astype("string")).replace("", pd.NA)


def binary_label(target: pd.Series, rule: Target) -> pd.Series:
    """The binary label of each value: 1.0 or 0.0, NaN where the target is missing.

    With `rule.positive` the target is text (`alive`/`dead`): 1 where it is that value (as `class_names` writes
    it, so `1` and `1.0` are one value). Otherwise the target is a number cut at `rule.threshold`. Every stage
    and data test that needs the label of a binary target calls this, so the policy lives in one place.
    """
    if rule.positive is not None:
        names = class_names(target)
        return (names == class_names(pd.Series([rule.positive])).iloc[0]).astype(float).where(names.notna())
    numbers = pd.to_numeric(target, errors="coerce")
    return (numbers > rule.threshold).astype(float).where(numbers.notna())
