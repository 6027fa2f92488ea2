"""The one-pass scorer (search_app.search.scoring) against Whoosh's own searcher.

Every compiled query is scored both ways on real indexes of the report: the same
documents must match with the same scores. Where Whoosh's matchers get a boolean
exclusion wrong, the scorer is checked against the set semantics instead."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from whoosh import query as Q

from indexer.analysis import squash
from indexer.schema import DEFAULT_FIELDS, record_to_document
from search_app.search import Searcher, parse_query

from .test_search import having, hits, sample_strings

# What researchers type, and every construct of the query language the compiler
# turns into a different Whoosh query: words, phrases, 文号, Latin, fields, OR,
# synonyms and alias expansions, ranking tiers.
QUERIES = (
    "基础设施", "专项债券", "乡村振兴", "冷链物流", "城市更新行动", "碳达峰碳中和", "水利", "规划",
    "基础设施 投资 融资", "老旧小区 改造 城市", "交通 物流 枢纽", "生态 保护 修复",
    '"高质量发展"', '"生态保护和修复"', '"政府和社会资本合作"', '"绿色 低碳"',
    "REITs", "5G", "ppp项目", "EOD", "国家发展改革委", "发改委", "住建部",
    "title:乡村振兴", "文号:国办发", "乡村振兴 OR 新型城镇化", "(专项债 OR 专项债券) 资本金",
    "国办发〔2021〕36号", "发改投资〔2021〕1号", "高质量发展 乡村振兴 生态保护 基础设施", "的", "a",
)


def whoosh_scores(gen, q) -> dict[int, float]:
    return {d: s for s, d in gen.searcher.search(q, limit=None).top_n if d in gen.all_docs}


def scorer_scores(gen, q) -> dict[int, float]:
    return {d: s for d, s in gen.scorer.score_all(q).items() if d in gen.all_docs}


def assert_same(expected: dict, got: dict, label: str) -> None:
    assert set(got) == set(expected), f"{label}: different documents"
    for d, score in expected.items():
        assert got[d] == pytest.approx(score, rel=1e-9, abs=1e-12), f"{label}: document {d}"


def exclusions(q) -> bool:
    if isinstance(q, Q.AndNot):
        return True
    return any(exclusions(c) for c in getattr(q, "subqueries", ()) or ()) or \
        (hasattr(q, "child") and exclusions(q.child))


def test_scores_equal_whoosh_on_the_whole_report(full_searcher):
    checked = 0
    with full_searcher.generation() as gen:
        for text in QUERIES:
            q = parse_query(text).ranked
            if exclusions(q):
                continue
            assert_same(whoosh_scores(gen, q), scorer_scores(gen, q), text)
            checked += 1
    assert checked >= len(QUERIES) - 8


def test_sampled_strings_score_as_in_whoosh(full_searcher, report_records):
    with full_searcher.generation() as gen:
        for s in sample_strings(report_records, 60, seed=11):
            q = parse_query(f'"{s}"').ranked
            if q is not None:
                assert_same(whoosh_scores(gen, q), scorer_scores(gen, q), s)


def test_exclusion_is_exact_where_whoosh_matchers_slip(full_searcher, report_records):
    """Whoosh's preloaded union (the matcher it picks for an OR of three or more
    parts in an index of up to 5,000 documents) lets excluded documents through; the
    scorer removes every document the excluded part matches."""
    everything = {r["id"] for r in report_records}
    for positive, negative in (("数字经济", "金融"), ("PPP", "REITs"), ("物流", "冷链"), ("项目", "债券")):
        excluded = hits(full_searcher, negative)
        assert having(report_records, negative) <= excluded
        assert hits(full_searcher, f"{positive} -{negative}") == hits(full_searcher, positive) - excluded
        assert hits(full_searcher, f"-{negative}") == everything - excluded
    assert not hits(full_searcher, "数字经济 -金融") & having(report_records, "金融")
    with full_searcher.generation() as gen:
        # The scores are those of the positive part, on the documents left.
        match = parse_query("数字经济 -金融").match
        assert isinstance(match, Q.AndNot)
        a, b = whoosh_scores(gen, match.a), whoosh_scores(gen, match.b)
        got = scorer_scores(gen, match)
        assert set(got) == set(a) - set(b)
        assert all(got[d] == pytest.approx(a[d]) for d in got)


def test_expansion_scores_only_where_the_word_itself_is_absent(full_searcher, report_records):
    """PPP also finds 政府和社会资本合作; a document naming both is scored for PPP alone."""
    with full_searcher.generation() as gen:
        match = parse_query("PPP").match
        word = whoosh_scores(gen, match.subqueries[0])  # the word typed, as compiled
        got = scorer_scores(gen, match)
        assert set(got) > set(word), "the expansion finds more documents"
        assert all(got[d] == pytest.approx(word[d]) for d in word)
        named_both = having(report_records, "PPP") & having(report_records, "政府和社会资本合作")
        assert named_both and named_both <= {gen.record(d)["id"] for d in word}


def test_several_segments_and_deleted_documents(tmp_path, slice_index, slice_records, jieba_ready):
    """A generation after incremental updates: documents spread over segments, some
    deleted. Scores still equal Whoosh's, and deleted documents are never hits."""
    from whoosh.index import open_dir

    path = tmp_path / "index"
    shutil.copytree(slice_index, path)
    ix = open_dir(str(path))
    gone, changed = slice_records[0], dict(slice_records[1])
    changed["title"] = changed["title"] + "（修订）"
    w = ix.writer()
    w.delete_by_term("id", gone["id"])
    w.update_document(**record_to_document(changed))
    w.commit(merge=False)
    ix.close()
    searcher = Searcher(path)
    try:
        with searcher.generation() as gen:
            assert len(gen.searcher.leaf_searchers()) >= 2
            for text in ("基础设施", '"高质量发展"', "冷链 物流", "规划", "修订"):
                q = parse_query(text).ranked
                assert_same(whoosh_scores(gen, q), scorer_scores(gen, q), text)
        assert gone["id"] not in {r["id"] for r in searcher.iter_results("的")}
        revised = [r["id"] for r in searcher.iter_results('"修订"')]
        assert changed["id"] in revised
        assert all(squash("修订") in squash(" ".join(record_to_document(r)[f] for f in DEFAULT_FIELDS))
                   for r in searcher.iter_results('"修订"'))
    finally:
        searcher.close()


