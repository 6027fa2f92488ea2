"""Scoring a compiled query over the whole index in one pass, posting list by posting list.

A search needs every match with its score (facet counts cover the whole hit set, and
any page may be asked for), not the best ten. Whoosh answers that with a tree of
matchers advanced one document at a time, which costs several Python calls per
posting and per level of the tree; on a corpus of a few thousand long documents
that is most of a query's time. Here each term's postings are read a block at a
time into {docnum: score} (search_app.search.postings), and the query's boolean
structure is applied to those dicts, with set semantics: an exclusion removes every
document its excluded part matches (Whoosh's preloaded union under AndNot does not,
see tests/test_scoring.py). Scores are Whoosh's own: the same BM25F statistics (idf
and average length from the top-level searcher, the field's B and K1), the same sums
and boosts. Every query the compiler emits is scored here; any other type raises.
"""
from __future__ import annotations

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


class Scorer:
    """Scores queries against one open Whoosh searcher (one index generation). Each
    field's BM25 length terms are computed once per segment and kept for the
    generation's life.
    Not thread-safe on its own: the caller serialises use, as it does the searcher's."""

    def __init__(self, searcher):
        self.searcher = searcher
        self.weighting = searcher.weighting
        self.leaves = searcher.leaf_searchers()
        self._norms: dict[tuple, tuple[bytes, list[float]]] = {}
        self._memo: dict = {}

    def score_all(self, q) -> dict[int, float]:
        """{global docnum: score} of every document `q` matches, as Whoosh's
        searcher.search(q, limit=None) scores them. Deleted documents may be present
        (the caller keeps live ones)."""
        # A query repeats its parts (the word typed inside its expansion's exclusion,
        # the title match inside the ranking tiers): each is scored once per call.
        return self.score_each([q])[0]

    def score_each(self, queries) -> list[dict[int, float]]:
        """score_all of each query, in one pass: parts they share (a query's words
        scored again alone, for partial matches) are scored once."""
        self._memo = {}
        try:
            return [self.scores(q) for q in queries]
        finally:
            self._memo = {}

    def scores(self, q) -> dict[int, float]:
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

    def _norms_of(self, leaf: int, fieldname: str, scorer) -> tuple[bytes, list[float]]:
        """Each document's BM25 length term K1 * ((1 - B) + B * fl / avgfl) in the
        field, computed as Whoosh's bm25() does, once per segment and field: as the
        documents' length bytes and the term of each of the 256 byte values (a float a
        document would cost every worker eight bytes a document and field)."""
        key = (leaf, fieldname, scorer.B, scorer.K1, scorer.avgfl)
        norms = self._norms.get(key)
        if norms is None:
            B, K1, avgfl = scorer.B, scorer.K1, scorer.avgfl
            table = [K1 * ((1 - B) + B * (byte_to_length(code) or 1) / avgfl) for code in range(256)]
            norms = self._norms[key] = (segment_length_codes(self.leaves[leaf][0], fieldname), table)
        return norms

    def _term_scores(self, leaf: int, fieldname: str, btext: bytes, postings: Postings,
                     boost: float, only=None) -> dict[int, float]:
        """BM25F scores of a term's postings in one segment (local docnums), as
        Whoosh's scorer computes them."""
        sub = self.leaves[leaf][0]
        scorer = self.weighting.scorer(sub, fieldname, btext)
        ids, weights = postings.ids, postings.weights
        if isinstance(scorer, BM25FScorer):
            idf, K1 = scorer.idf, scorer.K1
            codes, norm = self._norms_of(leaf, fieldname, scorer)
            k1p = K1 + 1
            # (x * 1.0 is x exactly: the boost costs nothing when there is none.)
            if only is None:
                return {d: idf * ((tf * k1p) / (tf + norm[codes[d]])) * boost for d, tf in zip(ids, weights)}
            return {ids[i]: idf * ((weights[i] * k1p) / (weights[i] + norm[codes[ids[i]]])) * boost
                    for i in only}
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
            postings = read_postings(sub.reader(), q.fieldname, btext, False)
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
        lists: list[Postings | None] = [None] * len(words)
        candidates: list[int] | None = None
        for k in sorted(range(len(words)), key=lambda k: reader.doc_frequency(fname, words[k])):
            postings = read_postings(reader, fname, words[k], k in checked, candidates)
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
            sure = read_postings(reader, word_field, self.searcher.schema[word_field].to_bytes(word),
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
            raise Unsupported("Or with minmatch or scale")
        out: dict[int, float] = {}
        for sub in q.subqueries:
            for d, s in self.scores(sub).items():
                out[d] = out.get(d, 0.0) + s
        return _boosted(out, q.boost)

    def _and(self, q) -> dict[int, float]:
        parts = [self.scores(sub) for sub in q.subqueries]
        if not parts:
            return {}
        keys = set(min(parts, key=len))
        for part in parts:
            keys.intersection_update(part)
        out = {d: sum(part[d] for part in parts) for d in keys}
        return _boosted(out, q.boost)

    def _near(self, q) -> dict[int, float]:
        """An And whose documents must also hold its words in one sentence (paragraph):
        decided on each candidate's stored text (query.near)."""
        scores = self._and(q)
        kept = {}
        for d, s in scores.items():
            if together(stored_record(self.searcher, d), q.needles, q.unit, q.fields):
                kept[d] = s
        return kept

    def _and_not(self, q) -> dict[int, float]:
        a = self.scores(q.a)
        if not a:
            return a
        b = self.scores(q.b)
        return {d: s for d, s in a.items() if d not in b}

    def _and_maybe(self, q) -> dict[int, float]:
        a = self.scores(q.a)
        if not a:
            return a
        b = self.scores(q.b)
        return {d: (s + b[d] if d in b else s) for d, s in a.items()}

    def _constant(self, q) -> dict[int, float]:
        return dict.fromkeys(self.scores(q.child), q.score)

    def _every(self, q) -> dict[int, float]:
        if q.fieldname not in (None, "", "*"):
            raise Unsupported("Every of one field")
        return dict.fromkeys(self.searcher.reader().all_doc_ids(), q.boost)

    def _null(self, q) -> dict[int, float]:
        return {}

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


def _boosted(scores: dict[int, float], boost: float) -> dict[int, float]:
    return scores if boost == 1.0 else {d: s * boost for d, s in scores.items()}
