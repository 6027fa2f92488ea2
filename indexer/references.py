"""References in one text: every mention of another document, and how the text relates to it.

`extract_references(text)` finds a title in 《…》 (with the 文号 that often follows it in
brackets) or a bare 文号 in any bracket or spacing variant, and classifies the link by the cue
words around it (data/tables/lineage_cues.tsv): implements, issues, interprets or cites.
`title_key` and `core_key` reduce a title to what identifies the document, so that the
mentions can be resolved against a corpus (indexer.lineage).
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from indexer.doc_numbers import (AGENCY_BEFORE_RE, TEXT_DOC_NUMBER_RE, YEAR_SERIAL_RE, format_doc_number,
                                 looks_like_doc_number, normalize_doc_number)
from indexer.normalize import load_table, split_list

CUES_TABLE = "lineage_cues.tsv"

_TITLE_RE = re.compile(r"《([^《》\n]{1,160})》")
# A 文号 that follows a title, inside the bracket that comes right after it; 《X》的通知（…） when
# the title marks only the attachment of 关于印发《X》的通知.
_FOLLOWING_BRACKET_RE = re.compile(r"\s*(?:的(?:通知|函))?\s*[（(]\s*")
# Titles listed one after another (《A》《B》、《C》和《D》) share the words that follow the list.
_TITLE_LIST_RE = re.compile(r"(?:\s*[、，,和及与]?\s*《[^《》]{1,160}》(?:\s*[（(][^（）()]{0,40}[）)])?)*")
_SENTENCE_END = "。；;！!？?\n"
_CLAUSE_END = _SENTENCE_END + "，,：:"
_PAIRS = {"）": "（", ")": "(", "》": "《", "〉": "〈", "”": "“", "】": "【", "〕": "〔"}
_OPENERS = set(_PAIRS.values())
_QUOTES_RE = re.compile(r"[《》〈〉<>“”\"‘’'「」『』]")
_DASHES_RE = re.compile(r"[—–－‐‑―]+")
_WRAPPER_RE = re.compile(r"^(?:.{0,40}?)(?:关于)?(?:联合)?(?:印发|转发)(?P<inner>.+?)的(?:通知|函)$")
_ISSUER_RE = re.compile(r"^(?P<issuer>.{0,40}?)关于(?P<core>.+)$")
INTERPRETATION_MARK_RE = re.compile(r"^\s*【[^】]*解读[^】]*】\s*")

LOOKBACK = 150
PHRASE_BEFORE = 30
PHRASE_AFTER = 20
MAX_AGENCY = 10


@lru_cache(maxsize=None)
def _cues() -> dict[str, tuple[str, ...]]:
    # Longest first so that 贯彻落实 is found before 落实.
    return {row["kind"]: tuple(sorted(split_list(row["cues"]), key=len, reverse=True))
            for row in load_table(CUES_TABLE)}


@lru_cache(maxsize=None)
def _short_name_re() -> re.Pattern:
    """A short name standing for the document itself or for one named earlier (《规划》, 《实施意见》)."""
    cues = _cues()
    qualifiers = "|".join(map(re.escape, cues["short_name_qualifier"]))
    types = "|".join(map(re.escape, cues["short_name_type"]))
    return re.compile(rf"^(?:{qualifiers})?(?:{types})$")


# ---------------------------------------------------------------------------------------------
# Normalisation of keys


def _doc_number_of(m: re.Match) -> tuple[str | None, int]:
    """The normalised 文号 a regex match in running text stands for, and where its agency code
    starts (after whatever lead words, 根据 / 落实 / 和 …, the run of characters holds)."""
    agency = _agency(unicodedata.normalize("NFKC", m.group("agency")))
    year = int("".join(m.group("year").split()))
    if not agency or not 1949 <= year <= 2100:
        return None, m.start()
    serial = int("".join(m.group("serial").split()))
    return format_doc_number(agency, year, serial), m.end("agency") - len(agency)


def _agency(run: str) -> str | None:
    """The agency code of a 文号 from the run of Han characters before its bracket: whatever
    follows the last lead word (根据, 落实, 和 …) that the run contains."""
    cut = 0
    for word in _cues()["lead"]:
        pos = run.rfind(word)
        while pos >= 0 and pos + len(word) >= len(run):
            # A lead word may not swallow the whole code.
            pos = run.rfind(word, 0, pos)
        if pos >= 0:
            cut = max(cut, pos + len(word))
    agency = run[cut:]
    if not agency or len(agency) > MAX_AGENCY:
        return None
    return agency


@lru_cache(maxsize=1 << 16)  # a corpus names the same titles thousands of times
def title_key(title: str | None) -> str | None:
    """A title reduced to what identifies the document: no whitespace, quotes or book-title
    marks, the 关于印发…的通知 / 转发…的通知 wrapper removed, dash and zero variants unified."""
    if not title:
        return None
    s = unicodedata.normalize("NFKC", title)
    s = INTERPRETATION_MARK_RE.sub("", s)
    s = re.sub(r"\s+", "", s)
    s = _DASHES_RE.sub("-", s).replace("○", "〇")
    # NFKC turns ， into a comma, which separates the values of a keyword field.
    s = _QUOTES_RE.sub("", s).replace(",", "，")
    m = _WRAPPER_RE.match(s)
    if m and m.group("inner"):
        s = m.group("inner")
    return s or None


def core_key(title: str | None) -> str | None:
    """The title key without its issuer: 国务院办公厅关于科学绿化的指导意见 → 科学绿化的指导意见, so a
    reference that names the issuer finds a record whose title does not, and the other way."""
    key = title_key(title)
    if not key:
        return None
    m = _ISSUER_RE.match(key)
    return m.group("core") if m else key


def issuer_of(title: str | None) -> str:
    key = title_key(title) or ""
    m = _ISSUER_RE.match(key)
    return m.group("issuer") if m else ""


def filter_key(value: str | None) -> str | None:
    """What a `cites=` filter value is looked up by: a normalised 文号, a record id or a title key."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if looks_like_doc_number(value):
        return normalize_doc_number(value)
    if re.fullmatch(r"[0-9A-Za-z][0-9A-Za-z_-]*", value):
        return value
    return title_key(value)


