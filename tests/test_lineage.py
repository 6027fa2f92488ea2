"""indexer.lineage on the real report: references found in the texts, resolved across the corpus."""
from __future__ import annotations

import functools
import json
import re

import pytest

from indexer.lineage import (
    annotate, cite_keys, cited_by, cited_by_region, extract_references, filter_key, lineage_summary,
    link_keys, lookup, resolve_references, siblings, title_key,
)
from indexer.parse import parse_report
from indexer.readers import read_report
from tests.report_slices import REPORT
from tests.web_support import (  # noqa: F401 - fixtures
    client, indexed, parse_html, squeeze, web_app, web_index, web_records,
)

GREENING = "国办发〔2021〕19号"
GREENING_TITLE = "国务院办公厅关于科学绿化的指导意见"
RURAL_DELIVERY = "国办发〔2021〕29号"
RURAL_DELIVERY_TITLE = "国务院办公厅关于加快农村寄递物流体系建设的意见"


@functools.cache
def records() -> tuple[dict, ...]:
    return tuple(parse_report(read_report(REPORT), REPORT.name).records)


@functools.cache
def lineage() -> dict:
    return resolve_references(list(records()))


def record(record_id: str) -> dict:
    return next(r for r in records() if r["id"] == record_id)


def local(region: str, title_part: str) -> dict:
    (found,) = [r for r in records() if r.get("region") == region and title_part in r["title"]]
    return found


def refs_of(r: dict) -> list[dict]:
    own_title = r["title"] if r["kind"] != "interpretation" else None
    return extract_references(r["text"], title=own_title, doc_number=r.get("doc_number"))


# A scan that shares nothing with the module under test: fold every bracket variant and all
# whitespace, then look for the 文号 or the title as a plain substring.
_FOLD = str.maketrans({c: "〔" for c in "[［﹝【(（{｛"} | {c: "〕" for c in "]］﹞】)）}｝"})


def scan(text: str) -> str:
    return re.sub(r"\s+", "", text).translate(_FOLD)


def scanned_citers(doc_number: str, titles: set[str]) -> set[str]:
    hits = set()
    for r in records():
        if doc_number == r.get("doc_number"):
            continue
        folded = scan(r["text"])
        if doc_number in folded or any(f"《{t}》" in folded for t in titles):
            hits.add(r["id"])
    return hits


# --------------------------------------------------------------------------- extraction


def test_greening_documents_implement_the_state_council_opinion():
    for region in ("云南省", "内蒙古自治区", "广东省"):
        doc = local(region, "科学绿化")
        (ref,) = [x for x in refs_of(doc) if x["doc_number"] == GREENING]
        assert ref["title"] == GREENING_TITLE
        assert ref["relation"] == "implements"
        assert "落实" in ref["phrase"] and GREENING_TITLE in ref["phrase"]
        assert doc["text"][ref["offset"]] == "《"
        assert doc["text"][ref["offset"] + 1:].startswith(GREENING_TITLE)


@pytest.mark.parametrize("variant", [
    "国办发〔2021〕19号", "国办发[2021]19 号", "国办发［2021］19号", "国办发（2021）19号",
    "国办发(2021)19号", "国办发﹝2021﹞19号", "国办发【2021】19号", "国办发 〔2021〕 19 号",
    "国办发〔２０２１〕１９号",
])
def test_bracket_and_spacing_variants_normalise_alike(variant):
    doc = local("云南省", "科学绿化")
    text = doc["text"].replace("国办发〔2021〕19号", variant)
    assert text != doc["text"] or variant == "国办发〔2021〕19号"
    (ref,) = [x for x in extract_references(text, title=doc["title"], doc_number=doc["doc_number"])
              if x["doc_number"] == GREENING]
    assert ref["title"] == GREENING_TITLE
    assert ref["relation"] == "implements"


