"""Remembered scored queries: paging, ticking facets, changing the sort and exporting
ask for the same query again, and scoring it is most of a search's time.

An entry grows with the corpus (every matching document with its score, and which
parts of the query each holds), so the cache is bounded by documents held, not only
by queries, and an entry is kept as arrays (twelve bytes a matching document, about
as many a partial match). A search lists partial matches only where few documents
match in full, so a query matching many keeps none: they would be most of what the
cache holds (1.2 of 1.9 MB for the query set of make bench at 50× the report), and a
filter that leaves few of its matches has them made again.
"""
from __future__ import annotations

import numpy as np


class PartialMatches:
    """The documents holding some parts of a query but not the whole, as arrays: docs,
    the parts each holds as bits (masks), their score for them; and excluded, the
    documents an exclusion of the query removes."""

    __slots__ = ("docs", "masks", "scores", "excluded")

    def __init__(self, docs, masks, scores, excluded):
        self.docs = np.asarray(docs, dtype=np.int32)
        # in the narrowest integers that hold them (a query has at most query_terms parts)
        masks = np.asarray(masks, dtype=np.uint64)
        widest = int(masks.max()).bit_length() if len(masks) else 0
        self.masks = masks.astype(next(t for t in (np.uint8, np.uint16, np.uint32, np.uint64)
                                       if np.iinfo(t).bits >= widest))
        self.scores = np.asarray(scores, dtype=np.float64)
        self.excluded = np.asarray(excluded, dtype=np.int32)

    def __len__(self) -> int:
        return len(self.docs) + len(self.excluded)


class ScoredEntry:
    """One query's scores as arrays: docs, values (the matching documents, ascending,
    and their scores), and its partial matches, or None where they are not kept."""

    __slots__ = ("docs", "values", "partial")

    def __init__(self, docs, values, partial: PartialMatches | None = None):
        self.docs = np.asarray(docs, dtype=np.int32)
        self.values = np.asarray(values, dtype=np.float64)
        self.partial = partial

    def __len__(self) -> int:
        """Documents held (what the cache's bound counts)."""
        return len(self.docs) + (len(self.partial) if self.partial is not None else 0)


class ScoredCache:
    """Query text → ScoredEntry, the oldest forgotten first, bounded by how many
    queries and by how many documents they hold in all (the latest is kept whatever
    its size: paging through a broad query must not score it again for every page)."""

    def __init__(self, max_queries: int, max_documents: int):
        self.max_queries, self.max_documents = max_queries, max_documents
        self._entries: dict[str, ScoredEntry] = {}  # oldest first
        self.documents = 0

    def get(self, key: str) -> ScoredEntry | None:
        return self._entries.get(key)

    def put(self, key: str, entry: ScoredEntry) -> None:
        if key in self._entries:
            self.documents -= len(self._entries.pop(key))
        self._entries[key] = entry
        self.documents += len(entry)
        while len(self._entries) > 1 and (len(self._entries) > self.max_queries
                                          or self.documents > self.max_documents):
            self.documents -= len(self._entries.pop(next(iter(self._entries))))

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: str) -> bool:
        return key in self._entries
