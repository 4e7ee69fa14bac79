"""Command `predict`: score a file of rows with the champion model (the template's batch deployment).

Reads:   a CSV or Parquet file of rows to score (batch rows as `data/<prepare.batches>/` holds them, without the
         target, the time column as the source writes it), the tables `prepare.joins` names under `data/` for
         the rows' periods, the model, the contract.
Writes:  one CSV: the identifiers and time (as the input wrote it) of every input row, in order, its `score`
         (binary: probability of the positive class; multiclass: probability of the predicted class;
         regression: the prediction), its `decision` (binary: 0/1 at the model's threshold; multiclass: the
         predicted class; regression: no such column), the version of the model, and `problem`: why the row
         was not scored (then its score and decision are empty), empty for a scored row.
Params:  `prepare`, `task`, `features`, `paths`.

The time column is read as ingest reads the source (`prepare.time_format`, `sources.iso_times`), so a file to score
falls in the periods its batch would have. Each row is then checked against the contract's row-level rules (type,
range, allowed values, datetime; `pipeline/row_rules.py`): a row that breaks one cannot be scored, and its `problem`
names the column and the rule; the other rows are scored. A missing value is no problem (the model handles it), and
batch statistics (the missing share, row counts, unique keys, the period) are `validate`'s, not a file to score's.
`--strict` refuses the whole file instead when a row breaks a rule; a file without a scorable row is refused either
way. A column absent, or one the contract lists as leakage (known only after the event: a file that carries an
outcome was not built at prediction time), refuses the whole file. Rows go through the same feature code as training
(`features.feature_rows`), then the saved Pipeline; a NaN or infinite score refuses the file too (a broken
model, not a bad row: `pipeline.health`). A refused file writes nothing.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pandas as pd
import typer

from pipeline import engine, health
from pipeline.artifacts import file_md5, load_model
from pipeline.batches import period_files, period_kind, period_of, read_csv
from pipeline.config import Params, ParamsFile, load_params
from pipeline.contract import Contract, load_contract
from pipeline.errors import PipelineError
from pipeline.features import feature_rows, read_tables
from pipeline.metrics import TASKS, predicted_class, threshold_of
from pipeline.row_rules import check_input
from pipeline.sources import iso_times

if TYPE_CHECKING:  # for the annotation only: the model is loaded, never built, here
    from sklearn.pipeline import Pipeline

log = logging.getLogger(__name__)


def read_input(path: Path) -> pd.DataFrame:
    """A CSV (checked as `validate` checks raw files) or a Parquet file, its rows numbered from 0.

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
    return frame.reset_index(drop=True)  # problems are reported by row number


def refuse_leakage(frame: pd.DataFrame, path: Path, contract: Contract) -> None:
    """A column known only after the event refuses the whole file: it was not built at prediction time.

    Raises:
        PipelineError: Naming the first such column and every one the contract lists.
    """
    leaked = [c for c in contract.leakage if c in frame.columns]
    if leaked:
        raise PipelineError(
            f"{path}: column {leaked[0]!r} is known only after the event (the contract lists "
            f"{', '.join(map(repr, leaked))} as leakage): a file to score must not carry it"
        )


def with_iso_times(frame: pd.DataFrame, params: Params, source: str) -> pd.DataFrame:
    """The rows with their time column as data/ holds it (ISO 8601 UTC), read by ingest's own reader.

    A file to score comes in the source's format (`2002`, `11/8/2016`), or holds rows copied from data/: any
    other reader would put its rows in other periods (a year read as nanoseconds since 1970) or refuse dates
    that ingest accepts. An absent column is left to the contract check, which names it with the others.

    Raises:
        PipelineError: A time is missing or does not parse, naming the column and an example.
    """
    column, prepare = params.prepare.timestamp, params.prepare
    if column not in frame.columns:
        return frame
    times = iso_times(frame[column], timezone=prepare.timezone, fmt=prepare.time_format, source=source, column=column)
    return frame.assign(**{column: times})


def periods_of(frame: pd.DataFrame, params: Params, kind: str) -> list[str]:
    """The periods of `kind` (in local time, as batch files are cut) the rows fall in: whose tables to join."""
    stamp = pd.to_datetime(frame[params.prepare.timestamp], format="ISO8601", utc=True)
    return sorted(period_of(stamp, kind, params.prepare.timezone).unique())


def model_version(model: Path) -> str:
    """How the predictions name their model: the content hash DVC pins it by (first 12 hex digits)."""
    return "md5:" + file_md5(model)[:12]


