"""Search that forgives how people type: traditional characters, partial matches,
同句 / 同段, loosely written 文号, pasted titles, did-you-mean; on the whole report,
in the search core and through the pages and the JSON API.

The evaluation set (tests/test_forgiving_search.py) measures the same features on
researcher-style queries; these tests pin down each behaviour on its own.
"""
from __future__ import annotations

import math
import re

import pytest

from indexer.analysis import squash
from search_app.search import HtmlFormatter

from .test_search import JUDGMENTS, hits, ndcg

# A content word no document holds (checked below), to make any query partial.
ABSENT = "量子纠缠"
SENTENCE_END = re.compile(r"[。！？!?\n]")


def ids(result: dict, match: str | None = None) -> list[str]:
    return [r["id"] for r in result["results"] if match is None or r["match"] == match]


def test_the_absent_word_is_absent(report_records):
    assert not any(ABSENT in squash(" ".join(str(r.get(f) or "") for f in ("title", "summary", "text")))
                   for r in report_records)


# --------------------------------------------------------------------------- traditional characters

@pytest.mark.parametrize("traditional, simplified", [
    ("碳達峰", "碳达峰"),            # general
    ("鄉村振興", "乡村振兴"),
    ("專項債券", "专项债券"),
    ("資料中心", "数据中心"),        # Taiwan phrasing
    ("關於科學綠化的實施意見", "关于科学绿化的实施意见"),
])
def test_traditional_queries_find_what_the_simplified_ones_find(full_searcher, traditional, simplified):
    typed = full_searcher.search(traditional, per_page=100)
    plain = full_searcher.search(simplified, per_page=100)
    assert typed["total"] == plain["total"] > 0
    assert ids(typed) == ids(plain)
    relaxed = typed["explanation"]["relaxed"][0]
    assert relaxed == {"kind": "traditional", "from": traditional, "to": simplified}
    assert "繁体字" in typed["explanation"]["summary"] and simplified in typed["explanation"]["summary"]
    assert "traditional" not in {r["kind"] for r in plain["explanation"]["relaxed"]}


def test_traditional_query_marks_the_simplified_text(full_searcher):
    hit = full_searcher.search("碳達峰")["results"][0]
    paragraphs = full_searcher.paragraphs(hit["id"], "碳達峰")
    marked = [p["text"][s:e] for p in paragraphs for s, e in p["spans"]]
    assert marked and all(squash(m) == "碳达峰" for m in marked)
    assert any(f["spans"] for f in hit["snippet"])


def test_two_thousand_characters_of_traditional_text_get_a_note(full_searcher):
    result = full_searcher.search("關於加快發展保障性租賃住房的實施意見" * 120)
    assert "过长" in result["explanation"]["summary"]
    assert result["explanation"]["relaxed"][0]["kind"] == "traditional"


# --------------------------------------------------------------------------- partial matches

def test_partial_matches_follow_and_say_what_they_lack(full_searcher):
    result = full_searcher.search(f"保障性租赁住房 {ABSENT}")
    assert result["total"] == 0 and result["partial_total"] == len(result["results"]) > 0
    assert all(r["match"] == "partial" and r["missing"] == [ABSENT] for r in result["results"])
    assert set(ids(result)) == hits(full_searcher, "保障性租赁住房")
    # Counted apart: no facet counts, no export, and the explanation says so.
    assert all(v["count"] == 0 for values in result["facets"].values() for v in values)
    assert list(full_searcher.iter_results(f"保障性租赁住房 {ABSENT}")) == []
    assert result["explanation"]["relaxed"][-1]["kind"] == "partial"
    assert "部分检索词" in result["explanation"]["summary"]


