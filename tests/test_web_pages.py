"""The search page, the document page and the help page, through the Flask test client."""
from __future__ import annotations

import re
from collections import Counter
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.web_support import (  # noqa: F401 - fixtures
    ROOT,
    WEB_IDS,
    client,
    indexed,
    parse_html,
    squeeze,
    web_app,
    web_index,
    web_records,
)


def page(client, path: str, status: int = 200):
    response = client.get(path)
    assert response.status_code == status, response.data[:500]
    return parse_html(response.data)


def result_ids(doc) -> list[str]:
    ids = []
    for li in doc.find_all("li", cls="result"):
        href = li.find("h2").find("a").attrs["href"]
        ids.append(urlsplit(href).path.rsplit("/", 1)[-1])
    return ids


def facet_counts(doc, name: str) -> dict[str, int]:
    fieldset = doc.find("fieldset", data_facet=name)
    assert fieldset is not None, f"no {name} facet"
    counts = {}
    for label in fieldset.find_all("label", cls="facet-value"):
        box = label.find("input")
        counts[box.attrs["value"]] = int(label.find("span", cls="facet-count").text())
    return counts


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


# --------------------------------------------------------------------------- browsing


def test_front_page_lists_every_document_newest_first(client, web_records):
    doc = page(client, "/?per_page=100")
    assert f"共 {len(WEB_IDS)} 条" in squeeze(doc.find("h1").text())
    ids = result_ids(doc)
    assert sorted(ids) == sorted(WEB_IDS)
    dates = {r["id"]: r.get("publish_date") or "" for r in web_records}
    shown = [dates[i] for i in ids if dates[i]]
    assert shown == sorted(shown, reverse=True)
    # Empty query: the sort shown as active is "newest".
    assert doc.find("span", cls="sort-active").text() == "最新发布"


def test_facets_count_the_records(client, web_records):
    doc = page(client, "/")
    regions = Counter(r["region"] for r in web_records if r.get("region"))
    assert facet_counts(doc, "region") == dict(regions)
    # Long facets fold the rest under "更多", which works without script.
    more = doc.find("fieldset", data_facet="region").find("details", cls="facet-more")
    assert len(regions) > 8 and more is not None and "更多" in more.find("summary").text()
    assert len(more.find_all("input")) == len(regions) - 8
    kinds = Counter(r["kind"] for r in web_records)
    assert facet_counts(doc, "kind") == dict(kinds)
    levels = Counter(r["level"] for r in web_records if r.get("level"))
    assert facet_counts(doc, "level") == dict(levels)


def test_query_shows_count_time_and_highlighted_snippets(client, web_app):
    doc = page(client, "/?q=冷链")
    heading = squeeze(doc.find("h1").text())
    with web_app.app_context():
        from search_app.views.resources import get_searcher

        expected = get_searcher().search("冷链")
    assert f"共 {expected['total']} 条" in heading and "毫秒" in heading
    assert expected["total"] >= 2
    assert result_ids(doc) == [r["id"] for r in expected["results"]]
    snippets = doc.find_all("p", cls="snippet")
    assert snippets and all(s.find("mark") is not None for s in snippets)
    assert {m.text() for s in snippets for m in s.find_all("mark")} == {"冷链"}
    # The query stays in the box, and the result links carry it to the document page.
    assert doc.find("input", id="q").attrs["value"] == "冷链"
    first = doc.find("li", cls="result").find("h2").find("a").attrs["href"]
    assert query(first)["q"] == ["冷链"]
    # The search module says what it searched.
    assert "冷链" in doc.find("p", cls="explanation").text()


def test_meta_line_names_body_number_date_region_and_categories(client, indexed):
    record = indexed["2021-12-l17"]
    doc = page(client, "/?" + urlencode({"q": record["doc_number"]}))
    first = doc.find("li", cls="result")
    assert result_ids(doc)[0] == record["id"]
    meta = squeeze(first.find("p", cls="meta").text())
    for part in (record["bodies"][0], record["doc_number"], record["publish_date"], record["region"],
                 *record["categories"]):
        assert part in meta


def test_ticking_a_region_filters_and_shows_a_chip(client, web_records):
    doc = page(client, "/?region=广东省")
    expected = sorted(r["id"] for r in web_records if r.get("region") == "广东省")
    assert sorted(result_ids(doc)) == expected
    box = doc.find("input", name="region", value="广东省")
    assert "checked" in box.attrs and box.attrs["form"] == "search-form"
    chip = doc.find("a", cls="chip")
    assert "广东省" in chip.text() and "×" in chip.text()
    assert "region" not in query(chip.attrs["href"])
    # Counts are disjunctive: other regions still count what ticking them would add.
    counts = facet_counts(doc, "region")
    assert counts.get("青海省") == sum(1 for r in web_records if r.get("region") == "青海省")