def score_rows(
    frame: pd.DataFrame, model: Pipeline, *, params: Params, contract: Contract, data: Path, source: str
) -> pd.DataFrame:
    """The `score` (and `decision`) of each row of `frame`, under its row number."""
    length = period_kind(next(iter(period_files(data / params.prepare.batches))))  # month, quarter or year
    tables = read_tables(data, params.prepare.joins, periods_of(frame, params, length))
    rows = feature_rows(frame, tables, params=params, contract=contract, source=source)
    kind = TASKS[params.task.type]
    score = kind.score(model, rows[params.features.inputs])
    health.check_scores(score, f"the model's scores on {source}", getattr(model, "classes_", None))
    if params.task.type == "multiclass":  # one score column however many classes: the predicted one's chance
        decided = {"score": score.max(axis=1), "decision": predicted_class(score, kind.setting(model))}
        return pd.DataFrame(decided, index=frame.index)
    out = pd.DataFrame({"score": score}, index=frame.index)
    threshold = threshold_of(model)
    if threshold is not None:
        out["decision"] = pd.array(score >= threshold, dtype="Int64")  # nullable: an unscored row's is empty
    return out


def predictions(
    frame: pd.DataFrame, scored: pd.DataFrame, problems: pd.Series, *, params: Params, version: str
) -> pd.DataFrame:
    """Every input row in order: its identifiers and time as the input wrote them, its scores, its problem.

    A binary score is the probability of the positive class, and the decision 1 means that class:
    `positive_class` names it (a value such as `churned`, or a rule such as `amount > 15`), so the file reads
    alone.
    """
    out = frame[[*params.features.identifiers, params.prepare.timestamp]].join(scored)
    if params.task.type == "binary":
        out = out.assign(positive_class=params.task.target.positive_class)
    return out.assign(model_version=version, problem=problems)


def write_atomically(frame: pd.DataFrame, out: Path) -> None:
    """Write the CSV beside its destination, then rename: a failure never leaves half a file."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=out.parent, suffix=".tmp", delete=False, encoding="utf-8") as tmp:
        frame.to_csv(tmp, index=False, lineterminator="\n")
    Path(tmp.name).replace(out)


def input_files(path: Path) -> list[Path]:
    """The files to score: `path` itself, or a folder's CSV and Parquet files in name order (one partition each).

    Raises:
        PipelineError: The folder holds no such file.
    """
    if not path.is_dir():
        return [path]
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in {".csv", ".parquet"})
    if not files:
        raise PipelineError(f"{path}: no .csv or .parquet file to score")
    return files


def predict_file(path: Path, *, params: Params, contract: Contract, model: Path, strict: bool) -> pd.DataFrame:
    """One file's predictions: read, refused or checked row by row, scored (on a Dask worker, or here)."""
    frame = read_input(path)
    refuse_leakage(frame, path, contract)
    rows, problems = check_input(with_iso_times(frame, params, path.as_posix()), path, contract, params, strict=strict)
    scored = score_rows(
        rows, load_model(model), params=params, contract=contract, data=params.paths.data, source=path.as_posix()
    )
    return predictions(frame, scored, problems, params=params, version=model_version(model))


def main(
    input_: Annotated[Path, typer.Option("--input", help="CSV or Parquet file of rows to score, or a folder of them.")],
    out: Annotated[Path, typer.Option(help="Where to write the predictions (CSV).")],
    model: Annotated[Path | None, typer.Option(help="The model file [paths.model: the champion on main].")] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Refuse the whole file when a row breaks a rule (else: not that row).")
    ] = False,
    params_file: ParamsFile = Path("params.yaml"),
) -> None:
    """Score rows with the model; check them against the contract first; write nothing on error.

    A folder's files are scored one by one, or in parallel on the Dask engine, and written as one file in the
    folder's order; a refused file refuses the whole run.
    """
    params = load_params(params_file)
    contract = load_contract(params.paths.contract)
    model = model or params.paths.model
    shared = {"params": params, "contract": contract, "model": model, "strict": strict}
    with engine.cluster(params.engine) as client:
        written = pd.concat(engine.run_each(client, predict_file, input_files(input_), **shared), ignore_index=True)
    write_atomically(written, out)
    scored = int((written["problem"] == "").sum())
    log.info("predict: %d of %d rows scored with %s -> %s", scored, len(written), model_version(model), out)


if __name__ == "__main__":
    from pipeline.command import run_alone

    run_alone(main)
