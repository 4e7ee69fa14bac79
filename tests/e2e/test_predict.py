"""Batch scoring (`pipeline predict`) in a trained clone: the same features as training, the contract's
messages for bad files, leakage refused, a row that breaks a rule left unscored with its reason, and nothing
written when the file is refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.artifacts import load_model
from pipeline.config import load_params
from pipeline.metrics import TASKS
from tests.repos import pipeline

LEAKAGE = ["dep_time", "dep_delay", "arr_time", "arr_delay", "air_time"]


def flights_to_score(repo, n=300) -> pd.DataFrame:
    """February's flights as a scheduler would have them: no column known only after departure."""
    return pd.read_csv(repo / "data/flights/2013-02.csv").head(n).drop(columns=LEAKAGE)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_scores_equal_the_evaluation_scores_with_the_model_version(ran_copy, suffix):
    rows = flights_to_score(ran_copy)
    source = ran_copy / f"score{suffix}"
    rows.to_csv(source, index=False) if suffix == ".csv" else rows.to_parquet(source)
    pipeline("predict", "--input", str(source), "--out", "predictions.csv", cwd=ran_copy)
    out = pd.read_csv(ran_copy / "predictions.csv")
    assert len(out) == len(rows) and out["flight"].tolist() == rows["flight"].tolist()  # every row, in order
    assert out["model_version"].str.fullmatch(r"md5:[0-9a-f]{12}").all()
    # The same flights are the first rows of the prepared evaluation rows (in file order, minus those without
    # an arrival delay): predict must give them exactly the scores the evaluation gave.
    params = load_params(ran_copy / "params.yaml")
    model = load_model(ran_copy / params.paths.model)
    labelled = pd.read_csv(ran_copy / "data/flights/2013-02.csv").head(len(rows))["arr_delay"].notna().to_numpy()
    test = pd.read_parquet(ran_copy / params.paths.prepared / "test.parquet").head(int(labelled.sum()))
    assert test["flight"].tolist() == out.loc[labelled, "flight"].astype(str).tolist()  # prepared ids are text
    expected = TASKS["binary"].score(model, test[params.features.inputs])
    assert np.array_equal(out.loc[labelled, "score"].to_numpy(), expected)
    assert set(out["decision"]) <= {0, 1}
    assert ((out["score"] >= model.threshold) == (out["decision"] == 1)).all()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns=["distance"]), "column 'distance'"),
        (lambda f: f.assign(distance="far"), "column 'distance'"),
        (lambda f: f.assign(arr_delay=0.0), "column 'arr_delay' is known only after the event"),
    ],
    ids=["missing-column", "mistyped-column", "leakage-column"],
)
def test_bad_files_fail_with_the_contract_message_and_write_nothing(ran_copy, change, message):
    change(flights_to_score(ran_copy, 50)).to_csv(ran_copy / "bad.csv", index=False)
    result = pipeline("predict", "--input", "bad.csv", "--out", "predictions.csv", cwd=ran_copy, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and message in result.stderr and "bad.csv" in result.stderr
    assert not (ran_copy / "predictions.csv").exists()


def test_a_row_that_breaks_a_rule_is_left_unscored_with_its_reason(ran_copy):
    rows = flights_to_score(ran_copy, 50)
    rows.loc[3, "distance"] = 99999.0
    rows.to_csv(ran_copy / "odd.csv", index=False)
    result = pipeline("predict", "--input", "odd.csv", "--out", "predictions.csv", cwd=ran_copy)
    out = pd.read_csv(ran_copy / "predictions.csv", keep_default_na=False)
    assert len(out) == 50 and out.columns[-1] == "problem"
    assert out.loc[3, ["score", "decision", "problem"]].tolist() == [
        "",
        "",
        "column 'distance': le 6000 (value 99999.0)",
    ]
    assert (out.drop(index=3)["score"] != "").all() and (out.drop(index=3)["problem"] == "").all()
    assert "1 of 50 rows not scored" in result.stderr