def test_bare_doc_number_in_running_text_keeps_only_its_agency_code():
    text = ("为贯彻落实国办发[2021]29 号文件精神，根据发改环资〔2021〕1650号和宁政发﹝2021﹞60号要求，"
            "制定本方案。")
    refs = extract_references(text)
    assert [r["doc_number"] for r in refs] == ["国办发〔2021〕29号", "发改环资〔2021〕1650号", "宁政发〔2021〕60号"]
    assert all(r["title"] is None and r["relation"] == "implements" for r in refs)
    assert [text[r["offset"]] for r in refs] == ["国", "发", "宁"]


def test_laws_and_plans_in_book_title_marks_are_references():
    refs = refs_of(local("宁夏回族自治区", "就业促进"))
    titles = {r["title"]: r for r in refs}
    assert titles["优化营商环境条例"]["relation"] == "implements"
    law = [r for doc in records() for r in refs_of(doc) if r["title"] == "中华人民共和国预算法"]
    assert law and all(r["doc_number"] is None for r in law)


def test_doc_number_after_the_notice_of_an_attachment():
    # 按照财政部关于印发《…操作指引》的通知（财金〔2020〕13号）: one reference, with its 文号.
    doc = next(r for r in records() if "财金〔2020〕13号" in scan(r["text"]))
    refs = [r for r in refs_of(doc) if r["doc_number"] == "财金〔2020〕13号"]
    assert len(refs) == 1 and refs[0]["title"] == "政府和社会资本合作（PPP）项目绩效管理操作指引"


def test_abbreviations_and_generic_short_names_are_not_references():
    for doc in records():
        for ref in refs_of(doc):
            assert ref["title"] not in {"规划", "意见", "通知", "实施意见", "方案", "纲要"}
    # （以下简称《规划》） declares a short name for the document the sentence issues.
    doc = next(r for r in records() if "以下简称《规划》" in r["text"])
    assert all(ref["title"] != "规划" for ref in refs_of(doc))


def test_own_title_and_doc_number_are_not_references():
    doc = local("天津市", "外贸新业态")
    assert "《天津市人民政府办公厅关于印发天津市加快发展外贸新业态新模式若干措施的通知》" in doc["text"]
    refs = refs_of(doc)
    assert all(title_key(r["title"]) != title_key(doc["title"]) or r["relation"] == "issues" for r in refs)
    assert not any("人民政府办公厅关于印发天津市加快发展外贸" in (r["title"] or "") for r in refs)
    own = f"本方案（{doc['doc_number']}）自印发之日起施行。"
    assert extract_references(own, title=doc["title"], doc_number=doc["doc_number"]) == []
    assert [r["doc_number"] for r in extract_references(own)] == [doc["doc_number"]]


def test_issued_attachments_are_classified_issues():
    doc = record("2021-12-c14")
    assert doc["title"] == "关于印发《数字交通“十四五”发展规划》的通知"
    (ref,) = [r for r in refs_of(doc) if r["title"] == "数字交通“十四五”发展规划"]
    assert ref["relation"] == "issues"
    # 现将《A》《B》等…印发给你们: every title of the list is issued.
    doc = next(r for r in records() if "现将《重点区域生态保护和修复" in r["text"])
    issued = [r for r in refs_of(doc) if r["relation"] == "issues"]
    assert {r["title"] for r in issued} == {"重点区域生态保护和修复中央预算内投资专项管理办法",
                                            "生态保护和修复支撑体系中央预算内投资专项管理办法"}
    # 组织编制了《…方案》（见附件）。
    doc = next(r for r in records() if "《气候投融资试点工作方案》（见附件）" in r["text"])
    (ref,) = [r for r in refs_of(doc) if r["title"] == "气候投融资试点工作方案"]
    assert ref["relation"] == "issues"


def test_relation_words_reach_only_their_own_clause():
    text = ("为深入贯彻落实《甲规划》（国办发〔2021〕1号，以下简称《规划》）和《乙办法》精神，"
            "结合实际，编制《丙方案》，现印发给你们。《丁条例》解读。解读《戊纲要》。《己名录》所列树种。")
    got = {r["title"] or r["doc_number"]: r["relation"] for r in extract_references(text)}
    assert got == {"甲规划": "implements", "乙办法": "implements", "丙方案": "issues",
                   "丁条例": "interprets", "戊纲要": "interprets", "己名录": "cites"}


