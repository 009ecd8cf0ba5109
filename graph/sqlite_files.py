"""The SQLite files beside a store (the change feed, the label index): one way to open, read and write them.

Readers keep one connection per thread (server workers answer from several
threads; the connection is reopened when the file is replaced). Writers take
their own connection for one `BEGIN IMMEDIATE … COMMIT`, rolled back on any
error, always called with the store's write lock held.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path


class SqliteFile:
    #: Page cache of a write's connection, in KiB.
    WRITE_CACHE_KIB = 256 * 1024

    def __init__(self, path: Path, schema: str) -> None:
        self.path = path
        self.schema = schema
        self._local = threading.local()

    def connect(self, path: Path | None = None) -> sqlite3.Connection:
        connection = sqlite3.connect(path or self.path, timeout=60, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.executescript(self.schema)
        return connection

    def reader(self) -> sqlite3.Connection:
        """This thread's connection (a new one when the file was replaced since)."""
        inode = _inode(self.path)
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None or getattr(self._local, "inode", None) != inode:
            connection = self._local.connection = self.connect()
            self._local.inode = _inode(self.path)
        return connection

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction on a connection of its own: committed at the end, rolled back on an error."""
        connection = self.connect()
        try:
            # A large load writes 100,000s of index rows: with SQLite's default 2 MiB of cache each B-tree page is
            # read and written again and again. The cache lives as long as this one write.
            connection.execute(f"PRAGMA cache_size = -{self.WRITE_CACHE_KIB}")
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        finally:
            connection.close()


def _inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return None
