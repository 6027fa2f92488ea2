"""The search core on real indexes of the report: matching, query language,
ranking, filters and facets, snippets, generations and the CLI.

Expectations are computed from the records themselves (the parser's output),
never from the index: "contains" below is the definition of an exact match.

Over 500 lines on purpose: one module holds the helpers every search test shares
(`contains`, `having`, `hits`, the graded JUDGMENTS) that tests/test_scoring.py and
tests/test_forgiving.py import; its sections follow the search core's modules.
"""
from __future__ import annotations

import html
import json
import math
import random
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest

from indexer import analysis
from indexer.analysis import squash
from indexer.indexing import (
    STAMP_FILE,
    ResourcesMismatch,
    create_index,
    update_index,
)
from indexer.schema import DEFAULT_FIELDS, LISTED_FACETS, record_to_document
from search_app.search import HtmlFormatter, IndexUnavailable, QueryError, Searcher, parse_query
from search_app.views.formatting import with_html

# --------------------------------------------------------------------------- helpers


def field_text(record: dict, name: str) -> str:
    return record_to_document(record)[name]


def contains(record: dict, needle: str, fields=DEFAULT_FIELDS) -> bool:
    """Whether the record holds `needle` in one of `fields`, whitespace ignored,
    full/half width and case folded: what an exact match means."""
    n = squash(needle)
    return any(n in squash(field_text(record, f)) for f in fields)


def having(records, needle, fields=DEFAULT_FIELDS) -> set[str]:
    return {r["id"] for r in records if contains(r, needle, fields)}


def hit_ids(searcher, query, filters=None, sort="relevance") -> list[str]:
    return [r["id"] for r in searcher.iter_results(query, filters, sort)]


def hits(searcher, query, filters=None) -> set[str]:
    found = hit_ids(searcher, query, filters)
    assert len(found) == len(set(found))
    return set(found)


def facet_values(record: dict, key: str) -> list[str]:
    if key == "cites":
        return list(dict.fromkeys(link["key"] for link in record.get("cites") or [] if link.get("key")))
    source = {"region": "region", "city": "city", "level": "level", "body": "bodies_canonical",
              "doc_type": "doc_type", "category": "categories", "kind": "kind"}[key]
    value = record.get(source)
    if isinstance(value, list):
        return list(dict.fromkeys(v for v in value if v))
    return [value] if value else []


def sample_strings(records, count: int, seed: int) -> list[str]:
    """Substrings of the records' searchable texts, one to twelve characters,
    line breaks included: a seeded sample, reproducible."""
    rng = random.Random(seed)
    samples = []
    while len(samples) < count:
        record = rng.choice(records)
        name = rng.choice(("text", "text", "text", "title", "summary"))
        source = field_text(record, name)
        if not source.strip():
            continue
        length = rng.choice((1, 2, 2, 3, 4, 4, 5, 6, 8, 12))
        start = rng.randrange(0, max(1, len(source) - length))
        s = source[start:start + length]
        if not squash(s) or '"' in s:
            continue
        samples.append(s)
    return samples


def operator_free(s: str) -> bool:
    """A sample that the query language reads as plain text when unquoted."""
    return not re.search(r"(^|\s)[-(]|\bOR\b|\bNOT\b|\||[:：]", s)


# --------------------------------------------------------------------------- exact matching

def test_quoted_phrase_hits_are_exactly_the_records_containing_it(slice_searcher, slice_records):
    for s in sample_strings(slice_records, 120, seed=20211231):
        expected = having(slice_records, s)
        assert hits(slice_searcher, f'"{s}"') == expected, s


@pytest.mark.parametrize("needle", ["测预测预", "预测预测预警", "监测预测预警", "链长链长制", "二〇二一"])
def test_phrases_with_repeated_character_pairs(full_searcher, report_records, needle):
    # A pair that occurs twice in the needle must be matched at both places, in order.
    assert hits(full_searcher, f'"{needle}"') == having(report_records, needle), needle


def test_unquoted_query_finds_every_record_containing_it(slice_searcher, slice_records):
    """The recall guarantee, whatever jieba made of the string in context."""
    for s in sample_strings(slice_records, 120, seed=7):
        if not operator_free(s):
            continue
        assert having(slice_records, s) <= hits(slice_searcher, s), s


def test_recall_guarantee_over_the_whole_report(full_searcher, report_records):
    for s in sample_strings(report_records, 60, seed=1742):
        expected = having(report_records, s)
        assert hits(full_searcher, f'"{s}"') == expected, s
        if operator_free(s):
            assert expected <= hits(full_searcher, s), s


@pytest.mark.parametrize("term", ["碳达峰", "生态环境", "绿色低碳"])
def test_words_split_differently_in_context_are_still_found(full_searcher, report_records, term):
    assert hits(full_searcher, term) >= having(report_records, term)
    assert hits(full_searcher, f'"{term}"') == having(report_records, term)


