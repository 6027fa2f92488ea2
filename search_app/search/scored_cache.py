"""Remembered scored queries: paging, ticking facets, changing the sort and exporting
ask for the same query again, and scoring it is most of a search's time.

An entry grows with the corpus (every matching document with its score, and which
parts of the query each holds), so the cache is bounded by documents held, not only
by queries, and an entry is packed into arrays once it is not the latest: about 30
bytes a document, where the dicts and lists a search works with cost ten times that.
"""
from __future__ import annotations

from array import array


class ScoredEntry:
    """One query's scores and the parts of it each document holds; `pack()` keeps
    them in arrays, `scores()` and `parts()` give back dicts (remembered until the
    next `pack()`)."""

    __slots__ = ("_scores", "_parts", "docs", "values", "held_docs", "held_masks", "held_scores", "excluded")

    def __init__(self, scores: dict[int, float], parts: tuple[dict[int, list[int]], dict[int, float], set[int]]):
        held, held_score, excluded = parts
        # Parts held are asked only of documents the whole query does not match (the
        # partial matches): a match's are not kept (most of a broad query's documents).
        held = {d: indexes for d, indexes in held.items() if d not in scores}
        held_score = {d: held_score[d] for d in held}
        self._scores, self._parts = scores, (held, held_score, excluded)
        self.docs = array("i", scores)
        self.values = array("d", scores.values())
        self.held_docs = array("i", held)
        # the parts a document holds as bits, in the narrowest integers that hold them
        # (a query has at most query_terms parts)
        masks = [sum(1 << i for i in indexes) for indexes in held.values()]
        widest = max(masks, default=0).bit_length()
        self.held_masks = array(next(c for c in "BHILQ" if array(c).itemsize * 8 >= widest), masks)
        self.held_scores = array("d", held_score.values())
        self.excluded = array("i", sorted(excluded))

    def pack(self) -> None:
        self._scores = self._parts = None

    def scores(self) -> dict[int, float]:
        if self._scores is None:
            self._scores = dict(zip(self.docs, self.values))
        return self._scores

    def parts(self) -> tuple[dict[int, list[int]], dict[int, float], set[int]]:
        if self._parts is None:
            held = {d: [i for i in range(mask.bit_length()) if mask >> i & 1]
                    for d, mask in zip(self.held_docs, self.held_masks)}
            self._parts = held, dict(zip(self.held_docs, self.held_scores)), set(self.excluded)
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
