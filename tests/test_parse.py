"""The parser on the real report: counts, and exact fields for documents that cover every
kind of error the source contains."""
from __future__ import annotations

from pathlib import Path

import pytest

from indexer.parse import NotAReport, parse_report

REPORT = Path(__file__).resolve().parent.parent / "data" / "reports" / "2021-12_基建PPP政策月报.txt"


@pytest.fixture(scope="module")
def parsed():
    return parse_report(REPORT.read_text(encoding="utf-8"), REPORT.name)


@pytest.fixture(scope="module")
def by_id(parsed):
    return {r["id"]: r for r in parsed.records}


def test_record_counts(parsed):
    kinds = [r["kind"] for r in parsed.records]
    policies = [r for r in parsed.records if r["kind"] == "policy"]
    assert len(policies) == 78
    assert sum(p["level"] == "central" for p in policies) == 18
    assert sum(p["level"] == "local" for p in policies) == 60
    assert kinds.count("interpretation") == 3
    # 16 rows of table 2.3, plus the 1.2 bullets that retell no row
    table_activities = [r for r in parsed.records if r["kind"] == "activity" and r["publish_date"]]
    assert len(table_activities) == 16
    assert kinds.count("activity") > 16


def test_every_table_row_merges_into_an_appendix_document(parsed):
    assert parsed.table_rows_total == 76
    assert parsed.table_rows_merged == 76
    policies = [r for r in parsed.records if r["kind"] == "policy"]
    with_row = [p for p in policies if p["summary"]]
    assert len(with_row) == 76
    # no duplicate records: ids and (level, seq) are unique
    assert len({p["id"] for p in policies}) == 78
    assert len({(p["level"], p["seq"]) for p in policies}) == 78


def test_every_local_document_has_a_region_and_central_none(parsed):
    for p in parsed.records:
        if p["kind"] != "policy":
            continue
        if p["level"] == "local":
            assert p["region"], p["id"]
        else:
            assert p["region"] is None and p["city"] is None


def test_ids_are_stable(parsed):
    again = parse_report(REPORT.read_text(encoding="utf-8"), REPORT.name)
    assert [r["id"] for r in again.records] == [r["id"] for r in parsed.records]


def test_cold_chain_plan(by_id):
    p = by_id["2021-12-c01"]
    assert p["title"] == "关于印发“十四五”冷链物流发展规划的通知"
    assert p["doc_number"] == "国办发〔2021〕46号"
    assert p["doc_number_parts"] == {"agency": "国办发", "year": 2021, "serial": 46}
    assert p["bodies"] == ["国务院办公厅"]
    # 国务院办公厅 rolls up to 国务院 like every other 办公厅
    assert p["bodies_canonical"] == ["国务院"]
    assert p["publish_date"] == "2021-12-12"
    assert p["written_date"] == "2021-11-26"
    assert p["doc_type"] == "规划"
    assert p["categories"] == ["冷链", "物流"]
    assert p["summary"].startswith("为充分发挥冷链物流对促进消费")
    assert "http://www.gov.cn/zhengce/content/2021-12/12/content_5660244.htm" in p["source_urls"]
    # page artifacts gone, artifact spaces gone, paragraphs rejoined
    assert "明树数据" not in p["text"]
    assert "http" not in p["text"]
    assert "3800亿元，冷库库容近1.8亿立方米" in p["text"]
    assert "2021 年" not in p["text"]


def test_doc_number_printed_in_bodies_field(by_id, parsed):
    c4, c6, c8 = by_id["2021-12-c04"], by_id["2021-12-c06"], by_id["2021-12-c08"]
    assert c4["doc_number"] == "发改农经规〔2021〕1728号"
    assert c4["bodies"] == ["国家发展改革委"]
    assert c4["bodies_canonical"] == ["国家发展和改革委员会"]
    assert c6["doc_number"] == "财预〔2021〕168号"
    assert c6["bodies"] == ["财政部"]
    # the 文号 printed for all three stays only where it fits, flagged
    assert c8["doc_number"] == "工信部联财〔2021〕159号"
    assert c8["flags"]
    problems = " ".join(a["problem"] for a in parsed.anomalies)
    assert "central #4: 发布部门 holds a 文号" in problems
    assert "printed for 3 documents" in problems


