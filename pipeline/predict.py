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

The time column is read as ingest reads the source (`prepare.time_format`, `sources.iso_times`), so a file
to score falls in the periods its batch would have. Each row is then checked against the contract's row-level
rules (type, range, allowed values, datetime): a row that breaks one cannot be scored, and its `problem` names
the column and the rule; the other rows are scored. A missing value is no problem (the model handles it), and
batch statistics (the missing share, row counts, unique keys, the period) are `validate`'s, not a file to
score's. `--strict` refuses the whole file instead when a row breaks a rule; a file without a scorable row is
refused either way. A column absent, or one the contract lists as leakage (known only after the event: a file
that carries an outcome was not built at prediction time), refuses the whole file. Rows go through the same
feature code as training (`features.feature_rows`), then the saved Pipeline. A refused file writes nothing.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pandas as pd
import pandera.pandas as pa
import typer

from pipeline.artifacts import file_md5, load_model
from pipeline.batches import period_files, period_kind, period_of, read_csv
from pipeline.config import Params, ParamsFile, load_params
from pipeline.contract import Contract, Missing, Rows, Stack, Table, load_contract, table_schemas
from pipeline.datatests import finding
from pipeline.errors import PipelineError
from pipeline.features import feature_rows, raw_columns, read_tables
from pipeline.metrics import TASKS, predicted_class, threshold_of
from pipeline.sources import ISO_UTC, iso_times
from pipeline.validate import REDUNDANT, RULES, _split_check, schema_findings, unknown_columns

if TYPE_CHECKING:  # for the annotation only: the model is loaded, never built, here
    from sklearn.pipeline import Pipeline

