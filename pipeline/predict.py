"""Command `predict`: score a file of rows with the champion model (the template's batch deployment).

Reads:   a CSV or Parquet file of rows to score (batch rows as `data/<prepare.batches>/` holds them, without the
         target), the tables `prepare.joins` names under `data/` for the rows' periods, the model, the contract.
Writes:  one CSV: the identifiers and timestamp of every input row, in order, its `score` (binary: probability
         of the positive class; multiclass: probability of the predicted class; regression: the prediction),
         its `decision` (binary: 0/1 at the model's threshold; multiclass: the predicted class; regression: no
         such column) and the version of the model that scored it.
Params:  `prepare`, `task`, `features`, `paths`.

The input is checked against the contract first, with the very messages `validate` gives, and a column the
contract lists as leakage (known only after the event) is refused: a file that carries an outcome was not
built at prediction time, and scoring it would hide that mistake. Rows go through the same feature code
as training (`features.feature_rows`), then the saved Pipeline. Nothing is written unless every row scored.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pandas as pd
import typer

from pipeline.artifacts import file_md5, load_model
from pipeline.batches import period_files, period_kind, period_of, read_csv
from pipeline.config import Params, ParamsFile, load_params
from pipeline.contract import Contract, Rows, Table, load_contract
from pipeline.errors import PipelineError
from pipeline.features import feature_rows, raw_columns, read_tables
from pipeline.metrics import TASKS, predicted_class, threshold_of
from pipeline.validate import check_frames

if TYPE_CHECKING:  # for the annotation only: the model is loaded, never built, here
    from sklearn.pipeline import Pipeline

log = logging.getLogger(__name__)


def read_input(path: Path) -> pd.DataFrame:
    """A CSV (checked as `validate` checks raw files) or a Parquet file.

    Raises:
        PipelineError: The file is missing, unreadable or empty.
    """
    if path.suffix.lower() != ".parquet":
        return read_csv(path, required=[])
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise PipelineError(f"{path}: cannot be read as Parquet ({exc})") from exc
    if frame.empty:
        raise PipelineError(f"{path}: no rows")
    return frame


def scoring_table(contract: Contract, params: Params) -> Table:
    """The batch table's contract as it applies to rows to score: the columns the features are built from.

    The target and the leakage columns are not known at scoring time; a file may span periods and hold any
    number of rows, so the period and row-count rules of batches do not apply.
    """
    table = contract.tables[params.prepare.batches]
    wanted = [c for c in raw_columns(params) if c != params.task.target.column and c not in contract.leakage]
    columns = {name: table.columns[name] for name in wanted if name in table.columns}
    unique = [key for key in table.unique if set(key) <= set(columns)]
    return table.model_copy(
        update={"columns": columns, "unique": unique, "period": None, "rows": Rows(), "references": {}}
    )


def check_input(frame: pd.DataFrame, path: Path, contract: Contract, params: Params) -> None:
    """Refuse leakage columns, then apply the contract's hard rules; log its soft findings.

    Raises:
        PipelineError: One line per problem, as `validate` words them.
    """
    leaked = [c for c in contract.leakage if c in frame.columns]
    if leaked:
        raise PipelineError(
            f"{path}: column {leaked[0]!r} is known only after the event (the contract lists "
            f"{', '.join(map(repr, leaked))} as leakage): a file to score must not carry it"
        )
    _, found = check_frames(scoring_table(contract, params), {None: frame}, {None: path.as_posix()})
    failures = [f["message"] for f in found[None] if f["severity"] == "failure"]
    if failures:
        raise PipelineError("invalid input, nothing was scored:\n" + "\n".join(failures))
    for warning in found[None]:
        log.warning("predict: warning: %s", warning["message"])


def periods_of(frame: pd.DataFrame, params: Params, path: Path, kind: str) -> list[str]:
    """The periods of `kind` (in local time, as batch files are cut) the rows fall in: whose tables to join."""
    stamp = pd.to_datetime(frame[params.prepare.timestamp], utc=True, errors="coerce")
    if stamp.isna().any():
        raise PipelineError(
            f"{path}: column {params.prepare.timestamp!r}: {int(stamp.isna().sum())} value(s) "
            "are not ISO 8601 timestamps"
        )
    return sorted(period_of(stamp, kind, params.prepare.timezone).unique())


def model_version(model: Path) -> str:
    """How the predictions name their model: the content hash DVC pins it by (first 12 hex digits)."""
    return "md5:" + file_md5(model)[:12]


def score_rows(
    frame: pd.DataFrame, model: Pipeline, *, params: Params, contract: Contract, data: Path, source: str, version: str
) -> pd.DataFrame:
    """The predictions for `frame`, one row per input row, in order."""
    length = period_kind(next(iter(period_files(data / params.prepare.batches))))  # month, quarter or year
    tables = read_tables(data, params.prepare.joins, periods_of(frame, params, Path(source), length))
    rows = feature_rows(frame, tables, params=params, contract=contract, source=source)
    kind = TASKS[params.task.type]
    score = kind.score(model, rows[params.features.inputs])
    out = rows[[*params.features.identifiers, params.prepare.timestamp]]
    if params.task.type == "multiclass":  # one score column however many classes: the predicted one's chance
        return out.assign(
            score=score.max(axis=1), decision=predicted_class(score, kind.setting(model)), model_version=version
        )
    out = out.assign(score=score)
    threshold = threshold_of(model)
    if threshold is not None:
        out["decision"] = (score >= threshold).astype("int64")
    return out.assign(model_version=version)


def write_atomically(frame: pd.DataFrame, out: Path) -> None:
    """Write the CSV beside its destination, then rename: a failure never leaves half a file."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=out.parent, suffix=".tmp", delete=False, encoding="utf-8") as tmp:
        frame.to_csv(tmp, index=False, lineterminator="\n")
    Path(tmp.name).replace(out)


def main(
    input_: Annotated[Path, typer.Option("--input", help="CSV or Parquet file of rows to score.")],
    out: Annotated[Path, typer.Option(help="Where to write the predictions (CSV).")],
    model: Annotated[Path | None, typer.Option(help="The model file [paths.model: the champion on main].")] = None,
    params_file: ParamsFile = Path("params.yaml"),
) -> None:
    """Score a file of rows with the model; check it against the contract first; write nothing on error."""
    params = load_params(params_file)
    contract = load_contract(params.paths.contract)
    model = model or params.paths.model
    frame = read_input(input_)
    check_input(frame, input_, contract, params)
    predictions = score_rows(
        frame,
        load_model(model),
        params=params,
        contract=contract,
        data=params.paths.data,
        source=input_.as_posix(),
        version=model_version(model),
    )
    write_atomically(predictions, out)
    log.info("predict: %d rows scored with %s -> %s", len(predictions), predictions["model_version"].iloc[0], out)


if __name__ == "__main__":
    from pipeline.command import run_alone

    run_alone(main)