def test_whitespace_in_the_source_and_the_query_is_ignored(slice_searcher, slice_records):
    # A string that crosses a line break in the text matches typed without it.
    record = next(r for r in slice_records if r["id"] == "2021-12-c01")
    text = record["text"]
    at = text.index("\n", 200)
    crossing = text[at - 4:at] + text[at + 1:at + 5]
    assert "2021-12-c01" in hits(slice_searcher, f'"{crossing}"')
    spaced = " ".join("冷链物流")
    assert hits(slice_searcher, f'"{spaced}"') == having(slice_records, "冷链物流")


def test_single_character(slice_searcher, slice_records):
    assert hits(slice_searcher, "税") == having(slice_records, "税")
    assert hits(slice_searcher, "税") != set()


@pytest.mark.parametrize("query", ["5G", "ＰＰＰ模式", "PPP模式", "REITs", "reits"])
def test_mixed_chinese_and_latin(slice_searcher, slice_records, query):
    found = hits(slice_searcher, query)
    assert having(slice_records, query) <= found
    assert having(slice_records, query), query


def test_latin_case_and_width_do_not_matter(slice_searcher):
    assert hits(slice_searcher, "REITs") == hits(slice_searcher, "reits") == hits(slice_searcher, "ＲＥＩＴｓ")
    assert hits(slice_searcher, '"PPP"') == hits(slice_searcher, '"ppp"')


# --------------------------------------------------------------------------- query language

def test_all_words_are_required(slice_searcher, slice_records):
    expected = having(slice_records, "冷链") & having(slice_records, "乡村振兴")
    assert hits(slice_searcher, "冷链 乡村振兴") == expected


def test_or_and_parentheses(slice_searcher, slice_records):
    a, b, c = having(slice_records, "冷链"), having(slice_records, "寄递"), having(slice_records, "物流")
    assert hits(slice_searcher, "冷链 OR 寄递") == a | b
    assert hits(slice_searcher, "冷链 | 寄递") == a | b
    assert hits(slice_searcher, "(冷链 OR 寄递) 物流") == (a | b) & c
    assert hits(slice_searcher, "（冷链 OR 寄递）物流") == (a | b) & c


def test_exclusion(slice_searcher, slice_records):
    a, b = having(slice_records, "物流"), having(slice_records, "冷链")
    assert hits(slice_searcher, "物流 -冷链") == a - b
    assert hits(slice_searcher, "-冷链") == {r["id"] for r in slice_records} - b
    assert hits(slice_searcher, "物流 -(冷链 OR 寄递)") == a - b - having(slice_records, "寄递")
    # A dash pasted from text is a character, not the operator.
    assert hits(slice_searcher, "—") == having(slice_records, "—")


def test_field_prefixes(slice_searcher, slice_records):
    assert hits(slice_searcher, "标题:规划") == having(slice_records, "规划", ("title",))
    assert hits(slice_searcher, "标题：规划") == having(slice_records, "规划", ("title",))
    assert hits(slice_searcher, "全文:冷链") == having(slice_records, "冷链", ("text",))
    assert hits(slice_searcher, "文号:2021〕4") == having(slice_records, "2021〕4", ("doc_number",))
    assert hits(slice_searcher, "地区:广东") == having(slice_records, "广东", ("place",)) == {
        "2021-12-l26", "2021-12-l51"}
    assert hits(slice_searcher, "地区:广州") == having(slice_records, "广州市", ("place",))
    assert hits(slice_searcher, '标题:"保障性租赁住房" 地区:江苏') == {"2021-12-l29"}
    assert hits(slice_searcher, "标题:(寄递 OR 绿化)") == (
        having(slice_records, "寄递", ("title",)) | having(slice_records, "绿化", ("title",)))


def test_body_prefix_accepts_agency_aliases(slice_searcher, slice_records):
    group = ["发改委"] + [parts[0] for parts in analysis.load_synonyms()["发改委"] if len(parts) == 1]
    expected = set().union(*(having(slice_records, name, ("bodies",)) for name in group))
    assert expected, "the slice holds documents of the 国家发展和改革委员会"
    assert hits(slice_searcher, "机关:发改委") == expected
    assert hits(slice_searcher, "机关:财政部") == having(slice_records, "财政部", ("bodies",))


def test_synonym_expansion_is_reported(slice_searcher, slice_records):
    result = slice_searcher.search("放管服")
    expanded = result["explanation"]["expansions"]
    assert expanded == [{"term": "放管服", "alternatives": ["简政放权 放管结合 优化服务"]}]
    assert "简政放权" in result["explanation"]["summary"]
    all_three = having(slice_records, "简政放权") & having(slice_records, "放管结合") & having(slice_records, "优化服务")
    assert hits(slice_searcher, "放管服") == having(slice_records, "放管服") | all_three


@pytest.mark.parametrize("abbreviation, full_names", [
    ("人社部", ["人力资源社会保障部", "人力资源和社会保障部"]),
    ("央行", ["中国人民银行", "人民银行"]),
    ("国资委", ["国务院国有资产监督管理委员会", "国有资产监督管理委员会"]),
    ("网信办", ["国家互联网信息办公室", "中央网信办"]),
    ("PPP", ["政府和社会资本合作"]),
])
def test_agency_and_policy_abbreviations_expand(slice_searcher, slice_records, abbreviation, full_names):
    found = hits(slice_searcher, abbreviation)
    for name in full_names:
        assert having(slice_records, name) <= found, name
    assert having(slice_records, abbreviation) <= found
    # Quoted, nothing is expanded.
    assert hits(slice_searcher, f'"{abbreviation}"') == having(slice_records, abbreviation)