def test_wrapped_bodies_are_rejoined_and_split(by_id):
    c10 = by_id["2021-12-c10"]
    assert c10["bodies"][-2:] == ["气象局", "林草局"]
    assert "国家林业和草原局" in c10["bodies_canonical"]
    c11 = by_id["2021-12-c11"]
    assert len(c11["bodies"]) == 18
    assert "住房和城乡建设部" in c11["bodies"]
    assert "中华全国供销合作总社" in c11["bodies"]
    c13 = by_id["2021-12-c13"]
    assert "住房城乡建设部办公厅" in c13["bodies"]
    # 办公厅 / 办公室 roll up to the parent agency
    assert "住房和城乡建设部" in c13["bodies_canonical"]
    assert "国家机关事务管理局" in c13["bodies_canonical"]
    c18 = by_id["2021-12-c18"]
    assert c18["bodies"][-1] == "海关总署"  # 等 dropped


def test_metadata_interrupted_by_urls_and_out_of_order(by_id):
    c15 = by_id["2021-12-c15"]
    assert c15["written_date"] == "2021-12-22"
    assert c15["doc_number"] == "国办发〔2021〕52号"
    l11 = by_id["2021-12-l11"]  # 文号 printed before 发布部门
    assert l11["doc_number"] == "甘政办发〔2021〕105号"
    assert l11["bodies"] == ["甘肃省人民政府办公厅"]


def test_title_interrupted_by_page_break(by_id):
    l02 = by_id["2021-12-l02"]
    assert l02["title"] == "关于促进特色小镇规范健康发展的通知"
    assert l02["bodies"] == ["福建省发展和改革委员会"]
    assert l02["doc_number"] == "闽发改规划〔2021〕712号"


def test_region_inferred_from_doc_number(by_id, parsed):
    l07 = by_id["2021-12-l07"]
    assert l07["bodies"] == ["自治区人民政府"]
    assert l07["region"] == "宁夏回族自治区"
    assert l07["bodies_canonical"] == ["宁夏回族自治区人民政府"]
    l38 = by_id["2021-12-l38"]
    assert l38["region"] == "宁夏回族自治区"
    assert l38["bodies_canonical"] == ["宁夏回族自治区人民政府"]


def test_misspelt_body_is_corrected(by_id):
    l19 = by_id["2021-12-l19"]
    assert l19["bodies"] == ["天津市人民政府办公厅"]
    assert l19["region"] == "天津市"


def test_city_documents(by_id):
    l26 = by_id["2021-12-l26"]
    assert l26["doc_number"] is None
    assert l26["bodies"] == ["广州市地方金融监管局", "广州市应急管理局"]
    assert l26["region"] == "广东省" and l26["city"] == "广州市"
    assert l26["doc_type"] == "预案"
    l51 = by_id["2021-12-l51"]
    assert l51["doc_number"] == "穗府规〔2021〕8号"
    assert l51["city"] == "广州市"


def test_title_cut_short_is_completed(by_id):
    l31 = by_id["2021-12-l31"]
    assert l31["title"] == "关于印发江苏省制造业智能化改造和数字化转型三年行动计划（2022－2024年）的通知"
    assert l31["doc_type"] == "计划"


def test_parenthesised_doc_number_and_local_categories(by_id):
    l05 = by_id["2021-12-l05"]
    assert l05["doc_number"] == "桂政办发〔2021〕121号"
    assert l05["region"] == "广西壮族自治区"
    assert by_id["2021-12-l07"]["categories"] == ["财政金融"]
    assert by_id["2021-12-l10"]["categories"] == ["行业", "保障性安居工程"]
    assert by_id["2021-12-l36"]["categories"] == ["PPP模式"]


def test_duplicate_titles_match_their_own_table_rows(by_id):
    # three 关于科学绿化的实施意见: each gets the row of its own province
    assert "云南" in by_id["2021-12-l14"]["source_urls"][0] or "yn.gov.cn" in by_id["2021-12-l14"]["source_urls"][0]
    assert "nmg.gov.cn" in by_id["2021-12-l48"]["source_urls"][0]
    assert "gd.gov.cn" in by_id["2021-12-l49"]["source_urls"][0]


