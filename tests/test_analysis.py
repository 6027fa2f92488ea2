"""Text analysis: normalisation, the two analyzers, jieba set-up, resources version."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from whoosh import query as Q

from indexer import analysis
from indexer.analysis import (
    CharGramAnalyzer,
    WordAnalyzer,
    char_grams,
    doc_number_key,
    fold,
    normalize_text,
    query_words,
    squash,
)

ROOT = Path(__file__).resolve().parent.parent


def tokens(analyzer, text):
    return [(t.text, t.pos, t.startchar, t.endchar)
            for t in analyzer(text, positions=True, chars=True, mode="index")]


# --------------------------------------------------------------------------- normalisation

def test_fold_keeps_every_offset():
    text = "发改高技［2021］1742 号，ＲＥＩＴｓ试点⽣态﹝2020﹞3号（一）2021—2025年"
    folded = fold(text)
    assert len(folded) == len(text)
    assert "〔2021〕" in folded and "〔2020〕" in folded
    assert "REITs" in folded  # full width → half width, case kept for jieba
    assert "生态" in folded  # the Kangxi radical ⽣ that PDF extraction produces
    assert "2021-2025" in folded
    assert fold(text, lower=True).count("reits") == 1


def test_normalize_text_drops_artifact_spaces_and_keeps_latin_ones():
    assert normalize_text("2021 年 11月 26日") == "2021年11月26日"
    assert normalize_text("数据中心和 5G 等\n新型基础设施") == "数据中心和5g等新型基础设施"
    assert normalize_text("Smart   City 建设") == "smart city建设"
    assert squash("Smart   City 建设") == "smartcity建设"


@pytest.mark.parametrize("variant", [
    "发改高技〔2021〕1742号", "发改高技[2021]1742号", "发改高技［2021］1742号", "发改高技﹝2021﹞1742号",
    "发改高技（2021）1742号", "发改高技(2021)1742号", "发改高技〔2021〕1742 号", " 发改高技 〔 2021 〕 1742号",
])
def test_doc_number_variants_share_one_key(variant):
    assert doc_number_key(variant) == "发改高技〔2021〕1742号"


# --------------------------------------------------------------------------- analyzers

def test_word_positions_are_ordinals_and_sub_words_share_them(jieba_ready):
    toks = tokens(WordAnalyzer(), "加快发展保障性租赁住房的实施意见")
    words = [t for t in toks if t[0] == "保障性租赁住房"]
    assert words, "the user dictionary keeps the policy term whole"
    pos = words[0][1]
    subs = {t[0] for t in toks if t[1] == pos}
    assert {"保障性租赁住房", "租赁", "住房"} <= subs
    # Positions run 0, 1, 2, … over words, never character offsets.
    assert sorted({t[1] for t in toks}) == list(range(len({t[1] for t in toks})))
    assert max(t[1] for t in toks) < len("加快发展保障性租赁住房的实施意见") // 2


def test_word_analyzer_keeps_function_words_and_latin_forms(jieba_ready):
    texts = {t[0] for t in tokens(WordAnalyzer(), "数据中心和新能源的REITs试点")}
    assert "和" in texts and "的" in texts  # nothing dropped: phrase positions stay exact
    assert "reits" in texts  # lower-cased, never stemmed to "reit"


def test_word_offsets_point_into_the_original_text(jieba_ready):
    text = "推动 冷链物流\n高质量发展，发改高技［2021］1742 号"
    for word, _pos, start, end in tokens(WordAnalyzer(), text):
        assert squash(text[start:end]) == word


def test_segmentation_has_no_hmm_guessing(jieba_ready):
    """HMM would glue characters it does not know (a name) into a guessed word;
    without it segmentation is the dictionary's, the same at index and query time."""
    text = "李炳军主持召开省政府常务会议"
    with_hmm = list(jieba_ready.cut(text, HMM=True))
    assert "李炳军" in with_hmm
    assert query_words(text) == list(jieba_ready.cut(text, HMM=False))
    assert "李炳军" not in query_words(text)
    assert "李炳军" not in {t[0] for t in tokens(WordAnalyzer(), text)}


def test_user_dictionary_terms_stay_whole(jieba_ready):
    for term in ("碳达峰", "碳中和", "冷链物流", "乡村振兴", "城市更新", "十四五", "保障性租赁住房"):
        assert query_words(term) == [term], term


def test_char_grams_at_character_ordinals_without_whitespace():
    toks = tokens(CharGramAnalyzer(), "冷链 物流Ab")
    assert ("冷链", 0, 0, 2) in toks and ("链物", 1, 1, 4) in toks  # across the space
    assert ("ab", 4, 5, 7) in toks
    assert all(" " not in t[0] for t in toks)
    assert char_grams("冷链物流") == ["冷链", "链物", "物流"]
    assert char_grams("税") == ["税"]


def test_word_phrase_query_finds_a_multi_word_phrase(slice_index, slice_records):
    """Ordinal positions make phrase queries over jieba words work (with character
    offsets as positions, as jieba's own ChineseAnalyzer stores them, they never match)."""
    from indexer.indexing import open_index

    ix = open_index(slice_index)
    with ix.searcher() as searcher:
        hits = {searcher.stored_fields(d)["id"] for d in
                searcher.docs_for_query(Q.Phrase("text", ["推动", "冷链物流", "高质量发展"]))}
    expected = {r["id"] for r in slice_records if "推动冷链物流高质量发展" in squash(r.get("text"))}
    assert expected and expected <= hits


