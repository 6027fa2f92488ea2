"""文号, the number a document is issued under: 发改高技〔2021〕1742号 is agency code 发改高技,
year 2021, serial 1742.

Three readers look for one, each with its own tolerance, so the patterns are composed here
from the same pieces (bracket sets, agency code, year, serial):

* a report's 文号 field or a title (`DOC_NUMBER_RE`): any bracket, and spaces anywhere,
  including inside the year and the serial, where PDF extraction leaves them;
* a reference in a document's running text (`TEXT_DOC_NUMBER_RE`, `YEAR_SERIAL_RE`): 第
  allowed before the serial, the year checked afterwards (`format_doc_number` callers);
* a query after `indexer.folding.fold` (`QUERY_DOC_NUMBER_RE`), which has already turned
  every bracket variant into 〔〕 or (); 号 may be left off;
* a query however loosely it is typed (`find_query_doc_numbers`): 国发2021年4号, 国发【2021】4号,
  财金〔2022〕第10号, 赣府厅发 2021 40. Written without brackets, the agency code must end the
  way agency codes do and a serial without 号 must not be a date's month or a quantity
  (data/tables/doc_number_query.tsv), so 会议于2021年4月 is no 文号.

One 文号 in any of its printings normalises to one string (`normalize_doc_number`) and to
one index keyword (`doc_number_key`).
"""
from __future__ import annotations

import csv
import functools
import re
import unicodedata
from pathlib import Path
from typing import NamedTuple

from indexer.folding import fold, squash

QUERY_TABLE = Path(__file__).resolve().parent.parent / "data" / "tables" / "doc_number_query.tsv"

# Han characters with extension A, which PDF extraction produces for some ideographs; running
# text is scanned with the unified block only.
HAN_WIDE = r"\u3400-\u9fff"
HAN = r"\u4e00-\u9fff"
OPEN_BRACKETS = "〔[［﹝（(【{｛"
CLOSE_BRACKETS = "〕]］﹞）)】}｝"
# What fold() leaves of every bracket a 文号 is printed with.
FOLDED_OPEN_BRACKETS = "〔("
FOLDED_CLOSE_BRACKETS = "〕)"
AGENCY_MAX = 12

YEAR = r"(?:19|20)\d\d"
# One space inside the year: '202 1' from a line broken in the PDF.
YEAR_SPACED = r"(?:19|20)\d\s?\d"
# Any four digits, spaced: the caller checks the range, so a misprinted year is still seen.
YEAR_LOOSE = r"\d\s?\d\s?\d\s?\d"
SERIAL_SPACED = r"\d[\d\s]{0,5}?"
SERIAL_LOOSE = r"\d(?:\s?\d){0,4}"


def _one_of(chars: str) -> str:
    return "[" + re.escape(chars) + "]"


_OPEN, _CLOSE = _one_of(OPEN_BRACKETS), _one_of(CLOSE_BRACKETS)

# A 文号 field: agency code, year in any bracket, serial, 号. Spaces may fall anywhere.
DOC_NUMBER_RE = re.compile(
    rf"(?P<agency>[{HAN_WIDE}][{HAN_WIDE}\s]{{0,{AGENCY_MAX - 1}}}?)\s*{_OPEN}\s*"
    rf"(?P<year>{YEAR_SPACED})\s*{_CLOSE}\s*"
    rf"(?P<serial>{SERIAL_SPACED})\s*号"
)
_FULL_DOC_NUMBER_RE = re.compile(rf"^{_OPEN}?\s*{DOC_NUMBER_RE.pattern}\s*{_CLOSE}?$")

# Running text: the bracketed year and serial alone, and with the agency code before them.
# A long text is scanned for YEAR_SERIAL_RE first and the agency looked for behind each hit
# (AGENCY_BEFORE_RE): much faster than trying an agency code at every character.
YEAR_SERIAL = rf"{_OPEN}\s*(?P<year>{YEAR_LOOSE})\s*{_CLOSE}\s*第?\s*(?P<serial>{SERIAL_LOOSE})\s*号"
YEAR_SERIAL_RE = re.compile(YEAR_SERIAL)
TEXT_DOC_NUMBER_RE = re.compile(rf"(?P<agency>[{HAN}]{{1,{AGENCY_MAX}}})\s*" + YEAR_SERIAL)
AGENCY_BEFORE_RE = re.compile(rf"[{HAN}]{{1,{AGENCY_MAX}}}\s*$")