# --------------------------------------------------------------------------- the Whoosh adapter

def test_block_and_public_readers_agree(full_searcher):
    """Each fast path over Whoosh's internals (search_app.search.postings) gives what
    the public, posting-by-posting API gives: postings, positions and field lengths."""
    from search_app.search.postings import positions_decoder, read_postings, segment_length_codes

    with full_searcher.generation() as gen:
        for sub, _offset in gen.searcher.leaf_searchers():
            reader = sub.reader()
            for fieldname in ("title", "text", "text_ng", "summary_ng"):
                assert segment_length_codes(sub, fieldname) == segment_length_codes(sub, fieldname, fast=False)
                terms = [t for _, t in zip(range(40), reader.lexicon(fieldname))]
                for btext in terms[::7]:
                    fast = read_postings(reader, fieldname, btext, True)
                    slow = read_postings(reader, fieldname, btext, True, fast=False)
                    assert (fast.ids.tolist(), fast.weights.tolist()) == (slow.ids.tolist(), slow.weights.tolist())
                    assert fast.ids.dtype == slow.ids.dtype and fast.weights.dtype == slow.weights.dtype
                    decode_fast = positions_decoder(fast._format)
                    decode_slow = positions_decoder(slow._format, fast=False)
                    assert [decode_fast(v) for v in fast.values] == [decode_slow(v) for v in slow.values]
                    within = fast.ids[::3]
                    skipping = read_postings(reader, fieldname, btext, False, within)
                    assert set(within.tolist()) <= set(skipping.ids.tolist()) <= set(fast.ids.tolist())


def test_a_query_type_the_scorer_does_not_know_is_refused(full_searcher):
    """No silent hand-over to Whoosh's matchers (whose exclusion slips, above): the
    compiler emits only what the scorer scores, and anything else is an error."""
    from search_app.search.scoring import Unsupported

    with full_searcher.generation() as gen:
        with pytest.raises(Unsupported):
            gen.scorer.score_all(Q.Prefix("title", "规"))
        with pytest.raises(Unsupported):
            gen.scorer.score_all(Q.Or([Q.Term("title", "规划"), Q.Term("title", "物流")], minmatch=2))


def test_every_operator_follows_set_semantics(full_searcher, report_records):
    """AND, OR, NOT and their nesting give exactly the sets the records say."""
    a, b, c = "物流", "冷链", "规划"
    A, B, C = (having(report_records, w) | hits(full_searcher, w) for w in (a, b, c))
    everything = {r["id"] for r in report_records}
    assert hits(full_searcher, f"{a} {b}") == hits(full_searcher, a) & hits(full_searcher, b)
    assert hits(full_searcher, f"{a} OR {b}") == hits(full_searcher, a) | hits(full_searcher, b)
    assert hits(full_searcher, f"({a} OR {b}) -{c}") == (hits(full_searcher, a) | hits(full_searcher, b)) - C
    assert hits(full_searcher, f"-({a} OR {c})") == everything - hits(full_searcher, a) - hits(full_searcher, c)
    assert hits(full_searcher, f"{a} -{b} -{c}") == hits(full_searcher, a) - B - C
    assert hits(full_searcher, f"NOT {b}") == everything - B
    assert not hits(full_searcher, f"{a} -{a}")