@pytest.mark.parametrize("query, note", [
    ('"冷链物流', "引号"),
    ("冷链物流\"", "引号"),
    ("(冷链 OR 寄递", "括号"),
    ("冷链)", "括号"),
    ("冷链 -", "减号"),
    ("冷链 OR", "OR"),
    ("标题:", "标题"),
    ("冷链" * 5000, "过长"),
])
def test_malformed_queries_degrade_with_a_note(slice_searcher, query, note):
    result = slice_searcher.search(query)
    assert isinstance(result["total"], int)
    assert any(note in n for n in result["explanation"]["notes"]), result["explanation"]["notes"]


@pytest.mark.parametrize("query", [
    '"', '""', "()", ")(", "-", "--", "OR", "OR OR", "((((((((((((冷链", "冷链\x00物流", "\ud800冷链",
    "<script>alert(1)</script>", "标题:标题:", "文号:", "-(-(-冷链))", "NOT", "😀", "\t\n", "%", "*", "\\",
])
def test_garbage_never_raises(slice_searcher, query):
    result = slice_searcher.search(query)
    assert result["total"] >= 0
    json.dumps(result, ensure_ascii=False)  # a plain, serialisable dict


def test_malformed_queries_search_the_plain_reading(slice_searcher, slice_records):
    assert hits(slice_searcher, '"冷链物流') >= having(slice_records, "冷链物流")
    assert hits(slice_searcher, "(冷链 OR 寄递") == hits(slice_searcher, "(冷链 OR 寄递)")
    assert hits(slice_searcher, "冷链)") == hits(slice_searcher, "冷链")
    assert hits(slice_searcher, "冷链\x00物流") == hits(slice_searcher, "冷链 物流")


def test_empty_query_lists_everything_newest_first(slice_searcher, slice_records):
    result = slice_searcher.search("", per_page=100)
    assert result["total"] == len(slice_records)
    dates = [r["publish_date"] for r in result["results"]]
    dated = [d for d in dates if d]
    assert dated == sorted(dated, reverse=True)
    assert dates[len(dated):] == [None] * (len(dates) - len(dated))
    assert result["sort"] == "newest"
    # nothing was malformed, so nothing is said about the syntax
    assert result["explanation"]["notes"] == []
    assert slice_searcher.search("   ")["explanation"]["notes"] == []
    assert slice_searcher.search("冷链 OR")["explanation"]["notes"] == ["OR 两侧需要检索词，缺少的一侧已忽略"]


# --------------------------------------------------------------------------- 文号 and ranking

def doc_number_variants(number: str) -> list[str]:
    m = re.match(r"^(.*)〔(\d{4})〕(\d+)号$", number)
    agency, year, serial = m.groups()
    wide = serial.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    return [
        number,
        f"{agency}[{year}]{serial}号",
        f"{agency}［{year}］{serial}号",
        f"{agency}（{year}）{serial}号",
        f"{agency}({year}){serial}号",
        f"{agency}﹝{year}﹞{serial}号",
        f"{agency}〔{year}〕{serial} 号",
        f"{agency} 〔{year}〕 {serial} 号",
        f"{agency}〔{year}〕{wide}号",
        f"{agency}〔{year}〕{serial}",
        f"文号:{number}",
    ]


def test_doc_number_in_any_variant_comes_first(slice_searcher, slice_records):
    numbered = [r for r in slice_records if r.get("doc_number")]
    assert len(numbered) >= 10
    for record in numbered:
        same = {r["id"] for r in slice_records if r.get("doc_number") == record["doc_number"]}
        for variant in doc_number_variants(record["doc_number"]):
            result = slice_searcher.search(variant)
            assert result["results"], variant
            assert result["results"][0]["id"] in same, variant
            assert [r["id"] for r in result["results"][:len(same)]] and \
                set(r["id"] for r in result["results"][:len(same)]) == same, variant


def test_documents_citing_a_doc_number_follow_it(full_searcher, report_records):
    cited = "国办发〔2021〕29号"
    citing = having(report_records, cited)
    result = full_searcher.search("国办发（2021）29号", per_page=50)
    assert {r["id"] for r in result["results"]} >= citing


@pytest.mark.parametrize("query", ["保障性租赁住房", "科学绿化", "冷链物流", "寄递物流"])
def test_titles_containing_the_whole_query_come_first(slice_searcher, slice_records, query):
    titled = having(slice_records, query, ("title",))
    assert titled
    first = [r["id"] for r in slice_searcher.search(query)["results"][:len(titled)]]
    assert set(first) == titled


def test_title_containing_every_word_outranks_others(slice_searcher, slice_records):
    result = slice_searcher.search("寄递 措施")
    titled = {r["id"] for r in slice_records
              if contains(r, "寄递", ("title",)) and contains(r, "措施", ("title",))}
    assert titled and {r["id"] for r in result["results"][:len(titled)]} == titled


