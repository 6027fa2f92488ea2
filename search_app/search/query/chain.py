"""`Chain`: the query type an exact string compiles to, a run of character pairs.

The index holds every text also as overlapping character pairs (indexer.analysis);
a string is in a document exactly when its pairs follow one another there. Whoosh's
phrase query can decide that, but builds and aligns a span object for every
occurrence of every pair; `Chain` decides it from the pairs' positions directly, for
Whoosh's own searcher and for the one-pass scorer (search_app.search.scoring) alike.
"""
from __future__ import annotations

from whoosh import query as Q
from whoosh.matching import NullMatcher, WrappingMatcher
from whoosh.query.spans import Span, SpanNear2


class _ChainMatcher(SpanNear2.SpanNear2Matcher):
    """The documents where the character pairs of a needle follow one another: what
    Whoosh's phrase matcher decides by building and aligning a span object for every
    occurrence of every pair, decided from the pairs' positions directly. The score is
    the same (the wrapped intersection's), and so is the match: pair i at position p + i."""

    def _get_spans(self):
        first, *rest = [m.value_as("positions") for m in self.ms]
        return [Span(p, p + len(rest)) for p in chain_starts(first, [set(r) for r in rest])]


def chain_starts(first, following: list[set]) -> list[int]:
    """Positions p of the first pair with pair i at p + i for every following pair."""
    if not following:
        return list(first)
    return [p for p in first if all(p + i in positions for i, positions in enumerate(following, 1))]


class Chain(Q.Phrase):
    """An exact run of character pairs (slop 1: each pair right after the previous one).

    `implied_by` optionally names a (word field, word) whose postings are documents
    certain to hold the run (the word is the run's own text, indexed as a word of the
    same text): those need no position check."""

    def __init__(self, fieldname, words, slop=1, boost=1.0, implied_by=None):
        super().__init__(fieldname, words, slop=slop, boost=boost)
        self.implied_by = implied_by

    def matcher(self, searcher, context=None):
        field = searcher.schema[self.fieldname] if self.fieldname in searcher.schema else None
        if field is None:
            return NullMatcher()
        reader = searcher.reader()
        terms = []
        for word in self.words:
            try:
                word = field.to_bytes(word)
            except ValueError:  # a value the field cannot hold matches nothing
                return NullMatcher()
            if (self.fieldname, word) not in reader:
                return NullMatcher()
            terms.append(Q.Term(self.fieldname, word))
        m = _ChainMatcher([t.matcher(searcher, context) for t in terms])
        return WrappingMatcher(m, boost=self.boost) if self.boost != 1.0 else m

