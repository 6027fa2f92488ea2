"""Scoring a compiled query over the whole index in one pass, posting list by posting list.

A search needs every match with its score (facet counts cover the whole hit set, and
any page may be asked for), not the best ten. Whoosh answers that with a tree of
matchers advanced one document at a time, which costs several Python calls per
posting and per level of the tree; on a corpus of a few thousand long documents
that is most of a query's time. Here each term's postings are read a block at a
time (search_app.search.postings) and scored as arrays over every document of the
index, and the query's boolean structure is applied to those arrays (a sum, a
product of masks: a step for all the documents at once, where a dict costs a Python
step per document), with set semantics: an exclusion removes every document its
excluded part matches (Whoosh's preloaded union under AndNot does not, see
tests/test_scoring.py). Scores are Whoosh's own: the same BM25F statistics (idf
and average length from the top-level searcher, the field's B and K1), the same sums
and boosts, added in the same order. Every query the compiler emits is scored here; any other type raises.
"""
from __future__ import annotations

import numpy as np
from whoosh import query as Q
from whoosh import scoring
from whoosh.scoring import BM25FScorer, WeightScorer
from whoosh.util.numeric import byte_to_length

from .postings import Postings, read_postings, segment_length_codes, stored_record
from .query.chain import Chain
from .query.near import Near, together

# BM25F length normalisation of the body text. Documents run from a 150-character
# cover notice to a 50,000-character plan whose many mentions of a topic mean it
# is about that topic: the usual b = 0.75 would bury it under short notes.
TEXT_LENGTH_NORMALISATION = 0.4
WEIGHTING = scoring.BM25F(B=0.75, K1=1.2, text_B=TEXT_LENGTH_NORMALISATION,
                          text_ng_B=TEXT_LENGTH_NORMALISATION)


class Unsupported(TypeError):
    """A query this module cannot score as Whoosh would: a programming error, since
    the compiler (search_app.search.query) emits only the types handled here."""


class Scored:
    """A query's scores over every document of the index: `mask` says which match,
    `values` their scores (0.0 where none: sums of arrays then need no masking).
    Never changed once made (a query's parts are shared by the queries holding them)."""

    __slots__ = ("mask", "values")

    def __init__(self, mask: np.ndarray, values: np.ndarray):
        self.mask, self.values = mask, values

    def docs(self) -> np.ndarray:
        """The matching documents' numbers, ascending."""
        return np.flatnonzero(self.mask)

    def as_dict(self) -> dict[int, float]:
        docs = self.docs()
        return dict(zip(docs.tolist(), self.values[docs].tolist()))

    def __bool__(self) -> bool:
        return bool(self.mask.any())


