"""Read-only SQLite tables written beside a generation by the build (who cites whom,
the spelling table) and read by the search workers a row at a time.

Held as Python dicts, such tables cost every worker its own copy, growing with the
corpus; SQLite reads only the rows asked for, through the page cache the workers
share. A generation never changes once written, so its tables are opened read-only
and immutable (no locks, no journal).
"""
from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path


# KiB of SQLite's own page cache per open table (its default is 2 MB)
CACHE_KIB = 256


def write_new(path: Path, fill: Callable[[sqlite3.Connection], None], start_from: Path | None = None) -> None:
    """A table file at `path` filled by `fill(connection)`, written beside it and moved
    into place: a reader never sees half of it. With `start_from`, that file's copy
    is what `fill` changes."""
    tmp = Path(f"{path}.tmp")
    tmp.unlink(missing_ok=True)
    if start_from is not None:
        tmp.write_bytes(Path(start_from).read_bytes())
    connection = sqlite3.connect(tmp)
    try:
        fill(connection)
        connection.commit()
    finally:
        connection.close()
    os.replace(tmp, path)


class StoredTable:
    """A read-only connection to one table file, opened by each process that uses it
    (an SQLite connection must not cross a fork: the server opens a generation before
    it forks its workers) and used by one thread at a time."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._uri = f"{self.path.resolve().as_uri()}?mode=ro&immutable=1"
        self._connection: sqlite3.Connection | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    def query(self, sql: str, params=()) -> list[tuple]:
        with self._lock:
            if self._connection is None or self._pid != os.getpid():
                self._connection = sqlite3.connect(self._uri, uri=True, check_same_thread=False)
                # a small page cache of its own: the look-ups are a few rows each, and
                # the OS page cache, shared by every worker, holds the file
                self._connection.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
                self._pid = os.getpid()
            return self._connection.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            if self._connection is not None and self._pid == os.getpid():
                self._connection.close()
            self._connection = None


def open_table(path: Path, probe: str) -> StoredTable | None:
    """The table file at `path` if it answers `probe` (an SQL query), else None: a
    missing or damaged file is treated as absent."""
    if not Path(path).is_file():
        return None
    table = StoredTable(path)
    try:
        table.query(probe)
    except sqlite3.Error:
        table.close()
        return None
    return table