@pytest.mark.parametrize("term", ["碳达峰", "生态环境"])
def test_jieba_context_dependence_is_real_and_ngrams_cover_it(term, report_records, jieba_ready):
    """The trap the n-gram fields exist for: the same string is segmented
    differently in different contexts (二氧化碳达峰, 生态环境监测), so a word index
    alone misses documents; the n-grams of every occurrence are always there."""
    split_differently = 0
    for record in report_records:
        text = record.get("text") or ""
        idx = text.find(term)
        while idx >= 0:
            window = text[max(0, idx - 6): idx + len(term) + 6]
            if term not in {t[0] for t in tokens(WordAnalyzer(), window)}:
                split_differently += 1
            assert set(char_grams(term)) <= {t[0] for t in tokens(CharGramAnalyzer(), window)}
            idx = text.find(term, idx + 1)
    assert split_differently > 0


# --------------------------------------------------------------------------- jieba set-up

def test_init_jieba_is_once_per_process(jieba_ready):
    assert analysis.init_jieba() is jieba_ready
    assert analysis.init_jieba("/elsewhere") is jieba_ready


def test_jieba_cache_lives_in_the_application_directory(tmp_path):
    """A fresh process writes its dictionary cache under POLICY_SEARCH_CACHE_DIR,
    not as jieba.cache in the shared temp directory, and logs nothing."""
    shared_tmp = tmp_path / "tmp"
    shared_tmp.mkdir()
    env = dict(os.environ, POLICY_SEARCH_CACHE_DIR=str(tmp_path / "cache"), TMPDIR=str(shared_tmp))
    code = ("from indexer.analysis import init_jieba, query_words, jieba_cache_dir;"
            "init_jieba(); print(jieba_cache_dir()); print(query_words('碳达峰'))")
    for _ in range(2):  # the second run loads the cache the first one wrote
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
    assert done.stdout.splitlines() == [str(tmp_path / "cache" / "jieba"), "['碳达峰']"]
    cache = tmp_path / "cache" / "jieba" / "jieba.cache"
    assert cache.is_file()
    assert cache.stat().st_mode & 0o777 == 0o644  # other users of a shared directory can read it
    assert [p.name for p in cache.parent.iterdir()] == ["jieba.cache"]  # no temp file left behind
    assert list(shared_tmp.iterdir()) == []  # nothing in the system temp directory


# --------------------------------------------------------------------------- resources

def test_synonym_file_and_agency_table(jieba_ready):
    synonyms = analysis.load_synonyms()
    assert ["简政放权", "放管结合", "优化服务"] in synonyms["放管服"]
    assert ["人力资源社会保障部"] in synonyms["人社部"]
    assert ["中国人民银行"] in synonyms["央行"]
    assert ["国家互联网信息办公室"] in synonyms["网信办"]
    assert ["国务院国有资产监督管理委员会"] in synonyms["国资委"]
    assert ["政府和社会资本合作"] in synonyms["ppp"] and ["ppp"] in synonyms["政府和社会资本合作"]
    # One-way: the expansion does not expand back.
    assert "简政放权" not in synonyms


def test_synonym_syntax(tmp_path):
    path = tmp_path / "synonyms.txt"
    path.write_text("# comment\n甲, 乙乙\n丙 => 丁 戊, 己\n", encoding="utf-8")
    table = analysis.load_synonyms(path, tables_dir=tmp_path)
    assert table == {"甲": [["乙乙"]], "乙乙": [["甲"]], "丙": [["丁", "戊"], ["己"]]}


def test_resources_version_covers_dictionaries_and_tables(tmp_path, monkeypatch):
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data" / "dictionaries", data / "dictionaries")
    shutil.copytree(ROOT / "data" / "tables", data / "tables")
    monkeypatch.setattr(analysis, "DATA_DIR", data)
    monkeypatch.setattr(analysis, "DICTIONARIES_DIR", data / "dictionaries")
    monkeypatch.setattr(analysis, "TABLES_DIR", data / "tables")
    original = analysis.resources_version()
    assert original == analysis.resources_version()
    with (data / "dictionaries" / "user_dict.txt").open("a", encoding="utf-8") as fh:
        fh.write("新增政策词\n")
    edited_dictionary = analysis.resources_version()
    assert edited_dictionary != original
    table = next((data / "tables").glob("*.tsv"))
    table.write_text(table.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert analysis.resources_version() not in (original, edited_dictionary)
    described = analysis.resources_description()
    assert "dictionaries/user_dict.txt" in described["files"]
    assert any(name.startswith("tables/") for name in described["files"])


# --------------------------------------------------------------------------- matching unfolded text

_FORMS = "高质量发展ＰＰＰppp PPP〔〕[]（）()2021２０２１\n\u3000\u200b \t—-–Ⅰi"


def _folded_spans(needle: str, text: str) -> list[tuple[int, int]]:
    import re

    pattern = re.compile(r"\s*".join(re.escape(ch) for ch in needle))
    return [m.span() for m in pattern.finditer(analysis.fold(text, lower=True))]


def test_unfolded_pattern_finds_what_folding_the_text_finds():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=300, deadline=None)
    @given(st.text(alphabet=_FORMS, max_size=40), st.text(alphabet=_FORMS, min_size=1, max_size=5))
    def check(text, raw_needle):
        needle = analysis.squash(raw_needle)
        if not needle:
            return
        found = [m.span() for m in analysis.unfolded_pattern(needle).finditer(text)]
        assert found == _folded_spans(needle, text)

    check()


def test_unfolded_pattern_on_the_report(report_records):
    import random

    rng = random.Random(5)
    texts = [r["text"] for r in report_records if len(r.get("text") or "") > 50]
    for _ in range(200):
        text = rng.choice(texts)
        start = rng.randrange(len(text) - 12)
        needle = analysis.squash(text[start:start + rng.choice((1, 2, 4, 8, 12))])
        if needle:
            found = [m.span() for m in analysis.unfolded_pattern(needle).finditer(text)]
            assert found == _folded_spans(needle, text)
            assert found, needle