# Graded judgments from reading the documents: 3 = the document is about the
# topic, 2 = it has a substantial passage on it, 1 = it mentions it usefully.
JUDGMENTS = {
    "冷链物流": {"2021-12-c01": 3, "2021-12-int1": 3, "2021-12-l56": 2, "2021-12-l43": 2, "2021-12-l03": 2,
             "2021-12-l32": 1, "2021-12-l38": 1, "2021-12-l27": 1},
    "保障性租赁住房": {"2021-12-l10": 3, "2021-12-l29": 3, "2021-12-l33": 3, "2021-12-l28": 2, "2021-12-act11": 2},
    "碳达峰": {"2021-12-c02": 3, "2021-12-l54": 2, "2021-12-c08": 2, "2021-12-l11": 2, "2021-12-l09": 2,
            "2021-12-l17": 2, "2021-12-l06": 1, "2021-12-l18": 1, "2021-12-l05": 1, "2021-12-c06": 1},
    "REITs": {"2021-12-c09": 3, "2021-12-l36": 3, "2021-12-l29": 2, "2021-12-l10": 2, "2021-12-l33": 2,
              "2021-12-c03": 1, "2021-12-l06": 1},
    "PPP": {"2021-12-l60": 3, "2021-12-l36": 3, "2021-12-l04": 2, "2021-12-l07": 2, "2021-12-l06": 1,
            "2021-12-l55": 1, "2021-12-l23": 1, "2021-12-l11": 1},
    "农村寄递物流": {"2021-12-l03": 3, "2021-12-l43": 3, "2021-12-l56": 3, "2021-12-act15": 2, "2021-12-l13": 1},
    "科学绿化": {"2021-12-l48": 3, "2021-12-l14": 3, "2021-12-l49": 3},
    "数据中心 绿色": {"2021-12-c02": 3, "2021-12-c08": 1},
    "乡村振兴 金融": {"2021-12-l46": 3, "2021-12-l35": 2, "2021-12-l39": 2, "2021-12-l38": 2},
    "特色小镇": {"2021-12-l02": 3, "2021-12-l23": 3},
    "数字化转型": {"2021-12-l51": 3, "2021-12-l31": 3, "2021-12-l16": 2, "2021-12-l53": 2, "2021-12-l27": 1},
    "发改高技〔2021〕1742号": {"2021-12-c02": 3},
    "无废城市": {"2021-12-c11": 3, "2021-12-l09": 1, "2021-12-l44": 1, "2021-12-l17": 1},
    "气候投融资": {"2021-12-c13": 3, "2021-12-l17": 1},
    "再生水": {"2021-12-c17": 3, "2021-12-l11": 1, "2021-12-l18": 1, "2021-12-l54": 1},
    "投资项目审批": {"2021-12-c09": 3, "2021-12-l59": 1},
    "知识产权": {"2021-12-l21": 3, "2021-12-c18": 1, "2021-12-l59": 1},
    "外贸新业态": {"2021-12-l20": 3, "2021-12-l34": 3, "2021-12-l12": 1},
    "高速公路 投融资": {"2021-12-l04": 3, "2021-12-l32": 2},
    "循环经济": {"2021-12-l08": 3, "2021-12-c12": 2, "2021-12-l17": 2, "2021-12-l44": 2, "2021-12-c11": 1},
    "中小企业 融资": {"2021-12-c15": 3, "2021-12-c18": 3, "2021-12-act07": 1},
}


def ndcg(ranked: list[str], grades: dict[str, int], k: int = 10) -> float:
    def dcg(gains):
        return sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(gains[:k]))
    ideal = dcg(sorted(grades.values(), reverse=True))
    return dcg([grades.get(i, 0) for i in ranked]) / ideal


@pytest.mark.parametrize("query", list(JUDGMENTS))
def test_graded_relevance(full_searcher, query):
    grades = JUDGMENTS[query]
    ranked = [r["id"] for r in full_searcher.search(query, per_page=10)["results"]]
    best = {i for i, g in grades.items() if g == 3}
    assert set(ranked[:len(best)]) == best, ranked
    assert ndcg(ranked, grades) >= 0.85, (ranked, ndcg(ranked, grades))


# --------------------------------------------------------------------------- filters and facets

SELECTIONS = [
    {},
    {"region": ["江西省", "青海省"]},
    {"region": ["江西省"], "category": ["行业"]},
    {"level": ["local"], "doc_type": ["意见", "措施"]},
    {"kind": ["policy"], "body": ["国家发展和改革委员会", "财政部"]},
    {"category": ["行业"], "doc_type": ["意见"]},
]


def record_passes(record: dict, selection: dict, skip: str | None = None) -> bool:
    for key, values in selection.items():
        if key == skip:
            continue
        if not set(facet_values(record, key)) & set(values):
            return False
    return True


