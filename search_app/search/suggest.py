"""Suggestions ("did you mean"): index words close to a query word that matched nothing.

A Chinese query word that is not in the index is nearly always a slip of a pinyin
input method (冷连 for 冷链: the right sound, the wrong character) or a single wrong
character (碳打峰 for 碳达峰). So the candidates are words of the index's own word
lexicon (the jieba words of the title and text fields, 2 to 6 Han characters) of the
same length as the query word that

  - sound the same, tones ignored, and differ in one character (the commonest slip),
  - sound the same but differ in more characters, or
  - differ in exactly one character but sound different,

ranked in that order, then by how many documents hold them. Two dictionaries built
once per index generation answer both questions with a few look-ups:

  - by sound: the toneless pinyin of each word ("leng lian") → its words. A word is
    filed under every reading its characters have (行 is xing and hang), so 银行 is
    found from 银航 without knowing which reading the word uses; so is the query.
  - by blank: each word with one position blanked ("冷*", "*链") → its words.

jieba, which segments queries without its HMM, does not find a misspelt word: it
leaves its characters as single-character words (冷连物流 → 冷 连 物流). So
`suggest_query` looks at the whole query word, at the runs of single characters and
at a lone character together with the word before or after it (冷链物刘 → 物刘).
"""
from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable
from enum import IntEnum

from pypinyin import Style, pinyin

# The lengths a query word is corrected at: a single character is too short to
# guess from, and longer runs are phrases jieba splits anyway.
MIN_LENGTH = 2
MAX_LENGTH = 6

HAN_WORD = re.compile(rf"[\u3400-\u4dbf\u4e00-\u9fff]{{{MIN_LENGTH},{MAX_LENGTH}}}")
_HAN_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")

# A word whose characters have more reading combinations than this is filed under
# the usual reading of each character only: heteronyms multiply (重 alone has three
# readings) and the rare combinations are not what anyone types.
MAX_READINGS = 8



class Kind(IntEnum):
    """How a candidate is close to the query word; the lower, the likelier meant."""
    SAME_SOUND_ONE_CHAR = 0
    SAME_SOUND = 1
    ONE_CHAR = 2


_BLANK = "*"  # not a Han character, so a blanked key never equals a word


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


def _blanked(word: str, i: int) -> str:
    return word[:i] + _BLANK + word[i + 1:]


def _one_char_apart(a: str, b: str) -> bool:
    return len(a) == len(b) and sum(x != y for x, y in zip(a, b)) == 1


class Suggester:
    """Words of one index generation's lexicon close to a word it does not hold.

    `words` maps each word to its document frequency (the ranking's tie-breaker).
    Building takes under two seconds for 100k words, so a generation should build it
    on the first query that finds nothing, not when it opens.
    """

    def __init__(self, words: dict[str, int]):
        self.words = {w: f for w, f in words.items() if HAN_WORD.fullmatch(w)}
        self._by_sound: dict[str, list[str]] = {}
        self._by_blank: dict[str, list[str]] = {}
        for word in self.words:
            for sound in sounds(word):
                self._by_sound.setdefault(sound, []).append(word)
            for i in range(len(word)):
                self._by_blank.setdefault(_blanked(word, i), []).append(word)

    @classmethod
    def from_reader(cls, reader, fields: Iterable[str] = ("title", "text")) -> "Suggester":
        """From a Whoosh reader's lexicon of the given word fields, with each word's
        document frequency summed over them. Like Whoosh's own statistics, the lexicon
        still holds the words of deleted documents until their segment is merged."""
        words: dict[str, int] = {}
        for fieldname in fields:
            # iter_field gives each term with its statistics in one pass over the
            # term table, where lexicon() + doc_frequency() would look each term up again
            for btext, info in reader.iter_field(fieldname):
                # three UTF-8 bytes per Han character: skip most terms without decoding
                if not 3 * MIN_LENGTH <= len(btext) <= 3 * MAX_LENGTH:
                    continue
                word = btext.decode("utf-8")
                if HAN_WORD.fullmatch(word):
                    words[word] = words.get(word, 0) + info.doc_frequency()
        return cls(words)

    def __contains__(self, word: str) -> bool:
        return word in self.words

    def suggest(self, term: str, limit: int = 5) -> list[str]:
        """Up to `limit` words of the lexicon the Han word `term` may have meant,
        best first (see the module docstring); [] for anything else."""
        if not HAN_WORD.fullmatch(term):
            return []
        rank: dict[str, Kind] = {}
        for sound in sounds(term):
            for word in self._by_sound.get(sound, ()):
                rank[word] = Kind.SAME_SOUND_ONE_CHAR if _one_char_apart(term, word) else Kind.SAME_SOUND
        for i in range(len(term)):
            for word in self._by_blank.get(_blanked(term, i), ()):
                rank.setdefault(word, Kind.ONE_CHAR)
        rank.pop(term, None)
        best = sorted(rank, key=lambda w: (rank[w], -self.words[w], w))
        return best[:limit]

    def suggest_query(self, words: list[str], limit: int = 5) -> list[dict]:
        """Suggestions for the words of one query term (`indexer.analysis.query_words`):
        `[{"word": w, "suggestions": [...]}]` for each piece of the term not in the
        lexicon that has any, the whole term first, then the pieces in order."""
        found = []
        for piece in _pieces(words):
            if piece in self.words:
                continue
            suggestions = self.suggest(piece, limit)
            if suggestions:
                found.append({"word": piece, "suggestions": suggestions})
        return found


def _pieces(words: list[str]) -> list[str]:
    """The parts of a segmented term where a misspelt word may hide: the whole term,
    each longer word, each run of single Han characters (what jieba leaves of a word
    it does not know), and a lone character with the word before or after it, since
    jieba may have kept the intact part of the misspelt word as a word of its own."""
    pieces = ["".join(words)] if len(words) > 1 else []
    i = 0
    while i < len(words):
        if not (len(words[i]) == 1 and _HAN_CHAR.fullmatch(words[i])):
            pieces.append(words[i])
            i += 1
            continue
        end = i
        while end < len(words) and len(words[end]) == 1 and _HAN_CHAR.fullmatch(words[end]):
            end += 1
        if end - i > 1:
            pieces.append("".join(words[i:end]))
        else:
            if i > 0:
                pieces.append(words[i - 1] + words[i])
            if end < len(words):
                pieces.append(words[i] + words[end])
        i = end
    return list(dict.fromkeys(p for p in pieces if HAN_WORD.fullmatch(p)))
