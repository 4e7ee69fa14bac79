"""Stage `prepare`: join the raw batches with their reference tables, derive calendar features, label, split.

Reads:   `data/<prepare.batches>/<period>.csv`, the tables of `prepare.joins`, and the data contract (for the
         allowed categories: under the warn policy, an unseen category becomes "other").
Writes:  `<prepared>/train.parquet/` (the reference periods) and `<prepared>/test.parquet/` (the evaluation
         period, the newest), one Parquet file per period, and `<metrics>/prepare.json` (rows per split,
         unlabelled rows dropped).
Params:  `prepare`, `task`, `features`, `window`.
Metrics: `rows.train`, `rows.test`, `unlabelled.train`, `unlabelled.test`, `periods.*`.

The split is by time: the model learns from periods strictly before the one it is evaluated on, so no
future row leaks into training. Only identifiers and the period (as text), the model inputs and the label are
written: the columns known after the event never leave this stage. How a row is joined, dated and labelled lives
in `pipeline.features`, shared with the stages that score rows; this module reads, splits and writes.

Each period is prepared on its own (`prepare_period`), its file written under the split it belongs to: with
`engine.kind: pandas` one after the other in this process, with `dask` in parallel on the cluster's workers
(see pipeline/engine.py). Both write the same bytes, and neither holds more than one period's raw rows at a time. A
reader sees each split as one table (`pd.read_parquet` of the folder: its files in name order, so in time order).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from pipeline import engine
from pipeline.artifacts import write_json
from pipeline.batches import period_files
from pipeline.config import Params, ParamsFile, Window, load_params
from pipeline.contract import Contract, load_contract
from pipeline.errors import PipelineError
from pipeline.features import prepare_rows, raw_columns, read_periods, read_tables

log = logging.getLogger(__name__)


def select_periods(available: list[str], window: Window) -> tuple[list[str], str]:
    """Split the available periods (in time order) into reference periods and the evaluation period.

    Raises:
        PipelineError: There is no period before the evaluation period to learn from.
    """
    evaluation, before = available[-1], available[:-1]
    if not before:
        raise PipelineError(f"only one period ({evaluation}) is released: need one to train on and one to evaluate")
    reference = before if window.reference_periods is None else before[-window.reference_periods :]
    return reference, evaluation


def prepare_period(
    item: tuple[str, str],
    *,
    folder: Path,
    tables: dict[str, pd.DataFrame],
    params: Params,
    contract: Contract,
    out: Path,
) -> tuple[int, int]:
    """Prepare one (period, split) into `out/<split>.parquet/<period>.parquet`; the rows written, unlabelled dropped."""
    period, split = item
    batch = read_periods(folder, [period], raw_columns(params))
    rows, dropped = prepare_rows(batch, tables, params=params, contract=contract, source=str(folder))
    (out / f"{split}.parquet").mkdir(parents=True, exist_ok=True)
    rows.to_parquet(out / f"{split}.parquet" / f"{period}.parquet", index=False)
    return len(rows), dropped


def main(
    *,
    data: Annotated[Path, typer.Option(help="Folder of raw data (paths.data).")],
    contract: Annotated[Path, typer.Option(help="The data contract (paths.contract).")],
    out: Annotated[Path, typer.Option(help="Folder for train.parquet and test.parquet (paths.prepared).")],
    metrics: Annotated[Path, typer.Option(help="JSON file for the row counts.")],
    params_file: ParamsFile = Path("params.yaml"),
) -> None:
    """Join, label and split the raw batches by time."""
    params, contract = load_params(params_file), load_contract(contract)
    folder = data / params.prepare.batches
    reference, evaluation = select_periods(list(period_files(folder)), params.window)
    log.info("prepare: reference %s..%s, evaluation %s", reference[0], reference[-1], evaluation)
    tables = read_tables(data, params.prepare.joins, [*reference, evaluation])
    shutil.rmtree(out, ignore_errors=True)  # a period no longer in the window must not stay behind
    items = [(period, "train") for period in reference] + [(evaluation, "test")]
    with engine.cluster(params.engine) as client:  # every period at once: the tables are sent to a worker once
        counts = engine.run_each(
            client, prepare_period, items, folder=folder, tables=tables, params=params, contract=contract, out=out
        )
    rows, dropped = {"train": 0, "test": 0}, {"train": 0, "test": 0}
    for (_, split), (written, unlabelled) in zip(items, counts, strict=True):
        rows[split] += written
        dropped[split] += unlabelled
    write_json(
        {"periods": {"reference": reference, "evaluation": evaluation}, "rows": rows, "unlabelled": dropped}, metrics
    )
    log.info(
        "prepare: %d train rows, %d test rows (%d unlabelled dropped)",
        rows["train"],
        rows["test"],
        sum(dropped.values()),
    )


if __name__ == "__main__":
    from pipeline.command import run_alone

    run_alone(main)