@pytest.mark.parametrize("query", ["", "物流", "保障性租赁住房 OR 科学绿化", "-冷链"])
@pytest.mark.parametrize("selection", SELECTIONS)
def test_facet_counts_equal_a_direct_count(slice_searcher, slice_records, query, selection):
    matched = hits(slice_searcher, query)
    records = [r for r in slice_records if r["id"] in matched]
    result = slice_searcher.search(query, filters=selection, per_page=100)
    assert result["total"] == sum(record_passes(r, selection) for r in records)
    assert {r["id"] for r in result["results"]} == {r["id"] for r in records if record_passes(r, selection)}
    for key in LISTED_FACETS:
        expected = Counter(v for r in records if record_passes(r, selection, skip=key)
                           for v in facet_values(r, key))
        got = {e["value"]: e["count"] for e in result["facets"][key]}
        assert {v: c for v, c in got.items() if c} == dict(expected), key
        for entry in result["facets"][key]:
            assert entry["selected"] == (entry["value"] in selection.get(key, [])), (key, entry)
        for value in selection.get(key, []):
            assert value in got, "a selected value stays listed, even at zero"


def test_selection_within_a_facet_is_or_and_leaves_its_own_counts(slice_searcher):
    plain = slice_searcher.search("")
    one = slice_searcher.search("", filters={"region": ["江西省"]})
    two = slice_searcher.search("", filters={"region": ["江西省", "青海省"]})
    counts = {e["value"]: e["count"] for e in plain["facets"]["region"]}
    assert one["total"] == counts["江西省"]
    assert two["total"] == counts["江西省"] + counts["青海省"]
    assert plain["facets"]["region"] == [dict(e, selected=False) for e in two["facets"]["region"]]


def test_a_joint_document_counts_for_every_issuer(slice_searcher, slice_records):
    joint = next(r for r in slice_records if len(r.get("bodies_canonical") or []) > 1)
    counts = {e["value"]: e["count"] for e in slice_searcher.search(f'"{joint["title"]}"')["facets"]["body"]}
    for body in joint["bodies_canonical"]:
        assert counts.get(body, 0) >= 1


@pytest.mark.parametrize("alias, canonical", [
    ("发改委", "国家发展和改革委员会"), ("国家发展改革委", "国家发展和改革委员会"), ("网信办", "国家互联网信息办公室"),
])
def test_body_filter_accepts_any_alias(slice_searcher, alias, canonical):
    by_alias = slice_searcher.search("", filters={"body": [alias]})
    by_name = slice_searcher.search("", filters={"body": [canonical]})
    assert by_alias["total"] == by_name["total"] > 0
    assert [e for e in by_alias["facets"]["body"] if e["selected"]] == \
        [e for e in by_name["facets"]["body"] if e["selected"]]


def test_filter_value_shorthands(slice_searcher):
    assert slice_searcher.search("", filters={"region": ["江西"]})["total"] == \
        slice_searcher.search("", filters={"region": ["江西省"]})["total"] > 0
    assert slice_searcher.search("", filters={"level": ["中央"]})["total"] == \
        slice_searcher.search("", filters={"level": ["central"]})["total"] > 0


@pytest.mark.parametrize("bounds", [
    {"date_from": "2021-12-10"},
    {"date_to": "2021-12-09"},
    {"date_from": "2021-12-08", "date_to": "2021-12-22"},
    {"date_from": "2021-12", "date_to": "2021-12"},
    {"date_to": "2021-11"},
    {"written_from": "2021-12-01"},
    {"written_to": "2021-11-30", "date_from": "2021-12-01"},
])
def test_date_ranges(slice_searcher, slice_records, bounds):
    def inside(record):
        for key, value in bounds.items():
            field = "publish_date" if key.startswith("date") else "written_date"
            date = record.get(field)
            low = key.endswith("_from")
            if len(value) == 7:
                value = value + ("-01" if low else "-31")
            if not date or (date < value if low else date > value):
                return False
        return True

    result = slice_searcher.search("", filters=bounds, per_page=100)
    expected = {r["id"] for r in slice_records if inside(r)}
    assert {r["id"] for r in result["results"]} == expected
    assert result["total"] == len(expected)


def test_histogram_counts_months_and_marks_the_range(slice_searcher, slice_records):
    result = slice_searcher.search("", filters={"date_from": "2021-12-01"})
    expected = Counter(r["publish_date"][:7] for r in slice_records if r.get("publish_date"))
    assert {e["value"]: e["count"] for e in result["histogram"]} == dict(expected)
    for entry in result["histogram"]:
        assert entry["selected"] == (entry["value"] >= "2021-12")


@pytest.mark.parametrize("filters, message", [
    ({"date_from": "foo"}, "日期"),
    ({"date_from": "2021-13-01"}, "日期"),
    ({"date_from": "2021-02-30"}, "日期"),
    ({"date_from": "2021-12-20", "date_to": "2021-12-01"}, "晚于"),
    ({"colour": ["red"]}, "未知"),
    ({"region": 5}, "筛选"),
])
def test_unusable_filters_raise_a_query_error_in_chinese(slice_searcher, filters, message):
    with pytest.raises(QueryError, match=message):
        slice_searcher.search("冷链", filters=filters)


def test_unusable_sort_and_paging(slice_searcher):
    with pytest.raises(QueryError, match="排序"):
        slice_searcher.search("冷链", sort="best")
    with pytest.raises(QueryError):
        slice_searcher.search("冷链", page="abc")
    clamped = slice_searcher.search("冷链", page=-1, per_page=1_000_000)
    assert clamped["page"] == 1 and clamped["per_page"] == 100
    beyond = slice_searcher.search("冷链", page=999)
    assert beyond["results"] == [] and beyond["total"] > 0