# A 文号 typed in a query, after fold(): 发改高技〔2021〕1742 号, 发改高技(2021)1742.
# Groups: 1 agency, 2 year, 3 serial, 4 号 or ''.
QUERY_DOC_NUMBER_RE = re.compile(
    rf"([{HAN_WIDE}]{{1,{AGENCY_MAX}}})\s*{_one_of(FOLDED_OPEN_BRACKETS)}\s*({YEAR})\s*"
    rf"{_one_of(FOLDED_CLOSE_BRACKETS)}\s*(?:第\s*)?(\d{{1,6}})\s*(号?)"
)

# 发改高技(2021)1742号 after squash(): the year in round brackets is the same 文号.
_PAREN_YEAR_RE = re.compile(rf"\(({YEAR})\)(?=\d)")


def format_doc_number(agency: str, year: int, serial: int) -> str:
    """The normalised spelling: 〔〕 around the year, no spaces, no leading zeros."""
    return f"{agency}〔{year}〕{serial}号"


def find_doc_numbers(text: str) -> list[re.Match]:
    return list(DOC_NUMBER_RE.finditer(text or ""))


def looks_like_doc_number(text: str) -> bool:
    """Whether `text` is a 文号 and nothing else (possibly in one more pair of brackets)."""
    return bool(_FULL_DOC_NUMBER_RE.match((text or "").strip()))


def doc_number_parts(text: str | None) -> dict | None:
    """{agency, year, serial} of a 文号 in any bracket or spacing variant, else None."""
    if not text:
        return None
    text = unicodedata.normalize("NFKC", text)
    m = DOC_NUMBER_RE.search(text)
    if not m:
        return None
    agency = re.sub(r"\s+", "", m.group("agency"))
    year = int(re.sub(r"\s+", "", m.group("year")))
    serial = int(re.sub(r"\s+", "", m.group("serial")))
    return {"agency": agency, "year": year, "serial": serial}


def normalize_doc_number(text: str | None) -> str | None:
    """发改高技[2021]1742 号 → 发改高技〔2021〕1742号; None when no 文号 is present."""
    parts = doc_number_parts(text)
    if not parts:
        return None
    return format_doc_number(parts["agency"], parts["year"], parts["serial"])


def doc_number_key(text: str | None) -> str:
    """The exact keyword a 文号 is indexed and looked up under: every bracket and
    spacing variant of one 文号 gives the same key."""
    return _PAREN_YEAR_RE.sub(r"〔\1〕", squash(text))


# --------------------------------------------------------------------------- loose query forms
#
# What a researcher types for 国发〔2021〕4号, after fold() (full-width digits → ASCII, ［］﹝﹞ →
# 〔〕, （） → ()): any of the brackets 〔〕 () 【】 {} 〖〗 around the year, or none, the year
# followed by 年, the serial preceded by 第, 号 (or 號) left off, spaces between any two parts.
# Spaces inside the agency code or inside a number are not taken: they separate words.
#
# The separators are the evidence, so the less there is, the more the rest must look like a
# 文号: a bracketed year is enough after any agency code; without brackets the code must be two
# Han characters or more ending like one (QUERY_TABLE, `ending`), the year and the serial apart
# (by a space, 年 or 第); and without 号 the serial must stand alone (no Han character, letter,
# digit or . % / : - right after it, no unit word after spaces: QUERY_TABLE, `unit`; 2021年4月,
# 投资 2021 年 100 亿元) and not be a later year (2021 2025, a period).

QUERY_OPEN_BRACKETS = FOLDED_OPEN_BRACKETS + "【{〖"
QUERY_CLOSE_BRACKETS = FOLDED_CLOSE_BRACKETS + "】}〗"
_SERIAL = r"(?P<serial>\d{1,6})(?!\d)"
_NUMBER_SIGN = r"(?:\s*(?P<hao>[号號]))?"
_BRACKETED_QUERY_RE = re.compile(
    rf"(?P<agency>[{HAN_WIDE}]{{1,{AGENCY_MAX}}})\s*{_one_of(QUERY_OPEN_BRACKETS)}\s*(?P<year>{YEAR})\s*(?:年\s*)?"
    rf"{_one_of(QUERY_CLOSE_BRACKETS)}\s*(?P<di>第\s*)?{_SERIAL}{_NUMBER_SIGN}"
)
_GLUED_AFTER_RE = re.compile(rf"[{HAN_WIDE}0-9A-Za-z.%/:-]")


class AgencyCandidate(NamedTuple):
    agency: str
    key: str


