"""文号, the number a document is issued under: 发改高技〔2021〕1742号 is agency code 发改高技,
year 2021, serial 1742.

Three readers look for one, each with its own tolerance, so the patterns are composed here
from the same pieces (bracket sets, agency code, year, serial):

* a report's 文号 field or a title (`DOC_NUMBER_RE`): any bracket, and spaces anywhere,
  including inside the year and the serial, where PDF extraction leaves them;
* a reference in a document's running text (`TEXT_DOC_NUMBER_RE`, `YEAR_SERIAL_RE`): 第
  allowed before the serial, the year checked afterwards (`format_doc_number` callers);
* a query after `indexer.folding.fold` (`QUERY_DOC_NUMBER_RE`), which has already turned
  every bracket variant into 〔〕 or (); 号 may be left off.

One 文号 in any of its printings normalises to one string (`normalize_doc_number`) and to
one index keyword (`doc_number_key`).
"""
from __future__ import annotations

import re
import unicodedata

from indexer.folding import squash

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
