"""`pipeline init`: bad input is refused with a message and nothing written; the plan, dry run, --force, TTY.

Each command runs in a small git repository holding the template's configuration files (committed), so
"nothing written" is checked the way a person would: `git status` and every file's bytes unchanged.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline import init
from pipeline.batches import period_of
from pipeline.cli import app
from pipeline.errors import PipelineError
from pipeline.init_infer import (
    calendar_features,
    count_periods,
    infer_features,
    label_of,
    local_times,
    propose,
    time_format,
)
from tests.conftest import EXAMPLE, ROOT, command_env
from tests.repos import digest

# The files of the example project that init reads or replaces: the example's own (examples/flights/), the
# template's site configuration, and stand-ins for the records a run leaves (init only replaces or removes them).
CONFIG = {
    "params.yaml": EXAMPLE / "params.yaml",
    "contract.yaml": EXAMPLE / "contract.yaml",
    "data.release.yaml": EXAMPLE / "data.release.yaml",
    "site/mkdocs.yml": ROOT / "site/mkdocs.yml",
    "site/model_card.md": EXAMPLE / "model_card.md",
}
RECORDS = {"data.dvc": "outs: []\n", "dvc.lock": "schema: '2.0'\nstages: {}\n"}


def rows(months: int = 3, per_month: int = 40, seed: int = 0) -> pd.DataFrame:
    """A small team dataset: time, numeric target, a category, a number, free text and a unique id."""
    rng = np.random.default_rng(seed)
    n = months * per_month
    times = pd.date_range("2021-01-01 08:30", periods=months, freq="MS").repeat(per_month) + pd.to_timedelta(
        np.tile(np.arange(per_month), months), unit="h"
    )
    return pd.DataFrame(
        {
            "when": times.strftime("%Y-%m-%d %H:%M:%S"),
            "y": rng.normal(10, 3, n).round(2),
            "shop": rng.choice(["north", "south"], n),
            "price": rng.uniform(1, 9, n).round(2),
            "note": [f"free text {i}" for i in range(n)],
            "row": np.arange(n),
        }
    )


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A git repository with the template's configuration committed, as the working directory."""
    work = tmp_path / "repo"
    for name, source in CONFIG.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, work / name)
    for name, text in RECORDS.items():
        (work / name).write_text(text)
    for command in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"], ["git", "commit", "-qm", "t"]):
        subprocess.run(command, cwd=work, env=command_env(), check=True)
    monkeypatch.chdir(work)
    return work