def test_multi_select_within_a_facet_is_or_across_facets_is_and(client, web_records):
    doc = page(client, "/?region=广东省&region=青海省&per_page=100")
    expected = {r["id"] for r in web_records if r.get("region") in ("广东省", "青海省")}
    assert set(result_ids(doc)) == expected
    doc = page(client, "/?region=广东省&region=青海省&doc_type=意见&per_page=100")
    expected = {r["id"] for r in web_records
                if r.get("region") in ("广东省", "青海省") and r.get("doc_type") == "意见"}
    assert set(result_ids(doc)) == expected
    chips = doc.find_all("a", cls="chip")
    assert len(chips) == 3
    clear = doc.find("a", cls="chips-clear")
    # "Clear all" drops every filter but keeps the page size.
    assert clear is not None and query(clear.attrs["href"]) == {"per_page": ["100"]}


def test_removing_a_chip_keeps_the_other_filters_and_the_query(client):
    doc = page(client, "/?q=物流&region=江西省&region=青海省&level=local")
    chip = next(c for c in doc.find_all("a", cls="chip") if "江西省" in c.text())
    assert query(chip.attrs["href"]) == {"q": ["物流"], "region": ["青海省"], "level": ["local"]}


def test_date_range_and_histogram(client, web_records):
    doc = page(client, "/?date_from=2021-12-01&date_to=2021-12-10&per_page=100")
    expected = {r["id"] for r in web_records if "2021-12-01" <= (r.get("publish_date") or "") <= "2021-12-10"}
    assert set(result_ids(doc)) == expected
    assert doc.find("input", id="date_from").attrs["value"] == "2021-12-01"
    chips = [squeeze(c.text()) for c in doc.find_all("a", cls="chip")]
    assert any("2021-12-01" in c for c in chips) and any("2021-12-10" in c for c in chips)

    doc = page(client, "/")
    bars = doc.find("figure", cls="histogram").find_all("a")
    months = Counter((r.get("publish_date") or "")[:7] for r in web_records if r.get("publish_date"))
    assert len(bars) == len(months)
    for bar in bars:
        params = query(bar.attrs["href"])
        month = params["date_from"][0][:7]
        assert f"{months[month]} 条" in bar.attrs["aria-label"]
        assert params["date_to"][0].startswith(month)
    # A month bar's link gives exactly that month.
    november = next(b for b in bars if "11月" in b.attrs["aria-label"])
    doc = page(client, november.attrs["href"])
    assert set(result_ids(doc)) == {r["id"] for r in web_records if (r.get("publish_date") or "").startswith("2021-11")}


def test_sort_orders(client, web_records):
    dates = {r["id"]: r.get("publish_date") or "" for r in web_records}
    newest = [dates[i] for i in result_ids(page(client, "/?q=实施意见&sort=newest&per_page=100"))]
    oldest = [dates[i] for i in result_ids(page(client, "/?q=实施意见&sort=oldest&per_page=100"))]
    assert newest == sorted(newest, reverse=True) and oldest == sorted(oldest)
    doc = page(client, "/?q=实施意见")
    links = {a.text(): a.attrs.get("href") for a in doc.find("nav", cls="sort-links").find_all("a")}
    assert query(links["最新发布"]) == {"q": ["实施意见"], "sort": ["newest"]}
    # A new query from the box keeps the chosen sort (a hidden field in the form).
    doc = page(client, "/?q=实施意见&sort=oldest")
    assert doc.find("input", name="sort").attrs["value"] == "oldest"


def test_pagination_walks_the_whole_result_set(client):
    seen = []
    doc = page(client, "/?per_page=10")
    while True:
        seen += result_ids(doc)
        nav = doc.find("nav", cls="pagination")
        following = nav.find("a", rel="next") if nav else None
        if following is None:
            break
        doc = page(client, following.attrs["href"])
    assert sorted(seen) == sorted(WEB_IDS)
    doc = page(client, "/?per_page=10&page=2")
    assert doc.find("span", cls="current").text() == "2"
    assert doc.find("ol", cls="result-list").attrs["start"] == "11"


def test_page_past_the_end_offers_the_first_page(client):
    doc = page(client, "/?page=9")
    assert not result_ids(doc)
    assert "超出" in doc.find("div", cls="notice").text()


