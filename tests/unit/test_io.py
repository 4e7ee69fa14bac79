"""Reading raw files with clear errors; deterministic JSON and model files; refusing untrusted models."""

import json
import subprocess
import sys
import zipfile

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from pipeline.errors import PipelineError
from pipeline.io import load_model, period_files, read_csv, save_model, write_json


def touch_batches(folder, names):
    folder.mkdir()
    for name in names:
        (folder / name).write_text("a\n1\n")


def test_period_files_in_time_order(tmp_path):
    touch_batches(tmp_path / "b", ["2013-02.csv", "2013-01.csv", "2012-12.csv"])
    assert list(period_files(tmp_path / "b")) == ["2012-12", "2013-01", "2013-02"]


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["2013-01.csv", "2013-03.csv"], r"batches missing for 2013-02"),
        (["2013-01.csv", "notes.txt"], r"notes.txt: unexpected file; batches are named YYYY-MM.csv"),
        ([], r"no batch files"),
    ],
    ids=["gap", "stray-file", "empty-folder"],
)
def test_period_files_refuses(tmp_path, names, message):
    touch_batches(tmp_path / "b", names)
    with pytest.raises(PipelineError, match=message):
        period_files(tmp_path / "b")


def test_period_files_missing_folder(tmp_path):
    with pytest.raises(PipelineError, match=r"nowhere: folder of batches not found"):
        period_files(tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", r"empty file \(no header, no rows\)"),
        (b"a,b\n", r"no rows \(header only\)"),
        (b"a,c\n1,2\n", r"missing column\(s\) 'b' \(found: 'a', 'c'\)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe\x00garbage", r"binary content, not CSV text \(NUL byte at offset 8\)"),
    ],
    ids=["empty", "header-only", "missing-column", "binary"],
)
def test_read_csv_refuses(tmp_path, content, message):
    path = tmp_path / "2013-01.csv"
    path.write_bytes(content)
    with pytest.raises(PipelineError, match=message) as info:
        read_csv(path, ["a", "b"])
    assert str(info.value).startswith(str(path))


def test_read_csv_missing_file(tmp_path):
    with pytest.raises(PipelineError, match=r"gone.csv: file not found"):
        read_csv(tmp_path / "gone.csv", ["a"])


def test_write_json_is_sorted_rounded_and_nan_free(tmp_path):
    write_json({"b": np.float64(0.123456789), "a": float("nan"), "c": [np.int64(3)]}, tmp_path / "m.json")
    text = (tmp_path / "m.json").read_text()
    assert text == '{\n  "a": null,\n  "b": 0.123457,\n  "c": [\n    3\n  ]\n}\n'


def model():
    return LogisticRegression().fit(np.eye(4), [0, 1, 1, 0])


def test_model_file_is_byte_identical_across_processes(tmp_path):
    """skops names arrays by id() and stamps times; two separate processes must still write the same bytes."""
    script = ("import sys, numpy as np; from sklearn.linear_model import LogisticRegression;"
              "from pipeline.io import save_model;"
              "from pathlib import Path;"
              "save_model(LogisticRegression().fit(np.eye(4), [0, 1, 1, 0]), Path(sys.argv[1]))")
    for name in ("a.skops", "b.skops"):
        subprocess.run([sys.executable, "-c", script, str(tmp_path / name)], check=True)
    assert (tmp_path / "a.skops").read_bytes() == (tmp_path / "b.skops").read_bytes()


def test_model_round_trip(tmp_path):
    save_model(model(), tmp_path / "m.skops")
    loaded = load_model(tmp_path / "m.skops")
    np.testing.assert_array_equal(loaded.predict_proba(np.eye(4)), model().predict_proba(np.eye(4)))


def test_untrusted_type_is_refused(tmp_path):
    """A model file naming a type outside the trusted list must not load (it could run code)."""
    save_model(model(), tmp_path / "m.skops")
    with zipfile.ZipFile(tmp_path / "m.skops") as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    schema = json.loads(entries["schema.json"])
    schema["__module__"], schema["__class__"] = "os", "system"
    entries["schema.json"] = json.dumps(schema).encode()
    with zipfile.ZipFile(tmp_path / "evil.skops", "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    with pytest.raises(PipelineError, match=r"evil.skops: refusing to load untrusted type\(s\): os.system"):
        load_model(tmp_path / "evil.skops")


def test_not_a_model_file(tmp_path):
    (tmp_path / "m.skops").write_text("not a zip")
    with pytest.raises(PipelineError, match=r"m.skops: cannot load the model"):
        load_model(tmp_path / "m.skops")


def test_read_csv_keeps_types(tmp_path):
    (tmp_path / "t.csv").write_text("a,b\n1,x\n2,\n")
    frame = read_csv(tmp_path / "t.csv", ["a"])
    assert frame["a"].tolist() == [1, 2] and pd.isna(frame["b"].iloc[1])
