"""Known items: a title pasted from a news item or a table finds its document.

What people paste is rarely the title as the record holds it: the issuing body in
front (江苏省政府办公厅关于…, 工信部等6部门关于…), a mark (【解读】, 【图解】), book-title
marks or quotation marks around it, 的 or the quotation marks of “十四五” dropped, the
inner document's title instead of the 关于印发…的通知 around it, the end cut off.
Exact matching fails on all of these, so a query that reads like a title is also
compared with every title by its character pairs: the share of the query's pairs
(within runs of letters, never across punctuation) that a title holds. A title holding
nearly all of them is the document looked for. Several readings of the query are
compared (as typed, without the body in front, the inner 《》 title) and the best counts.

The body typed in front is not lost: it breaks ties between documents of the same
title (科学绿化 has one 实施意见 per province) by the words it shares with their bodies.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from whoosh import query as Q

from indexer.analysis import query_words, squash
from indexer.normalize import canonical_body

# A query shorter than this (in letters) is a topic, not a title.
MIN_TITLE_CHARS = 10
# The fewest character pairs a reading must have to be compared at all.
MIN_READING_PAIRS = 6
# Share of a reading's pairs a title must hold to be the document looked for.
LIKENESS_THRESHOLD = 0.75

# 【解读】, 【图解】… at either end of a pasted title.
_MARK = re.compile(r"^\s*【[^】]{1,10}】|【[^】]{1,10}】\s*$")
# 国家发改委等2部门, 工信部等6个部门: the bodies in front of a title.
_CO_ISSUERS = re.compile(r"^(.{2,60}?)等\s*[0-9一二三四五六七八九十]{1,3}\s*个?(?:部门|单位|部委)")
# Where a title proper starts after the body that issued it.
_TITLE_START = re.compile(r"关于|印发|转发|发布")
_INNER = re.compile(r"《([^《》]{4,})》")
_LETTERS = re.compile(r"[0-9a-z\u3400-\u9fff]+")


def pairs_of(text: str) -> tuple[str, ...]:
    """The distinct character pairs inside each run of letters and digits of `text`."""
    out: dict[str, None] = {}
    for run in _LETTERS.findall(squash(text)):
        for i in range(len(run) - 1):
            out[run[i:i + 2]] = None
    return tuple(out)


@dataclass(frozen=True)
class TitleProbe:
    """The readings of a query that may be a pasted title, and the body typed with it."""
    readings: tuple[tuple[str, ...], ...]  # each reading's distinct character pairs
    issuer_words: tuple[str, ...] = ()
    stripped: tuple[str, ...] = field(default=())  # what was taken off, for the explanation
    one_run: bool = False  # typed as one run of text, no spaces

    def issuer_query(self):
        """Scores a document by the number of the typed body's words its bodies or
        place hold (None when no body was typed)."""
        if not self.issuer_words:
            return None
        return Q.Or([Q.ConstantScoreQuery(Q.Or([Q.Term("bodies", w), Q.Term("place", w)]), 1.0)
                     for w in self.issuer_words])


def probe_title(text: str) -> TitleProbe | None:
    """The title readings of a query (folded, without operators), or None when the
    query is too short to be a title."""
    if sum(len(run) for run in _LETTERS.findall(squash(text))) < MIN_TITLE_CHARS:
        return None
    stripped: list[str] = []
    core = text
    while (m := _MARK.search(core)) is not None:
        stripped.append(m.group(0).strip())
        core = core[:m.start()] + core[m.end():]
    readings = [core]
    issuer = ""
    m = _CO_ISSUERS.search(core)
    if m:
        issuer = m.group(1)
        stripped.append(m.group(0))
        core = core[m.end():]
        readings.append(core)
    start = _TITLE_START.search(core)
    if start and 2 <= start.start() <= 40 and "《" not in core[:start.start()]:
        issuer = (issuer + " " + core[:start.start()]).strip()
        stripped.append(core[:start.start()])
        readings.append(core[start.start():])
    readings += _INNER.findall(core)
    pairs = [p for p in dict.fromkeys(pairs_of(r) for r in readings) if len(p) >= MIN_READING_PAIRS]
    if not pairs:
        return None
    return TitleProbe(tuple(pairs), _issuer_words(issuer), tuple(s for s in stripped if s.strip()),
                      one_run=not any(ch.isspace() for ch in text.strip()))


def _issuer_words(issuer: str) -> tuple[str, ...]:
    """The words of the bodies typed in front of a title, as typed and under their
    canonical names (国办 → 国务院, 工信部 → 工业和信息化部: data/tables/agencies.tsv)."""
    words: dict[str, None] = {}
    for part in re.split(r"[\s、，,和及与]+", issuer):
        if not part:
            continue
        for name in dict.fromkeys((part, canonical_body(part))):
            words.update((w, None) for w in query_words(name) if len(w) >= 2)
    return tuple(words)
