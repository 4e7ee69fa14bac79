"""The rules the pandas and Dask engines share (pipeline/engine.py), and the types that let partitions agree.

The Dask engine itself runs on a real LocalCluster in tests/e2e/test_engine.py; here, without a cluster, what
must hold for the two to give the same rows: the sample does not depend on how the rows are split or ordered, a
split folder reads as one table, and every partition gets the same column types.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from pipeline import engine
from pipeline.config import Engine, load_params
from pipeline.contract import Contract
from pipeline.errors import PipelineError
from pipeline.features import feature_rows, typed
from pipeline.init import engine_choice
from pipeline.labels import as_text
from pipeline.predict import input_files
from tests.unit import test_predict_rows as tiny

SEED = 20130101


def rows(n: int = 20_000) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {"id": np.arange(n), "group": rng.choice(["a", "b", "c"], n), "label": (rng.random(n) < 0.2).astype(int)}
    )


def test_the_sample_keeps_the_same_rows_however_the_table_is_split_or_ordered():
    table = rows()
    whole = engine.sample(table, 0.1, SEED)
    parts = pd.concat([engine.sample(table.iloc[i : i + 3_000], 0.1, SEED) for i in range(0, len(table), 3_000)])
    shuffled = engine.sample(table.sample(frac=1, random_state=1), 0.1, SEED)
    assert whole.index.tolist() == parts.index.tolist() == sorted(shuffled.index)
    assert engine.sample(table, 0.1, SEED + 1).index.tolist() != whole.index.tolist()  # the seed chooses


def test_the_sample_takes_the_same_rate_of_every_class():
    table = rows(200_000)
    kept = engine.sample(table, 0.05, SEED)
    for _, part in table.groupby("label"):
        share = part.index.isin(kept.index).mean()
        assert share == pytest.approx(0.05, abs=4 * np.sqrt(0.05 * 0.95 / len(part)))  # four standard errors


@pytest.mark.parametrize(("cap", "n", "expected"), [(None, 10, 1.0), (1000, 1000, 1.0), (1000, 4000, 0.25)])
def test_the_rate_is_the_cap_over_the_rows_and_never_above_one(cap, n, expected):
    assert engine.rate(cap, n) == expected
    assert engine.sample(rows(100), 1.0, SEED).equals(rows(100))  # at rate 1 every row, untouched


def test_a_split_folder_reads_as_one_table_in_name_order_and_is_sampled_over_its_cap(tmp_path):
    table, split = rows(), tmp_path / "train.parquet"
    split.mkdir()
    for number, start in enumerate(range(0, len(table), 5_000)):  # 2013-01 .. 2013-04
        table.iloc[start : start + 5_000].to_parquet(split / f"2013-{number + 1:02d}.parquet", index=False)
    whole, available = engine.read_rows(split, None, SEED, client=None)
    assert available == len(table) and whole.equals(table)
    sampled, available = engine.read_rows(split, 2_000, SEED, client=None)
    assert available == len(table)
    assert sampled.equals(engine.sample(table, 0.1, SEED).reset_index(drop=True))


def test_every_partition_gets_the_same_types_whatever_its_file_held():
    with_gap = pd.DataFrame({"count": [1.0, np.nan], "code": [3.0, np.nan], "city": [np.nan, np.nan]})
    without = pd.DataFrame({"count": [1, 2], "code": [3, 4], "city": ["Oslo", "Rome"]})
    a, b = (pd.DataFrame(typed(f, ["count"], ["code", "city"])) for f in (with_gap, without))
    assert a.dtypes.to_dict() == b.dtypes.to_dict()
    assert a["code"].tolist()[0] == b["code"].tolist()[0] == "3"  # a whole number read as a float is `3`, not `3.0`
    assert a["city"].isna().all() and a["code"].isna().tolist() == [False, True]  # missing stays missing


def test_as_text_keeps_fractions_and_text():
    assert as_text(pd.Series([1.5, 2.0])).tolist() == ["1.5", "2.0"]
    assert as_text(pd.Series(["a", None])).isna().tolist() == [False, True]


def test_init_proposes_dask_above_the_configured_size():
    template = type("Template", (), {"engine": Engine(suggest_above=1_000)})()
    assert engine_choice(template, 1_001)["engine_kind"] == "dask"
    assert engine_choice(template, 1_000) == {
        "engine_kind": "pandas",
        "engine_why": "1,000 rows, at most 1,000: one process is enough",
    }


def test_a_folder_to_score_is_its_files_in_name_order(tmp_path):
    for name in ["b.parquet", "a.csv", "notes.txt"]:
        (tmp_path / name).write_text("")
    assert input_files(tmp_path) == [tmp_path / "a.csv", tmp_path / "b.parquet"]
    assert input_files(tmp_path / "a.csv") == [tmp_path / "a.csv"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(PipelineError, match=r"empty: no .csv or .parquet file to score"):
        input_files(tmp_path / "empty")


def test_feature_rows_give_every_file_the_same_types(tmp_path):
    """The rule at work where it matters: the rows of a file with gaps and of one without reach the model alike."""
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(tiny.tiny_params(tmp_path)), encoding="utf-8")
    params, contract = load_params(tmp_path / "params.yaml"), Contract.model_validate(tiny.CONTRACT)
    prices = pd.DataFrame({"shop": ["a", "b"], "price": [1.0, 2.0]})
    full = pd.DataFrame({"id": [1, 2], "year": "2002-01-01T00:00:00Z", "shop": ["a", "b"], "distance": [3, 4]})
    gaps = full.assign(distance=[3.0, np.nan], shop=[np.nan, np.nan])
    typed_rows = [
        feature_rows(f.assign(visits=1), {"prices": prices}, params=params, contract=contract, source="f")
        for f in (full, gaps)
    ]
    inputs = params.features.inputs
    assert typed_rows[0][inputs].dtypes.to_dict() == typed_rows[1][inputs].dtypes.to_dict()
    assert typed_rows[0]["distance"].dtype == "float64" and typed_rows[1]["shop"].isna().all()
