"""The engine the stages that read rows run on: pandas in this process (the default), or a Dask cluster.

`engine.kind` in params.yaml chooses. With pandas every stage holds its rows in one process, which is simple
and fast up to a few million rows. With Dask the same pandas functions (`features.prepare_rows`,
`predict.score_rows`, ...) run on one partition at a time, each partition one period's file, on the workers of
a cluster: a `distributed.LocalCluster` on this machine, or the scheduler at `engine.address`. Dask does the
scheduling, the spilling and the parallelism; this module only connects to it and holds the rules pandas and
Dask share, so they give the same rows:

- `sample`: which rows a capped step (training over `engine.train_rows`, drift over `engine.drift_rows`) keeps.
  A row is kept when the hash of its values falls under the rate, so the choice does not depend on the engine,
  the partitions or the row order, and the same rate applies to every period and class.
- `Parts`: a table's checked files, held in this process or where the workers checked them; `validate`'s data
  tests across files run on each file where it is (`Parts.map`) and combine the small results here.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import chdir, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

if TYPE_CHECKING:
    from distributed import Client, Future

    from pipeline.config import Engine

log = logging.getLogger(__name__)
T = TypeVar("T")
# uint64 hashes are uniform on [0, 2**64): a row is kept when its hash is below rate * 2**64.
HASH_RANGE = float(2**64)


@contextmanager
def cluster(engine: Engine) -> Iterator[Client | None]:
    """A Dask client for `engine` (None for pandas), closed on exit.

    No address starts a LocalCluster of worker processes (one per core, or `engine.workers`), one thread each:
    the stages' pandas and scikit-learn code holds the GIL, so processes, not threads, run it in parallel.
    """
    if engine.kind == "pandas":
        yield None
        return
    from distributed import Client, LocalCluster

    # The scheduler, nannies and workers log their every step at INFO, which the stages' own logging would print.
    logging.getLogger("distributed").setLevel(logging.WARNING)

    if engine.address is not None:
        with Client(engine.address) as client:
            log.info("engine: dask, the cluster at %s", engine.address)
            yield client
        return
    workers = engine.workers or os.cpu_count() or 1
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            scheduler_kwargs={"dashboard": False},  # nobody watches a stage's cluster: no web server, no port
            silence_logs=logging.WARNING,
        ) as local,
        Client(local) as client,
    ):
        log.info("engine: dask, a LocalCluster of %d worker processes", workers)
        yield client


def run_each(client: Client | None, task: Callable[..., T], items: list, /, **shared) -> list[T]:
    """`task(item, **shared)` for each item, in order: here one after the other, or on the cluster's workers.

    The `shared` arguments (the joined tables, the parameters) are sent to each worker once, not once per task.
    An item may be a result kept on the workers (`keep_each`): its task runs where it is. An error in a task is
    raised here as the task raised it, so a bad file reads the same on either engine.
    """
    if client is None:
        return [task(item, **shared) for item in items]
    # One result at a time, in order: gathering them all at once holds every result twice while it arrives (the
    # bytes received and the objects made from them): validate's largest process at x30, 4.0 GB, is 3.2 GB this way.
    return [future.result() for future in keep_each(client, task, items, **shared)]


def keep_each(client: Client, task: Callable[..., T], items: list, /, **shared) -> list[Future]:
    """`run_each` on the cluster, its results left on the workers (Dask futures) for later tasks to use there."""
    sent = {name: client.scatter([value], broadcast=True, hash=False)[0] for name, value in shared.items()}
    return client.map(partial(in_folder, task, Path.cwd()), items, pure=False, **sent)


@dataclass(frozen=True)
class Parts:
    """One table's files as frames, period -> frame in file order, and what is known of each without reading it.

    With pandas the frames are in this process; with Dask each stays on the worker that read and checked it (a
    future), so the data tests across files never bring the history into one process: `map` runs a test's part
    on each file where the file is, and only its small result (a count, a row's hash, a sample) comes back.
    """

    frames: dict[str | None, pd.DataFrame | Future]
    dtypes: dict[str | None, pd.Series]  # period -> the file's column -> dtype
    rows: dict[str | None, int]
    client: Client | None = None

    @classmethod
    def here(cls, frames: dict[str | None, pd.DataFrame]) -> Parts:
        """Frames held in this process (the pandas engine, and tests)."""
        return cls(frames, {p: f.dtypes for p, f in frames.items()}, {p: len(f) for p, f in frames.items()})

    def columns(self, period: str | None) -> list:
        """The columns of one period's file, in its order."""
        return list(self.dtypes[period].index)

    def map(self, task: Callable[..., T], periods: list | None = None, /, **shared) -> list[T]:
        """`task(frame, **shared)` for the frame of each of `periods` (all by default), in order, where it is."""
        chosen = list(self.frames) if periods is None else periods
        return run_each(self.client, task, [self.frames[p] for p in chosen], **shared)

    def apply(self, task: Callable[..., T], period: str | None, /, **shared) -> T:
        """`task(frame, **shared)` for the frame of one period, where it is."""
        return self.map(task, [period], **shared)[0]

    def map_each(self, task: Callable[..., T], each: dict, /, **shared) -> list[T]:
        """`task(frame, each[period], **shared)` for each period of `each`, in order, where the frame is."""
        items = [(self.frames[period], value) for period, value in each.items()]
        return run_each(self.client, partial(with_own, task), items, **shared)


def with_own(task: Callable[..., T], item: tuple, /, **shared) -> T:
    """`task(frame, own, **shared)` for an item (frame, own): a task with an argument of its own besides the frame.

    Dask finds a future inside the item's tuple and hands the task its frame, as it does for a bare future.
    """
    frame, own = item
    return task(frame, own, **shared)


def in_folder(task: Callable[..., T], folder: Path, item, /, **shared) -> T:
    """`task(item, **shared)` run in `folder`, the stage's working directory, on a worker.

    The stages name their files relative to the project (`data/<table>/<period>.csv`), as their messages do.
    A worker of a cluster at `engine.address` was started elsewhere, so it runs the task where the stage runs:
    a worker on another machine must see the project's folder at the same path (a shared file system). The
    working directory is the worker process's, so a worker runs one task at a time (one thread, as the
    LocalCluster's do).
    """
    with chdir(folder):
        return task(item, **shared)


def read_rows(split: Path, cap: int | None, seed: int, client: Client | None) -> tuple[pd.DataFrame, int]:
    """A prepared split (a folder of Parquet files, one per period) as one table, sampled when over `cap` rows.

    Returns the rows and how many the split holds. Each file is read, and sampled, where its task runs, so with
    Dask only the kept rows travel to this process: training at `engine.train_rows` holds that many rows here
    however many the split has.
    """
    files = sorted(split.glob("*.parquet")) if split.is_dir() else [split]
    total = sum(pq.read_metadata(f).num_rows for f in files)
    parts = run_each(client, read_sample, files, rate=rate(cap, total), seed=seed)
    return pd.concat(parts, ignore_index=True), total


def read_sample(path: Path, *, rate: float, seed: int) -> pd.DataFrame:
    """One Parquet file's rows that `sample` keeps."""
    return sample(pd.read_parquet(path), rate, seed)


def sample(rows: pd.DataFrame, rate: float, seed: int) -> pd.DataFrame:
    """The rows whose values hash below `rate` (keyed by `seed`); all of them when `rate` >= 1.

    Equal rows are kept or dropped together, and a row's fate depends on its values only: the pandas engine on
    the whole table and the Dask engine on each partition keep the same rows, in the same order.
    """
    if rate >= 1:
        return rows
    hashes = pd.util.hash_pandas_object(rows, index=False, hash_key=f"{seed:016d}"[-16:])
    return rows[hashes.to_numpy() < np.uint64(min(rate * HASH_RANGE, HASH_RANGE - 1))]


def rate(cap: int | None, rows: int) -> float:
    """The share of `rows` a step capped at `cap` rows keeps (1: all of them)."""
    return 1.0 if cap is None or rows <= cap else cap / rows
