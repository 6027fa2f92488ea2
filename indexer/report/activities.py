"""Activities (meetings, forums, releases): 2.3's table and 1.2's bullets, which retell the
same activities in sentences."""
from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from indexer.dates import parse_date
from indexer.report.cells import is_table_header, narrow
from indexer.report.matching import best_pairs
from indexer.report.model import Draft
from indexer.text import Line, clean_spaces


@dataclass
class Bullet:
    text: str
    first_line: int
    last_line: int


ACTIVITY_ROW_RE = re.compile(r"^(\d{1,3})\s+((?:19|20)\d{2}/\d{1,2}/\d{1,2})$")
BULLET_RE = re.compile(r"^[\uf06c\uf0b7\u2022\u25cf\u25aa\u25a0\u00b7●■◆▪]\s*")


def parse_activity_table(lines: list[Line]) -> list[Draft]:
    items = [ln for ln in lines if ln.kind == "text" and not is_table_header(ln.text)]
    starts = [k for k, ln in enumerate(items) if ACTIVITY_ROW_RE.match(ln.text)]
    out = []
    for n, k in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(items)
        m = ACTIVITY_ROW_RE.match(items[k].text)
        cells = items[k + 1:end]
        name_lines = []
        j = 0
        while j < len(cells) and narrow(cells[j].text, 12) and not cells[j].text.endswith("。"):
            name_lines.append(cells[j].text)
            j += 1
        summary = [c.text for c in cells[j:]]
        out.append(Draft({
            "kind": "activity",
            "title": clean_spaces("".join(name_lines)),
            "publish_date": parse_date(m.group(2)),
            "summary": clean_spaces(summary[0]) if summary else None,
            "text": "\n".join(clean_spaces(s) for s in summary),
            "categories": [],
        }, first_line=items[k].no, last_line=items[end - 1].no))
    return out


def parse_bullets(lines: list[Line]) -> list[Bullet]:
    """1.2's bullets. The extraction lost the bullet glyph and left its indent: a bullet is
    an indented line after a finished sentence (an indented line mid-sentence is a page start)."""
    bullets: list[Bullet] = []
    for ln in lines:
        if ln.kind != "text":
            continue
        text = BULLET_RE.sub("", ln.text)
        starts = bool(BULLET_RE.match(ln.text)) or (ln.indented and (not bullets or bullets[-1].text.rstrip()[-1:] in "。！？"))
        if starts or not bullets:
            bullets.append(Bullet(text, ln.no, ln.no))
        else:
            bullets[-1].text += text
            bullets[-1].last_line = ln.no
    for b in bullets:
        b.text = clean_spaces(b.text)
    return [b for b in bullets if b.text]


def merge_activity_bullets(rows: list[Draft], bullets: list[Bullet]) -> list[Draft]:
    """A 1.2 bullet retells a table row's activity in a sentence: it becomes that row's
    summary. Pairs are matched on the meeting's name and on the words the bullet shares
    with the row's text, best pairs first; a bullet that matches no row is an activity
    of its own."""
    scored = []
    for b_i, b in enumerate(bullets):
        name, _, rest = b.text.partition("，")
        grams = _bigrams(rest)
        for r_i, row in enumerate(rows):
            name_sim = SequenceMatcher(None, name, row.record["title"]).ratio()
            body = _bigrams(row.record["text"])
            overlap = len(grams & body) / len(grams) if grams else 0.0
            if name_sim >= 0.5 and overlap >= 0.25:
                scored.append((name_sim + 2 * overlap, b_i, r_i))
    used_b = set()
    for b_i, r_i in best_pairs(scored):
        used_b.add(b_i)
        rows[r_i].record["summary"] = bullets[b_i].text
    out = list(rows)
    for b_i, b in enumerate(bullets):
        if b_i in used_b:
            continue
        out.append(Draft({
            "kind": "activity",
            "title": b.text.partition("，")[0],
            "publish_date": None,
            "summary": b.text,
            "text": b.text,
            "categories": [],
        }, first_line=b.first_line, last_line=b.last_line))
    return out


def _bigrams(text: str) -> set[str]:
    text = re.sub(r"[\s，。、；：“”《》（）]", "", text or "")
    return {text[i:i + 2] for i in range(len(text) - 1)}