@pytest.mark.parametrize("sort", ["newest", "oldest"])
def test_sort_by_date(slice_searcher, sort):
    results = slice_searcher.search("物流", sort=sort, per_page=100)["results"]
    dates = [r["publish_date"] for r in results if r["publish_date"]]
    assert dates == sorted(dates, reverse=(sort == "newest"))
    assert all(r["publish_date"] for r in results[:len(dates)])


@pytest.mark.parametrize("sort", ["relevance", "newest", "oldest"])
def test_pages_partition_the_ordered_hits(slice_searcher, sort):
    everything = hit_ids(slice_searcher, "发展", sort=sort)
    paged = []
    page = 1
    while True:
        result = slice_searcher.search("发展", sort=sort, page=page, per_page=4)
        if not result["results"]:
            break
        assert result["total"] == len(everything)
        paged += [r["id"] for r in result["results"]]
        page += 1
    assert paged == everything
    assert page - 1 == result["pages"]


# --------------------------------------------------------------------------- results and snippets

def strip_marks(fragment: str) -> str:
    assert re.sub(r"</?mark>", "", fragment).count("<") == 0, fragment
    return html.unescape(re.sub(r"</?mark>", "", fragment))


def shown(result: dict) -> dict:
    """A search response with each result's title and snippet as the pages show them (HTML)."""
    return {**result, "results": [with_html(r) for r in result["results"]]}


def highlight_text(searcher, id_or_record, query: str) -> list[str]:
    """A document's paragraphs as the document page shows them (HTML, matches marked)."""
    return [HtmlFormatter().format(p["text"], p["spans"]) for p in searcher.paragraphs(id_or_record, query)]


def test_result_shape(slice_searcher):
    result = shown(slice_searcher.search("冷链物流"))
    assert set(result) >= {"total", "page", "per_page", "took_ms", "explanation", "results", "facets", "histogram"}
    for hit in result["results"]:
        assert set(hit) >= {"id", "kind", "title", "doc_number", "bodies", "bodies_canonical", "level", "region",
                            "city", "publish_date", "written_date", "doc_type", "categories", "summary",
                            "snippet_html", "source_urls"}
    assert set(result["facets"]) == set(LISTED_FACETS)


def test_snippets_mark_the_matches_and_are_cut_from_the_text(slice_searcher, slice_records):
    by_id = {r["id"]: r for r in slice_records}
    result = shown(slice_searcher.search("冷链物流", per_page=100))
    assert result["results"]
    for hit in result["results"]:
        snippet = hit["snippet_html"]
        marked = re.findall(r"<mark>(.*?)</mark>", snippet)
        assert marked and all(squash(html.unescape(m)) == "冷链物流" for m in marked), snippet
        record = by_id[hit["id"]]
        source = (record.get("text") or "").replace("\n", " ")
        for piece in strip_marks(snippet).split("…"):
            assert piece.strip() in source or piece.strip() in (record.get("summary") or ""), piece


def test_word_fallback_marks_the_words(slice_searcher):
    result = shown(slice_searcher.search("数据中心 绿色"))
    assert result["results"]
    snippet = result["results"][0]["snippet_html"] + result["results"][0]["title_html"]
    assert "<mark>数据中心</mark>" in snippet


def test_everything_but_marks_is_escaped(tmp_path, slice_records, jieba_ready):
    record = dict(next(r for r in slice_records if r["id"] == "2021-12-l56"))
    record["text"] = "<script>alert(1)</script>冷链&物流<b>加粗</b>\n" + record["text"]
    record["title"] = "<img src=x onerror=alert(1)>" + record["title"]
    create_index(tmp_path, [record])
    searcher = Searcher(tmp_path)
    for query in ("冷链", "<script>", "alert", '<img src=x onerror=alert(1)>'):
        for hit in shown(searcher.search(query))["results"]:
            for value in (hit["snippet_html"], hit["title_html"]):
                assert "<script" not in value and "<img" not in value and "<b>" not in value
                strip_marks(value)
    paragraphs = highlight_text(searcher, record["id"], "alert")
    assert paragraphs[0].startswith("&lt;script&gt;<mark>alert</mark>(1)&lt;/script&gt;")
    searcher.close()


def test_highlight_text_keeps_every_paragraph(slice_searcher, slice_records):
    record = next(r for r in slice_records if r["id"] == "2021-12-l29")
    paragraphs = highlight_text(slice_searcher, "2021-12-l29", "保障性租赁住房")
    lines = [line for line in record["text"].split("\n") if line.strip()]
    assert [strip_marks(p) for p in paragraphs] == lines
    marks = [m for p in paragraphs for m in re.findall(r"<mark>(.*?)</mark>", p)]
    assert len(marks) == squash(record["text"]).count("保障性租赁住房")
    # A record given directly (not looked up) works the same.
    assert highlight_text(slice_searcher, record, "保障性租赁住房") == paragraphs
    assert highlight_text(slice_searcher, "no-such-id", "x") == []


