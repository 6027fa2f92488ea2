"""Where each part of a report starts, found by its heading.

A monthly report holds: 1.1 highlights, 1.2 activity bullets, 1.3 a summary, 2.1 / 2.2 tables
of central and local policies, 2.3 a table of activities, 3.1 interpretations, and the full
texts of the policies in 附件一 (central) and 附件二 (local). The contents list at the front
names the same headings with dot leaders; it is told apart by them and only counted.
"""
from __future__ import annotations

import re

from indexer.text import Line

DOC_HEADING_RE = re.compile(r"^\s*(\d{1,3})\s*[.．、]\s*(\S.*)$")
TOC_RE = re.compile(r"(\.{6,}|…{3,})\s*\d*\s*$")

SECTION_PATTERNS = {
    "activities_bullets": re.compile(r"^\s*1\s*[.．]\s*2\s*本月.*活动"),
    "summary": re.compile(r"^\s*1\s*[.．]\s*3\s*本月小结"),
    "central_table": re.compile(r"^\s*2\s*[.．]\s*1\s*本月.*中央.*一览表"),
    "local_table": re.compile(r"^\s*2\s*[.．]\s*2\s*本月.*地方.*一览表"),
    "activity_table": re.compile(r"^\s*2\s*[.．]\s*3\s*本月.*活动"),
    "interpretations": re.compile(r"^\s*3\s*[.．]\s*1\s*本月.*解读"),
    "central_appendix": re.compile(r"^\s*附件[一1]\s*[：:]\s*中央政策原文"),
    "local_appendix": re.compile(r"^\s*附件[二2]\s*[：:]\s*地方政策原文"),
}


def find_sections(lines: list[Line]) -> dict[str, tuple[int, int]]:
    """Index ranges of the report's sections, found by their headings (not the contents list)."""
    starts: dict[str, int] = {}
    for i, ln in enumerate(lines):
        if ln.kind != "text" or TOC_RE.search(ln.text):
            continue
        for key, pattern in SECTION_PATTERNS.items():
            if key not in starts and pattern.match(ln.text):
                starts[key] = i
    ordered = sorted(starts.items(), key=lambda kv: kv[1])
    sections = {}
    for n, (key, start) in enumerate(ordered):
        end = ordered[n + 1][1] if n + 1 < len(ordered) else len(lines)
        sections[key] = (start + 1, end)
    return sections


def toc_counts(lines: list[Line], sections: dict) -> dict[str, int]:
    """How many documents the contents list announces for each appendix."""
    counts = {"central": 0, "local": 0}
    level = None
    first_section = min((s for s, _ in sections.values()), default=len(lines))
    for ln in lines[:first_section]:
        if "附件一" in ln.text or "中央政策原文" in ln.text:
            level = "central"
        elif "附件二" in ln.text or "地方政策原文" in ln.text:
            level = "local"
        elif level and TOC_RE.search(ln.text):
            m = DOC_HEADING_RE.match(ln.text)
            if m:
                counts[level] = max(counts[level], int(m.group(1)))
    return {k: v for k, v in counts.items() if v}