def test_zero_results_say_why_and_offer_ways_out(client, web_records):
    doc = page(client, "/?q=冷链&region=海南省")
    notice = doc.find("div", cls="zero")
    assert "筛选条件下没有" in notice.text()
    ways = {squeeze(li.find("a").text()): li for li in notice.find_all("li")}
    drop = next(li for label, li in ways.items() if "海南省" in label)
    assert query(drop.find("a").attrs["href"]) == {"q": ["冷链"]}
    counted = int(re.search(r"\d+", drop.find("span", cls="alt-count").text()).group())
    assert counted == len(result_ids(page(client, drop.find("a").attrs["href"] + "&per_page=100")))
    assert counted > 0

    doc = page(client, "/?" + urlencode({"q": "冷链 没有这样的词语组合"}))
    labels = [squeeze(a.text()) for a in doc.find("div", cls="zero").find_all("a")]
    assert any("少一个词" in label and "冷链" in label for label in labels)

    doc = page(client, "/?" + urlencode({"q": '"冷链 物流规划纲要"'}))
    labels = [squeeze(a.text()) for a in doc.find("div", cls="zero").find_all("a")]
    assert any("不加引号" in label for label in labels)


def test_search_form_works_without_script(client):
    doc = page(client, "/?q=物流&region=江西省")
    form = doc.find("form", id="search-form")
    assert form.attrs["method"] == "get" and form.attrs["action"] == "/"
    # Every filter control belongs to the one GET form, so the URL carries the whole state.
    for box in doc.find_all("input", type="checkbox"):
        assert box.attrs["form"] == "search-form"
    for name in ("date_from", "date_to"):
        assert doc.find("input", name=name).attrs["form"] == "search-form"
    assert doc.find("p", cls="facet-apply").find("button").attrs["form"] == "search-form"
    # Every input has a label.
    labelled = {el.attrs.get("for") for el in doc.find_all("label") if el.attrs.get("for")}
    for field in doc.find_all("input"):
        if field.attrs.get("type") in ("hidden", "checkbox"):
            continue
        assert field.attrs.get("id") in labelled or field.attrs.get("aria-label"), field


# --------------------------------------------------------------------------- the document page


def test_document_page_metadata_summary_and_text(client, indexed):
    record = indexed["2021-12-c01"]
    doc = page(client, "/doc/2021-12-c01")
    assert doc.find("h1").text() == record["title"]
    rows = {squeeze(tr.find("th").text()): squeeze(tr.find("td").text()) for tr in doc.find("table", cls="meta-table").find_all("tr")}
    assert list(rows) == ["标题", "发布部门", "文号", "发布日期", "成文日期", "地区", "分类", "来源报告", "原文链接"]
    assert rows["文号"] == record["doc_number"]
    assert rows["发布部门"] == "、".join(record["bodies"])
    assert rows["发布日期"] == "2021年12月12日" and rows["成文日期"] == "2021年11月26日"
    assert rows["分类"] == "、".join(record["categories"])
    assert record["source"]["report"] in rows["来源报告"]
    link = doc.find("a", cls="source-url")
    assert link.attrs["href"] == record["source_urls"][0]
    assert doc.find("p", cls="summary").text() == record["summary"]
    paragraphs = [p.text() for p in doc.find("section", cls="fulltext").find_all("p")]
    expected = [line.strip() for line in record["text"].split("\n") if line.strip()]
    assert paragraphs == expected


def test_document_page_highlights_the_query_and_jumps_to_the_first_hit(client):
    doc = page(client, "/doc/2021-12-c01?q=冷链物流")
    text = doc.find("section", cls="fulltext")
    marks = text.find_all("mark")
    assert marks and all(squeeze(m.text()) == "冷链物流" for m in marks)
    assert marks[0].attrs.get("id") == "first-hit"
    assert sum(1 for m in marks if m.attrs.get("id")) == 1
    assert doc.find("a", cls="jump-hit").attrs["href"] == "#first-hit"
    back = doc.find("nav", cls="crumbs").find("a")
    assert query(back.attrs["href"]) == {"q": ["冷链物流"]}

    doc = page(client, "/doc/2021-12-c01?q=没有的词语")
    assert doc.find("a", cls="jump-hit") is None
    assert "没有" in doc.find("section", cls="fulltext").find("span", cls="hint").text()


