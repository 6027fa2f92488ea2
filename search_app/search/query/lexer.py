"""The query language's lexer: a typed query → lexemes, never failing.

The language itself is documented in docs/query-language.md; what the lexer
decides is where a word ends, which marks are operators (quotes, parentheses,
OR, a leading minus, `field:`) and where a 文号 is typed inside other text.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from indexer.schema import FIELD_PREFIXES
from indexer.doc_numbers import QUERY_DOC_NUMBER_RE, find_query_doc_numbers
from search_app.settings import setting

_QUOTE = '"'
_FIELD_RE = re.compile(
    "(" + "|".join(sorted((re.escape(k) for k in FIELD_PREFIXES), key=len, reverse=True)) + r")[:]",
    re.IGNORECASE,
)
# 同句( … ) and 同段( … ): the words inside in one sentence / one paragraph.
_NEAR_RE = re.compile(r"(同句|同段)\s*\(")
NEAR_UNITS = {"同句": "sentence", "同段": "paragraph"}
# Dashes a pasted text carries: characters of the text, never the exclusion operator.
TEXT_DASHES = frozenset("‐‑‒–—―﹣")
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


@dataclass
class Lexeme:
    kind: str  # WORD PHRASE DOCNUM LPAREN RPAREN NEAR OR NOT FIELD
    text: str = ""
    # DOCNUM written loosely (国发2021年4号): the keys its agency may stand for, and
    # whether it could also be plain words (no brackets around the year).
    keys: tuple[str, ...] = ()
    maybe_words: str = ""


def clean_query(raw: str, notes: list[str]) -> str:
    """The query as searched: NFC, control characters blanked, cut to the setting."""
    limit = setting("query_chars")
    text = unicodedata.normalize("NFC", str(raw or ""))
    text = CONTROL_RE.sub(" ", text)
    if len(text) > limit:
        text = text[:limit]
        notes.append(f"检索式过长，只使用了前 {limit} 个字符")
    return text


def lex(text: str, notes: list[str]) -> list[Lexeme]:
    """Split a (folded) query into lexemes, never failing: an unpaired quote is
    dropped and the rest searched as plain words."""
    out: list[Lexeme] = []
    i, n = 0, len(text)
    quote_dropped = False
    loose = {hit.start: hit for hit in find_query_doc_numbers(text)}
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch == _QUOTE:
            end = text.find(_QUOTE, i + 1)
            if end < 0:
                quote_dropped = True
                i += 1
                continue
            out.append(Lexeme("PHRASE", text[i + 1:end]))
            i = end + 1
            continue
        m = _NEAR_RE.match(text, i)
        if m:
            out.append(Lexeme("NEAR", NEAR_UNITS[m.group(1)]))
            i = m.end()
            continue
        if ch == "(":
            out.append(Lexeme("LPAREN"))
            i += 1
            continue
        if ch == ")":
            out.append(Lexeme("RPAREN"))
            i += 1
            continue
        word_start = i == 0 or not ("\u3400" <= text[i - 1] <= "\u9fff")
        m = QUERY_DOC_NUMBER_RE.match(text, i)
        if m and word_start:
            out.append(Lexeme("DOCNUM", re.sub(r"\s+", "", m.group(0))))
            i = m.end()
            continue
        hit = loose.get(i)
        if hit is not None and word_start:
            keys = tuple(dict.fromkeys(key for _agency, key in hit.agency_candidates)) or (hit.key,)
            out.append(Lexeme("DOCNUM", hit.key, keys=keys,
                              maybe_words="" if hit.bracketed else text[hit.start:hit.end]))
            i = hit.end
            continue
        m = _FIELD_RE.match(text, i)
        if m:
            out.append(Lexeme("FIELD", m.group(1).lower()))
            i = m.end()
            continue
        if ch == "-" and i + 1 < n and not text[i + 1].isspace() and not text[i + 1].isdigit() \
                and text[i + 1] not in "-" + "".join(TEXT_DASHES):
            out.append(Lexeme("NOT"))
            i += 1
            continue
        j = i
        while j < n and not text[j].isspace() and text[j] not in '"()':  # noqa: B005
            j += 1
        word = text[i:j]
        i = j
        if word == "OR" or word == "|":
            out.append(Lexeme("OR"))
        elif word in ("AND", "&"):
            continue
        elif word == "NOT":
            out.append(Lexeme("NOT"))
        elif word == "-":
            notes.append("单独的减号已忽略（排除某词请写成 -词，不加空格）")
        else:
            # A 文号 may follow other characters without a space: 冷链发改高技〔2021〕1742号.
            m = QUERY_DOC_NUMBER_RE.search(word)
            if m and m.start() > 0 and m.end() == len(word):
                out.append(Lexeme("WORD", word[:m.start()]))
                out.append(Lexeme("DOCNUM", re.sub(r"\s+", "", m.group(0))))
            else:
                out.append(Lexeme("WORD", word))
    if quote_dropped:
        notes.append("引号不成对，已按普通检索处理")
    return out