def test_every_reference_points_into_its_text():
    for doc in records():
        for ref in refs_of(doc):
            at = doc["text"][ref["offset"]:]
            if ref["title"] is not None:
                assert at.startswith("《")
                assert title_key(ref["title"]) == title_key(at[1:at.index("》")])
            else:
                assert scan(at).startswith(ref["doc_number"][:ref["doc_number"].index("〔")])
            assert 0 < len(ref["phrase"]) <= len(ref["title"] or "") + 90
            assert ref["relation"] in {"implements", "issues", "interprets", "cites"}


# --------------------------------------------------------------------------- resolution


def test_cited_by_of_a_parent_outside_the_corpus():
    lin = lineage()
    parent = lin["parents"][GREENING]
    assert parent["target_id"] is None and parent["title"] == GREENING_TITLE
    citing = lin["cited_by"][GREENING]
    assert {c["region"] for c in citing} >= {"云南省", "内蒙古自治区", "广东省"}
    assert all(c["relation"] == "implements" for c in citing)
    assert {c["id"] for c in citing} == scanned_citers(GREENING, {GREENING_TITLE})


def test_several_provinces_implement_the_rural_delivery_opinion():
    citing = cited_by(lineage(), "国办发[2021]29 号")
    assert len({c["region"] for c in citing}) >= 2
    assert all(c["relation"] == "implements" for c in citing)
    assert {c["id"] for c in citing} == scanned_citers(RURAL_DELIVERY, {RURAL_DELIVERY_TITLE})
    groups = cited_by_region(lineage(), RURAL_DELIVERY_TITLE)
    assert sum(len(v) for v in groups.values()) == len(citing)
    assert all(e["region"] == region for region, entries in groups.items() for e in entries)


def test_cited_by_agrees_with_a_direct_scan_for_every_doc_number():
    lin = lineage()
    numbered = [p for p in lin["parents"].values() if p["doc_number"]]
    assert len(numbered) >= 20
    for parent in numbered:
        titles = {c["title"] for r in records() for c in lin["cites"][r["id"]]
                  if c["key"] == parent["key"] and c["title"]}
        if parent["target_id"]:
            continue
        expected = scanned_citers(parent["doc_number"], {t for t in titles})
        assert {c["id"] for c in lin["cited_by"][parent["key"]]} == expected, parent["key"]


def test_a_title_cited_with_its_doc_number_once_is_keyed_by_it_everywhere():
    lin = lineage()
    # 宁夏's plans name the region's 十四五 纲要 sometimes with 宁政发〔2021〕1号, sometimes without.
    citing = lin["cited_by"]["宁政发〔2021〕1号"]
    assert len(citing) >= 2
    assert {c["region"] for c in citing} == {"宁夏回族自治区"}
    for r in records():
        keys = [c["key"] for c in lin["cites"][r["id"]]]
        assert len(keys) == len(set(keys))


def test_a_reference_to_an_indexed_document_resolves_to_it():
    lin = lineage()
    plan = local("江西省", "综合交通运输体系")
    citing = lin["cited_by"][plan["id"]]
    assert citing and all(c["id"] != plan["id"] for c in citing)
    for c in citing:
        (link,) = [x for x in lin["cites"][c["id"]] if x["key"] == plan["id"]]
        assert link["target_id"] == plan["id"]
        assert link["doc_number"] == plan["doc_number"]
    assert lookup(lin, plan["doc_number"]) == plan["id"]


def test_interpretations_link_to_their_policies():
    lin = lineage()
    interpretations = [r for r in records() if r["kind"] == "interpretation"]
    assert interpretations
    for r in interpretations:
        (link,) = [x for x in lin["cites"][r["id"]] if x["target_id"] == r["interprets"]]
        assert link["relation"] == "interprets"
        assert any(e["id"] == r["id"] and e["relation"] == "interprets"
                   for e in lin["cited_by"][r["interprets"]])


