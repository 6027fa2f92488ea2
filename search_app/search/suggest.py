"""Suggestions ("did you mean"): index words close to a query word that matched nothing.

The candidates are words of the generation's spelling table (indexer.spelling: the
index's own words, filed by toneless pinyin and by blanked character) of the same
length as the query word that

  - sound the same, tones ignored, and differ in one character (the commonest slip
    of a pinyin input method: 冷连 for 冷链),
  - sound the same but differ in more characters, or
  - differ in exactly one character but sound different (碳打峰 for 碳达峰),

ranked in that order, then by how many documents hold them.

jieba, which segments queries without its HMM, does not find a misspelt word: it
leaves its characters as single-character words (冷连物流 → 冷 连 物流). So
`suggest_query` looks at the whole query word, at the runs of single characters and
at a lone character together with the word before or after it (冷链物刘 → 物刘).
"""
from __future__ import annotations

import re
from enum import IntEnum

from indexer.spelling import BLANK, HAN_WORD, SpellingTable, blanked, sounds

_HAN_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


class Kind(IntEnum):
    """How a candidate is close to the query word; the lower, the likelier meant."""
    SAME_SOUND_ONE_CHAR = 0
    SAME_SOUND = 1
    ONE_CHAR = 2


def _one_char_apart(a: str, b: str) -> bool:
    return len(a) == len(b) and sum(x != y for x, y in zip(a, b)) == 1


class Suggester:
    """Words of one index generation's spelling table close to a word it does not hold."""

    def __init__(self, table: SpellingTable):
        self.table = table

    def __contains__(self, word: str) -> bool:
        return self.table.frequency(word) is not None

    def suggest(self, term: str, limit: int = 5) -> list[str]:
        """Up to `limit` words of the table the Han word `term` may have meant,
        best first (see the module docstring); [] for anything else."""
        if not HAN_WORD.fullmatch(term):
            return []
        rank: dict[str, Kind] = {}
        filed = self.table.filed_under(sounds(term) + blanked(term))
        for key, word in filed:
            if BLANK not in key:
                rank[word] = Kind.SAME_SOUND_ONE_CHAR if _one_char_apart(term, word) else Kind.SAME_SOUND
        for key, word in filed:
            if BLANK in key:
                rank.setdefault(word, Kind.ONE_CHAR)
        rank.pop(term, None)
        frequency = self.table.frequencies(rank)
        best = sorted(rank, key=lambda w: (rank[w], -frequency.get(w, 0), w))
        return best[:limit]

    def suggest_query(self, words: list[str], limit: int = 5) -> list[dict]:
        """Suggestions for the words of one query term (`indexer.analysis.query_words`):
        `[{"word": w, "suggestions": [...]}]` for each piece of the term not in the
        table that has any, the whole term first, then the pieces in order."""
        pieces = _pieces(words)
        known = self.table.frequencies(pieces)
        found = []
        for piece in pieces:
            if piece in known:
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