def test_get_document_and_iter_results_return_full_records(slice_searcher, slice_records):
    by_id = {r["id"]: r for r in slice_records}
    assert slice_searcher.get_document("2021-12-c01") == by_id["2021-12-c01"]
    assert slice_searcher.get_document("2021-12-zz") is None
    exported = list(slice_searcher.iter_results("寄递", {"region": ["青海省", "江西省"]}, "oldest"))
    assert exported and all(r == by_id[r["id"]] for r in exported)


def test_more_like_this(slice_searcher):
    related = [r["id"] for r in slice_searcher.more_like_this("2021-12-l14", n=3)]
    assert "2021-12-l14" not in related
    assert related[0] == "2021-12-l48"  # the other 关于科学绿化的实施意见
    housing = [r["id"] for r in slice_searcher.more_like_this("2021-12-l29", n=3)]
    assert "2021-12-l10" in housing
    delivery = [r["id"] for r in slice_searcher.more_like_this("2021-12-l03", n=3)]
    assert {"2021-12-l43", "2021-12-l56"} & set(delivery[:2])
    assert slice_searcher.more_like_this("no-such-id") == []


def test_status(slice_searcher, slice_records, slice_index):
    info = slice_searcher.status()
    assert info["available"] and info["resources_match"]
    assert info["documents"] == dict(Counter(r["kind"] for r in slice_records))
    assert info["total"] == len(slice_records)
    assert info["index_path"] == str(Path(slice_index).resolve())
    assert info["index_resources_version"] == analysis.loaded_resources_version()
    assert info["reports"] == [{"report": "2021-12_基建PPP政策月报.txt", "documents": len(slice_records)}]


# --------------------------------------------------------------------------- index life cycle

def test_search_refuses_an_index_built_with_other_resources(tmp_path, slice_index):
    copy = tmp_path / "index"
    shutil.copytree(slice_index, copy)
    stamp = json.loads((copy / STAMP_FILE).read_text(encoding="utf-8"))
    stamp["resources_version"] = "0000000000000000"
    (copy / STAMP_FILE).write_text(json.dumps(stamp), encoding="utf-8")
    searcher = Searcher(copy)
    with pytest.raises(IndexUnavailable, match="重新建立索引"):
        searcher.search("冷链")
    info = searcher.status()
    assert info["resources_match"] is False and "重新建立索引" in info["error"]
    assert searcher.get_document("2021-12-c01")["id"] == "2021-12-c01"
    with pytest.raises(ResourcesMismatch):
        update_index(copy, [], ["2021-12-c01"])
    searcher.close()


def test_missing_index_is_reported(tmp_path):
    searcher = Searcher(tmp_path / "nothing")
    with pytest.raises(IndexUnavailable, match="没有找到索引"):
        searcher.search("冷链")
    assert searcher.status()["available"] is False


def test_generations_switch_per_call_and_a_pinned_call_stays(tmp_path, slice_records, jieba_ready):
    root = tmp_path / "root"
    create_index(root / "generations" / "g1", slice_records[:3])
    (root / "CURRENT").write_text("g1\n", encoding="utf-8")
    searcher = Searcher(root)
    assert searcher.search("")["total"] == 3
    assert searcher.status()["generation"] == "g1"
    pinned = searcher.acquire()

    create_index(root / "generations" / "g2", slice_records[:5])
    (root / "CURRENT.tmp").write_text("g2\n", encoding="utf-8")
    (root / "CURRENT.tmp").replace(root / "CURRENT")
    assert searcher.search("")["total"] == 5
    assert searcher.status()["generation"] == "g2"
    # A request that started on g1 finishes on it.
    assert pinned.search("")["total"] == 3
    assert pinned.get_document(slice_records[4]["id"]) is None
    pinned.release()
    with pytest.raises(IndexUnavailable):
        pinned.search("")
    (root / "CURRENT").write_text("missing\n", encoding="utf-8")
    with pytest.raises(IndexUnavailable, match="missing"):
        searcher.search("")
    searcher.close()


def test_update_index_in_place_is_seen_by_an_open_searcher(tmp_path, slice_records, jieba_ready):
    create_index(tmp_path, slice_records[:4])
    searcher = Searcher(tmp_path)
    assert searcher.search("")["total"] == 4
    changed = dict(slice_records[1], title="关于测试更新的通知")
    update_index(tmp_path, [changed, slice_records[5], slice_records[6]], [slice_records[0]["id"]])
    assert searcher.search("")["total"] == 5
    assert searcher.get_document(slice_records[0]["id"]) is None
    assert hits(searcher, "测试更新") == {changed["id"]}
    searcher.close()


def test_create_index_rejects_duplicate_ids(tmp_path, slice_records, jieba_ready):
    from indexer.indexing import IndexingError

    with pytest.raises(IndexingError, match="重复"):
        create_index(tmp_path, [slice_records[0], slice_records[0]])


# --------------------------------------------------------------------------- CLI