def test_document_page_citation_and_links(client, indexed):
    record = indexed["2021-12-l17"]
    doc = page(client, "/doc/2021-12-l17")
    citation = doc.find("textarea", id="citation").text()
    assert citation.startswith(record["bodies"][0] + ". " + record["title"])
    assert record["doc_number"] in citation and record["source_urls"][0] in citation
    copy = doc.find("button", cls="copy-button")
    assert copy.attrs["data-copy-target"] == "citation" and "hidden" in copy.attrs
    more = {a.text(): a.attrs["href"] for a in doc.find("aside", cls="doc-aside").find_all("a")}
    body_link = more[record["bodies_canonical"][0] + "发布的文档"]
    assert query(body_link) == {"body": [record["bodies_canonical"][0]]}
    assert query(more["广东省的文档"]) == {"region": ["广东省"]}
    related = doc.find("ol", cls="related-list").find_all("a")
    assert related and all(a.attrs["href"].startswith("/doc/") for a in related)
    assert "/doc/2021-12-l17" not in [a.attrs["href"] for a in related]
    # The region link leads to documents of that region, this one among them.
    region_page = page(client, more["广东省的文档"])
    assert "2021-12-l17" in result_ids(region_page)


def test_document_relations(client, indexed):
    # The policy links to its interpretation and the interpretation back to the policy.
    doc = page(client, "/doc/2021-12-c01")
    lineage = doc.find("section", cls="lineage")
    assert "/doc/2021-12-int1" in [a.attrs["href"] for a in lineage.find_all("a")]
    doc = page(client, "/doc/2021-12-int1")
    assert "/doc/2021-12-c01" in [a.attrs["href"] for a in doc.find("section", cls="lineage").find_all("a")]
    # Two documents implementing the same parent list each other.
    doc = page(client, "/doc/2021-12-c02")
    lineage = doc.find("section", cls="lineage")
    assert "/doc/2021-12-c12" in [a.attrs["href"] for a in lineage.find_all("a")]
    # "提及它的文档" runs the cites filter: every hit names that parent.
    shared = next(li for li in lineage.find_all("li") if "2030年前碳达峰行动方案" in li.text())
    hits = result_ids(page(client, shared.find("a", cls="relation-others").attrs["href"]))
    assert "2021-12-c02" in hits and "2021-12-c12" in hits


def test_activity_page_has_no_empty_policy_fields(client, indexed):
    doc = page(client, "/doc/2021-12-act06")
    rows = {squeeze(tr.find("th").text()): squeeze(tr.find("td").text()) for tr in doc.find("table", cls="meta-table").find_all("tr")}
    assert rows["文号"] == "—" and rows["发布日期"]
    assert indexed["2021-12-act06"]["title"] in doc.find("textarea", id="citation").text()


def test_unknown_and_malformed_document_ids_are_404_in_chinese(client):
    for path in ("/doc/2021-12-c99", "/doc/..", "/doc/%2e%2e", "/doc/a%00b", "/doc/" + "x" * 300):
        response = client.get(path)
        assert response.status_code == 404, path
        body = response.data.decode()
        assert "页面不存在" in body and "回到检索首页" in body


def test_help_page_is_the_query_language_document_with_runnable_examples(client):
    doc = page(client, "/help")
    assert doc.find("h1").text() == "检索语法"
    headings = [h.text() for h in doc.find_all("h2")]
    source = (ROOT / "docs" / "query-language.md").read_text(encoding="utf-8")
    for heading in re.findall(r"^## (.+)$", source, re.M):
        assert heading in headings
    examples = doc.find_all("a", cls="example")
    assert len(examples) >= 10
    for a in examples:
        result = page(client, a.attrs["href"])
        assert result.find("div", cls="notice-error") is None, a.attrs["href"]
    # Every spelling of a 文号 in the list finds that document first.
    for a in doc.find("ul", cls="example-list").find_all("a"):
        assert result_ids(page(client, a.attrs["href"]))[0] == "2021-12-c02", a.text()
    # The help is one click from every page.
    for path in ("/", "/doc/2021-12-c01", "/nope"):
        response = client.get(path)
        assert 'href="/help"' in response.data.decode()


def test_a_query_the_search_module_refuses_keeps_the_page(client):
    # The year passes the URL check but not the search module's: its message, on the page.
    doc = page(client, "/?q=冷链&date_from=0999-01-01", status=400)
    assert doc.find("h1").text() == "无法执行此检索"
    assert "0999-01-01" in doc.find("div", cls="notice-error").text()
    assert doc.find("input", id="q").attrs["value"] == "冷链"
