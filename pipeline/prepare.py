"""Stage `prepare`: join the raw batches with their reference tables, derive calendar features, label, split.

Reads:   `data/<prepare.batches>/<period>.csv`, the tables of `prepare.joins`, and the data contract (for the
         allowed categories: under the warn policy, an unseen category becomes "other").
Writes:  `<prepared>/train.parquet` (the reference periods), `<prepared>/test.parquet` (the evaluation period,
         the newest), and `<metrics>/prepare.json` (rows per split, unlabelled rows dropped).
Params:  `prepare`, `task`, `features`, `window`.
Metrics: `rows.train`, `rows.test`, `unlabelled.train`, `unlabelled.test`, `periods.*`.

The split is by time: the model learns from periods strictly before the one it is evaluated on, so no
future row leaks into training. Only identifiers, the period, the model inputs and the label are written:
the columns known after the event never leave this stage. How a row is joined, dated and labelled lives in
`pipeline.features`, shared with the stages that score rows; this module reads, splits and writes.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from pipeline.artifacts import write_json
from pipeline.batches import period_files
from pipeline.config import ParamsFile, Window, load_params
from pipeline.contract import load_contract
from pipeline.errors import PipelineError
from pipeline.features import PERIOD, prepare_rows, raw_columns, read_periods, read_tables

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
    batches = read_periods(folder, [*reference, evaluation], raw_columns(params))
    rows, _ = prepare_rows(
        batches, tables, params=params, contract=contract, source=str(folder)
    )  # join and label once, then split
    is_test = rows[PERIOD] == evaluation
    train, test = rows[~is_test].reset_index(drop=True), rows[is_test].reset_index(drop=True)
    test_dropped = int((batches[PERIOD] == evaluation).sum()) - len(test)
    train_dropped = int((batches[PERIOD] != evaluation).sum()) - len(train)
    out.mkdir(parents=True, exist_ok=True)
    train.to_parquet(out / "train.parquet", index=False)
    test.to_parquet(out / "test.parquet", index=False)
    write_json(
        {
            "periods": {"reference": reference, "evaluation": evaluation},
            "rows": {"train": len(train), "test": len(test)},
            "unlabelled": {"train": train_dropped, "test": test_dropped},
        },
        metrics,
    )
    log.info(
        "prepare: %d train rows, %d test rows (%d unlabelled dropped)",
        len(train),
        len(test),
        train_dropped + test_dropped,
    )


if __name__ == "__main__":
    from pipeline.command import run_alone

    run_alone(main)
