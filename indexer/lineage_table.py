"""Who cites whom, stored beside each generation as an SQLite file of look-ups.

The build writes `lineage.derived_table()` here; a search reads one parent's entries
when it shows a document. Held as Python dicts, the table cost every search worker
15 MB at 50× the report; SQLite reads only the rows asked for, through the page
cache the workers share. A generation never changes once written, so it is opened
read-only and immutable (no locks, no journal).
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path

# The two parts of lineage.derived_table(), each a mapping of parent key → JSON.
PARTS = ("cited_by", "parents")


def write_table(path: Path, table: dict) -> None:
    """`table` (lineage.derived_table()) written to a new SQLite file at `path`."""
    tmp = Path(f"{path}.tmp")
    tmp.unlink(missing_ok=True)
    connection = sqlite3.connect(tmp)
    try:
        for part in PARTS:
            connection.execute(f"CREATE TABLE {part} (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID")
            connection.executemany(
                f"INSERT INTO {part} VALUES (?, ?)",
                ((key, json.dumps(value, ensure_ascii=False, sort_keys=True))
                 for key, value in sorted((table.get(part) or {}).items())))
        connection.commit()
    finally:
        connection.close()
    os.replace(tmp, path)


class StoredPart(Mapping):
    """One part of the table as a read-only mapping; each look-up is one query."""

    def __init__(self, table: "StoredLineage", part: str):
        self._table, self._part = table, part

    def __getitem__(self, key: str):
        row = self._table.query(f"SELECT value FROM {self._part} WHERE key = ?", (key,))
        if not row:
            raise KeyError(key)
        return json.loads(row[0][0])

    def __iter__(self) -> Iterator[str]:
        return (key for (key,) in self._table.query(f"SELECT key FROM {self._part} ORDER BY key"))

    def __len__(self) -> int:
        return self._table.query(f"SELECT count(*) FROM {self._part}")[0][0]


class StoredLineage(Mapping):
    """The table of a generation read from its file, shaped as derived_table() is:
    {"cited_by": {...}, "parents": {...}}, each part looked up on demand."""

    def __init__(self, path: Path):
        self._uri = f"{Path(path).resolve().as_uri()}?mode=ro&immutable=1"
        self._connection: sqlite3.Connection | None = None
        self._pid = None
        self._lock = threading.Lock()
        self._parts = {part: StoredPart(self, part) for part in PARTS}

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._lock:
            # SQLite connections must not cross a fork: a worker forked after the
            # server opened the generation opens its own (one per generation, used by
            # one thread at a time).
            if self._connection is None or self._pid != os.getpid():
                self._connection = sqlite3.connect(self._uri, uri=True, check_same_thread=False)
                self._pid = os.getpid()
            return self._connection.execute(sql, params).fetchall()

    def __getitem__(self, part: str) -> StoredPart:
        return self._parts[part]

    def __iter__(self) -> Iterator[str]:
        return iter(self._parts)

    def __len__(self) -> int:
        return len(self._parts)

    def close(self) -> None:
        with self._lock:
            if self._connection is not None and self._pid == os.getpid():
                self._connection.close()
            self._connection = None


def read_table(path: Path) -> StoredLineage | None:
    """The stored table at `path`, or None where there is none (an index made
    directly from annotated records) or it cannot be read."""
    if not Path(path).is_file():
        return None
    try:
        table = StoredLineage(path)
        table.query("SELECT 1 FROM cited_by LIMIT 1")
    except sqlite3.Error:
        return None
    return table