def test_no_document_cites_itself_or_its_own_attachment():
    lin = lineage()
    for r in records():
        own = {title_key(t) for t in lin["attachments"].get(r["id"], [])}
        for link in lin["cites"][r["id"]]:
            assert link["target_id"] != r["id"]
            assert link["key"] not in (r["id"], r.get("doc_number"))
            assert title_key(link["title"]) not in own
    # The attachment a record issues names that record.
    doc = record("2021-12-c14")
    assert "数字交通“十四五”发展规划" in lin["attachments"][doc["id"]]
    assert lookup(lin, "《数字交通“十四五”发展规划》") == doc["id"]


def with_citing(*texts, region="云南省"):
    extra = [{"id": f"test-{i}", "kind": "policy", "level": "local", "region": region,
              "title": f"关于测试事项{i}的通知", "doc_number": None, "text": t}
             for i, t in enumerate(texts)]
    return resolve_references(list(records()) + extra), [e["id"] for e in extra]


def test_bracket_variants_resolve_to_the_same_indexed_document():
    target = local("云南省", "科学绿化")
    number = target["doc_number"]
    agency, rest = number.split("〔")
    year, serial = rest.rstrip("号").split("〕")
    variants = [f"根据{agency}[{year}]{serial} 号文件", f"按照{agency}（{year}）{serial}号要求",
                f"参照{agency}﹝{year}﹞{serial}号", f"执行{agency} 【{year}】 {serial} 号", f"见{number}"]
    lin, ids = with_citing(*variants, region="福建省")
    for i in ids:
        assert [x["target_id"] for x in lin["cites"][i]] == [target["id"]]
    assert {c["id"] for c in lin["cited_by"][target["id"]]} >= set(ids)


def test_a_title_shared_by_several_provinces_resolves_only_when_it_can():
    greening = {r["region"]: r["id"] for r in records() if r["title"] == "关于科学绿化的实施意见"}
    assert len(greening) == 3
    lin, (bare_fujian,) = with_citing("落实《关于科学绿化的实施意见》要求。", region="福建省")
    assert lin["cites"][bare_fujian][0]["target_id"] is None
    lin, (bare_yunnan,) = with_citing("落实《关于科学绿化的实施意见》要求。", region="云南省")
    assert lin["cites"][bare_yunnan][0]["target_id"] == greening["云南省"]
    lin, (named,) = with_citing("落实《广东省人民政府办公厅关于科学绿化的实施意见》要求。", region="福建省")
    assert lin["cites"][named][0]["target_id"] == greening["广东省"]


def test_siblings_are_the_other_implementations_of_a_parent():
    doc = local("云南省", "科学绿化")
    groups = siblings(lineage(), doc["id"])
    (greening,) = [g for g in groups if g["parent"]["key"] == GREENING]
    regions = {d["region"] for d in greening["documents"]}
    assert regions >= {"内蒙古自治区", "广东省"} and doc["id"] not in {d["id"] for d in greening["documents"]}
    assert all(d["relation"] == "implements" for g in groups for d in g["documents"])


def test_cites_filter_keys():
    lin = lineage()
    doc = local("广东省", "科学绿化")
    keys = cite_keys(lin, doc["id"])
    assert GREENING in keys and title_key(GREENING_TITLE) in keys
    for value in ("国办发[2021]19 号", "国办发（2021）19号", f"《{GREENING_TITLE}》"):
        assert lookup(lin, value) == GREENING
        assert filter_key(value) in keys
    assert filter_key("2021-12-l14") == "2021-12-l14"
    assert filter_key("  ") is None and lookup(lin, "no such document") is None
    # Every document the filter finds by key is one cited_by lists, and the other way.
    filtered = {r["id"] for r in records() if filter_key("国办发[2021]19号") in cite_keys(lin, r["id"])}
    assert filtered == {c["id"] for c in cited_by(lin, GREENING)}


