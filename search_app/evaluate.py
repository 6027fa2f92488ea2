"""Scoring a compiled query over the whole index in one pass, posting list by posting list.

A search needs every match with its score (facet counts cover the whole hit set, and
any page may be asked for), not the best ten. Whoosh answers that with a tree of
matchers advanced one document at a time, which costs several Python calls per
posting and per level of the tree; on a corpus of a few thousand long documents
that is most of a query's time. Here each term's postings are read a block at a
time into {docnum: score}, and the query's boolean structure is applied to those
dicts. Scores are Whoosh's own: the same BM25F statistics (idf and average length
from the top-level searcher, the field's B and K1), the same sums and boosts.
Query types this module does not know are handed to Whoosh unchanged.

Only search.py uses this module; `Chain` is the query type it compiles exact
n-gram runs into, usable by Whoosh's own searcher as well.
"""
from __future__ import annotations

from bisect import bisect_left
from itertools import accumulate
from operator import itemgetter
from pickle import loads

from whoosh import query as Q
from whoosh.formats import _INT_SIZE, Characters, Positions
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
from whoosh.matching import NullMatcher, WrappingMatcher
from whoosh.matching.wrappers import FilterMatcher
from whoosh.query.spans import Span, SpanNear2
from whoosh.scoring import BM25FScorer, WeightScorer
from whoosh.util.numeric import byte_to_length

# ----------------------------------------------------------------------------- the query type


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


# ----------------------------------------------------------------------------- postings


class _Postings:
    """One term's postings in one segment: docnums (segment-local), weights, and the
    encoded values (positions) for the chains that need them."""
    __slots__ = ("ids", "weights", "values", "_format", "_decode", "_where")

    def __init__(self, ids, weights, values, format_):
        self.ids = ids
        self.weights = weights
        self.values = values
        self._format = format_
        self._decode = None
        self._where = None

    def index(self) -> dict[int, int]:
        """docnum → its posting's index."""
        if self._where is None:
            self._where = {d: i for i, d in enumerate(self.ids)}
        return self._where

    def positions(self, docnum: int) -> list[int]:
        if self._decode is None:
            self._decode = _positions_decoder(self._format)
        return self._decode(self.values[self.index()[docnum]])


def _positions_decoder(format_):
    """Whoosh's Positions and Characters formats store a posting's positions as a
    pickled list of deltas (with character offsets for Characters): decoded here in
    one C-level pass instead of Whoosh's loop over the deltas."""
    def deltas(v: bytes):
        return loads(v[_INT_SIZE:] if v.endswith(b".") else v[_INT_SIZE:] + b".")

    if type(format_) is Characters:
        first = itemgetter(0)
        return lambda v: list(accumulate(map(first, deltas(v))))
    if type(format_) is Positions:
        return lambda v: list(accumulate(deltas(v)))
    return format_.decoder("positions")


def _read_postings(reader, fieldname: str, btext: bytes, with_values: bool,
                   within: list[int] | None = None) -> _Postings | None:
    """A term's postings, or None when the segment lacks it. With `within` (sorted
    segment docnums), blocks holding none of those documents are passed over without
    being decoded, as Whoosh's skip_to does."""
    if (fieldname, btext) not in reader:
        return None
    m = reader.postings(fieldname, btext)
    if isinstance(m, FilterMatcher):
        m = m.child  # deleted documents: the caller keeps live documents only
    fmt = reader.schema[fieldname].format
    ids: list[int] = []
    weights: list[float] = []
    values: list = []
    if all(hasattr(m, name) for name in ("_read_ids", "_read_weights", "_read_values", "_next_block", "_maxid")):
        # Whoosh's own block reader (codec whoosh3): a block of postings decoded at once.
        low = 0  # documents below this id were in blocks already passed
        while m.is_active():
            if within is not None:
                k = bisect_left(within, low)
                low = m._maxid + 1
                if k == len(within):
                    break
                if within[k] > m._maxid:
                    m._next_block()
                    continue
            m._read_ids()
            m._read_weights()
            ids.extend(m._ids)
            weights.extend(m._weights)
            if with_values:
                m._read_values()
                values.extend(m._values)
            m._next_block()
    else:  # any other codec: posting by posting
        while m.is_active():
            ids.append(m.id())
            weights.append(m.weight())
            if with_values:
                values.append(m.value())
            m.next()
    return _Postings(ids, weights, values if with_values else None, fmt)