def test_full_matches_come_first_then_the_most_parts(full_searcher):
    query = "保障性租赁住房 冷链物流 特色小镇 基础设施"
    result = full_searcher.search(query, per_page=100)
    full, partial = ids(result, "full"), ids(result, "partial")
    assert ids(result) == full + partial and len(full) == result["total"] < 20
    assert partial and len(partial) == result["partial_total"]
    lacking = [len(r["missing"]) for r in result["results"] if r["match"] == "partial"]
    assert lacking == sorted(lacking) and lacking[-1] <= 2  # at least half the parts held
    assert not set(full) & set(partial)


def test_partial_matches_respect_filters_and_exclusions(full_searcher):
    result = full_searcher.search(f"冷链物流 {ABSENT} -寄递", {"level": ["local"]}, per_page=100)
    assert result["partial_total"] > 0
    excluded = hits(full_searcher, "寄递")
    for r in result["results"]:
        assert r["level"] == "local" and r["id"] not in excluded


def test_pages_continue_into_the_partial_matches(full_searcher):
    query = f"冷链物流 {ABSENT}"
    whole = ids(full_searcher.search(query, per_page=100))
    paged = []
    for page in range(1, 5):
        paged += ids(full_searcher.search(query, page=page, per_page=3))
    assert paged == whole[:len(paged)] and len(paged) == min(12, len(whole))


def test_date_order_is_not_interrupted_by_partial_matches(full_searcher):
    result = full_searcher.search("冷链物流 补短板", sort="newest", per_page=100)
    assert result["total"] and result["partial_total"] == 0
    empty = full_searcher.search(f"冷链物流 {ABSENT}", sort="newest", per_page=100)
    assert empty["partial_total"] > 0


@pytest.mark.parametrize("query", [q for q in JUDGMENTS if " " not in q and "〔" not in q])
def test_graded_relevance_of_partial_matches(full_searcher, query):
    """A topic typed with a word no document holds: the documents about the topic still
    lead the partial matches, graded as in tests/test_search.py."""
    grades = JUDGMENTS[query]
    result = full_searcher.search(f"{query} {ABSENT}", per_page=10)
    ranked = ids(result)
    assert result["total"] == 0 and ranked
    best = {i for i, g in grades.items() if g == 3}
    assert set(ranked[:len(best)]) == best, ranked
    assert ndcg(ranked, grades) >= 0.85, (ranked, ndcg(ranked, grades))


def test_no_dead_end_while_a_content_word_is_shared(full_searcher):
    for query in ("冷连物流", f"{ABSENT} 乡村振兴 量子计算", "特色小镇 不存在的词语组合"):
        result = full_searcher.search(query)
        assert result["results"], query


@pytest.mark.parametrize("query, meant", [("冷链物流的政策有哪些？", "冷链物流 政策"),
                                          ("专项债作资本金", "专项债 资本金")])
def test_question_words_and_lone_characters_are_not_required(full_searcher, query, meant):
    asked = full_searcher.search(query, per_page=100)
    wanted = set(ids(full_searcher.search(meant, per_page=100), "full"))
    # (a run's words may also be found as their parts: 冷链 … 物流 for 冷链物流)
    assert wanted and set(ids(asked, "full")) >= wanted


def test_one_word_left_of_a_run_is_no_dead_end(full_searcher, report_records):
    holders = {r["id"] for r in report_records if "闭合" in squash(r.get("text") or "")}
    assert holders
    result = full_searcher.search("未闭合", per_page=100)
    assert result["total"] == 0 and set(ids(result, "partial")) >= holders
    assert all(r["missing"] == ["未闭合"] for r in result["results"])


def test_filler_words_rank_but_are_not_required(full_searcher):
    with_filler = full_searcher.search("绿色发展 工业 文件", per_page=100)
    without = full_searcher.search("绿色发展 工业", per_page=100)
    assert with_filler["total"] == without["total"]
    assert with_filler["explanation"]["relaxed"] == [{"kind": "optional", "terms": ["文件"]}]


# --------------------------------------------------------------------------- 同句 / 同段

