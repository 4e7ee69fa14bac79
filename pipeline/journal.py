"""A release as a transaction: what it changes comes back as it was unless the release completes.

A release changes several things that must agree with each other: `data/`, `data.dvc`, `data.release.yaml`
and the `.dvc` files of imported sources. No file system renames several files at once, so a release keeps a
journal, as a database does. Before its first change, a copy of every file it may change (or a note that the
file did not exist) goes to `.dvc/tmp/release/` (DVC's own `.gitignore` keeps `.dvc/tmp` out of git), the new
`data/` is written there, and the old `data/` is moved there rather than deleted. When everything is written,
the release removes its journal: that removal is the moment the release counts. A command that finds a
journal (the release was killed, or the machine stopped) first puts everything back (`Journal.find`, then
`rollback`), so what remains is the state before the release or the state after it, never a mix.

Every step that matters is a rename, atomic on one file system: the journal appears complete or not at all,
the old `data/` is either in place or in the journal, and a recovery killed halfway is recovered in turn.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

JOURNAL = Path(".dvc/tmp/release")
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Journal:
    """The journal of one release in progress, in `path`; `folder` is the data folder it replaces."""

    path: Path
    folder: Path

    @classmethod
    def begin(cls, files: list[Path], folder: Path, path: Path = JOURNAL) -> Journal:
        """Copy `files` aside (noting the absent ones) before a release changes them or `folder`.

        The copy is written under a temporary name and renamed into place, so a kill while copying leaves
        no journal, and nothing has changed yet.
        """
        draft = path.with_name(path.name + ".draft")
        shutil.rmtree(draft, ignore_errors=True)
        (draft / "files").mkdir(parents=True)
        existed = {}
        for number, file in enumerate(files):
            existed[file.as_posix()] = file.exists()
            if file.exists():
                shutil.copyfile(file, draft / "files" / str(number))
        manifest = {"files": existed, "folder": folder.as_posix(), "folder_existed": folder.exists()}
        (draft / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        draft.replace(path)
        return cls(path, folder)

    @property
    def staging(self) -> Path:
        """Where the new data folder is written before it replaces the old one (same file system: a rename)."""
        return self.path / "new"

    def swap(self) -> None:
        """Put the staged folder in place of the old one, which stays in the journal until `commit`."""
        if self.folder.exists():
            self.folder.rename(self.path / "old")
        self.staging.rename(self.folder)

    def commit(self) -> None:
        """The release is complete: forget the journal (the rename is the moment; the rest is cleaning up)."""
        _discard(self.path)

    def rollback(self) -> list[Path]:
        """Put back the data folder and every file as they were before `begin`.

        Returns:
            The files whose content was put back (the caller may have more to restore, e.g. `dvc checkout`).
        """
        manifest = json.loads((self.path / MANIFEST).read_text(encoding="utf-8"))
        old = self.path / "old"
        if old.exists():  # the swap began: the old folder is here, whatever is in its place goes
            shutil.rmtree(self.folder, ignore_errors=True)
            old.rename(self.folder)
        elif not manifest["folder_existed"]:  # there was none; a new one may have been swapped in
            shutil.rmtree(self.folder, ignore_errors=True)
        restored = []
        for number, (name, existed) in enumerate(manifest["files"].items()):
            file, saved = Path(name), self.path / "files" / str(number)
            if existed and (not file.exists() or file.read_bytes() != saved.read_bytes()):
                spare = Path(shutil.copyfile(saved, file.with_name(file.name + ".restoring")))
                spare.replace(file)
                restored.append(file)
            elif not existed and file.exists():
                file.unlink()
                restored.append(file)
        _discard(self.path)
        return restored

    @classmethod
    def find(cls, path: Path = JOURNAL) -> Journal | None:
        """The journal of a release that did not complete (to roll back), or None; clears half-written ones."""
        shutil.rmtree(path.with_name(path.name + ".draft"), ignore_errors=True)
        shutil.rmtree(path.with_name(path.name + ".done"), ignore_errors=True)
        if not (path / MANIFEST).exists():
            return None
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        return cls(path, Path(manifest["folder"]))


def _discard(path: Path) -> None:
    """Remove a journal: renamed first (atomic), so a kill while deleting leaves no journal to recover."""
    done = path.with_name(path.name + ".done")
    shutil.rmtree(done, ignore_errors=True)
    path.replace(done)
    shutil.rmtree(done, ignore_errors=True)
