"""Command `shadow`: the next batch, before its outcomes exist, scored by the champion and by the challenger.

Reads:   the source's first period after the released ones (as `pipeline ingest --next` would release it,
         without releasing it), the working tree's model (the challenger) and the model the base branch pins
         (the champion, from the DVC cache, where `pipeline gate` put it).
Writes:  `<gate>/shadow.json`: the period, its rows, how many decisions would change (binary: at each model's
         own threshold; multiclass: the predicted class) and the mean absolute change of the score.
Params:  `ingest`, `prepare`, `features`, `task`, `paths`.

The gate judges the challenger on the newest labelled period (a shadow evaluation after the fact). This is the
step before a switch: the rows the next model would serve first, scored by both, their labels dropped as they
do not exist yet when a batch is scored. It decides nothing; it tells a reviewer how many of tomorrow's
decisions the promotion changes, which the metrics alone do not say. CT runs it after the gate.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import typer

from pipeline import ingest
from pipeline.artifacts import file_md5, load_model, write_json
from pipeline.batches import read_csv
from pipeline.config import Params, ParamsFile, load_params
from pipeline.contract import load_contract
from pipeline.gate import ChampionBase, champion_from_cache, default_base
from pipeline.pr_comment import shadow_sentence
from pipeline.predict import score_rows
from pipeline.registry import model_md5

log = logging.getLogger(__name__)


def next_batch(params: Params, into: Path) -> str | None:
    """Write the source's next unreleased period of every table into `into` (a data folder); its name, or None."""
    tables = ingest.open_tables(params, update=False)  # CT's ingest brought them up to date already
    available = ingest.from_since(tables[params.prepare.batches].periods, params.ingest.since)
    periods = ingest.next_periods(available, ingest.read_release(params.paths.release), None)  # ingest's own rule
    if periods is None:
        return None
    ingest.write_tables(tables, periods[-1:], into)
    return periods[-1]


def compare(params: Params, rows: pd.DataFrame, challenger, champion, data: Path, source: str) -> dict:
    """Score the rows with both models (as `pipeline predict` would) and count what changes."""
    contract = load_contract(params.paths.contract)
    champion_scored, challenger_scored = (
        score_rows(rows, model, params=params, contract=contract, data=data, source=source)
        for model in (champion, challenger)
    )
    return changes(champion_scored, challenger_scored, params.task.type)


def changes(champion: pd.DataFrame, challenger: pd.DataFrame, task_type: str) -> dict:
    """How many decisions (binary, multiclass) and how much the scores (binary, regression) change, row by row."""
    out = {"rows": len(champion)}
    if "decision" in champion:
        changed = int((champion["decision"] != challenger["decision"]).sum())
        out |= {"changed": changed, "share": changed / max(len(champion), 1)}
    if task_type != "multiclass":  # a multiclass score is the predicted class's chance: not comparable
        gap = np.abs(champion["score"].to_numpy(float) - challenger["score"].to_numpy(float))
        out["mean_score_change"] = float(gap.mean()) if len(gap) else 0.0
    return out


def shadow(params: Params, base: str) -> dict:
    """The shadow record: scored and compared, or why not (no next batch, no champion in the cache)."""
    md5 = model_md5(base, params.paths.model)
    champion = champion_from_cache(md5) if md5 else None
    if champion is None:
        return {"format": 1, "period": None, "why": f"no champion of {base} in the DVC cache (run `pipeline gate`)"}
    with tempfile.TemporaryDirectory(prefix="shadow-") as scratch:
        data = Path(scratch) / "data"
        period = next_batch(params, data)
        if period is None:
            return {"format": 1, "period": None, "why": "the source has no period after the released ones"}
        path = data / params.prepare.batches / f"{period}.csv"
        rows = read_csv(path, []).drop(columns=[params.task.target.column], errors="ignore")  # not known yet
        compared = compare(params, rows, load_model(params.paths.model), load_model(champion), data, path.name)
    challenger = file_md5(params.paths.model)  # the comment shows the record only beside this very model
    return {"format": 1, "period": period, "base": base, "challenger": challenger, **compared}


def main(
    base: ChampionBase = None,
    params_file: ParamsFile = Path("params.yaml"),
) -> None:
    """Score the next unlabelled batch with the champion and the challenger; write how many decisions change."""
    params = load_params(params_file)
    record = shadow(params, base or default_base())
    write_json(record, params.paths.gate / "shadow.json")
    typer.echo(shadow_sentence(record))


if __name__ == "__main__":
    from pipeline.command import run_alone

    run_alone(main)
