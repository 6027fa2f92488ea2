"""Remembered scored queries: paging, ticking facets, changing the sort and exporting
ask for the same query again, and scoring it is most of a search's time.

An entry grows with the corpus (every matching document with its score, and which
parts of the query each holds), so the cache is bounded by documents held, not only
by queries, and an entry is kept as arrays (twelve bytes a matching document, about
as many a partial match), the partial matches given as dicts only to the latest
query asked for.
"""
from __future__ import annotations

import numpy as np


class ScoredEntry:
    """One query's scores and the parts of it each document holds, as arrays;
    `parts()` gives the latter as dicts (remembered until the next `pack()`).

    docs, values: the matching documents (ascending) and their scores. held_docs,
    held_masks, held_scores: the partial matches (documents holding some parts of the
    query, not the whole), the parts each holds as bits, and their score for them.
    excluded: the documents an exclusion of the query removes."""

    __slots__ = ("_parts", "docs", "values", "held_docs", "held_masks", "held_scores", "excluded")

    def __init__(self, docs, values, held_docs, held_masks, held_scores, excluded):
        self._parts = None
        self.docs = np.asarray(docs, dtype=np.int32)
        self.values = np.asarray(values, dtype=np.float64)
        self.held_docs = np.asarray(held_docs, dtype=np.int32)
        # in the narrowest integers that hold them (a query has at most query_terms parts)
        masks = np.asarray(held_masks, dtype=np.uint64)
        widest = int(masks.max()).bit_length() if len(masks) else 0
        self.held_masks = masks.astype(next(t for t in (np.uint8, np.uint16, np.uint32, np.uint64)
                                            if np.iinfo(t).bits >= widest))
        self.held_scores = np.asarray(held_scores, dtype=np.float64)
        self.excluded = np.asarray(excluded, dtype=np.int32)

    def pack(self) -> None:
        self._parts = None

    def parts(self) -> tuple[dict[int, list[int]], dict[int, float], set[int]]:
        if self._parts is None:
            docs = self.held_docs.tolist()
            held = {d: [i for i in range(mask.bit_length()) if mask >> i & 1]
                    for d, mask in zip(docs, self.held_masks.tolist())}
            self._parts = held, dict(zip(docs, self.held_scores.tolist())), set(self.excluded.tolist())
        return self._parts

    def __len__(self) -> int:
        """Documents held (what the cache's bound counts)."""
        return len(self.docs) + len(self.held_docs)


class ScoredCache:
    """Query text → ScoredEntry, the oldest forgotten first, bounded by how many
    queries and by how many documents they hold in all (the latest is kept whatever
    its size: paging through a broad query must not score it again for every page).
    Only the entry last asked for is held unpacked."""

    def __init__(self, max_queries: int, max_documents: int):
        self.max_queries, self.max_documents = max_queries, max_documents
        self._entries: dict[str, ScoredEntry] = {}  # oldest first
        self._latest: ScoredEntry | None = None
        self.documents = 0

    def get(self, key: str) -> ScoredEntry | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._use(entry)
        return entry

    def put(self, key: str, entry: ScoredEntry) -> None:
        if key in self._entries:
            self.documents -= len(self._entries.pop(key))
        self._entries[key] = entry
        self.documents += len(entry)
        self._use(entry)
        while len(self._entries) > 1 and (len(self._entries) > self.max_queries
                                          or self.documents > self.max_documents):
            self.documents -= len(self._entries.pop(next(iter(self._entries))))

    def _use(self, entry: ScoredEntry) -> None:
        if self._latest is not None and self._latest is not entry:
            self._latest.pack()
        self._latest = entry

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: str) -> bool:
        return key in self._entries