def test_remembered_queries_are_bounded_by_the_documents_they_hold(full_searcher):
    """The scored-hits cache forgets the oldest queries once they hold more documents
    than score_cache_documents in all, keeps the latest whatever its size, and a
    forgotten query scores as it did when it is asked again."""
    from search_app.search.scored_cache import PartialMatches, ScoredCache, ScoredEntry

    def entry(n: int, parts: int = 0) -> ScoredEntry:
        # documents 0..n-1 match; the next `parts` hold some of the query's parts
        held = list(range(n, n + parts))
        return ScoredEntry(range(n), [d / 7 for d in range(n)],
                           PartialMatches(held, [d & 7 for d in held], [d / 3 for d in held], [n + 1]))

    cache = ScoredCache(max_queries=10, max_documents=100)
    a, b = entry(50, parts=10), entry(30)
    cache.put("a", a)
    cache.put("b", b)
    assert len(cache) == 2 and cache.documents == 61 + 31  # with each one's excluded document
    # an entry gives back exactly what it was made from, its masks in the narrowest integers
    assert dict(zip(a.docs.tolist(), a.values.tolist())) == {d: d / 7 for d in range(50)}
    assert a.partial.masks.dtype == np.uint8
    assert (a.partial.docs.tolist(), a.partial.masks.tolist(), a.partial.scores.tolist(),
            a.partial.excluded.tolist()) == (list(range(50, 60)), [d & 7 for d in range(50, 60)],
                                             [d / 3 for d in range(50, 60)], [51])
    cache.put("c", entry(20))  # 113 > 100: the oldest goes
    assert "a" not in cache and cache.get("b") is b and cache.documents == 31 + 21
    cache.put("huge", entry(500))  # the latest stays alone, however large
    assert len(cache) == 1 and cache.documents == 501
    cache.put("huge", entry(5))  # asked again: counted once
    assert cache.documents == 6 and cache.get("huge").values.tolist() == [d / 7 for d in range(5)]

    with full_searcher.generation() as gen:
        bounded = gen.scored_cache
        first = full_searcher.search("发展", per_page=50)
        assert "发展" in bounded
        for word in ("基础设施", "改革", "管理", "投资", "建设", "项目"):
            full_searcher.search(word)
        assert bounded.documents <= bounded.max_documents or len(bounded) == 1
        again = full_searcher.search("发展", per_page=50)
        assert [(r["id"], r["score"]) for r in again["results"]] == [(r["id"], r["score"]) for r in first["results"]]


def test_a_query_matching_many_keeps_no_partial_matches_yet_lists_them_under_a_filter(
        full_index, full_searcher, monkeypatch):
    """Partial matches are listed only below partial_below full ones: a query matching
    many does not remember its own, and a filter leaving few of its matches lists the
    same partial matches as when they are remembered."""
    from search_app import settings

    query = "基础设施 投资"
    first = full_searcher.search(query)
    assert first["total"] >= settings.setting("partial_below") and first["partial_total"] == 0
    with full_searcher.generation() as gen:
        assert gen.scored_cache.get(full_searcher._prepare(query, None, "relevance")[0].text).partial is None
    regions = [e["value"] for e in first["facets"]["region"]]
    narrowed = [full_searcher.search(query, {"region": [r]}, per_page=50) for r in regions]
    listed = [n for n in narrowed if n["partial_total"]]
    assert listed, "some region leaves few full matches and lists partial ones"
    monkeypatch.setitem(settings.DEFAULTS, "partial_below", 10 ** 6)  # now every query keeps them
    keeping = Searcher(full_index)
    try:
        for n in listed:
            again = keeping.search(query, n["explanation"]["filters"], per_page=50)
            assert [(r["id"], r["score"], r["match"], r.get("missing")) for r in again["results"]] == [
                (r["id"], r["score"], r["match"], r.get("missing")) for r in n["results"]]
        with keeping.generation() as gen:
            assert gen.scored_cache.get(keeping._prepare(query, None, "relevance")[0].text).partial is not None
    finally:
        keeping.close()