# ---------------------------------------------------------------------------------------------
# Extraction


def extract_references(text: str, *, title: str | None = None,
                       doc_number: str | None = None) -> list[dict]:
    """Every reference to another document in `text`, in order of appearance.

    Each is {title, doc_number, relation, phrase, offset}: `title` as printed inside 《》 (or
    None for a bare 文号), `doc_number` normalised (or None), `relation` one of implements /
    issues / interprets / cites, `phrase` the stretch of the sentence that cites it, `offset`
    the character offset of the reference in `text`. Given the document's own `title` and
    `doc_number`, mentions of the document itself are left out and its attachment (关于印发《X》
    的通知 → X) is classified `issues`.
    """
    if not text:
        return []
    own_doc_number = normalize_doc_number(doc_number) if doc_number else None
    own_key = title_key(title)
    own_core = core_key(title)
    # 关于印发《X》的通知 issues X: a mention of X is its attachment, not the notice itself.
    own_attachment = own_key if title and _is_wrapper(title) else None

    refs: list[dict] = []
    consumed: list[tuple[int, int]] = []  # spans of 文号 already attached to a title
    abbreviations: set[str] = set()

    for m in _TITLE_RE.finditer(text):
        raw = _display_title(m.group(1))
        start, end = m.start(), m.end()
        inner_key = title_key(raw)
        if not inner_key:
            continue
        if _is_abbreviation(text, start):
            abbreviations.add(inner_key)
            continue
        if inner_key in abbreviations or _short_name_re().match(inner_key):
            continue
        number, number_end, number_span = _following_doc_number(text, end)
        if number_span:
            consumed.append(number_span)
        if own_doc_number and number == own_doc_number:
            continue
        attachment = inner_key == own_attachment and not _is_wrapper(raw)
        if not attachment and (inner_key == own_key or (
                core_key(raw) == own_core and not issuer_of(raw))):
            continue
        relation = _classify(text, start, number_end or end, own_attachment=attachment)
        refs.append({
            "title": raw,
            "doc_number": number,
            "relation": relation,
            "phrase": _phrase(text, start, number_end or end),
            "offset": start,
        })

    for hit in YEAR_SERIAL_RE.finditer(text):
        window = max(0, hit.start() - 16)
        run = AGENCY_BEFORE_RE.search(text, window, hit.start())
        m = run and TEXT_DOC_NUMBER_RE.match(text, run.start())
        if not m:
            continue
        number, start = _doc_number_of(m)
        if not number or any(a <= start < b for a, b in consumed):
            continue
        if number == own_doc_number:
            continue
        refs.append({
            "title": None,
            "doc_number": number,
            "relation": _classify(text, start, m.end(), own_attachment=False),
            "phrase": _phrase(text, start, m.end()),
            "offset": start,
        })

    refs.sort(key=lambda r: r["offset"])
    return refs