def test_cli_search(slice_index):
    from click.testing import CliRunner

    from search_app.cli import main

    runner = CliRunner()
    done = runner.invoke(main, ["search", "--index-dir", str(slice_index), "冷链物流", "--per-page", "2"])
    assert done.exit_code == 0, done.output
    assert "1. 关于印发“十四五”【冷链物流】发展规划的通知  [2021-12-c01]" in done.output

    done = runner.invoke(main, ["search", "--index-dir", str(slice_index), "寄递", "--region", "青海",
                                "--json"])
    assert done.exit_code == 0
    data = json.loads(done.output)
    assert [r["region"] for r in data["results"]] == ["青海省"]

    done = runner.invoke(main, ["search", "--index-dir", str(slice_index), "x", "--from", "someday"])
    assert done.exit_code == 2
    assert done.stderr.count("\n") == 1 and "日期" in done.stderr

    done = runner.invoke(main, ["search", "--index-dir", str(slice_index) + "-missing", "x"])
    assert done.exit_code == 1 and done.stderr.count("\n") == 1


def test_parse_query_explains_itself():
    plan = parse_query('标题:规划 "绿色低碳" -冷链 人社部')
    terms = plan.explanation["terms"]
    assert [t["text"] for t in terms] == ["规划", "绿色低碳", "冷链", "人社部"]
    assert terms[0]["fields"] == ["title"]
    assert terms[1]["mode"] == "exact"
    assert terms[2].get("negated") is True
    assert plan.explanation["expansions"][0]["term"] == "人社部"


def test_cites_filter_accepts_any_name_of_the_parent(slice_searcher, slice_records):
    citing = [r for r in slice_records if r.get("cites")]
    assert citing, "the slice has documents that cite others"
    link = citing[0]["cites"][0]
    expected = {r["id"] for r in slice_records if link["key"] in {x["key"] for x in r.get("cites") or []}}
    names = [n for n in (link["key"], link.get("target_id"), link.get("doc_number"), link.get("title")) if n]
    assert len(names) >= 2
    for name in names:
        assert hits(slice_searcher, "", {"cites": [name]}) == expected, name


def test_export_checks_arguments_at_once_and_reads_one_generation(tmp_path, slice_records, monkeypatch,
                                                                  jieba_ready):
    from search_app import settings

    monkeypatch.setitem(settings.DEFAULTS, "export_batch", 2)
    root = tmp_path / "root"
    create_index(root / "generations" / "g1", slice_records[:5])
    (root / "CURRENT").write_text("g1\n", encoding="utf-8")
    searcher = Searcher(root)
    with pytest.raises(QueryError):
        searcher.iter_results("冷链", {"date_from": "bad"})  # before any record is read
    export = searcher.iter_results("")
    first = next(export)
    create_index(root / "generations" / "g2", slice_records[5:8])
    (root / "CURRENT").write_text("g2\n", encoding="utf-8")
    assert searcher.search("")["total"] == 3
    rest = list(export)
    assert len(rest) + 1 == 5
    assert {r["id"] for r in [first, *rest]} == {r["id"] for r in slice_records[:5]}
    searcher.close()


def test_ranking_is_one_order_across_pages_filters_and_repeats(full_searcher):
    # Scores are computed once per query and generation; paging, filtering and asking
    # again must show the same relevance order as one long page.
    query = "基础设施 投资"
    whole = [r["id"] for r in full_searcher.search(query, per_page=100)["results"]]
    paged = []
    for page in range(1, 4):
        paged += [r["id"] for r in full_searcher.search(query, page=page, per_page=7)["results"]]
    assert paged == whole[:len(paged)] and len(paged) == min(21, len(whole))
    # (Few central documents hold both words: those holding one follow, marked partial.)
    central = [r for r in full_searcher.search(query, {"level": ["central"]}, per_page=100)["results"]
               if r["match"] == "full"]
    by_id = {r["id"]: r for r in full_searcher.search(query, per_page=100)["results"]}
    assert [r["id"] for r in central] == [i for i in whole if by_id[i]["level"] == "central"]
    again = full_searcher.search(query, per_page=100)["results"]
    assert [(r["id"], r["score"]) for r in again] == [(i, by_id[i]["score"]) for i in whole]
    scores = [r["score"] for r in again]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("query", ["养老服务", "新型城镇化", "碳中和", "数字经济"])
def test_a_one_sentence_activity_does_not_outrank_the_policies(full_searcher, query):
    results = full_searcher.search(query, per_page=10)["results"]
    assert results[0]["kind"] == "policy", [r["id"] for r in results]
    # still found, further down
    assert any(r["kind"] == "activity" for r in results)


def test_snippet_of_a_word_found_hundreds_of_times(slice_searcher, slice_records):
    """The snippet is chosen among a word's first occurrences; the document view
    still marks every one of them."""
    from search_app.settings import setting

    SNIPPET_MATCHES_PER_WORD = setting("snippet_matches_per_word")
    record = max(slice_records, key=lambda r: squash(r.get("text") or "").count("发展"))
    count = squash(record["text"]).count("发展")
    assert count > 2 * SNIPPET_MATCHES_PER_WORD
    result = next(r for r in shown(slice_searcher.search("发展", per_page=100))["results"] if r["id"] == record["id"])
    assert "<mark>发展</mark>" in result["snippet_html"]
    marks = sum(p.count("<mark>") for p in highlight_text(slice_searcher, record["id"], "发展"))
    assert marks == count
