"""文号 typed in a query, however loosely: every loosening of every 文号 of the corpus must give
the key the record is indexed under, and ordinary text must give none."""
from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from indexer.doc_numbers import (
    QUERY_DOC_NUMBER_RE,
    agency_endings,
    doc_number_key,
    doc_number_parts,
    find_query_doc_numbers,
    format_doc_number,
    normalize_doc_number,
)
from indexer.folding import fold

ROOT = Path(__file__).resolve().parent.parent

# Year brackets as researchers type them (half and full width, the 〔〕 of print, 【】 of web
# pages); None: no bracket, the year followed by 年, 第, a space or nothing.
BRACKETS = ("〔〕", "[]", "［］", "﹝﹞", "()", "（）", "【】", "{}", "｛｝", "〖〗")
UNBRACKETED = ("年", "")
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@pytest.fixture(scope="module")
def corpus_numbers() -> list[dict]:
    from indexer.corpus import load_corpus

    records = [r for r in load_corpus(ROOT / "data").records if r.get("doc_number")]
    assert len(records) > 50
    return records


def loosenings(agency: str, year: int, serial: int):
    """Every rule-based loosening of agency〔year〕serial号: bracket or none (年, space, nothing),
    第, 号 or not, spaces between the parts, full-width digits, a leading zero."""
    for bracket, di, hao, spaced, wide, zero in itertools.product(
            BRACKETS + UNBRACKETED, ("", "第"), ("号", ""), (False, True), (False, True), (False, True)):
        y, s = str(year), ("0" + str(serial) if zero else str(serial))
        if len(bracket) == 2:
            parts = [agency, bracket[0], y, bracket[1], di, s, hao]
        else:
            if not (bracket or di or spaced):
                continue  # 国发20214: the year and the serial run together, not a 文号
            parts = [agency, y, bracket, di, s, hao]
        text = (" " if spaced else "").join(p for p in parts if p)
        yield text.translate(FULL_WIDTH) if wide else text


def _one(text: str):
    hits = find_query_doc_numbers(text)
    assert len(hits) == 1, (text, hits)
    return hits[0]


# --------------------------------------------------------------------------- the brief's forms

@pytest.mark.parametrize("text", [
    "国发2021年4号", "国发〔2021〕4号", "国发[2021]4号", "国发【2021】4号", "国发〔２０２１〕４号",
    "国发 〔2021〕 4 号", "国发2021第4号", "国发〔2021〕04号", "国发(2021)4", "国发（2021）4号",
    "国发 2021 4", "国发2021年第4号", "国发 2021 年 4 号", "国发〔2021年〕4号", "国发﹝2021﹞4号",
])
def test_forms_of_one_doc_number(text):
    hit = _one(text)
    assert hit.key == doc_number_key("国发〔2021〕4号") == "国发〔2021〕4号"
    assert (hit.agency, hit.year, hit.serial) == ("国发", 2021, 4)
    assert (hit.start, hit.end, hit.text) == (0, len(text), text)


@pytest.mark.parametrize("text, key", [
    ("财金〔2022〕第10号", "财金〔2022〕10号"),
    ("发改投资(2022)100", "发改投资〔2022〕100号"),
    ("发改投资（2022）100号", "发改投资〔2022〕100号"),
    ("赣府厅发 2021 40", "赣府厅发〔2021〕40号"),
])
def test_other_forms(text, key):
    assert _one(text).key == key


def test_offsets_inside_a_query():
    text = "数字经济 国发 〔2021〕 4 号 通知"
    hit = _one(text)
    assert text[hit.start:hit.end] == hit.text == "国发 〔2021〕 4 号"
    # full-width characters keep their offsets (fold is one to one)
    text = "见 国发（２０２１）４号。"
    hit = _one(text)
    assert hit.text == "国发（２０２１）４号" and hit.key == "国发〔2021〕4号"


def test_agency_candidates_longest_first():
    hit = _one("关于国发2021年4号文件")
    assert hit.text == "关于国发2021年4号"
    assert [c.agency for c in hit.agency_candidates] == ["关于国发", "于国发", "国发"]
    assert [c.key for c in hit.agency_candidates] == [
        "关于国发〔2021〕4号", "于国发〔2021〕4号", "国发〔2021〕4号"]
    assert hit.key == hit.agency_candidates[0].key
    # a one-character code (bracketed only) is its own candidate
    assert [c.agency for c in _one("京〔2021〕4号").agency_candidates] == ["京"]


