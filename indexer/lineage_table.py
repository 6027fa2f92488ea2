"""Who cites whom, stored beside each generation (indexer.stored_table).

The build writes `lineage.derived_table()` here; a search reads a document's citations
and one parent's entries when it shows a document. Held as Python dicts, the table cost
every search worker 15 MB at 50× the report.
"""
from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path

from indexer.stored_table import StoredTable, open_table, write_new

# The parts of lineage.derived_table(), each a mapping of a key (a parent's; for cites, a
# citing record's id) → JSON.
PARTS = ("cites", "cited_by", "parents")


def write_table(path: Path, table: dict) -> None:
    """`table` (lineage.derived_table()) written to a new table file at `path`."""
    def fill(connection):
        for part in PARTS:
            connection.execute(f"CREATE TABLE {part} (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID")
            connection.executemany(
                f"INSERT INTO {part} VALUES (?, ?)",
                ((key, json.dumps(value, ensure_ascii=False, sort_keys=True))
                 for key, value in sorted((table.get(part) or {}).items())))

    write_new(path, fill)


class StoredPart(Mapping):
    """One part of the table as a read-only mapping; each look-up is one query."""

    def __init__(self, table: StoredTable, part: str):
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
    """The table of a generation shaped as derived_table() is: {"cites": {...},
    "cited_by": {...}, "parents": {...}}, each part looked up on demand (a table written
    before the cites were kept here has no such part)."""

    def __init__(self, table: StoredTable):
        self._table = table
        present = {name for (name,) in table.query("SELECT name FROM sqlite_master WHERE type = 'table'")}
        self._parts = {part: StoredPart(table, part) for part in PARTS if part in present}

    def __getitem__(self, part: str) -> StoredPart:
        return self._parts[part]

    def __iter__(self) -> Iterator[str]:
        return iter(self._parts)

    def __len__(self) -> int:
        return len(self._parts)

    def close(self) -> None:
        self._table.close()


def read_table(path: Path) -> StoredLineage | None:
    """The stored table at `path`, or None where there is none (an index made
    directly from annotated records) or it cannot be read."""
    table = open_table(path, "SELECT 1 FROM cited_by LIMIT 1")
    return None if table is None else StoredLineage(table)