def test_page_end_urls_go_to_the_document_they_belong_to(by_id):
    # attachments dumped at the end of a PDF page shared by several documents: the file name
    # carries the publishing day, the folder is that of the document's own page
    c04 = by_id["2021-12-c04"]["source_urls"]
    assert "https://www.ndrc.gov.cn/xxgk/zcfb/ghxwj/202112/P020211203339032312311.pdf" in c04
    assert "https://www.ndrc.gov.cn/xxgk/zcfb/ghxwj/202112/P020211203339032625061.pdf" in c04
    assert not any("ghxwj" in u for u in by_id["2021-12-c03"]["source_urls"])
    mee = "https://www.mee.gov.cn/xxgk2018/xxgk/xxgk03/202112/W020211215761126730366.pdf"
    assert by_id["2021-12-c11"]["source_urls"] == [mee]
    assert mee not in by_id["2021-12-c12"]["source_urls"]
    nx_doc = "http://www.nx.gov.cn/zwgk/qzfwj/202112/P020211228352273204239.doc"
    assert nx_doc in by_id["2021-12-l41"]["source_urls"]
    assert nx_doc not in by_id["2021-12-l38"]["source_urls"]


def test_doc_type_of_an_issued_plan_with_its_period(by_id):
    assert by_id["2021-12-c10"]["doc_type"] == "规划"
    assert by_id["2021-12-l31"]["doc_type"] == "计划"
    assert by_id["2021-12-l05"]["doc_type"] == "规划"


def test_interpretations_link_to_their_policy(by_id):
    assert by_id["2021-12-int1"]["interprets"] == "2021-12-c01"
    assert by_id["2021-12-int2"]["interprets"] == "2021-12-c14"
    assert by_id["2021-12-int3"]["interprets"] == "2021-12-c12"


def test_activity_rows(parsed):
    rows = [r for r in parsed.records if r["kind"] == "activity" and r["publish_date"]]
    assert rows[0]["publish_date"] == "2021-12-01"
    assert rows[0]["title"] == "李克强主持召开国务院常务会议"
    assert all(r["title"] and r["text"] for r in rows)


def test_empty_report_is_refused():
    with pytest.raises(NotAReport):
        parse_report("  \n\n", "empty.txt")


def test_text_that_is_not_a_report_is_refused():
    with pytest.raises(NotAReport):
        parse_report("这是一段普通文字。\n没有附件。\n", "note.txt")


def test_report_cut_off_mid_document_parses_what_is_there():
    text = REPORT.read_text(encoding="utf-8")
    cut = text[: text.index("30.关于加强农业农村污染治理")] + "30.关于加强农业农村污染治理促进乡村生态振兴行动计划的通知\n\n发布部门：江苏省人民政府办公厅\n\n文号：苏政办"
    result = parse_report(cut, "cut.txt")
    local = [r for r in result.records if r["kind"] == "policy" and r["level"] == "local"]
    assert len(local) == 30
    assert any("cut off" in w for w in result.warnings)


def test_crlf_line_ends_parse_alike(parsed):
    text = REPORT.read_text(encoding="utf-8").replace("\n", "\r\n")
    again = parse_report(text, REPORT.name)
    assert [(r["id"], r["title"], r.get("doc_number")) for r in again.records] == [
        (r["id"], r["title"], r.get("doc_number")) for r in parsed.records
    ]


def test_bracketed_mark_is_a_label_not_part_of_the_title(by_id):
    c13 = by_id["2021-12-c13"]
    assert c13["title"] == "关于开展气候投融资试点工作的通知"
    assert c13["labels"] == ["解读"]
    assert by_id["2021-12-c01"]["labels"] == []


def test_signature_and_date_stand_as_their_own_paragraphs(by_id):
    paragraphs = by_id["2021-12-c01"]["text"].split("\n")
    assert "《“十四五”冷链物流发展规划》已经国务院同意，现印发给你们，请认真贯彻执行。" in paragraphs
    assert paragraphs[paragraphs.index("国务院办公厅") + 1] == "2021年11月26日"


def test_empty_doc_number_field_is_reported(parsed):
    assert any(a["record"] == "local #26" and a["field"] == "doc_number" for a in parsed.anomalies)
