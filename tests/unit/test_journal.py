"""The release journal: whatever step a release (or its rollback) stopped at, rolling back restores the state
before it. The end-to-end test kills a real release after each step (tests/e2e/test_release.py); these cover
the journal's own states, including a rollback that was itself interrupted."""

from pathlib import Path

import pytest

from pipeline.journal import Journal


@pytest.fixture
def repo(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "2013-01.csv").write_text("old\n")
    (tmp_path / "data.dvc").write_text("md5: old\n")
    return tmp_path


def snapshot(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def release(stop_after: int) -> Journal:
    """The steps of a release, stopped after `stop_after` of them."""
    journal = Journal.begin([Path("data.dvc"), Path("data.release.yaml")], Path("data"), Path(".dvc/tmp/release"))
    steps = [
        lambda: (journal.staging / "flights").mkdir(parents=True),
        lambda: (journal.staging / "flights" / "2013-02.csv").write_text("new\n"),
        journal.swap,
        lambda: Path("data.dvc").write_text("md5: new\n"),
        lambda: Path("data.release.yaml").write_text("released: [2013-02]\n"),
    ]
    for step in steps[:stop_after]:
        step()
    return journal


def visible(root: Path) -> dict[str, str]:
    return {name: text for name, text in snapshot(root).items() if not name.startswith(".dvc/")}


@pytest.mark.parametrize("stop_after", range(6))
def test_a_release_stopped_after_any_step_rolls_back_to_the_state_before(repo, stop_after):
    before = visible(repo)
    release(stop_after)
    journal = Journal.find(Path(".dvc/tmp/release"))
    assert journal is not None
    journal.rollback()
    assert visible(repo) == before
    assert not (repo / ".dvc" / "tmp").exists() or not any((repo / ".dvc" / "tmp").iterdir())
    assert Journal.find(Path(".dvc/tmp/release")) is None


def test_a_committed_release_stays(repo):
    release(5).commit()
    assert Journal.find(Path(".dvc/tmp/release")) is None
    assert visible(repo) == {
        "data/flights/2013-02.csv": "new\n",
        "data.dvc": "md5: new\n",
        "data.release.yaml": "released: [2013-02]\n",
    }


def test_an_interrupted_rollback_is_rolled_back_again(repo):
    before = visible(repo)
    release(5)
    # the rollback stopped after putting the old data/ back, before restoring the files
    (repo / "data").rename(repo / "gone")
    (repo / ".dvc/tmp/release/old").rename(repo / "data")
    journal = Journal.find(Path(".dvc/tmp/release"))
    journal.rollback()
    assert {k: v for k, v in visible(repo).items() if not k.startswith("gone/")} == before


def test_a_half_written_journal_is_no_journal(repo):
    (repo / ".dvc/tmp/release.draft/files").mkdir(parents=True)  # killed while copying: nothing changed yet
    assert Journal.find(Path(".dvc/tmp/release")) is None
    assert not (repo / ".dvc/tmp/release.draft").exists()
