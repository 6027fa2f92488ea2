"""`Near`: 同句(A B) and 同段(A B), every word in one sentence or one paragraph.

The index knows which document holds a word, not which sentence; so `Near` selects
the documents holding every word (as an And) and then reads each candidate's stored
text, split into sentences or paragraphs the way a reader sees them: a paragraph is a
line, a sentence ends at 。！？ (or ! ?) and at a line end; a semicolon joins the
clauses of one sentence, as in the articles of a regulation. A word is
found in the text as it is, in every form folding to it (the patterns highlighting
uses), so what is marked is what was matched. Title, summary and text count, each on
its own (a sentence never runs from the title into the text).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from whoosh import query as Q

from indexer.analysis import unfolded_pattern

UNITS = {"sentence": "同句", "paragraph": "同段"}
_SENTENCE_END = re.compile(r"[。！？!?\n]")
_PARAGRAPH_END = re.compile(r"\n")
# The fields whose text a reader reads in sentences.
PROSE_FIELDS = ("title", "summary", "text")


@dataclass(frozen=True)
class Needle:
    """How one word of a 同句 / 同段 is found in a unit of text: one of its exact forms
    (the word, a synonym), or (when it falls back to its words) all of its words."""
    forms: tuple[str, ...]
    words: tuple[str, ...] = ()

    def found_in(self, unit: str) -> bool:
        if any(unfolded_pattern(f).search(unit) for f in self.forms):
            return True
        return bool(self.words) and all(unfolded_pattern(w).search(unit) for w in self.words)


def units_of(text: str, unit: str) -> list[str]:
    if unit == "paragraph":
        return text.split("\n")
    return _SENTENCE_END.split(text)


def together(record: dict, needles: tuple[Needle, ...], unit: str, fields: tuple[str, ...]) -> bool:
    """Whether some sentence (paragraph) of the record's prose fields holds every needle.
    Each word is looked for once in the whole text; its matches, in text order, fall
    into one unit as long as no end of a unit lies between one and the next. A long
    plan has hundreds of sentences: splitting it, or searching each sentence for each
    word, costs far more than looking between the few matches."""
    ends = _PARAGRAPH_END if unit == "paragraph" else _SENTENCE_END
    words = sorted({w for n in needles for w in (*n.forms, *n.words)})
    for name in fields:
        text = record.get(name) or ""
        if not text:
            continue
        matches = sorted((m.start(), m.end(), w) for w in words for m in unfolded_pattern(w).finditer(text))
        group: set[str] = set()
        last_end = None
        for start, end, word in matches:
            if last_end is not None and ends.search(text, min(last_end, start), start):
                group = set()
            if ends.search(text, start, end):
                continue  # a match across the end of a unit belongs to neither
            group.add(word)
            last_end = max(last_end or 0, end)
            if all(_held(n, group) for n in needles):
                return True
    return False


def _held(needle: Needle, words: set[str]) -> bool:
    return any(f in words for f in needle.forms) or bool(needle.words) and all(w in words for w in needle.words)


class Near(Q.And):
    """The documents matching every subquery whose stored record has them together in
    one `unit`; scored as the And of the subqueries (the scorer applies the check)."""

    def __init__(self, subqueries, unit: str, needles: tuple[Needle, ...], fields: tuple[str, ...], boost=1.0):
        super().__init__(subqueries, boost=boost)
        self.unit = unit
        self.needles = tuple(needles)
        self.fields = tuple(f for f in fields if f in PROSE_FIELDS) or PROSE_FIELDS

    def __eq__(self, other):
        return (super().__eq__(other) and isinstance(other, Near) and self.unit == other.unit
                and self.needles == other.needles and self.fields == other.fields)

    def __hash__(self):
        return hash((super().__hash__(), self.unit, self.needles, self.fields))