class Scorer:
    """Scores queries against one open Whoosh searcher (one index generation). Each
    field's BM25 length terms are computed once per segment and kept for the
    generation's life.
    Not thread-safe on its own: the caller serialises use, as it does the searcher's."""

    def __init__(self, searcher):
        self.searcher = searcher
        self.weighting = searcher.weighting
        self.leaves = searcher.leaf_searchers()
        self.size = searcher.reader().doc_count_all()
        self._norms: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        self._memo: dict = {}

    def score_all(self, q) -> dict[int, float]:
        """{global docnum: score} of every document `q` matches, as Whoosh's
        searcher.search(q, limit=None) scores them. Deleted documents may be present
        (the caller keeps live ones)."""
        return self.score_arrays([q])[0].as_dict()

    def score_arrays(self, queries) -> list[Scored]:
        """The scores of each query as arrays over the whole index, in one pass: parts
        they share (a query's words scored again alone, for partial matches) are
        scored once."""
        # A query repeats its parts (the word typed inside its expansion's exclusion,
        # the title match inside the ranking tiers): each is scored once per call.
        self._memo = {}
        try:
            return [self.scores(q) for q in queries]
        finally:
            self._memo = {}

    def scores(self, q) -> Scored:
        try:
            return self._memo[q]
        except (KeyError, TypeError):
            pass
        handler = self._HANDLERS.get(type(q))
        if handler is None:
            raise Unsupported(f"no scoring for {type(q).__name__}")
        out = handler(self, q)
        try:
            self._memo[q] = out
        except TypeError:  # an unhashable query is simply not remembered
            pass
        return out

    def _none(self) -> Scored:
        return Scored(np.zeros(self.size, dtype=bool), np.zeros(self.size))

    def _norms_of(self, leaf: int, fieldname: str, scorer) -> tuple[np.ndarray, np.ndarray]:
        """Each document's BM25 length term K1 * ((1 - B) + B * fl / avgfl) in the
        field, computed as Whoosh's bm25() does, once per segment and field: as the
        documents' length bytes and the term of each of the 256 byte values (a float a
        document would cost every worker eight bytes a document and field)."""
        key = (leaf, fieldname, scorer.B, scorer.K1, scorer.avgfl)
        norms = self._norms.get(key)
        if norms is None:
            B, K1, avgfl = scorer.B, scorer.K1, scorer.avgfl
            table = np.array([K1 * ((1 - B) + B * (byte_to_length(code) or 1) / avgfl) for code in range(256)])
            codes = np.frombuffer(segment_length_codes(self.leaves[leaf][0], fieldname), dtype=np.uint8)
            norms = self._norms[key] = (codes, table)
        return norms

    def _term_scores(self, leaf: int, fieldname: str, btext: bytes, ids: np.ndarray,
                     weights: np.ndarray, boost: float) -> np.ndarray:
        """BM25F scores of postings of a term in one segment (local docnums `ids`, their
        weights), as Whoosh's scorer computes them."""
        sub = self.leaves[leaf][0]
        scorer = self.weighting.scorer(sub, fieldname, btext)
        if isinstance(scorer, BM25FScorer):
            codes, norm = self._norms_of(leaf, fieldname, scorer)
            # (x * 1.0 is x exactly: the boost costs nothing when there is none.)
            return scorer.idf * ((weights * (scorer.K1 + 1)) / (weights + norm[codes[ids]])) * boost
        if isinstance(scorer, WeightScorer):
            return weights * boost
        raise Unsupported(f"scorer {type(scorer).__name__} of {fieldname}")

    def _term(self, q) -> Scored:
        schema = self.searcher.schema
        out = self._none()
        if q.fieldname not in schema:
            return out
        try:
            btext = schema[q.fieldname].to_bytes(q.text)
        except ValueError:
            return out
        for leaf, (sub, offset) in enumerate(self.leaves):
            postings = read_postings(sub.reader(), q.fieldname, btext, False)
            if postings is None:
                continue
            ids = postings.ids.astype(np.intp, copy=False)
            scores = self._term_scores(leaf, q.fieldname, btext, ids, postings.weights, q.boost)
            out.mask[ids + offset] = True
            out.values[ids + offset] = scores
        return out

    def _chain(self, q) -> Scored:
        schema = self.searcher.schema
        out = self._none()
        if q.fieldname not in schema:
            return out
        field = schema[q.fieldname]
        try:
            words = [field.to_bytes(w) for w in q.words]
        except ValueError:
            return out
        for leaf, (sub, offset) in enumerate(self.leaves):
            found = self._chain_segment(leaf, sub.reader(), q, words)
            if found is not None:
                matched, scores = found
                out.mask[matched + offset] = True
                out.values[matched + offset] = scores * q.boost
        return out

    def _chain_segment(self, leaf, reader, q, words) -> tuple[np.ndarray, np.ndarray] | None:
        """The segment's documents holding the run (local docnums) and their summed
        scores for its pairs, or None."""
        fname = q.fieldname
        if any((fname, w) not in reader for w in words):
            return None
        # Pair k sits at ordinal p + k of a run starting at p (indexer.analysis), so
        # pairs 0, 2, 4, … and the last cover every character of the run: only
        # theirs need positions. Rarest pair first; the others are read only in the
        # blocks holding documents that are still candidates.
        checked = sorted(set(range(0, len(words), 2)) | {len(words) - 1}) if len(words) > 1 else []
        lists: list[Postings | None] = [None] * len(words)
        candidates: np.ndarray | None = None
        for k in sorted(range(len(words)), key=lambda k: reader.doc_frequency(fname, words[k])):
            postings = read_postings(reader, fname, words[k], k in checked, candidates)
            if postings is None:
                return None
            lists[k] = postings
            candidates = postings.ids if candidates is None \
                else np.intersect1d(postings.ids, candidates, assume_unique=True)
            if not len(candidates):
                return None
        if checked:
            sure = self._implied(reader, q, candidates)
            matched = [d for d in candidates.tolist() if d in sure or self._runs(lists, checked, d)]
        else:
            matched = candidates
        if not len(matched):
            return None
        ids = np.asarray(matched, dtype=np.intp)
        total = np.zeros(len(ids))
        for btext, postings in zip(words, lists):
            total += self._term_scores(leaf, fname, btext, ids, postings.weights[postings.at(ids)], 1.0)
        return ids, total

    def _implied(self, reader, q, candidates) -> set[int]:
        """The candidates that hold the run as an indexed word (Chain.implied_by)."""
        if not getattr(q, "implied_by", None):
            return set()
        word_field, word = q.implied_by
        try:
            sure = read_postings(reader, word_field, self.searcher.schema[word_field].to_bytes(word),
                                  False, candidates)
        except (KeyError, ValueError):
            return set()
        return set(sure.ids.tolist()) if sure is not None else set()

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

    def _or(self, q) -> Scored:
        if getattr(q, "minmatch", 0) or getattr(q, "scale", None):
            raise Unsupported("Or with minmatch or scale")
        out = self._none()
        for sub in q.subqueries:
            part = self.scores(sub)
            out.mask |= part.mask
            out.values += part.values
        return _boosted(out, q.boost)

    def _and(self, q) -> Scored:
        parts = [self.scores(sub) for sub in q.subqueries]
        if not parts:
            return self._none()
        mask = np.logical_and.reduce([part.mask for part in parts])
        total = np.zeros(self.size)
        for part in parts:
            total += part.values
        return _boosted(Scored(mask, np.where(mask, total, 0.0)), q.boost)

    def _near(self, q) -> Scored:
        """An And whose documents must also hold its words in one sentence (paragraph):
        decided on each candidate's stored text (query.near)."""
        scores = self._and(q)
        apart = [d for d in scores.docs().tolist()
                 if not together(stored_record(self.searcher, d), q.needles, q.unit, q.fields)]
        scores.mask[apart] = False
        scores.values[apart] = 0.0
        return scores

    def _and_not(self, q) -> Scored:
        a = self.scores(q.a)
        if not a:
            return a
        mask = a.mask & ~self.scores(q.b).mask
        return Scored(mask, np.where(mask, a.values, 0.0))

    def _and_maybe(self, q) -> Scored:
        a = self.scores(q.a)
        if not a:
            return a
        return Scored(a.mask, np.where(a.mask, a.values + self.scores(q.b).values, 0.0))

    def _constant(self, q) -> Scored:
        mask = self.scores(q.child).mask
        return Scored(mask, np.where(mask, q.score, 0.0))

    def _every(self, q) -> Scored:
        if q.fieldname not in (None, "", "*"):
            raise Unsupported("Every of one field")
        out = self._none()
        out.mask[np.fromiter(self.searcher.reader().all_doc_ids(), dtype=np.intp)] = True
        out.values[out.mask] = q.boost
        return out

    def _null(self, q) -> Scored:
        return self._none()

    _HANDLERS = {
        Q.Term: _term,
        Chain: _chain,
        Near: _near,
        Q.Or: _or,
        Q.And: _and,
        Q.AndNot: _and_not,
        Q.AndMaybe: _and_maybe,
        Q.ConstantScoreQuery: _constant,
        Q.Every: _every,
        type(Q.NullQuery): _null,
    }


def _boosted(scores: Scored, boost: float) -> Scored:
    return scores if boost == 1.0 else Scored(scores.mask, scores.values * boost)
