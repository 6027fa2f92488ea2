"""The "did you mean" suggester (search_app.search.suggest): its ranking on a small
lexicon, and misspellings of real corpus words on the whole index."""
from __future__ import annotations

import sqlite3

import pytest

from indexer import spelling
from indexer.analysis import query_words
from indexer.build import SPELLING
from search_app.search.suggest import Suggester

# Document frequencies chosen so that frequency alone would pick the wrong word:
# the ranking by kind has to decide.
WORDS = {
    "冷链": 5, "冷库": 50, "冷藏": 40, "相连": 60,
    "冷链物流": 4, "物流": 30, "物资": 45,
    "碳达峰": 8, "碳中和": 9,
    "新型": 20, "新兴": 25, "新区": 90, "新型城镇化": 6,
    "银行": 7, "引航": 1,
    "目标": 70, "指标": 80,
    "营商环境": 12, "环境": 33,
}


def suggester_of(words: dict[str, int], directory) -> Suggester:
    """A Suggester over a spelling table of `words` written as the build writes one."""
    spelling.write_table(directory / SPELLING, words)
    return Suggester(spelling.read_table(directory / SPELLING))


@pytest.fixture(scope="module")
def suggester(tmp_path_factory):
    return suggester_of(WORDS, tmp_path_factory.mktemp("spelling"))


def test_same_sound_one_character_apart_comes_first(suggester):
    # 冷连 sounds like 冷链 (leng lian); 冷库 and 冷藏 differ by one character too,
    # and 相连 shares 连, all more frequent, but a homophone slip is the likelier one.
    assert suggester.suggest("冷连") == ["冷链", "相连", "冷库", "冷藏"]


def test_ranking_by_kind_then_document_frequency(tmp_path):
    s = suggester_of({"新型": 1, "心性": 2, "新区": 30, "新兴": 3}, tmp_path)
    # 新形: 新兴 and 新型 (xin xing, one character apart), 心性 (xin xing, two apart),
    # then 新区 (one character apart, another sound) however frequent
    assert s.suggest("新形") == ["新兴", "新型", "心性", "新区"]


def test_heteronyms_are_heard_either_way(suggester):
    # 行 in 银行 is hang, though its usual reading is xing
    assert "yin hang" in spelling.sounds("银行")
    assert suggester.suggest("银航")[0] == "银行"
    assert suggester.suggest("音行")[0] == "银行"


def test_one_character_apart_in_longer_words(suggester):
    assert suggester.suggest("碳打峰") == ["碳达峰"]
    assert suggester.suggest("新形城镇化") == ["新型城镇化"]
    assert suggester.suggest("营商环竟") == ["营商环境"]


def test_limit_and_the_term_itself(suggester):
    assert suggester.suggest("冷连", limit=2) == ["冷链", "相连"]
    assert "冷链" not in suggester.suggest("冷链")


@pytest.mark.parametrize("term", ["", "冷", "abc", "冷链abc", "碳达峰碳中和目标", "2021年"])
def test_only_han_words_of_two_to_six_characters(suggester, term):
    assert suggester.suggest(term) == []


def test_the_table_keeps_only_han_words(tmp_path):
    s = suggester_of({"冷链": 1, "5g": 3, "冷": 2, "碳达峰碳中和目标": 1}, tmp_path)
    assert len(s.table) == 1 and s.table.frequency("冷链") == 1
    assert "冷链" in s and "冷" not in s


def test_a_table_started_from_an_earlier_one_equals_a_new_one(tmp_path):
    """A nightly build files only the words that came or went; the result must be the
    table a build from nothing writes, frequencies included."""
    (tmp_path / "earlier").mkdir(), (tmp_path / "new").mkdir(), (tmp_path / "next").mkdir()
    earlier = dict(WORDS, 相聯=3, 引航=2)
    later = {w: f + 1 for w, f in WORDS.items() if w != "引航"}
    later.update({"冷练": 2, "营商": 4})
    spelling.write_table(tmp_path / "earlier" / SPELLING, earlier)
    spelling.write_table(tmp_path / "next" / SPELLING, later, previous=tmp_path / "earlier" / SPELLING)
    spelling.write_table(tmp_path / "new" / SPELLING, later)

    def dump(directory):
        connection = sqlite3.connect(directory / SPELLING)
        try:
            return [connection.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in ("words", "near")]
        finally:
            connection.close()

    assert dump(tmp_path / "next") == dump(tmp_path / "new")
    assert dump(tmp_path / "next") != dump(tmp_path / "earlier")
    # an unreadable earlier table is not trusted: the table is written from nothing
    (tmp_path / "earlier" / SPELLING).write_bytes(b"damaged" * 100)
    spelling.write_table(tmp_path / "next" / SPELLING, later, previous=tmp_path / "earlier" / SPELLING)
    assert dump(tmp_path / "next") == dump(tmp_path / "new")