log = logging.getLogger(__name__)
SHOWN = 20  # problems listed in an error; the output's `problem` column has them all


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

    A file to score comes in the source's format (`2002`, `11/8/2016`): any other reader would put its rows in
    other periods (a year read as nanoseconds since 1970) or refuse dates that ingest accepts. Rows copied
    from data/ are already in its form, which `prepare.time_format` does not describe: they are kept as they
    are. An absent column is left to the contract check, which names it with the others.

    Raises:
        PipelineError: A time is missing or does not parse, naming the column and an example.
    """
    column, prepare = params.prepare.timestamp, params.prepare
    if column not in frame.columns:
        return frame
    values = frame[column]
    own = ~values.astype(str).str.fullmatch(ISO_UTC.pattern)  # the source's form, not data/'s
    if not own.any():
        return frame
    times = values.astype(object)
    times[own] = iso_times(
        values[own], timezone=prepare.timezone, fmt=prepare.time_format, source=source, column=column
    )
    return frame.assign(**{column: times})


def scoring_table(contract: Contract, params: Params) -> Table:
    """The batch table's row-level rules, on the columns the features are built from.

    The target and the leakage columns are not known at scoring time. Rules about a batch as a whole (the
    share of missing values, row counts, unique keys, the period of a file) are `validate`'s: a file to score
    may hold six rows, two of them with a value missing, and the model handles a missing value. So every
    column may be missing, without a share limit, and only rules a single row can break remain.
    """
    table = contract.tables[params.prepare.batches]
    wanted = [c for c in raw_columns(params) if c != params.task.target.column and c not in contract.leakage]
    anything = Missing(usual=1.0, max=1.0)
    columns = {n: table.columns[n].model_copy(update={"missing": anything}) for n in wanted if n in table.columns}
    return table.model_copy(update={"columns": columns, "unique": [], "period": None, "rows": Rows(), "references": {}})


def check_columns(frame: pd.DataFrame, table: Table, known: Table, source: str) -> list[dict]:
    """Refuse a file that lacks a column of `table` or has one `known` does not list under `extra: fail`.

    Returns:
        The other findings (an unknown column under `extra: warn`, perhaps a renamed one), to log.

    Raises:
        PipelineError: One line per problem, as `validate` words them.
    """
    absent = [
        finding(file=source, column=name, rule="column_in_dataframe", severity="failure", what="column absent")
        for name in table.columns
        if name not in frame.columns
    ]
    found = absent + unknown_columns(known, frame, source, absent)
    failures = [f["message"] for f in found if f["severity"] == "failure"]
    if failures:
        raise PipelineError("invalid input, nothing was scored:\n" + "\n".join(failures))
    return found


def known_table(contract: Contract, params: Params) -> Table:
    """The batch table's columns a file to score may carry: all but the target and the leakage columns.

    A column the features do not read (`minute`) is no unknown column; the target, never present, is no
    candidate for an unknown column's old name.
    """
    table = contract.tables[params.prepare.batches]
    unknown = {params.task.target.column, *contract.leakage}
    return table.model_copy(update={"columns": {n: c for n, c in table.columns.items() if n not in unknown}})


def row_schemas(table: Table, rows: int) -> tuple[pa.DataFrameSchema, pa.DataFrameSchema]:
    """The contract's hard and soft pandera schemas for `rows` rows of one file, whole numbers nullable.

    pandera cannot coerce a missing value to `int64`; pandas' nullable `Int64` still refuses `2.5` or `x`.
    """
    hard, soft = table_schemas(table, Stack(("input",), (None,), (rows,)))
    nullable = {name: {"dtype": "Int64"} for name, column in table.columns.items() if column.type == "int"}
    return hard.update_columns(nullable), soft


def row_problems(frame: pd.DataFrame, hard: pa.DataFrameSchema) -> tuple[pd.DataFrame, pd.Series]:
    """The rows that pass every hard rule, coerced to the contract's types, and per input row why it failed.

    pandera cannot check the range of a column whose coercion failed (text does not compare with numbers),
    so the rows found are set aside and the others checked again, until a pass finds nothing.

    Returns:
        The passing rows (the input's row numbers; empty when none pass) and a reason per input row ('': none).
    """
    problems = pd.Series("", index=frame.index, dtype=object)
    while True:
        try:
            return numpy_types(hard.validate(frame[problems == ""], lazy=True), hard), problems
        except pa.errors.SchemaErrors as exc:
            cases = exc.failure_cases
        found = reasons(cases)
        if found.empty:  # a failure that no row explains: not expected once every column is present
            raise PipelineError("invalid input, nothing was scored:\n" + cases.to_string())
        problems[found.index] = found


def reasons(cases: pd.DataFrame) -> pd.Series:
    """Per failing row (its number), what it broke, from pandera's failure cases; several joined by `; `."""
    kinds = cases["check"].astype(str).map(lambda check: _split_check(check)[0])
    cases = cases[cases["index"].notna() & ~kinds.isin(REDUNDANT)]  # no index: a check that could not run
    lines = map(reason, cases["column"], cases["check"].astype(str), cases["failure_case"])
    found = pd.Series(list(lines), index=cases["index"].astype("int64"), dtype=object)
    return found.groupby(level=0, sort=True).agg("; ".join)


def reason(column: str, check: str, value: object) -> str:
    """One broken rule of one row: `column 'price': le 60 (value 9999.0)`."""
    shown = repr(value) if isinstance(value, str) else str(value)
    return f"column {column!r}: {rule_of(check)} (value {shown})"


def rule_of(check: str) -> str:
    """A pandera check's name as `validate` reports the rule (`less_than_or_equal_to(6000)` -> `le 6000`)."""
    kind, arg = _split_check(check)
    return RULES[kind][0].format(arg=arg) if kind in RULES else check


def numpy_types(rows: pd.DataFrame, hard: pa.DataFrameSchema) -> pd.DataFrame:
    """Whole-number columns as pandas reads a CSV: `int64`, `float64` with a value missing (the model's types)."""
    ints = [name for name, column in hard.columns.items() if str(column.dtype) == "Int64"]
    return rows.astype({name: "float64" if rows[name].isna().any() else "int64" for name in ints})


def check_input(
    frame: pd.DataFrame, path: Path, contract: Contract, params: Params, *, strict: bool
) -> tuple[pd.DataFrame, pd.Series]:
    """Apply the contract's row-level rules: the rows to score, and per input row why it cannot be ('': none).

    The contract's warnings are logged only for a file that is scored: a refused one shows its error alone.

    Raises:
        PipelineError: A column is absent (or refused by the contract's `extra` policy), no row can be
            scored, or a row cannot be under `strict`.
    """
    table, source = scoring_table(contract, params), path.as_posix()
    found = check_columns(frame, table, known_table(contract, params), source)
    hard, soft = row_schemas(table, len(frame))
    rows, problems = row_problems(frame, hard)
    refuse_problems(problems, path, strict=strict)
    found += schema_findings(rows, soft, Stack((source,), (None,), (len(frame),)), "warning")[0]
    for warning in found:
        log.warning("predict: warning: %s", warning["message"])
    return rows, problems


def refuse_problems(problems: pd.Series, path: Path, *, strict: bool) -> None:
    """Refuse the file when a row cannot be scored under `--strict`, or when no row can; else log a warning.

    Raises:
        PipelineError: `invalid input, nothing was scored:` then one line per row (the first few).
    """
    failed = problems[problems != ""]
    if failed.empty:
        return
    if strict or len(failed) == len(problems):
        lines = [f"{path}: row {number + 1}: {why}" for number, why in failed.head(SHOWN).items()]
        more = [f"... and {len(failed) - SHOWN} more rows"] if len(failed) > SHOWN else []
        raise PipelineError("invalid input, nothing was scored:\n" + "\n".join(lines + more))
    log.warning(
        "predict: warning: %d of %d rows not scored (see the `problem` column), e.g. row %d: %s",
        len(failed),
        len(problems),
        failed.index[0] + 1,
        failed.iloc[0],
    )


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


def main(
    input_: Annotated[Path, typer.Option("--input", help="CSV or Parquet file of rows to score.")],
    out: Annotated[Path, typer.Option(help="Where to write the predictions (CSV).")],
    model: Annotated[Path | None, typer.Option(help="The model file [paths.model: the champion on main].")] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Refuse the whole file when a row breaks a rule (else: not that row).")
    ] = False,
    params_file: ParamsFile = Path("params.yaml"),
) -> None:
    """Score a file of rows with the model; check it against the contract first; write nothing on error."""
    params = load_params(params_file)
    contract = load_contract(params.paths.contract)
    model = model or params.paths.model
    frame = read_input(input_)
    refuse_leakage(frame, input_, contract)
    rows, problems = check_input(
        with_iso_times(frame, params, input_.as_posix()), input_, contract, params, strict=strict
    )
    scored = score_rows(
        rows, load_model(model), params=params, contract=contract, data=params.paths.data, source=input_.as_posix()
    )
    version = model_version(model)
    write_atomically(predictions(frame, scored, problems, params=params, version=version), out)
    log.info("predict: %d of %d rows scored with %s -> %s", len(rows), len(frame), version, out)


if __name__ == "__main__":
    from pipeline.command import run_alone

    run_alone(main)
