"""The on-disk layout of a store: one writer, immutable published snapshots.

pyoxigraph (RocksDB) lets one process open a directory read-write, and a
read-only open beside a live writer is undefined behaviour. So no reader ever
opens a directory that is being written:

    STORE/
      CURRENT              name of the published snapshot, replaced atomically
      snapshots/00000007/  a complete pyoxigraph store, never written again
      work-<id>/           a writer's private copy while a write is under way
      write.lock           flock: one writer at a time, across processes

A write takes the lock, makes a work copy of the current snapshot with
``Store.backup`` (hard links to the immutable SST files, so it costs
milliseconds, not a copy of the data), opens it read-write, applies the
change, validates it, and publishes it by renaming the directory into
``snapshots/`` and replacing ``CURRENT``. If anything fails before that, the
work copy is deleted and readers never saw it: loads and updates are
all-or-nothing. Readers open the current snapshot read-only and switch to a
newer one on their next request. Old snapshots are removed once they are
older than a grace period, longer than any query may run.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from threading import Lock

from pyoxigraph import Store

from .errors import StoreBusyError, StoreLayoutError

_CURRENT = "CURRENT"
#: Old snapshots a publish removes at most (more are left for the next publishes): two per write keeps up with
#: any rate of writes, and a write never pays for a backlog.
GARBAGE_PER_PUBLISH = 2
_SNAPSHOTS = "snapshots"
_LOCK = "write.lock"
_MARKER = "HERITAGE_HUBS_STORE"


class SnapshotDirectory:
    """Generations of a store on disk, with a cross-process write lock."""

    def __init__(self, root: Path, *, keep: int = 3, grace_seconds: float = 600.0) -> None:
        self.root = Path(root)
        self.keep = keep
        self.grace_seconds = grace_seconds
        self._reader_lock = Lock()
        self._writer_lock = Lock()
        self._reader: tuple[str, Store] | None = None
        self._current: tuple[tuple[int, int, int], str | None] | None = None
        self._current_file = str(self.root / _CURRENT)  # asked on every request: no Path arithmetic there

    # ------------------------------------------------------------ layout

    @property
    def snapshots(self) -> Path:
        return self.root / _SNAPSHOTS

    def exists(self) -> bool:
        return (self.root / _MARKER).exists()

    def initialise(self) -> None:
        """Create an empty store here (idempotent)."""
        if self.root.exists() and any(self.root.iterdir()) and not self.exists():
            raise StoreLayoutError(f"{self.root} exists and is not a heritage-hubs store; choose an empty directory")
        self.snapshots.mkdir(parents=True, exist_ok=True)
        (self.root / _MARKER).write_text("heritage-hubs store, layout 1\n")
        with self.write_lock():
            if self.current_name() is None:
                first = self.snapshots / self._generation_name(1)
                Store(str(first)).flush()
                self._publish_name(first.name)

    def current_name(self) -> str | None:
        # CURRENT is replaced, never rewritten in place, so a new inode (or
        # mtime) means a new generation; a stat is much cheaper than a read
        # and this is asked on every request.
        path = self._current_file
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            return None
        signature = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        cached = self._current
        if cached is not None and cached[0] == signature:
            return cached[1]
        try:
            with open(path) as handle:
                name = handle.read().strip() or None
        except FileNotFoundError:
            return None
        self._current = (signature, name)
        return name

    def current_path(self) -> Path:
        name = self.current_name()
        if name is None:
            raise StoreLayoutError(f"{self.root} is not an initialised heritage-hubs store")
        return self.snapshots / name

    def generation_name(self, number: int) -> str:
        """The directory name (and generation token) of snapshot `number`."""
        return self._generation_name(number)

    @staticmethod
    def _generation_name(number: int) -> str:
        return f"{number:08d}"

    def next_name(self) -> str:
        """The name the next published snapshot will get (stable while the write lock is held)."""
        numbers = [int(p.name) for p in self.snapshots.iterdir() if p.name.isdigit()]
        return self._generation_name(max(numbers, default=0) + 1)

    def _publish_name(self, name: str) -> None:
        tmp = self.root / f".{_CURRENT}.{uuid.uuid4().hex}"
        with open(tmp, "w") as handle:
            handle.write(name + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.root / _CURRENT)
        directory = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    # ------------------------------------------------------------ reading

    def reader(self) -> Store:
        """A read-only store on the current snapshot, reopened when it changes."""
        name = self.current_name()
        if name is None:
            raise StoreLayoutError(f"{self.root} is not an initialised heritage-hubs store (run a load, or 'serve' once)")
        with self._reader_lock:
            if self._reader is None or self._reader[0] != name:
                self._reader = (name, Store.read_only(str(self.snapshots / name)))
            return self._reader[1]

    def generation(self) -> str | None:
        """An opaque token that changes whenever a write is published."""
        return self.current_name()

    # ------------------------------------------------------------ writing

    @contextlib.contextmanager
    def write_lock(self, timeout: float = 60.0) -> Iterator[None]:
        """One writer at a time: threads of this process queue on a lock, processes on a file lock."""
        self.root.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + timeout
        busy = f"{self.root}: another write has been under way for more than {timeout:.0f} s; try again later"
        # Waiting threads queue in the kernel and are woken one at a time as the
        # writer leaves, rather than racing each other by polling.
        if not self._writer_lock.acquire(timeout=max(timeout, 0.001)):
            raise StoreBusyError(busy)
        try:
            with open(self.root / _LOCK, "a+") as handle:
                while True:
                    try:
                        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() >= deadline:
                            raise StoreBusyError(busy) from None
                        time.sleep(0.005)
                try:
                    self._remove_abandoned_work()
                    yield
                finally:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        finally:
            self._writer_lock.release()

    def _remove_abandoned_work(self) -> None:
        # Only called with the write lock held: no live writer owns these.
        for path in self.root.glob("work-*"):  # work copies, and the temporary files of their commits
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)

    def new_work_copy(self) -> Path:
        """A private read-write copy of the current snapshot (lock must be held)."""
        work = self.root / f"work-{uuid.uuid4().hex}"
        self.reader().backup(str(work))  # the open reader is on the current snapshot (no second open)
        return work

    def publish(self, work: Path) -> str:
        """Make a closed work copy the current snapshot (lock must be held)."""
        name = self.next_name()
        os.replace(work, self.snapshots / name)
        self._publish_name(name)
        self.collect_garbage(most=GARBAGE_PER_PUBLISH)
        return name

    def discard(self, work: Path) -> None:
        shutil.rmtree(work, ignore_errors=True)

    def collect_garbage(self, most: int | None = None) -> None:
        """Remove old snapshots beyond the newest `keep` (at most `most` of them, oldest first).

        A snapshot may still be read until every reader has noticed its
        successor, so it goes only when its successor was published longer
        ago than the grace period (longer than any query may run). A publish
        removes a few at most: it holds the write lock, and removing one costs
        tens of milliseconds at a million triples.
        """
        current = self.current_name()
        names = sorted((p for p in self.snapshots.iterdir() if p.name.isdigit()), key=lambda p: p.name)
        now = time.time()
        for path, successor in list(itertools.pairwise(names))[: max(len(names) - self.keep, 0)]:
            if path.name == current:
                continue
            if now - successor.stat().st_mtime > self.grace_seconds:
                shutil.rmtree(path, ignore_errors=True)
                if most is not None:
                    most -= 1
                    if most <= 0:
                        return