def test_query_split_into_single_characters(suggester):
    # jieba leaves a word it does not know as single characters: 冷连物流 → 冷 连 物流
    assert suggester.suggest_query(["冷", "连", "物流"]) == [
        {"word": "冷连物流", "suggestions": ["冷链物流"]},
        {"word": "冷连", "suggestions": ["冷链", "相连", "冷库", "冷藏"]},
    ]


def test_lone_character_is_joined_with_its_neighbours(suggester):
    # 冷链物刘 → 冷链 物 刘 keeps the intact half of 物流 as 物; 营商环竟 → 营商 环 竟
    assert {"word": "物刘", "suggestions": ["物流", "物资"]} in suggester.suggest_query(["冷链", "物", "刘"])
    found = suggester.suggest_query(["双碳", "木", "标"])
    assert found == [{"word": "木标", "suggestions": ["目标", "指标"]}]


def test_words_in_the_lexicon_are_not_corrected(suggester):
    assert suggester.suggest_query(["冷链物流"]) == []
    assert suggester.suggest_query(["冷链", "物流"]) == []
    assert suggester.suggest_query([]) == []


# --------------------------------------------------------------------------- the real index

# Misspellings of corpus words: (query, the word of query_words' pieces, what it meant).
MISSPELLINGS = [
    ("冷连物流", "冷连", "冷链"),
    ("冷连物流", "冷连物流", "冷链物流"),
    ("碳打峰", "碳打峰", "碳达峰"),
    ("谈中和", "谈中和", "碳中和"),
    ("新形城镇化", "新形城镇化", "新型城镇化"),
    ("新形城镇化", "新形", "新型"),
    ("营商环竟", "环竟", "环境"),
    ("数字经齐", "数字经齐", "数字经济"),
    ("乡村振心", "乡村振心", "乡村振兴"),
    ("高质两发展", "高质两发展", "高质量发展"),
    ("双碳木标", "木标", "目标"),
]


@pytest.fixture(scope="module")
def real_suggester(full_searcher):
    with full_searcher.generation() as gen:
        return gen.suggester()


def test_lexicon_read_from_the_index(full_searcher, real_suggester):
    with full_searcher.generation() as gen:
        reader = gen.searcher.reader()
        expected = sum(reader.doc_frequency(f, "冷链") for f in ("title", "text"))
    assert real_suggester.table.frequency("冷链") == expected > 0
    assert len(real_suggester.table) > 5000


@pytest.mark.parametrize("query, word, meant", MISSPELLINGS)
def test_misspelt_corpus_words(real_suggester, query, word, meant):
    assert meant in real_suggester and word not in real_suggester
    found = {e["word"]: e["suggestions"] for e in real_suggester.suggest_query(query_words(query))}
    assert found[word][0] == meant


def test_lexicon_words_sum_over_segments_as_the_merged_lexicon(tmp_path, slice_index):
    """lexicon_words reads segment by segment; on an index of several segments with a
    deleted document its sums are those of Whoosh's merged lexicon."""
    import json
    import shutil

    from indexer import indexing

    index = tmp_path / "index"
    shutil.copytree(slice_index, index)
    ix = indexing.open_index(index)
    with ix.searcher() as searcher:
        first = json.loads(searcher.stored_fields(0)["record"])
    ix.close()
    indexing.update_index(index, [dict(first, id=first["id"] + "-copy")], [first["id"]])
    ix = indexing.open_index(index)
    with ix.reader() as reader:
        assert len(reader.leaf_readers()) > 1
        merged: dict[str, int] = {}
        for fieldname in spelling.FIELDS:
            for btext, info in reader.iter_field(fieldname):
                word = btext.decode("utf-8")
                if spelling.HAN_WORD.fullmatch(word):
                    merged[word] = merged.get(word, 0) + info.doc_frequency()
        assert spelling.lexicon_words(reader) == merged and len(merged) > 100
    ix.close()