def test_several_doc_numbers_never_overlap():
    hits = find_query_doc_numbers("国发〔2021〕4号和国办发2021年5号 赣府厅发 2021 40")
    assert [h.agency_candidates[-1].key for h in hits] == [
        "国发〔2021〕4号", "办发〔2021〕5号", "厅发〔2021〕40号"]
    assert "国办发〔2021〕5号" in [c.key for c in hits[1].agency_candidates]
    assert all(a.end <= b.start for a, b in itertools.pairwise(hits))


# --------------------------------------------------------------------------- the whole corpus

def test_every_corpus_agency_ends_as_the_table_says(corpus_numbers):
    endings = agency_endings()
    missing = sorted({r["doc_number_parts"]["agency"] for r in corpus_numbers
                      if not r["doc_number_parts"]["agency"].endswith(endings)})
    assert not missing, f"add their endings to data/tables/doc_number_query.tsv: {missing}"


def test_every_loosening_of_every_corpus_doc_number(corpus_numbers):
    failures, checked = [], 0
    for record in corpus_numbers:
        parts = record["doc_number_parts"]
        indexed = doc_number_key(record["doc_number"])  # what indexer.schema indexes
        assert normalize_doc_number(record["doc_number"]) == record["doc_number"]
        assert doc_number_parts(record["doc_number"]) == parts
        for text in loosenings(parts["agency"], parts["year"], parts["serial"]):
            checked += 1
            hits = find_query_doc_numbers(text)
            if len(hits) != 1 or hits[0].key != indexed or (hits[0].start, hits[0].end) != (0, len(text)):
                failures.append((text, hits))
            # after words typed before it, one of the candidates is the record's key
            hits = find_query_doc_numbers("关于" + text + " 的通知")
            if len(hits) != 1 or indexed not in [c.key for c in hits[0].agency_candidates]:
                failures.append(("关于" + text + " 的通知", hits))
    assert checked > 10_000
    assert not failures, failures[:10]


def test_query_doc_number_re_is_a_strict_subset(corpus_numbers):
    """Whatever QUERY_DOC_NUMBER_RE (the lexer's) finds, find_query_doc_numbers finds too, with
    the key of its agency, year and serial (doc_number_key of the typed text would keep 第)."""
    for record in corpus_numbers:
        parts = record["doc_number_parts"]
        for text in loosenings(parts["agency"], parts["year"], parts["serial"]):
            m = QUERY_DOC_NUMBER_RE.search(fold(text))
            if not m:
                continue
            hit = _one(text)
            assert (hit.start, hit.end) == (m.start(), m.start() + len(m.group(0).rstrip()))
            assert hit.key == doc_number_key(format_doc_number(m.group(1), int(m.group(2)), int(m.group(3))))


# --------------------------------------------------------------------------- negatives

@pytest.mark.parametrize("text", [
    "2021年4月", "2021年4月4日", "2021年4月4号", "2021-04-01", "2021.4.1", "2021/4/1", "2021",
    "2021年", "十四五规划 2021", "十四五规划 2021-2025", "十四五规划 2021 2025", "十四五规划2021—2025年",
    "5G 2021年", "5G 2021 4", "国发", "国发2021", "国发 2021年", "国发2021年4月", "国发 2021 4 月",
    "印发2021年4月10日", "会议于2021年4号", "截至2021年12月31日", "2021年第4季度",
    "发改委2021年第4季度", "国务院2021年第4次常务会议", "投资 2021 年 100 亿元", "投资 2021 4.5",
    "投资2021年100亿元", "增长 2021 4%", "政府工作报告 2021 10", "GB/T 2021 4", "第14个五年规划",
    "2021年度报告", "国发20214", "国发2021年4项", "国发2021年0号", "发展规划 2021 2035",
    "数字经济 2021年 4 月 发布", "国发〔2021〕", "〔2021〕4号",
])
def test_ordinary_text_is_no_doc_number(text):
    assert find_query_doc_numbers(text) == [], text