def _segment_lengths(searcher, fieldname: str) -> list[int]:
    """Every document's length of the field in a segment, from its lengths column at
    once (one byte per document), else asked document by document."""
    reader = searcher.reader()
    count = reader.doc_count_all()
    perdoc = getattr(reader, "_perdoc", None)
    column = None
    if perdoc is not None and hasattr(perdoc, "_cached_reader"):
        column = perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
    if column is not None and all(hasattr(column, a) for a in ("_dbfile", "_basepos", "_count")):
        raw = column._dbfile.get(column._basepos, column._count)
        lengths = [byte_to_length(b) for b in raw]
        lengths.extend([0] * (count - len(lengths)))
        return lengths
    return [reader.doc_field_length(d, fieldname, 0) or 0 for d in range(count)]


# ----------------------------------------------------------------------------- the evaluator


class Unsupported(Exception):
    """A part of the query this module cannot score as Whoosh would."""


class Evaluator:
    """Scores queries against one open Whoosh searcher (one index generation). Each
    field's BM25 length terms are computed once per segment and kept for the
    generation's life.
    Not thread-safe on its own: the caller serialises use, as it does the searcher's."""

    def __init__(self, searcher):
        self.searcher = searcher
        self.weighting = searcher.weighting
        self.leaves = searcher.leaf_searchers()
        self._norms: dict[tuple, list[float]] = {}
        self._memo: dict = {}

    def score_all(self, q) -> dict[int, float]:
        """{global docnum: score} of every document `q` matches, as Whoosh's
        searcher.search(q, limit=None) scores them. Deleted documents may be present
        (the caller keeps live ones)."""
        # A query repeats its parts (the word typed inside its expansion's exclusion,
        # the title match inside the ranking tiers): each is scored once per call.
        self._memo = {}
        try:
            return self.evaluate(q)
        except Unsupported:
            return self._whoosh(q)
        finally:
            self._memo = {}

    def evaluate(self, q) -> dict[int, float]:
        try:
            return self._memo[q]
        except (KeyError, TypeError):
            pass
        handler = self._HANDLERS.get(type(q))
        out = self._whoosh(q) if handler is None else handler(self, q)
        try:
            self._memo[q] = out
        except TypeError:  # an unhashable query is simply not remembered
            pass
        return out

    def _whoosh(self, q) -> dict[int, float]:
        results = self.searcher.search(q, limit=None)
        return {docnum: score for score, docnum in results.top_n}

    def _norms_of(self, leaf: int, fieldname: str, scorer) -> list[float]:
        """Each document's BM25 length term K1 * ((1 - B) + B * fl / avgfl) in the
        field, computed as Whoosh's bm25() does, once per segment and field."""
        key = (leaf, fieldname, scorer.B, scorer.K1, scorer.avgfl)
        norms = self._norms.get(key)
        if norms is None:
            B, K1, avgfl = scorer.B, scorer.K1, scorer.avgfl
            norms = self._norms[key] = [K1 * ((1 - B) + B * (fl or 1) / avgfl)
                                        for fl in _segment_lengths(self.leaves[leaf][0], fieldname)]
        return norms

    def _term_scores(self, leaf: int, fieldname: str, btext: bytes, postings: _Postings,
                     boost: float, only=None) -> dict[int, float]:
        """BM25F scores of a term's postings in one segment (local docnums), as
        Whoosh's scorer computes them."""
        sub = self.leaves[leaf][0]
        scorer = self.weighting.scorer(sub, fieldname, btext)
        ids, weights = postings.ids, postings.weights
        if isinstance(scorer, BM25FScorer):
            idf, K1 = scorer.idf, scorer.K1
            norms = self._norms_of(leaf, fieldname, scorer)
            k1p = K1 + 1
            # (x * 1.0 is x exactly: the boost costs nothing when there is none.)
            if only is None:
                return {d: idf * ((tf * k1p) / (tf + norms[d])) * boost for d, tf in zip(ids, weights)}
            return {ids[i]: idf * ((weights[i] * k1p) / (weights[i] + norms[ids[i]])) * boost for i in only}
        if isinstance(scorer, WeightScorer):
            if only is None:
                return {d: w * boost for d, w in zip(ids, weights)}
            return {ids[i]: weights[i] * boost for i in only}
        raise Unsupported(f"scorer {type(scorer).__name__} of {fieldname}")

    def _term(self, q) -> dict[int, float]:
        schema = self.searcher.schema
        if q.fieldname not in schema:
            return {}
        try:
            btext = schema[q.fieldname].to_bytes(q.text)
        except ValueError:
            return {}
        out: dict[int, float] = {}
        for leaf, (sub, offset) in enumerate(self.leaves):
            postings = _read_postings(sub.reader(), q.fieldname, btext, False)
            if postings is None:
                continue
            scores = self._term_scores(leaf, q.fieldname, btext, postings, q.boost)
            out.update({offset + d: s for d, s in scores.items()})
        return out

    def _chain(self, q) -> dict[int, float]:
        schema = self.searcher.schema
        if q.fieldname not in schema:
            return {}
        field = schema[q.fieldname]
        try:
            words = [field.to_bytes(w) for w in q.words]
        except ValueError:
            return {}
        out: dict[int, float] = {}
        for leaf, (sub, offset) in enumerate(self.leaves):
            out.update(self._chain_segment(leaf, offset, sub.reader(), q, words))
        return out

    def _chain_segment(self, leaf, offset, reader, q, words) -> dict[int, float]:
        fname = q.fieldname
        if any((fname, w) not in reader for w in words):
            return {}
        # Pair k sits at ordinal p + k of a run starting at p (indexer.analysis), so
        # pairs 0, 2, 4, … and the last cover every character of the run: only
        # theirs need positions. Rarest pair first; the others are read only in the
        # blocks holding documents that are still candidates.
        checked = sorted(set(range(0, len(words), 2)) | {len(words) - 1}) if len(words) > 1 else []
        lists: list[_Postings | None] = [None] * len(words)
        candidates: list[int] | None = None
        for k in sorted(range(len(words)), key=lambda k: reader.doc_frequency(fname, words[k])):
            postings = _read_postings(reader, fname, words[k], k in checked, candidates)
            if postings is None:
                return {}
            lists[k] = postings
            candidates = sorted(postings.index().keys() & set(candidates)) if candidates is not None \
                else list(postings.ids)
            if not candidates:
                return {}
        if checked:
            sure = self._implied(reader, q, candidates)
            matched = [d for d in candidates if d in sure or self._runs(lists, checked, d)]
        else:
            matched = candidates
        if not matched:
            return {}
        total = dict.fromkeys(matched, 0.0)
        for btext, postings in zip(words, lists):
            where = postings.index()
            scores = self._term_scores(leaf, fname, btext, postings, 1.0, only=[where[d] for d in matched])
            for d in matched:
                total[d] += scores[d]
        return {offset + d: s * q.boost for d, s in total.items()}

    def _implied(self, reader, q, candidates) -> set[int]:
        """The candidates that hold the run as an indexed word (Chain.implied_by)."""
        if not getattr(q, "implied_by", None):
            return set()
        word_field, word = q.implied_by
        try:
            sure = _read_postings(reader, word_field, self.searcher.schema[word_field].to_bytes(word),
                                  False, candidates)
        except (KeyError, ValueError):
            return set()
        return set(sure.ids) if sure is not None else set()

    @staticmethod
    def _runs(lists, checked, docnum) -> bool:
        """Whether the document holds the whole run: some p with pair k at p + k for
        every checked k."""
        starts = lists[checked[0]].positions(docnum)
        for k in checked[1:]:
            at = set(lists[k].positions(docnum))
            starts = [p for p in starts if p + k in at]
            if not starts:
                return False
        return True

    def _or(self, q) -> dict[int, float]:
        if getattr(q, "minmatch", 0) or getattr(q, "scale", None):
            return self._whoosh(q)
        out: dict[int, float] = {}
        for sub in q.subqueries:
            for d, s in self.evaluate(sub).items():
                out[d] = out.get(d, 0.0) + s
        return _boosted(out, q.boost)

    def _and(self, q) -> dict[int, float]:
        parts = [self.evaluate(sub) for sub in q.subqueries]
        if not parts:
            return {}
        keys = set(min(parts, key=len))
        for part in parts:
            keys.intersection_update(part)
        out = {d: sum(part[d] for part in parts) for d in keys}
        return _boosted(out, q.boost)

    def _and_not(self, q) -> dict[int, float]:
        a = self.evaluate(q.a)
        if not a:
            return a
        b = self.evaluate(q.b)
        return {d: s for d, s in a.items() if d not in b}

    def _and_maybe(self, q) -> dict[int, float]:
        a = self.evaluate(q.a)
        if not a:
            return a
        b = self.evaluate(q.b)
        return {d: (s + b[d] if d in b else s) for d, s in a.items()}

    def _constant(self, q) -> dict[int, float]:
        return dict.fromkeys(self.evaluate(q.child), q.score)

    def _every(self, q) -> dict[int, float]:
        if q.fieldname not in (None, "", "*"):
            return self._whoosh(q)
        return dict.fromkeys(self.searcher.reader().all_doc_ids(), q.boost)

    def _null(self, q) -> dict[int, float]:
        return {}

    _HANDLERS = {
        Q.Term: _term,
        Chain: _chain,
        Q.Or: _or,
        Q.And: _and,
        Q.AndNot: _and_not,
        Q.AndMaybe: _and_maybe,
        Q.ConstantScoreQuery: _constant,
        Q.Every: _every,
        type(Q.NullQuery): _null,
    }


def _boosted(scores: dict[int, float], boost: float) -> dict[int, float]:
    return scores if boost == 1.0 else {d: s * boost for d, s in scores.items()}