def test_summary_counts_add_up():
    lin = lineage()
    summary = lineage_summary(lin)
    assert summary["references_found"] == sum(len(refs_of(r)) for r in records())
    links = [x for r in records() for x in lin["cites"][r["id"]]]
    assert summary["links"] == len(links)
    assert summary["resolved"] == sum(1 for x in links if x["target_id"])
    assert summary["resolved"] + summary["unresolved"] == summary["links"]
    assert summary["resolved"] >= 4 and summary["unresolved"] > summary["resolved"]
    assert sum(summary["by_relation"].values()) == summary["links"]
    for key, parent in lin["parents"].items():
        assert parent["cited_by_count"] == len(lin["cited_by"][key])


def test_interpretation_without_its_policy_id_links_by_title():
    policy = record("2021-12-c14")
    extra = [
        {"id": "test-int", "kind": "interpretation", "interprets": None,
         "title": f"交通运输部{policy['title']}", "text": "【政策提要】规划指出：加快建设交通强国。"},
        {"id": "test-labelled", "kind": "policy", "level": "central", "labels": ["解读"],
         "title": policy["title"], "doc_number": None, "text": "解读文章。"},
    ]
    for one in extra:
        lin = resolve_references(list(records()) + [one])
        (link,) = lin["cites"][one["id"]]
        assert link["target_id"] == policy["id"] and link["relation"] == "interprets"
    # Labelled 解读 in this report, the documents carry their own text: no link to themselves.
    labelled = [r for r in records() if "解读" in (r.get("labels") or [])]
    assert labelled
    for r in labelled:
        assert all(link["relation"] != "interprets" for link in lineage()["cites"][r["id"]])


def test_annotated_records_carry_their_links():
    lin = lineage()
    annotated = {r["id"]: r for r in annotate(list(records()), lin)}
    assert set(annotated) == {r["id"] for r in records()}
    assert all("cites" not in r for r in records())
    yunnan = annotated[local("云南省", "科学绿化")["id"]]
    assert GREENING in link_keys(yunnan["cites"])
    assert link_keys(yunnan["cites"]) == cite_keys(lin, yunnan["id"])
    assert {d["region"] for g in yunnan["siblings"] for d in g["documents"]} >= {"内蒙古自治区", "广东省"}
    plan = annotated[local("江西省", "综合交通运输体系")["id"]]
    assert [c["id"] for c in plan["cited_by"]] == [c["id"] for c in lin["cited_by"][plan["id"]]]
    # Annotating again from scratch gives the same links.
    assert annotate(list(records())) == list(annotated.values())


# --------------------------------------------------------------------------- in the index and on the pages
# The web tests' index: a real build (lineage included) of a slice of the report's records.


def api(client, path, **params):
    response = client.get(path, query_string=params)
    assert response.status_code == 200, response.data[:300]
    return response.get_json()


def indexed_citers(indexed, doc_number, title):
    return {i for i, r in indexed.items()
            if doc_number in scan(r["text"]) or f"《{title}》" in scan(r["text"])}


def test_cites_filter_agrees_with_a_direct_scan_of_the_indexed_texts(client, indexed):
    expected = indexed_citers(indexed, GREENING, GREENING_TITLE)
    assert {indexed[i]["region"] for i in expected} == {"云南省", "内蒙古自治区", "广东省"}
    for value in (GREENING, "国办发[2021]19 号", "国办发（2021）19号", GREENING_TITLE, f"《{GREENING_TITLE}》"):
        data = api(client, "/api/search", cites=value, per_page=100)
        assert {r["id"] for r in data["results"]} == expected, value
    expected = indexed_citers(indexed, RURAL_DELIVERY, RURAL_DELIVERY_TITLE)
    assert len({indexed[i]["region"] for i in expected}) >= 2
    data = api(client, "/api/search", cites="国办发﹝2021﹞29号", per_page=100)
    assert {r["id"] for r in data["results"]} == expected


