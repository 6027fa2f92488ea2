"""Line-level cleaning of PDF-to-text extractions: page artifacts, URL dumps, wrapped lines.

Pure string functions shared by the parser; nothing here knows about policy metadata.
"""
from __future__ import annotations

import re
import statistics
import unicodedata
from collections import Counter
from dataclasses import dataclass

URL_RE = re.compile(r"^\s*(?:https?://|www\.)\S+\s*$")
PAGE_NUMBER_RE = re.compile(r"^\s*(?:\d{1,4}|[IVXLC]{1,6})\s*$")
# A paragraph-opening marker: 一、 （一） 1. 1、 (1) 第一条 ① 附件
PARAGRAPH_START_RE = re.compile(
    r"^\s*(?:[一二三四五六七八九十百]+、|[（(][一二三四五六七八九十百\d]+[）)]|\d{1,3}[.．、](?!\d)"
    r"|第[一二三四五六七八九十百\d]+[章节条部分篇]|[①-⑳]|附件|附表|专栏|【)"
)
SENTENCE_END = "。；：！？!?;:）)”》"

_CJK = "\u3400-\u9fff\u3000-\u303f\uff00-\uffef\u2014-\u201f\u2026"
_SPACE_NEAR_CJK_RE = re.compile(rf"(?<=[{_CJK}])[ \t\u3000]+|[ \t\u3000]+(?=[{_CJK}])")


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def clean_spaces(text: str) -> str:
    """Remove the extraction's artifact spaces next to Chinese characters
    ('2021 年 12 月' → '2021年12月', '保 持 “ 十 四' → '保持“十四'),
    keeping real spaces between Latin words and numbers ('Wi Fi', '368 600')."""
    return _SPACE_NEAR_CJK_RE.sub("", text).strip()


@dataclass
class Line:
    no: int          # 1-based line number in the report file
    text: str        # the line with its leading page-start space removed
    kind: str        # text | blank | url | page | header
    indented: bool = False  # the raw line began with white space (a bullet or a page start)


def classify_lines(raw: str) -> list[Line]:
    """Split a report into lines and mark page artifacts: URL dumps at page ends, page
    numbers, running headers. A running header is a short line repeated on several pages."""
    rows = raw.split("\n")
    stripped = [r.strip() for r in rows]
    counts = Counter(s for s in stripped if s)
    headers = {s for s, n in counts.items() if n >= 3 and re.search(r"www\.\w+\.\w+", s) and len(s) <= 40}
    lines: list[Line] = []
    for i, s in enumerate(stripped):
        if not s:
            kind = "blank"
        elif URL_RE.match(s):
            kind = "url"
        elif s in headers:
            kind = "header"
        elif PAGE_NUMBER_RE.match(s) and _is_page_number_position(stripped, lines, i):
            kind = "page"
        else:
            kind = "text"
        lines.append(Line(i + 1, s, kind, rows[i][:1].isspace()))
    return lines


def _is_page_number_position(stripped: list[str], lines: list[Line], i: int) -> bool:
    # The extraction separates pages by an extra blank line: a page number stands after
    # two blank lines, or right after the running header.
    if i >= 2 and not stripped[i - 1] and not stripped[i - 2]:
        return True
    for prev in reversed(lines[-3:]):
        if prev.kind == "header":
            return True
        if prev.kind != "blank":
            break
    return False


def content_lines(lines: list[Line]) -> list[Line]:
    return [ln for ln in lines if ln.kind == "text"]


def full_width_threshold(lines: list[Line]) -> int:
    """Width at and above which a line is taken to run to the right margin (so wrapped)."""
    widths = sorted(display_width(ln.text) for ln in lines if ln.kind == "text")
    if not widths:
        return 80
    top = widths[int(len(widths) * 0.9) - 1 if len(widths) >= 10 else -1]
    return max(20, int(top * 0.88))


def join_paragraphs(lines: list[Line], threshold: int | None = None) -> list[str]:
    """Rejoin PDF lines into paragraphs: a line that runs to the margin continues on the next
    line unless the next one opens a new numbered item after a finished sentence."""
    body = [ln for ln in lines if ln.kind == "text"]
    if threshold is None:
        threshold = full_width_threshold(body)
    paragraphs: list[str] = []
    current = ""
    for ln in body:
        text = ln.text
        if current:
            ended = current.rstrip()[-1:] in SENTENCE_END
            # after a finished sentence, a numbered item opens a paragraph, and so does a
            # short line with no sentence in it (a signature, a date, a sub-title)
            standalone = display_width(text) < threshold and not re.search(r"[，。；！？,;]", text)
            if ended and (PARAGRAPH_START_RE.match(text) or standalone):
                paragraphs.append(current)
                current = ""
        current = _concat(current, text)
        if display_width(text) < threshold:
            paragraphs.append(current)
            current = ""
    if current:
        paragraphs.append(current)
    return [clean_spaces(p) for p in paragraphs if p.strip()]


def _concat(left: str, right: str) -> str:
    if not left:
        return right
    # Latin words split over a line break keep one space between them.
    if re.search(r"[A-Za-z0-9]$", left) and re.match(r"^[A-Za-z]", right):
        return left + " " + right
    return left + right


def median_width(lines: list[Line]) -> float:
    widths = [display_width(ln.text) for ln in lines if ln.kind == "text"]
    return statistics.median(widths) if widths else 0.0