class QueryDocNumber(NamedTuple):
    """A 文号 found in a query: `start`/`end` are offsets in the text given (fold keeps
    them), `key` is doc_number_key of the printed form (agency〔year〕serial号, no leading
    zeros, as the corpus's normalised 文号 are indexed). The agency code is the run of Han
    characters before the year, which may have swallowed words typed before it (关于国发
    2021年4号): `agency_candidates` are its suffixes, longest first, down to two characters
    (or the code itself when it is one character), each with its key to look up."""
    start: int
    end: int
    text: str
    agency: str
    year: int
    serial: int
    key: str
    agency_candidates: tuple[AgencyCandidate, ...]
    bracketed: bool


@functools.lru_cache(maxsize=1)
def _query_words() -> dict[str, tuple[str, ...]]:
    """QUERY_TABLE's values by kind (`ending`, `unit`), longest first."""
    with QUERY_TABLE.open(encoding="utf-8") as fh:
        lines = [line for line in fh if line.strip() and not line.startswith("#")]
    words: dict[str, set[str]] = {}
    for row in csv.DictReader(lines, delimiter="\t"):
        for value in (row.get("value") or "").split("|"):
            if value.strip():
                words.setdefault(row["kind"].strip(), set()).add(value.strip())
    return {kind: tuple(sorted(v, key=lambda w: (-len(w), w))) for kind, v in words.items()}


def agency_endings() -> tuple[str, ...]:
    """What an agency code typed without brackets around the year must end with."""
    return _query_words()["ending"]


@functools.lru_cache(maxsize=1)
def _unit_after_re() -> re.Pattern:
    return re.compile(r"\s*(?:" + "|".join(re.escape(u) for u in _query_words()["unit"]) + ")")


@functools.lru_cache(maxsize=1)
def _loose_query_re() -> re.Pattern:
    ending = "|".join(re.escape(e) for e in agency_endings())
    return re.compile(
        rf"(?P<agency>[{HAN_WIDE}]{{0,{AGENCY_MAX - 1}}}(?:{ending}))\s*(?P<year>{YEAR})(?!\d)"
        rf"\s*(?P<nian>年\s*)?(?P<di>第\s*)?{_SERIAL}{_NUMBER_SIGN}"
    )


def doc_number_key_of(agency: str, year: int, serial: int) -> str:
    """The key of agency〔year〕serial号: what the corpus's 文号 is indexed under."""
    return doc_number_key(format_doc_number(agency, year, serial))


def _query_doc_number(text: str, m: re.Match, bracketed: bool) -> QueryDocNumber | None:
    agency, year, serial = m.group("agency"), int(m.group("year")), int(m.group("serial"))
    if serial == 0:
        return None
    if not bracketed:
        if len(agency) < 2:
            return None
        if not m.group("hao"):
            if _GLUED_AFTER_RE.match(text, m.end()) or _unit_after_re().match(text, m.end()):
                return None
            if not m.group("di") and re.fullmatch(YEAR, m.group("serial")) and serial > year:
                return None  # 2021 2025: a period (京发改 2021 1932 is a 文号)
    shortest = min(2, len(agency))
    candidates = tuple(AgencyCandidate(agency[i:], doc_number_key_of(agency[i:], year, serial))
                       for i in range(len(agency) - shortest + 1))
    return QueryDocNumber(m.start(), m.end(), text[m.start():m.end()], agency, year, serial,
                          candidates[0].key, candidates, bracketed)


def _first_query_doc_number(folded: str, pos: int, pattern: re.Pattern, bracketed: bool) -> QueryDocNumber | None:
    while True:
        m = pattern.search(folded, pos)
        if not m:
            return None
        hit = _query_doc_number(folded, m, bracketed)
        if hit:
            return hit
        pos = m.start() + 1


def find_query_doc_numbers(text: str) -> list[QueryDocNumber]:
    """Every 文号 typed in a query, however loosely (see above), left to right, never
    overlapping: the next one's agency code starts after the last one's end (国发〔2021〕4号和
    国办发2021年5号). `text` may be folded or not: it is folded here, which keeps offsets."""
    text = text or ""
    folded = fold(text)
    patterns = ((_BRACKETED_QUERY_RE, True), (_loose_query_re(), False))
    found: list[QueryDocNumber] = []
    pos = 0
    while pos < len(folded):
        hits = [h for h in (_first_query_doc_number(folded, pos, p, b) for p, b in patterns) if h]
        if not hits:
            break
        hit = min(hits, key=lambda h: (h.start, -h.end))
        found.append(hit._replace(text=text[hit.start:hit.end]))
        pos = hit.end
    return found
