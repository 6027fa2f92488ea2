"""The spelling table of a generation: the words of the index's word lexicon, each
with its document frequency, filed under the keys a misspelt word is looked up by.

A Chinese query word that is not in the index is nearly always a slip of a pinyin
input method (冷连 for 冷链: the right sound, the wrong character) or a single wrong
character (碳打峰 for 碳达峰). So every word of the title and text lexicons (2 to 6
Han characters) is filed under

  - its toneless pinyin ("leng lian"), under every reading its characters have (行 is
    xing and hang), so 银行 is found from 银航 without knowing which reading it uses;
  - each of its blanked forms ("冷*", "*链").

The build writes the table beside each generation (indexer.stored_table): held as
dicts, it cost every search worker 11 MB at 50× the report. A nightly build starts
from the live generation's table and files only the words that are new, since
reading a word's sounds is most of the cost. The ranking of candidates is the search
side's (search_app.search.suggest).
"""
from __future__ import annotations

import functools
import itertools
import re
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from pypinyin import Style, pinyin

from indexer.stored_table import StoredTable, open_table, write_new

# The lengths a word is filed at: a single character is too short to guess from, and
# longer runs are phrases jieba splits anyway.
MIN_LENGTH = 2
MAX_LENGTH = 6

HAN_WORD = re.compile(rf"[\u3400-\u4dbf\u4e00-\u9fff]{{{MIN_LENGTH},{MAX_LENGTH}}}")

# A word whose characters have more reading combinations than this is filed under
# the usual reading of each character only: heteronyms multiply (重 alone has three
# readings) and the rare combinations are not what anyone types.
MAX_READINGS = 8

# The word fields whose lexicons are filed.
FIELDS = ("title", "text")

BLANK = "*"  # not a Han character, so a blanked key never equals a word or a sound

_PROBE = "SELECT 1 FROM words LIMIT 1"


@functools.cache
def _char_readings(char: str) -> tuple[str, ...]:
    """Toneless readings of one character, the usual one first. Cached per character:
    a lexicon of 100k words has only a few thousand distinct characters."""
    readings = pinyin(char, style=Style.NORMAL, heteronym=True)[0]
    return tuple(dict.fromkeys(readings))


def sounds(word: str) -> list[str]:
    """Every toneless pinyin the word may be read as, e.g. 银行 → "yin xing",
    "yin hang", "yin heng"; just the usual readings when there are too many."""
    per_char = [_char_readings(c) for c in word]
    combinations = 1
    for readings in per_char:
        combinations *= len(readings)
    if combinations > MAX_READINGS:
        return [" ".join(r[0] for r in per_char)]
    return [" ".join(p) for p in itertools.product(*per_char)]


def blanked(word: str) -> list[str]:
    """The word with each position blanked in turn: 冷链 → 冷*, *链."""
    return [word[:i] + BLANK + word[i + 1:] for i in range(len(word))]


def keys(word: str) -> list[str]:
    return sounds(word) + blanked(word)


def lexicon_words(reader, fields: Iterable[str] = FIELDS) -> dict[str, int]:
    """The words of a Whoosh reader's lexicons of `fields`, each with its document
    frequency summed over them. Like Whoosh's own statistics, the lexicon still holds
    the words of deleted documents until their segment is merged."""
    words: dict[str, int] = {}
    # Segment by segment: the same sums as the reader's merged lexicon, without the
    # merge of every segment's terms (3.1 s against 0.7 s at 50× the report)
    for segment, _offset in reader.leaf_readers():
        for fieldname in fields:
            # iter_field gives each term with its statistics in one pass over the term
            # table, where lexicon() + doc_frequency() would look each term up again
            for btext, info in segment.iter_field(fieldname):
                # three UTF-8 bytes per Han character: skip most terms without decoding
                if not 3 * MIN_LENGTH <= len(btext) <= 3 * MAX_LENGTH:
                    continue
                word = btext.decode("utf-8")
                if HAN_WORD.fullmatch(word):
                    words[word] = words.get(word, 0) + info.doc_frequency()
    return words


def write_table(path: Path, words: dict[str, int], previous: Path | None = None) -> None:
    """The table of `words` (word → document frequency; others than Han words of 2 to
    6 characters are left out) at `path`. With `previous` (an earlier generation's
    table, when it can be read), only the words that came or went are filed or
    unfiled."""
    words = {w: f for w, f in words.items() if HAN_WORD.fullmatch(w)}
    earlier = open_table(previous, _PROBE) if previous is not None else None
    if earlier is not None:
        earlier.close()

    def fill(connection: sqlite3.Connection) -> None:
        filed: set[str] = set()
        if earlier is None:
            connection.execute("CREATE TABLE words (word TEXT PRIMARY KEY, frequency INTEGER NOT NULL) WITHOUT ROWID")
            connection.execute("CREATE TABLE near (key TEXT, word TEXT, PRIMARY KEY (key, word)) WITHOUT ROWID")
        else:
            filed = {w for (w,) in connection.execute("SELECT word FROM words")}
        connection.executemany("DELETE FROM near WHERE key = ? AND word = ?",
                               ((key, word) for word in sorted(filed - set(words)) for key in keys(word)))
        connection.executemany("INSERT OR IGNORE INTO near VALUES (?, ?)",
                               ((key, word) for word in sorted(set(words) - filed) for key in keys(word)))
        connection.execute("DELETE FROM words")
        connection.executemany("INSERT INTO words VALUES (?, ?)", sorted(words.items()))

    write_new(path, fill, start_from=previous if earlier is not None else None)


class SpellingTable:
    """A generation's stored table: look-ups of words and of the words filed under keys."""

    def __init__(self, table: StoredTable):
        self._table = table

    def frequency(self, word: str) -> int | None:
        """The word's document frequency, None for a word not in the table."""
        row = self._table.query("SELECT frequency FROM words WHERE word = ?", (word,))
        return row[0][0] if row else None

    def frequencies(self, words: Iterable[str]) -> dict[str, int]:
        words = list(dict.fromkeys(words))
        found: dict[str, int] = {}
        for start in range(0, len(words), 500):  # SQLite's limit on bound parameters
            part = words[start:start + 500]
            marks = ",".join("?" * len(part))
            found.update(self._table.query(f"SELECT word, frequency FROM words WHERE word IN ({marks})", part))
        return found

    def filed_under(self, keys: Iterable[str]) -> list[tuple[str, str]]:
        """(key, word) of every word filed under one of `keys`."""
        keys = list(dict.fromkeys(keys))
        if not keys:
            return []
        marks = ",".join("?" * len(keys))
        return self._table.query(f"SELECT key, word FROM near WHERE key IN ({marks})", keys)

    def __len__(self) -> int:
        return self._table.query("SELECT count(*) FROM words")[0][0]

    def close(self) -> None:
        self._table.close()


def read_table(path: Path) -> SpellingTable | None:
    """The table at `path`, or None where there is none or it cannot be read."""
    table = open_table(path, _PROBE)
    return None if table is None else SpellingTable(table)