def _together(record: dict, words: list[str], unit: str) -> bool:
    for name in ("title", "summary", "text"):
        text = record.get(name) or ""
        parts = text.split("\n") if unit == "paragraph" else SENTENCE_END.split(text)
        if any(all(squash(w) in squash(p) for w in words) for p in parts):
            return True
    return False


@pytest.mark.parametrize("operator, unit", [("同句", "sentence"), ("同段", "paragraph")])
@pytest.mark.parametrize("words", [["碳达峰", "金融"], ["冷链", "补短板"], ["专项债券", "项目"],
                                   ["乡村振兴", "基础设施"], ["数字化", "转型"]])
def test_proximity_finds_exactly_the_documents_with_the_words_together(full_searcher, report_records,
                                                                       operator, unit, words):
    expected = {r["id"] for r in report_records if _together(r, words, unit)}
    got = full_searcher.search(f"{operator}({' '.join(words)})", per_page=100)
    assert set(ids(got, "full")) == expected
    assert expected <= hits(full_searcher, " ".join(words))


def test_proximity_combines_with_fields_filters_and_marks_its_words(full_searcher, report_records):
    by_id = {r["id"]: r for r in report_records}
    result = full_searcher.search("同段(冷链 物流)", {"level": ["local"]}, per_page=100)
    assert result["results"] and all(by_id[i]["level"] == "local" for i in ids(result, "full"))
    for r in result["results"]:
        marked = [squash(f["text"][s:e]) for f in r["snippet"] for s, e in f["spans"]]
        assert any(w in m for m in marked for w in ("冷链", "物流")), r["id"]
    titled = full_searcher.search("标题:同句(冷链 物流)", per_page=100)
    assert set(ids(titled, "full")) == {r["id"] for r in report_records
                                         if "冷链" in r["title"] and "物流" in r["title"]}


@pytest.mark.parametrize("query, note", [
    ("同句(碳达峰 金融", "缺少右括号"),
    ("同句()", "没有检索词"),
    ("同句(碳达峰)", "至少两个"),
    ("同段(碳达峰 OR 金融)", "只能写检索词"),
])
def test_malformed_proximity_gets_a_note(full_searcher, query, note):
    result = full_searcher.search(query)
    assert note in result["explanation"]["summary"]


# --------------------------------------------------------------------------- 文号 and titles

def test_loosely_written_doc_numbers_come_first(full_searcher, report_records):
    numbered = [r for r in report_records if r.get("doc_number_parts")]
    assert len(numbered) > 30
    for r in numbered:
        p = r["doc_number_parts"]
        wide = str(p["serial"]).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
        for typed in (f"{p['agency']}{p['year']}年{p['serial']}号", f"{p['agency']}〔{p['year']}〕第{p['serial']}号",
                      f"{p['agency']}({p['year']}){p['serial']}", f"{p['agency']} {p['year']} {wide}"):
            first = full_searcher.search(typed)["results"][0]
            assert first["doc_number"] == r["doc_number"], (typed, first["id"])


def test_documents_citing_a_loose_doc_number_follow_it(full_searcher):
    result = full_searcher.search("国办发2021年46号", per_page=100)
    assert result["results"][0]["doc_number"] == "国办发〔2021〕46号"
    citing = [r for r in result["results"][1:] if r["match"] == "full"]
    assert citing, "documents citing it are listed after it"


def test_pasted_titles_bring_their_document_first(full_searcher, report_records):
    policies = [r for r in report_records if r["kind"] == "policy" and len(r["title"]) >= 12 and r.get("bodies")]
    same_title = {}
    for r in report_records:
        same_title.setdefault(squash(r["title"]), set()).add(r["id"])
    missed = []
    for r in policies:
        middle = len(r["title"]) // 2
        for typed in (f"{r['bodies'][0]}{r['title']}", f"【解读】{r['title']}", f"《{r['title']}》",
                      r["title"][:math.ceil(len(r["title"]) * 0.7)],
                      r["title"][:middle] + r["title"][middle + 1:]):  # a character dropped
            top = ids(full_searcher.search(typed))[:3]
            if r["id"] not in top and not (same_title[squash(r["title"])] & set(top) and typed[0] in "【《"):
                missed.append((typed, top))
    assert len(missed) <= len(policies) * 5 * 0.03, missed


