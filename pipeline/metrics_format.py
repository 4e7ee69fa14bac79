"""Read the evaluation metrics (`evaluate.json`) in either of its formats.

Format 1 (older commits and tags) holds plain numbers: `"model": {"roc_auc": 0.75, ...}` and no `format` key.
Format 2 holds each metric with its bootstrap interval, `"model": {"roc_auc": {"value": 0.75, "low": 0.744,
"high": 0.757}, ...}`, and names its `primary` metric. The registry and the report site read metrics from any
commit in history, so both are accepted and turned into the format-2 shape here, in one place.
"""

from __future__ import annotations

from numbers import Real

from pipeline.errors import PipelineError

# Format 1 named no primary metric; these were the template's headline metrics for binary and regression.
FORMAT_1_PRIMARY = ("roc_auc", "mae")


def interval(value, where: str) -> dict:
    """One metric as `{"value", "low", "high"}`; a format-1 number has no interval (low and high are None).

    Raises:
        PipelineError: The value is neither a number, nor null, nor an object with a numeric `value`.
    """
    if value is None or (isinstance(value, Real) and not isinstance(value, bool)):
        return {"value": value, "low": None, "high": None}
    if isinstance(value, dict) and "value" in value and isinstance(value["value"], Real | None):
        return {"value": value.get("value"), "low": value.get("low"), "high": value.get("high")}
    raise PipelineError(f'{where}: expected a number or {{"value": number, "low": .., "high": ..}}, found {value!r}')


def headline(evaluate: dict, source: str) -> dict[str, dict[str, dict]]:
    """The model's, the baseline's and the simpler model's metrics as intervals, from either evaluate.json format.

    A side the file lacks (the simpler model, before it existed or when switched off) is empty.

    Args:
        evaluate: The parsed file.
        source: Where it came from (a path, or `rev:path`), named in errors.

    Raises:
        PipelineError: The file has no `model` section, or a metric is malformed.
    """
    if not isinstance(evaluate, dict) or not isinstance(evaluate.get("model"), dict):
        raise PipelineError(f'{source}: no "model" section of metrics (is it an evaluate.json?)')
    return {
        side: {name: interval(value, f"{source}: {side}.{name}") for name, value in (evaluate.get(side) or {}).items()}
        for side in ("model", "baseline", "simpler")
    }


def primary(evaluate: dict) -> str | None:
    """The name of the primary metric: the file's own `primary`, else the format-1 default present."""
    if evaluate.get("primary"):
        return evaluate["primary"]
    return next((name for name in FORMAT_1_PRIMARY if name in evaluate.get("model", {})), None)
