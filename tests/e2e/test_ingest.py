"""`pipeline ingest` in real clones: rebuild to match data.dvc, release the next month, pull.

That `--next` after December releases nothing and says so is checked with continuous training's own "nothing
new" (tests/e2e/test_ct.py), which releases the whole year anyway.
"""

import json
import shutil
from pathlib import Path

import pytest
import yaml

from pipeline.registry import pinned_md5
from tests.repos import clone, copy_run_origin, digest, pipeline, sh, use_dvc_remote

pytestmark = pytest.mark.e2e


def test_fresh_clone_rebuilds_data_that_matches_data_dvc(origin, tmp_path):
    repo = clone(origin, tmp_path / "a")
    assert sorted(p.name for p in (repo / "data" / "flights").iterdir()) == ["2013-01.csv", "2013-02.csv"]
    assert sh("dvc", "status", "data.dvc", cwd=repo).stdout.strip() == "Data and pipelines are up to date."
    status = json.loads(sh("dvc", "data", "status", "--json", cwd=repo).stdout)
    uncommitted = [path for group in status.get("uncommitted", {}).values() for path in group]
    assert "data/" not in status.get("not_in_cache", []) and "data/" not in uncommitted
    again = pipeline("ingest", cwd=repo)
    assert again.stdout.strip() == "data/ already matches data.dvc"


def test_two_clones_rebuild_the_same_bytes(origin, ran_clone, tmp_path):
    assert digest(clone(origin, tmp_path / "b") / "data") == digest(ran_clone / "data")


def changed_files(repo):
    lines = sh("git", "status", "--porcelain", cwd=repo).stdout.splitlines()
    return {line[3:]: digest(repo / line[3:]) for line in lines}


def test_next_releases_one_month_and_records_it(ran_copy):
    before = (ran_copy / "data.dvc").read_text()
    changed_before = changed_files(ran_copy)
    result = pipeline("ingest", "--next", cwd=ran_copy)
    assert result.stdout.strip() == "released 2013-03; data/ now holds 2013-01..2013-03 (recorded in data.dvc)"
    assert sorted(p.name for p in (ran_copy / "data" / "weather").iterdir())[-1] == "2013-03.csv"
    assert "released: [2013-01, 2013-02, 2013-03]" in (ran_copy / "data.release.yaml").read_text()
    assert (ran_copy / "data.dvc").read_text() != before
    assert sh("dvc", "status", "data.dvc", cwd=ran_copy).stdout.strip() == "Data and pipelines are up to date."
    changed_now = changed_files(ran_copy)
    changed = sorted(k for k in changed_now if changed_before.get(k) != changed_now[k])
    assert changed == ["data.dvc", "data.release.yaml"]


def test_data_the_source_cannot_rebuild_is_pulled_from_the_dvc_remote(ran_copy, tmp_path):
    """A version of data/ that only a DVC remote holds: rebuilding refuses, pulling restores it."""
    remote = tmp_path / "dvc-remote"
    with (ran_copy / "data" / "planes.csv").open("a") as planes:
        planes.write("N0TEST,2020,Fixed wing multi engine,TEST,T-1,2,100,NA,Turbo-fan\n")
    sh("dvc", "add", "data", cwd=ran_copy)
    sh("dvc", "remote", "add", "--local", "storage", str(remote), cwd=ran_copy)
    sh("dvc", "push", "-r", "storage", "data.dvc", cwd=ran_copy)
    sh("git", "commit", "-qam", "a team's own edit of the data", cwd=ran_copy)
    bare = tmp_path / "edited.git"
    sh("git", "clone", "-q", "--bare", str(ran_copy), str(bare), cwd=tmp_path)
    repo = tmp_path / "fresh"
    sh("git", "clone", "-q", str(bare), str(repo), cwd=tmp_path)

    refused = pipeline("ingest", cwd=repo, check=False)
    assert refused.returncode == 1
    assert "does not match data.dvc; configure the DVC remote" in refused.stderr

    sh("dvc", "remote", "add", "--local", "-d", "storage", str(remote), cwd=repo)
    shutil.rmtree(repo / "data")
    result = pipeline("ingest", cwd=repo)
    assert "pulled data/ from the DVC remote" in result.stdout
    assert "N0TEST" in (repo / "data" / "planes.csv").read_text()
    assert sh("dvc", "status", "data.dvc", cwd=repo).stdout.strip() == "Data and pipelines are up to date."


def test_on_a_runner_whose_cache_lacks_the_champion_the_gate_fetches_it_from_the_dvc_remote(run_origin, tmp_path):
    """A fork with a DVC remote, on a fresh runner whose cache lacks the champion (a pull request that retrained
    has only its own model): the gate fetches the champion from the remote, it does not rebuild it. (That such
    a runner's `pipeline run` pulls every stage its pull request did not change, and runs none, is the act run
    of ci.yml: tests/e2e/test_act_workflows.py.)"""
    team = copy_run_origin(run_origin, tmp_path / "team")
    use_dvc_remote(team, tmp_path / "bucket")
    repo = tmp_path / "fresh"
    sh("git", "clone", "-q", str(tmp_path / "team" / "origin.git"), str(repo), cwd=tmp_path)
    sh("dvc", "pull", "--quiet", cwd=repo)
    md5 = pinned_md5((repo / "dvc.lock").read_text(), Path("outputs/model/model.skops"))
    (repo / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]).unlink()
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["train"]["hyperparameters"]["max_iter"] = 50  # the challenger: the pull request's own, retrained
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    sh("dvc", "repro", "--quiet", "train", cwd=repo)
    gated = pipeline("gate", "--base", "origin/main", cwd=repo, check=False)
    assert gated.returncode in (0, 3), gated.stderr  # judged, whichever way
    assert "the champion fetched from the DVC remote" in gated.stderr and "rebuilding" not in gated.stderr


def test_through_an_unknown_month_fails_and_changes_nothing(ran_copy):
    before = digest(ran_copy / "data.dvc")
    result = pipeline("ingest", "--through", "2014-01", cwd=ran_copy, check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == "error: --through 2014-01: not a period of the source (2013-01..2013-12)"
    assert digest(ran_copy / "data.dvc") == before