def _is_wrapper(title: str) -> bool:
    plain = re.sub(r"\s+", "", unicodedata.normalize("NFKC", INTERPRETATION_MARK_RE.sub("", title)))
    return bool(_WRAPPER_RE.match(_QUOTES_RE.sub("", plain)))


def _display_title(raw: str) -> str:
    """A title as printed, without the line-break spaces the extraction left between CJK characters."""
    raw = re.sub(r"\s+", " ", raw).strip()
    return re.sub(r"(?<=[\u3000-\u9fff\uff00-\uffef]) (?=[\u3000-\u9fff\uff00-\uffef])", "", raw)


def _is_abbreviation(text: str, start: int) -> bool:
    before = text[max(0, start - 6):start]
    return any(before.endswith(c) for c in _cues()["abbreviation"])


def _following_doc_number(text: str, end: int) -> tuple[str | None, int | None, tuple[int, int] | None]:
    """The 文号 in the bracket right after a title: （国办发〔2021〕19号）, (国办发[2021]19 号)."""
    bracket = _FOLLOWING_BRACKET_RE.match(text, end)
    if not bracket:
        return None, None, None
    m = TEXT_DOC_NUMBER_RE.match(text, bracket.end())
    if not m:
        return None, None, None
    number, start = _doc_number_of(m)
    if not number or start != m.start():
        return None, None, None
    # The bracket may go on (（国办发〔2021〕19号，以下简称《意见》）): the reference ends with it.
    close = re.search(r"[）)]", text[m.end():m.end() + 30])
    number_end = m.end() + (close.end() if close else 0)
    return number, number_end, (m.start(), m.end())


def _clause_start(text: str, start: int, stops: str) -> int:
    """Where the clause (or, with sentence stops, the sentence) holding `start` begins."""
    return _clause_bound(text, start - 1, stops, -1)


def _clause_end(text: str, end: int, stops: str) -> int:
    """Where the clause (or sentence) holding `end` ends."""
    return _clause_bound(text, end, stops, 1)


def _clause_bound(text: str, i: int, stops: str, step: int) -> int:
    # Bracketed stretches are skipped, so that a comma inside （…） does not end the clause.
    entering, leaving = (_OPENERS, _PAIRS) if step > 0 else (_PAIRS, _OPENERS)
    limit = min(len(text), i + LOOKBACK) if step > 0 else max(-1, i - LOOKBACK)
    depth = 0
    while i != limit:
        ch = text[i]
        if ch in entering:
            depth += 1
        elif ch in leaving:
            depth = max(0, depth - 1)
        elif depth == 0 and ch in stops:
            return i if step > 0 else i + 1
        i += step
    return limit if step > 0 else limit + 1


def _classify(text: str, start: int, end: int, *, own_attachment: bool) -> str:
    if own_attachment:
        return "issues"
    cues = _cues()
    clause_start = _clause_start(text, start, _CLAUSE_END)
    before = text[clause_start:start]
    near_before = text[max(clause_start, start - 4):start]
    near_after = text[end:min(_clause_end(text, end, _CLAUSE_END), end + 4)]
    if any(c in near_before or near_after.lstrip("的").startswith(c) for c in cues["interprets"]):
        return "interprets"
    if any(c in before for c in cues["implements"]):
        return "implements"
    # 现将《X》印发给你们 / 《X》已经国务院同意，现印发给你们: the issuing words follow in the
    # same or the next clause, with no other document named in between.
    after = text[end:_clause_end(text, end, _SENTENCE_END)]
    after = after[_TITLE_LIST_RE.match(after).end():]
    after = re.split(r"[《〔﹝\[［【]", after, maxsplit=1)[0]
    for cue in cues["issues"]:
        pos = after.find(cue)
        if pos >= 0 and sum(after[:pos].count(c) for c in _CLAUSE_END) <= 1:
            return "issues"
    return "cites"


def _phrase(text: str, start: int, end: int) -> str:
    s = max(_clause_start(text, start, _CLAUSE_END), start - PHRASE_BEFORE)
    e = min(_clause_end(text, end, _CLAUSE_END), end + PHRASE_AFTER)
    return re.sub(r"\s+", " ", text[s:e]).strip()