def test_cites_facet_counts_the_parents_of_the_hits(client, indexed):
    data = api(client, "/api/search", q="绿化", per_page=100)
    hits = {r["id"] for r in data["results"]}
    counts = {e["value"]: e["count"] for e in data["facets"]["cites"]}
    assert counts[GREENING] == len(hits & indexed_citers(indexed, GREENING, GREENING_TITLE)) == 3
    assert max(counts.values()) == counts[GREENING]
    # A parent is labelled as the documents name it, in the API and in the sidebar.
    label = next(e["label"] for e in data["facets"]["cites"] if e["value"] == GREENING)
    assert label == f"{GREENING_TITLE}（{GREENING}）"
    sidebar = parse_html(client.get("/", query_string={"q": "绿化"}).data).find("fieldset", data_facet="cites")
    box = next(b for b in sidebar.find_all("label", cls="facet-value") if b.find("input").attrs["value"] == GREENING)
    assert squeeze(box.find("span", cls="facet-name").text()) == label


def test_document_api_returns_cites_and_cited_by(client, indexed):
    doc = api(client, "/api/documents/2021-12-l14")
    (link,) = [c for c in doc["cites"] if c["key"] == GREENING]
    assert link["relation"] == "implements" and link["title"] == GREENING_TITLE and link["target_id"] is None
    assert doc["cited_by"] == []
    policy = api(client, "/api/documents/2021-12-c01")
    assert [(e["id"], e["relation"]) for e in policy["cited_by"]] == [("2021-12-int1", "interprets")]


def test_document_page_shows_what_it_cites_its_siblings_and_who_cites_it(client):
    doc = parse_html(client.get("/doc/2021-12-l14").data)
    lineage = doc.find("section", cls="lineage")
    text = squeeze(lineage.text())
    assert "本文件引用" in text and GREENING_TITLE in text and GREENING in text
    phrase = next(q for q in lineage.find_all("q", cls="relation-phrase") if GREENING_TITLE in q.text())
    assert "贯彻落实" in phrase.text()
    links = [a.attrs["href"] for a in lineage.find_all("a")]
    assert "/doc/2021-12-l48" in links and "/doc/2021-12-l49" in links
    # The link to every document citing the parent runs the cites filter.
    item = next(li for li in lineage.find_all("li") if GREENING_TITLE in li.text())
    results = parse_html(client.get(item.find("a", cls="relation-others").attrs["href"]).data)
    found = {a.attrs["href"].rsplit("/", 1)[-1] for li in results.find_all("li", cls="result")
             for a in [li.find("h2").find("a")]}
    assert found == {"2021-12-l14", "2021-12-l48", "2021-12-l49"}
    # Cited by, grouped by region: the interpretation of the report's section 3.1 is central.
    doc = parse_html(client.get("/doc/2021-12-c01").data)
    lineage = doc.find("section", cls="lineage")
    assert "被引用" in lineage.text()
    assert [squeeze(h.text()) for h in lineage.find_all("h4", cls="relation-region")] == ["中央（1）"]
    assert "/doc/2021-12-int1" in [a.attrs["href"] for a in lineage.find_all("a")]


def test_derived_fields_come_back_from_the_compact_table():
    # A build indexes records without cited_by and siblings and keeps the table of
    # citations beside the index; reading a record back gives exactly what annotate gives.
    from indexer.lineage import DERIVED_FIELDS, derived_table, with_derived, without_derived

    lin = lineage()
    annotated = annotate(list(records()), lin)
    table = json.loads(json.dumps(derived_table(lin), ensure_ascii=False))  # as written to disk
    for r in annotated:
        own = without_derived(r)
        assert not set(DERIVED_FIELDS) & set(own)
        assert with_derived(own, table) == r
    assert any(r["siblings"] for r in annotated) and any(r["cited_by"] for r in annotated)
    # the table grows with the links, not with the square of the siblings
    links = sum(len(v) for v in lin["cited_by"].values())
    assert sum(len(v) for v in table["cited_by"].values()) == links
