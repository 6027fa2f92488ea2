"""The `Searcher`: one entry point for the CLI, the pages and the JSON API.

It only orchestrates: parse the query (query/), score it (scoring), apply the
filters (filters), count facets (facets), order, and cut snippets (highlight), all
on one leased index generation (generations). It returns plain data: records,
scores and match spans; the views and the CLI render them.
"""
from __future__ import annotations

import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from whoosh import query as Q

from indexer import analysis
from indexer.analysis import query_words
from indexer.doc_tables import doc_mask
from indexer.schema import KIND_ORDER, LIST_FIELDS, RESULT_FIELDS, SORTS
from search_app.settings import setting

from . import highlight
from .diffusion import diffusion
from .errors import IndexUnavailable, QueryError
from .facets import facet_counts, month_histogram
from .filters import allowed_by_dates, normalize_filters, selections
from .generations import Generation, Lease, LiveIndex
from .scored_cache import PartialMatches, ScoredEntry
from .known_items import sentence_bonuses, title_bonuses
from .query import Plan, parse_query
from .query.variants import warm_converters


class Searcher:
    """Searches the live index under `index_root` (see docs/architecture.md).

    Safe to share between threads: each call leases the live generation, so a call
    that started on a generation finishes on it. `acquire()` gives a Searcher pinned
    to one lease for a request's several calls; `release()` returns it.
    """

    def __init__(self, index_root: str | Path, *, _pinned: Lease | None = None, _live: LiveIndex | None = None):
        self.index_root = Path(index_root)
        self._live = _live or LiveIndex(index_root)
        self._pinned = _pinned
        analysis.init_jieba()
        warm_converters()

    # ----------------------------------------------------------------- generations

    @contextmanager
    def generation(self, check_resources: bool = True):
        """The generation this call searches, locked for the caller's use."""
        if self._pinned is not None:
            if self._pinned.released:
                raise IndexUnavailable("检索句柄已释放")
            yield from _locked(self._pinned.generation, check_resources)
            return
        with self._live.lease() as lease:
            yield from _locked(lease.generation, check_resources)

    def warm(self) -> None:
        """Open now what the live generation otherwise opens on first use (its spelling
        table for did-you-mean; made from the lexicon for an index without one): a
        server does this before it forks."""
        with self.generation(check_resources=False) as gen:
            gen.suggester()

    def acquire(self) -> "Searcher":
        """A Searcher pinned to the live generation until its `release()`."""
        if self._pinned is not None:
            return self
        return Searcher(self.index_root, _pinned=self._live.lease(), _live=self._live)

    def release(self) -> None:
        if self._pinned is not None:
            self._pinned.release()

    @property
    def generation_name(self) -> str | None:
        """The build id of the generation a pinned Searcher answers from (responses
        name it, so that behind a load balancer one sees which index answered)."""
        return self._pinned.generation.name if self._pinned is not None else None

    def ready(self) -> str | None:
        """The live generation's build id when it can answer searches (it opens and
        was built with these analysis resources); IndexUnavailable otherwise."""
        with self.generation() as gen:
            return gen.name

    def close(self) -> None:
        if self._pinned is not None:
            self._pinned.release()
        else:
            self._live.close()

    # ----------------------------------------------------------------- search

    @staticmethod
    def _prepare(query, filters, sort) -> tuple[Plan, dict, str]:
        """Validate the arguments common to search and iter_results."""
        sort = (sort or "relevance").strip().lower() if isinstance(sort, str) else sort
        if sort not in SORTS:
            raise QueryError(f"未知的排序方式：{str(sort)[:40]}（可用 {'、'.join(SORTS)}）")
        if filters is not None and not isinstance(filters, dict):
            raise QueryError("筛选条件应为“名称 → 取值”的对应表")
        flt = normalize_filters(filters)
        plan = parse_query(query if isinstance(query, str) else str(query or ""))
        if plan.match is None and sort == "relevance":
            sort = "newest"
        return plan, flt, sort

    def _hits(self, gen: Generation, plan: Plan, flt: dict):
        """(matched, selections, selected values, date-allowed, hits): matched and hits
        as ascending arrays of docnums."""
        matched = self._matched(gen, plan)
        chosen, selected_values = selections(gen, flt)
        dated = allowed_by_dates(gen, flt)
        hits = matched
        if chosen or dated is not None:
            count = gen.tables.doc_count
            allowed = doc_mask(matched, count)
            for docs in [*chosen.values()] + ([dated] if dated is not None else []):
                allowed &= doc_mask(docs, count)
            hits = np.flatnonzero(allowed)
        return matched, chosen, selected_values, dated, hits

    def search(self, query: str = "", filters: dict | None = None, sort: str = "relevance",
               page: int = 1, per_page: int | None = None) -> dict:
        started = time.perf_counter()
        plan, flt, sort = self._prepare(query, filters, sort)
        per_page = clamp_int(setting("default_per_page") if per_page is None else per_page,
                             1, setting("max_per_page"), "每页条数")
        page = clamp_int(page, 1, max(setting("max_result_window") // per_page, 1), "页码")
        with self.generation() as gen:
            matched, chosen, selected_values, dated, hits = self._hits(gen, plan, flt)
            facets = facet_counts(gen, matched, chosen, selected_values, dated)
            histogram = month_histogram(gen, matched, chosen, flt)
            # Too few documents hold every part of the query: those holding most parts
            # follow them, counted apart (never in total, facets or exports).
            # (Sorted by date, a list is not interrupted by partial matches unless it is empty.)
            # (A pasted title found is the document looked for: no partial list after it.)
            few = len(hits) < setting("partial_below") if sort == "relevance" else len(hits) == 0
            list_partial = plan.units and few and not (plan.title_probe is not None and len(hits))
            partial = self._partial(gen, plan, chosen, dated, sort) if list_partial else []
            start = (page - 1) * per_page
            ordered = self._order(gen, plan, hits, sort, start + per_page)[start:start + per_page]
            results = self._results(gen, plan, ordered)
            if len(ordered) < per_page and partial:
                first = max(0, start - len(hits))
                results += self._results(gen, plan, partial[first:first + per_page - len(ordered)])
            # A misspelt topic word may still find a few documents by its characters
            # (新形城镇化); a title or a 文号 that finds few is what it is.
            misspelt = len(hits) == 0 or len(hits) < setting("suggest_below") and plan.title_probe is None \
                and not plan.explanation["doc_numbers"]
            suggestions = self._suggestions(gen, plan, flt, len(hits)) if misspelt and plan.match is not None else []
        explanation = dict(plan.explanation)
        explanation["filters"] = flt
        explanation["sort"] = sort
        if partial:
            explanation["relaxed"] = explanation["relaxed"] + [
                {"kind": "partial", "parts": [u.label for u in plan.units], "partial_total": len(partial)}]
            explanation["summary"] += (f"。同时包含全部检索词的文件{'只有 ' + str(len(hits)) + ' 件' if len(hits) else '没有'}，"
                                       f"其后列出只包含部分检索词的 {len(partial)} 件（注明缺少的词）")
        return {
            "query": plan.text,
            "total": len(hits),
            "partial_total": len(partial),
            "page": page,
            "per_page": per_page,
            "pages": max(1, -(-(len(hits) + len(partial)) // per_page)),
            "sort": sort,
            "took_ms": round((time.perf_counter() - started) * 1000, 1),
            "explanation": explanation,
            "results": results,
            "facets": facets,
            "histogram": histogram,
            "suggestions": suggestions,
        }

    def iter_results(self, query: str = "", filters: dict | None = None, sort: str = "relevance"):
        """Every hit's full stored record, in order (for exports). The arguments are
        checked at once (QueryError here, not halfway through a download); the
        records are read in batches, all from the generation live when iteration
        starts, without holding the index between batches."""
        plan, flt, sort = self._prepare(query, filters, sort)
        return self._iter_records(plan, flt, sort)

    def _iter_records(self, plan: Plan, flt: dict, sort: str):
        with self.generation() as gen:
            ordered = self._order(gen, plan, self._hits(gen, plan, flt)[-1], sort, None)
            # Keep the generation open (not locked) while the caller consumes.
            lease = Lease(gen)
        batch_size = setting("export_batch")
        try:
            for start in range(0, len(ordered), batch_size):
                with gen.lock:
                    batch = [gen.record(d) for d, _score in ordered[start:start + batch_size]]
                yield from batch
        finally:
            lease.release()

    def _matched(self, gen: Generation, plan: Plan) -> np.ndarray:
        """Every document the query matches (before filters), ascending."""
        if plan.match is None:
            return np.flatnonzero(gen.live_mask)
        return self._scored_entry(gen, plan).docs

    def _partial(self, gen: Generation, plan: Plan, chosen, dated, sort: str) -> "PartialList":
        """The documents holding some but not all parts of the query (plan.units),
        allowed by the filters and the exclusions: those holding the most parts first
        (at least half of them where any document does), then by relevance or date."""
        partial = self._partial_matches(gen, plan)
        docs = partial.docs
        allowed = gen.live_mask[docs] & ~np.isin(docs, partial.excluded)
        for selected in [*chosen.values()] + ([dated] if dated is not None else []):
            allowed &= doc_mask(selected, len(gen.live_mask))[docs]
        docs, masks, scores = docs[allowed], partial.masks[allowed], partial.scores[allowed]
        if not len(docs):
            return PartialList(docs, masks, None, plan)
        held = sum((masks >> i) & 1 for i in range(len(plan.units))).astype(np.int64)
        enough = min(int(held.max()), max(1, -(-len(plan.units) // 2)))
        kept = held >= enough
        docs, masks, scores, held = docs[kept], masks[kept], scores[kept], held[kept]
        if sort == "relevance":
            order = np.lexsort((docs, -scores, -held))
        else:
            order = _by_date_order(gen, docs, sort == "newest")
            order = order[np.argsort(-held[order], kind="stable")]  # by date within each count
        return PartialList(docs[order], masks[order], scores[order] if sort == "relevance" else None, plan)

    def _suggestions(self, gen: Generation, plan: Plan, flt: dict, found: int) -> list[dict]:
        """For a query that finds nothing or next to nothing: the query with one
        misspelt word replaced by a word of the index that sounds the same or differs
        by one character (冷连物流 → 冷链物流), each with the number of documents it
        finds, where that is more than twice as many."""
        out: dict[str, dict] = {}
        tried = 0  # each candidate is a whole query to count: a few at most
        for term in plan.explanation["terms"]:
            typed = term["text"]
            if term.get("negated") or term.get("doc_number") or not any("\u3400" <= ch <= "\u9fff" for ch in typed):
                continue
            for entry in gen.suggester().suggest_query(query_words(typed))[:2]:
                if entry["word"] not in typed:
                    continue
                for word in entry["suggestions"][:2]:
                    query = plan.text.replace(typed, typed.replace(entry["word"], word, 1), 1)
                    if query == plan.text or query in out or tried >= setting("suggestions"):
                        continue
                    tried += 1
                    total = len(self._hits(gen, parse_query(query), flt)[-1])
                    if total > 2 * found:
                        out[query] = {"query": query, "word": entry["word"], "suggestion": word,
                                      "total": total}
        return sorted(out.values(), key=lambda s: -s["total"])[:setting("suggestions")]

    def _scored_entry(self, gen: Generation, plan: Plan) -> ScoredEntry:
        """Every matching document with its relevance score, from one scored pass over
        the whole match (the ranked query matches exactly what the match query does;
        its tiers only add score), and what each document holds of the query's parts.
        Remembered per generation: paging, ticking facets, changing the sort and
        exporting ask for the same query again."""
        cached = gen.scored_cache.get(plan.text)
        if cached is None:
            cached = self._score(gen, plan)
            gen.scored_cache.put(plan.text, cached)
        return cached

    def _partial_matches(self, gen: Generation, plan: Plan) -> PartialMatches:
        """The query's partial matches: remembered with its scores where few documents
        match it in full, else made again from its parts."""
        entry = self._scored_entry(gen, plan)
        if entry.partial is not None:
            return entry.partial
        matched = np.zeros(len(gen.live_mask), dtype=bool)
        matched[entry.docs] = True
        return _partial_matches(gen, plan, gen.scorer.score_arrays(_query_parts(plan)), matched)

    @staticmethod
    def _score(gen: Generation, plan: Plan) -> ScoredEntry:
        """The query scored: its matches (with the known-item and sentence bonuses and
        each document's prior) and, where they are few, its partial matches."""
        # The parts of the query alone (for partial matches) are mostly parts of the
        # query itself: scored in the same pass, they cost little more.
        ranked, *alone = gen.scorer.score_arrays([plan.ranked] + _query_parts(plan))
        matched, scores = ranked.mask.copy(), ranked.values.copy()
        if plan.title_probe is not None:
            for docnum, bonus in title_bonuses(gen.scorer, plan.title_probe, ranked.mask).items():
                matched[docnum] = True
                scores[docnum] += bonus
        matched &= gen.live_mask
        # (A pasted title is ranked by its likeness to titles: reading texts for its
        # words in one sentence would cost a query's time for nothing.)
        if plan.runs and plan.title_probe is None:
            best = dict(zip(*_best(matched, scores, setting("sentence_rerank"))))
            for docnum, bonus in sentence_bonuses(gen.searcher, plan.runs, best,
                                                  setting("sentence_rerank")).items():
                scores[docnum] += bonus
        priors = gen.priors()
        docs = np.flatnonzero(matched)
        # (A search lists partial matches only below partial_below full ones: those of
        # a query matching many would be most of what it remembers.)
        partial = _partial_matches(gen, plan, alone, matched) if len(docs) < setting("partial_below") else None
        return ScoredEntry(docs, scores[docs] * priors[docs], partial)

    def _order(self, gen: Generation, plan: Plan, hits: np.ndarray, sort: str, limit: int | None):
        """[(docnum, score)] of the hits in the requested order (the first `limit`)."""
        if not len(hits):
            return []
        if sort == "relevance" and plan.match is not None:
            entry = self._scored_entry(gen, plan)
            docs = np.asarray(hits, dtype=np.int64)
            scores = entry.values[np.searchsorted(entry.docs, docs)]
            # Whoosh's own order: score descending, then index order
            ordered = np.lexsort((docs, -scores))[:limit]
            return list(zip(docs[ordered].tolist(), scores[ordered].tolist()))
        ordered = _by_date(gen, hits, sort == "newest")
        if limit is not None:
            ordered = ordered[:limit]
        return [(d, None) for d in ordered]

    # ----------------------------------------------------------------- results

    def _results(self, gen: Generation, plan: Plan, ordered) -> list[dict]:
        """Result dicts of (docnum, score) pairs, or (docnum, score, missing) for partial
        matches, which say so (`match`, `missing`)."""
        results = []
        for docnum, score, *missing in ordered:
            record = gen.record(docnum, lineage=False)
            result = result_fields(record)
            result["score"] = None if score is None else round(score, 4)
            result["match"] = "partial" if missing else "full"
            if missing:
                result["missing"] = missing[0]
            title = record.get("title") or ""
            spans = highlight.merge_spans(highlight.text_spans(title, plan.highlights, "title"))
            result["title_spans"] = [list(s) for s in spans]
            result["snippet"] = [f.to_dict() for f in highlight.snippet(record, plan.highlights)]
            results.append(result)
        return results

    def get_document(self, doc_id: str) -> dict | None:
        """The full stored record (text included), or None."""
        if not isinstance(doc_id, str) or not doc_id:
            return None
        with self.generation(check_resources=False) as gen:
            docnum = gen.docnum_by_id.get(doc_id)
            return gen.record(docnum) if docnum is not None else None

    def diffusion(self, value: str) -> dict | None:
        """The documents citing the parent `value` names (record id, 文号 or title), with
        their regions and dates; None when none does (see search/diffusion.py)."""
        if not isinstance(value, str) or not value.strip():
            return None
        with self.generation() as gen:
            return diffusion(gen, value.strip())

    def paragraphs(self, id_or_record, query: str) -> list[dict]:
        """The document's text as paragraphs (non-blank lines: {text, spans}), each
        with the spans of the query's matches in it."""
        record = id_or_record if isinstance(id_or_record, dict) else self.get_document(id_or_record)
        if not record:
            return []
        text = record.get("text") or ""
        plan = parse_query(query if isinstance(query, str) else "")
        spans = highlight.text_spans(text, plan.highlights, "text") if plan.highlights else []
        return highlight.paragraphs(text, spans)

    def more_like_this(self, doc_id: str, n: int | None = None) -> list[dict]:
        """Documents sharing the most characteristic words of this one."""
        n = clamp_int(setting("related_documents") if n is None else n, 1, setting("related_max"), "条数")
        with self.generation() as gen:
            docnum = gen.docnum_by_id.get(doc_id) if isinstance(doc_id, str) else None
            if docnum is None:
                return []
            searcher = gen.searcher
            subqueries = []
            for fieldname, count, boost in (("title", 6, 3.0), ("text", 14, 1.0)):
                try:
                    terms = searcher.key_terms([docnum], fieldname, numterms=count * 2)
                except Exception:
                    terms = []
                kept = [(w, s) for w, s in terms if len(w) >= 2 and not w.isdigit()][:count]
                subqueries += [Q.Term(fieldname, w, boost=boost * s) for w, s in kept]
            if not subqueries:
                return []
            results = searcher.search(Q.Or(subqueries), limit=n, mask={docnum})
            out = []
            for hit in results:
                record = gen.record(hit.docnum, lineage=False)
                result = result_fields(record)
                result["score"] = round(hit.score, 4)
                result["title_spans"] = []
                result["snippet"] = [f.to_dict() for f in highlight.plain_snippet(record)]
                out.append(result)
            return out

    def status(self) -> dict:
        """Index path, generation, build time, document counts, resources versions
        (for the operator: the public API leaves the paths out)."""
        info: dict = {
            "index_root": str(self.index_root),
            "resources_version": analysis.loaded_resources_version(),
        }
        try:
            with self.generation(check_resources=False) as gen:
                counts = Counter({kind: len(docs) for kind, docs in gen.by_value["kind"].items()})
                manifest = gen.manifest or {}
                info.update({
                    "available": gen.mismatch is None,
                    "index_path": str(gen.path),
                    "generation": gen.name,
                    "built_at": (manifest.get("built_at") or manifest.get("finished_at")
                                 or gen.stamp.get("written_at")),
                    "documents": dict(sorted(counts.items(), key=lambda kv: _kind_rank(kv[0]))),
                    "total": len(gen.all_docs),
                    "reports": [{"report": r, "documents": len(d)} for r, d in sorted(gen.by_value["report"].items())],
                    "index_resources_version": gen.stamp.get("resources_version"),
                    "resources_match": gen.mismatch is None,
                    "analysis": gen.stamp.get("analysis"),
                    "manifest": gen.manifest,
                })
                if gen.mismatch:
                    info["error"] = gen.mismatch
        except IndexUnavailable as exc:
            info.update({"available": False, "error": str(exc)})
        return info


def _query_parts(plan: Plan) -> list:
    """The queries of the parts of `plan` alone, then its exclusion if any."""
    return [u.query for u in plan.units] + ([plan.exclusion] if plan.exclusion is not None else [])


def _partial_matches(gen: Generation, plan: Plan, alone, matched: np.ndarray) -> PartialMatches:
    """Which parts of the query the documents outside `matched` hold (as bits), their
    score for them, and the documents an exclusion removes, from `alone` (the scores of
    _query_parts(plan)): what _partial lists from."""
    priors = gen.priors()
    held = np.zeros(len(matched), dtype=np.uint64)
    held_score = np.zeros(len(matched))
    for i, part in enumerate(alone[:len(plan.units)]):
        held |= part.mask.astype(np.uint64) << np.uint64(i)
        held_score += part.values * priors
    partial = np.flatnonzero((held != 0) & ~matched)
    excluded = alone[len(plan.units)].docs() if plan.exclusion is not None else ()
    return PartialMatches(partial, held[partial], held_score[partial], excluded)


def _best(matched: np.ndarray, scores: np.ndarray, depth: int):
    """The `depth` best of the matched documents and their scores, by score then
    docnum (Whoosh's order)."""
    docs = np.flatnonzero(matched)
    if len(docs) > depth:
        order = np.lexsort((docs, -scores[docs]))[:depth]
        docs = docs[order]
    return docs.tolist(), scores[docs].tolist()


def _locked(gen: Generation, check_resources: bool):
    if check_resources and gen.mismatch:
        raise IndexUnavailable(gen.mismatch)
    with gen.lock:
        yield gen


def _by_date(gen: Generation, docs, newest: bool) -> list[int]:
    """Documents by publish date (ties by id), undated ones last in either direction."""
    docs = np.asarray(docs, dtype=np.int64)
    return docs[_by_date_order(gen, docs, newest)].tolist()


def _by_date_order(gen: Generation, docs: np.ndarray, newest: bool) -> np.ndarray:
    """The order (indices into `docs`) of _by_date."""
    # (ranks: the tables number values in sorted order, so no value is decoded)
    dates, ids = gen.dates["publish_date"].ranks()[docs], gen.id_of.ranks()[docs]
    return np.lexsort((ids, -dates if newest else dates, dates < 0))


class PartialList:
    """The partial matches a search lists, in order, as arrays: a slice gives
    [(docnum, score or None, the labels of the parts it lacks)], made only for the
    page shown (a query's partial matches may be thousands)."""

    def __init__(self, docs: np.ndarray, masks: np.ndarray, scores: np.ndarray | None, plan: Plan):
        self.docs, self.masks, self.scores = docs, masks, scores
        self.labels = [u.label for u in plan.units]

    def __len__(self) -> int:
        return len(self.docs)

    def __getitem__(self, part: slice) -> list[tuple[int, float | None, list[str]]]:
        rows = range(len(self.docs))[part]
        return [(int(self.docs[r]), float(self.scores[r]) if self.scores is not None else None,
                 [label for i, label in enumerate(self.labels) if not int(self.masks[r]) >> i & 1])
                for r in rows]


def _kind_rank(kind: str) -> int:
    return KIND_ORDER.index(kind) if kind in KIND_ORDER else 99


def clamp_int(value, low: int, high: int, label: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise QueryError(f"{label}应为整数：{str(value)[:20]}") from None
    return max(low, min(high, number))


def result_fields(record: dict) -> dict:
    """The fields of a record a result list carries (lists never None)."""
    result = {key: record.get(key) for key in RESULT_FIELDS}
    for key in LIST_FIELDS:
        result[key] = list(result[key] or [])
    return result