def status(repo) -> str:
    return subprocess.run(
        ["git", "status", "--porcelain", "--ignored"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout


def run(*args: str, stdin: str | None = None):
    return CliRunner().invoke(app, ["init", *args], input=stdin)


def csv_file(tmp_path, frame: pd.DataFrame, name: str = "shop.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


BASE = ["--target", "y", "--task", "regression", "--time", "when"]


def _gap(frame):
    return frame[~frame["when"].str.startswith("2021-02")]


@pytest.mark.parametrize(
    ("change", "args", "message"),
    [
        (None, ["--target", "nope"], r"shop.csv: missing column\(s\) 'nope' \(found: 'when', 'y'"),
        (None, ["--time", "nope"], r"shop.csv: missing column\(s\) 'nope'"),
        (lambda f: f.assign(when=f["when"].where(f.index != 7, "soon")), [], r"shop.csv: column 'when'.*e.g. 'soon'"),
        (lambda f: f.assign(y=5.0), [], r"shop.csv: target 'y' has only 5.0: a model needs at least two"),
        (lambda f: f.assign(when="2021-01-05 10:00:00"), [], r"shop.csv: 1 period \(2021-01: 120 rows\); at least 2"),
        (lambda f: f.iloc[:100], [], r"shop.csv: the evaluation period \(the newest\) has 20 labelled row\(s\)"),
        (_gap, [], r"shop.csv: no rows in period\(s\) 2021-02"),
        (None, ["--task", "binary"], r"shop.csv: binary target 'y' has \d+ distinct values: pass --threshold"),
        (lambda f: f.assign(y=f["shop"]), [], r"shop.csv: target 'y' holds text.*regression target must be numeric"),
        (None, ["--through", "2030-01"], r"--through 2030-01: not a period of .*shop.csv \(2021-01..2021-03\)"),
    ],
    ids=[
        "no-target",
        "no-time",
        "bad-time",
        "one-value",
        "one-period",
        "few-eval-rows",
        "gap",
        "no-threshold",
        "text-target",
        "bad-through",
    ],
)
def test_bad_input_names_the_file_and_writes_nothing(repo, tmp_path, change, args, message):
    frame = rows() if change is None else change(rows())
    data = csv_file(tmp_path, frame)
    before, state = digest(repo), status(repo)
    result = run("--data", str(data), *BASE, *args)
    assert result.exit_code == 1
    assert result.output.startswith("error: ")
    assert re.search(message, result.output), result.output
    assert (digest(repo), status(repo)) == (before, state)


def test_a_missing_file_is_named(repo, tmp_path):
    result = run("--data", str(tmp_path / "absent.csv"), *BASE)
    assert result.exit_code == 1
    assert "absent.csv: source file not found" in result.output
    assert status(repo) == ""


def test_dry_run_shows_the_plan_and_writes_nothing(repo, tmp_path):
    data = csv_file(tmp_path, rows())
    before = digest(repo)
    result = run("--data", str(data), *BASE, "--id", "row", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "120 rows in 3 periods (month) 2021-01..2021-03" in result.output
    assert "features: numeric price; categorical shop; calendar weekday, hour" in result.output
    assert "not a feature: note: text with 120 distinct values" in result.output
    assert "not a feature: row: an identifier (--id)" in result.output
    for line in ("create   sources/shop.csv", "replace  params.yaml", "remove   dvc.lock"):
        assert line in result.output
    assert "dry run: nothing written" in result.output
    assert (digest(repo), status(repo)) == (before, "")


def test_refuses_to_replace_a_changed_file_without_force(repo, tmp_path):
    data = csv_file(tmp_path, rows())
    (repo / "site" / "model_card.md").write_text("our own words\n", encoding="utf-8")
    before = digest(repo)
    result = run("--data", str(data), *BASE, "--yes")
    assert result.exit_code == 1
    assert "refusing to replace what git cannot bring back" in result.output
    assert "site/model_card.md (changed since the last commit)" in result.output
    assert digest(repo) == before
    assert run("--data", str(data), *BASE, "--dry-run", "--force").exit_code == 0


def test_refuses_to_replace_an_untracked_file(repo, tmp_path):
    data = csv_file(tmp_path, rows())
    (repo / "sources").mkdir()
    (repo / "sources" / "shop.csv").write_text("mine\n", encoding="utf-8")
    result = run("--data", str(data), *BASE, "--yes")
    assert result.exit_code == 1
    assert "sources/shop.csv (not in git)" in result.output


@pytest.mark.parametrize(
    ("tty", "args", "stdin", "asked", "applied"),
    [
        (True, [], "n\n", True, False),
        (True, [], "y\n", True, True),
        (True, ["--yes"], None, False, True),
        (False, [], None, False, True),
    ],
    ids=["tty-declined", "tty-confirmed", "tty-yes", "no-tty"],
)
def test_asks_only_on_a_terminal(repo, tmp_path, monkeypatch, tty, args, stdin, asked, applied):
    data = csv_file(tmp_path, rows())
    calls = []
    monkeypatch.setattr(init, "interactive", lambda: tty)
    monkeypatch.setattr(init, "apply", lambda *a, **k: calls.append(k) or "released")
    result = run("--data", str(data), *BASE, *args, stdin=stdin)
    assert result.exit_code == 0, result.output
    assert ("Make these changes?" in result.output) == asked
    assert bool(calls) == applied
    if applied:
        assert calls[0]["through"] == "2021-03"  # every period by default
    else:
        assert "nothing written" in result.output


# ---- the inference, on inputs small enough to check by hand ------------------------------------------------


def test_features_are_sorted_by_kind_and_the_rest_explained():
    frame = pd.DataFrame(
        {
            "n": [1.5, 2.5, 3.5] * 20,
            "flag": [True, False, True] * 20,
            "c": ["a", "b", "a"] * 20,
            "same": ["x"] * 60,
            "empty": [None] * 60,
            "key": range(60),
            "mixed": [str(i) for i in range(59)] + ["?"],
            "y": range(60),
        }
    )
    categorical, numeric, kept, excluded = infer_features(frame, {"y": "the target"})
    assert (categorical, numeric) == (["flag", "c"], ["n"])
    assert kept == {"n": "numbers", "flag": "2 levels", "c": "2 levels"}
    assert excluded == {
        "y": "the target",
        "same": "one value only ('x')",
        "empty": "always empty",
        "key": "a different integer on every row: an identifier (pass --id to keep it for tracing)",
        "mixed": "numbers mixed with text such as '?': if it marks a missing value, write it empty in the file",
    }


def test_naive_times_are_local_times_and_zoned_times_are_converted():
    naive = local_times(pd.Series(["2021-03-31 23:30:00"]), "America/New_York", "f", "t")
    zoned = local_times(pd.Series(["2021-04-01T03:30:00Z"]), "America/New_York", "f", "t")
    assert naive.iloc[0] == zoned.iloc[0] == pd.Timestamp("2021-03-31 23:30", tz="America/New_York")


def test_other_date_formats_parse():
    assert local_times(pd.Series(["2012/01/01"]), "UTC", "f", "t").iloc[0] == pd.Timestamp("2012-01-01", tz="UTC")


def calendar(times: pd.Series, kind: str, columns=()) -> tuple[list[str], dict[str, str]]:
    periods = period_of(times, kind, "UTC")
    return calendar_features(times, periods, periods == periods.max(), list(columns), kind)


def test_calendar_features_follow_the_times():
    daily = pd.Series(pd.date_range("2012-01-01", periods=800, freq="D", tz="UTC"))
    hourly = pd.Series(pd.date_range("2012-01-01", periods=24 * 60, freq="h", tz="UTC"))
    assert calendar(daily, "quarter")[0] == ["weekday", "month"]  # more than a year: each month seen in training
    assert calendar(hourly, "month", ["weekday"])[0] == ["hour"]  # a column of that name already exists


def test_calendar_features_that_would_only_code_the_period_are_left_out():
    yearly = pd.Series(pd.to_datetime([f"{y}-01-01" for y in range(1990, 2010) for _ in range(5)], utc=True))
    kept, why = calendar(yearly, "year")
    assert kept == [] and why["weekday"] == "the same on every row of a year: it would only code the year"
    monthly = pd.Series(pd.date_range("2012-01-01", periods=24 * 30, freq="D", tz="UTC"))
    kept, why = calendar(monthly, "month")
    assert kept == ["weekday"] and "month" in why and "hour" in why
    short = pd.Series(pd.date_range("2012-01-01", periods=200, freq="D", tz="UTC"))  # Jan..Jul, quarters
    kept, why = calendar(short, "quarter")
    assert kept == ["weekday"] and why["month"] == "the evaluation period has month 7, never seen before it"


def test_binary_with_two_numeric_values_needs_no_threshold():
    label, rule = label_of(
        pd.Series([0, 1, 1, None]), task="binary", threshold=None, positive=None, source="f", column="y"
    )
    assert rule.threshold == 0 and rule.positive is None
    assert label.tolist()[:3] == [0.0, 1.0, 1.0] and np.isnan(label.iloc[3])


def test_a_text_binary_target_takes_its_positive_value():
    target = pd.Series(["dead", "alive", None, "alive"])
    label, rule = label_of(target, task="binary", threshold=None, positive="alive", source="f", column="alive")
    assert rule.positive == "alive" and label.tolist()[:2] == [0.0, 1.0] and np.isnan(label.iloc[2])
    assert rule.positive_class == "alive"


@pytest.mark.parametrize(
    ("target", "positive", "message"),
    [
        (
            ["dead", "alive", "dead"],
            None,
            r"f: target 'alive' holds text, two values, 'alive', 'dead': which one is "
            r"the positive class\? Pass --positive VALUE \(e.g. --positive dead\)",
        ),
        (
            ["a", "b", "c"],
            None,
            r"holds text, 3 values \('a', 'b', 'c'\): pass --positive VALUE .* or --task multiclass",
        ),
        (["dead", "alive"], "yes", r"f: --positive 'yes' is not a value of target 'alive' \('alive', 'dead'\)"),
    ],
    ids=["two-values-no-positive", "many-values", "unknown-positive"],
)
def test_a_text_binary_target_without_its_positive_value_is_refused(target, positive, message):
    with pytest.raises(PipelineError, match=message):
        label_of(pd.Series(target), task="binary", threshold=None, positive=positive, source="f", column="alive")


def test_many_level_categories_are_kept_and_free_text_is_not():
    rng = np.random.default_rng(0)
    rows = 2000
    frame = pd.DataFrame(
        {
            "country": [f"C{i:02d}" for i in rng.integers(0, 96, rows)],  # 96 short codes, ~20 rows each
            "comment": [f"note number {i} about the order, written by hand" for i in range(rows)],
            "ticket": [f"T{i}" for i in rng.integers(0, 1500, rows)],  # mostly unique: an identifier
            "zip": rng.integers(10000, 10100, rows),
            "noise": rng.normal(size=rows),
            "y": rng.normal(size=rows),
        }
    )
    cats, numeric, kept, excluded = infer_features(frame, {"y": "the target"})
    assert cats == ["country"] and numeric == ["zip", "noise"]
    assert kept["country"].startswith("96 levels, many: the model pools the rarest")
    assert "free text or an identifier" in excluded["comment"] and "free text or an identifier" in excluded["ticket"]
    cats, numeric, kept, excluded = infer_features(
        frame, {"y": "the target"}, categorical=["zip", "ticket"], drop=["noise"]
    )
    assert cats == ["country", "ticket", "zip"] and numeric == []
    assert kept["zip"] == "100 levels (--categorical)" and excluded["noise"] == "dropped (--drop)"


def test_one_time_format_is_found_when_the_times_share_it():
    assert time_format(pd.Series([2002, 2003])) == "%Y"
    assert time_format(pd.Series(["11/8/2016", "12/25/2016"])) == "%m/%d/%Y"
    assert time_format(pd.Series(["2016-11-08", "8 Nov 2016"])) is None  # mixed: read value by value
    year = local_times(pd.Series([2002, 2003]), "UTC", "f", "t", "%Y")
    assert year.tolist() == [pd.Timestamp("2002-01-01", tz="UTC"), pd.Timestamp("2003-01-01", tz="UTC")]


def test_quarters_must_follow_each_other():
    with pytest.raises(PipelineError, match="no rows in period.s. 2012-Q2"):
        count_periods(pd.Series(["2012-Q1", "2012-Q3"]), "f")
    assert count_periods(pd.Series(["2012-Q4", "2013-Q1", "2013-Q1"]), "f") == {"2012-Q4": 1, "2013-Q1": 2}


def test_retitle_changes_only_the_site_name():
    text = "site_name: Model report\nsite_description: x  # kept\n"
    assert init.retitle(text, "Glucose: a report") == "site_name: 'Glucose: a report'\nsite_description: x  # kept\n"


@pytest.mark.parametrize(
    ("given", "expected"),
    [("CGM.csv.gz", "cgm"), ("/a/seattle-weather.csv", "seattle_weather"), ("incoming/", "incoming")],
)
def test_table_name_is_an_identifier(given, expected):
    assert init.table_name(given, None) == expected


def test_table_name_needs_a_letter_first():
    with pytest.raises(PipelineError, match="--name '2013': a table name needs a letter first"):
        init.table_name("x.csv", "2013")


def test_without_a_terminal_nothing_is_asked(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO())  # a pipe or /dev/null: not a terminal
    assert init.interactive() is False


def test_a_folder_of_quarter_files_brings_its_own_periods(tmp_path):
    folder = tmp_path / "incoming"
    folder.mkdir()
    frame = rows(months=3)
    for number, (_, part) in enumerate(frame.groupby(frame["when"].str[:7])):
        part.to_csv(folder / f"2020-Q{number + 2}.csv", index=False)  # names, not times, say the period
    proposal = propose(
        folder,
        target="y",
        task="regression",
        time="when",
        period="month",
        timezone="UTC",
        threshold=None,
        positive=None,
        ids=["row"],
        leakage=[],
        through=None,
    )
    assert (proposal.kind, proposal.periods) == ("quarter", {"2020-Q2": 40, "2020-Q3": 40, "2020-Q4": 40})


def test_init_names_multiclass_classes_as_prepare_will():
    from pipeline.init_infer import label_of
    from pipeline.labels import class_names

    target = pd.Series([3.0, 1.0, None, 3.0])
    label, rule = label_of(target, task="multiclass", threshold=None, positive=None, source="x.csv", column="grade")
    assert rule is None and label.tolist() == class_names(target).tolist()
    assert label.dropna().tolist() == ["3", "1", "3"]  # not "3.0": the classes prepare trains on


def test_a_small_evaluation_period_makes_the_simpler_model_check_a_warning_and_says_why():
    from types import SimpleNamespace

    from pipeline.init import MIN_ROWS_TO_COMPARE, simpler_check

    assert simpler_check(SimpleNamespace(labelled=MIN_ROWS_TO_COMPARE)) == ("fail", "")
    state, why = simpler_check(SimpleNamespace(labelled=39))
    assert state == "warn" and "39 labelled rows are too few" in why