def test_a_title_lacking_a_word_typed_beside_it_is_a_partial_match(full_searcher, report_records):
    twins = {r["id"] for r in report_records if r["title"] == "关于科学绿化的实施意见"}
    result = full_searcher.search("关于科学绿化的实施意见 江西", per_page=100)
    assert not twins & set(ids(result, "full"))
    assert twins <= set(ids(result, "partial")[:len(twins)])


def test_a_short_body_picks_its_own_document_among_equal_titles(full_searcher, report_records):
    # 关于科学绿化的实施意见 was issued by several provinces.
    twins = [r for r in report_records if r["title"] == "关于科学绿化的实施意见"]
    assert len(twins) >= 2
    for r in twins:
        region = r["region"]
        first = full_searcher.search(f"{region}政府办公厅关于科学绿化的实施意见")["results"][0]
        assert first["id"] == r["id"], region


# --------------------------------------------------------------------------- did you mean

@pytest.mark.parametrize("typo, meant", [("冷连物流", "冷链物流"), ("碳打峰", "碳达峰"), ("新形城镇化", "新型城镇化")])
def test_a_query_that_finds_nothing_suggests_what_was_meant(full_searcher, typo, meant):
    result = full_searcher.search(typo)
    assert result["total"] < 5
    suggestion = result["suggestions"][0]
    assert suggestion["query"] == meant and suggestion["total"] == full_searcher.search(meant)["total"] > 0


# --------------------------------------------------------------------------- pages and API

@pytest.fixture(scope="module")
def full_client(full_searcher, full_index):
    from search_app import create_app

    app = create_app({"SEARCHER": full_searcher, "INDEX_DIR": str(full_index), "TESTING": True})
    return app.test_client()


def test_api_marks_partial_matches(full_client):
    data = full_client.get("/api/search", query_string={"q": f"冷链物流 {ABSENT}"}).get_json()
    assert data["total"] == 0 and data["partial_total"] == len(data["results"]) > 0
    assert all(r["match"] == "partial" and r["missing"] == [ABSENT] for r in data["results"])
    assert all("<mark>" in r["snippet_html"] for r in data["results"][:3])
    full = full_client.get("/api/search", query_string={"q": "冷链物流"}).get_json()
    assert full["partial_total"] == 0 and all(r["match"] == "full" for r in full["results"])


def test_page_shows_the_divider_what_is_missing_and_the_relaxation(full_client):
    html = full_client.get("/", query_string={"q": f"冷链物流 {ABSENT}"}).get_data(as_text=True)
    assert "只包含部分检索词" in html and f"缺少：{ABSENT}" in html
    assert "没有同时包含全部检索词的文件" in html
    html = full_client.get("/", query_string={"q": "冷连物流"}).get_data(as_text=True)
    assert "您是不是要找" in html and "q=%E5%86%B7%E9%93%BE%E7%89%A9%E6%B5%81" in html  # q=冷链物流
    html = full_client.get("/", query_string={"q": "鄉村振興"}).get_data(as_text=True)
    assert "已将繁体字转换为简体字" in html and "<mark>乡村振兴</mark>" in html


def test_document_page_marks_a_traditional_query(full_client, full_searcher):
    doc_id = full_searcher.search("碳達峰")["results"][0]["id"]
    html = full_client.get(f"/doc/{doc_id}", query_string={"q": "碳達峰"}).get_data(as_text=True)
    assert 'id="first-hit">碳达峰</mark>' in html


def test_html_formatter_escapes_everything_but_the_marks():
    out = HtmlFormatter().format("<b>碳达峰</b>&", [(3, 6)])
    assert out == "&lt;b&gt;<mark>碳达峰</mark>&lt;/b&gt;&amp;"
