"""3.1: interpretations of the month's policies, each linked to the appendix document it
interprets."""
from __future__ import annotations

import re
from difflib import SequenceMatcher

from indexer.report.matching import norm_title
from indexer.report.model import Draft, ParsedReport
from indexer.text import Line, clean_spaces, join_paragraphs

INTERPRETATION_RE = re.compile(r"^\s*政策[一二三四五六七八九十\d]+\s*[：:]\s*(.+)$")


def parse_interpretations(lines: list[Line], policies: list[dict], result: ParsedReport) -> list[Draft]:
    items = [ln for ln in lines if ln.kind in ("text", "url")]
    starts = [k for k, ln in enumerate(items) if ln.kind == "text" and INTERPRETATION_RE.match(ln.text)]
    out = []
    for n, k in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(items)
        title = INTERPRETATION_RE.match(items[k].text).group(1)
        body = items[k + 1:end]
        # a heading wrapped onto a second line ends at its closing 》 / 通知
        if body and body[0].kind == "text" and not re.search(r"(通知|》|意见|规划)$", title) and len(body[0].text) < 30:
            title += body[0].text
            body = body[1:]
        urls = []
        for ln in body:
            if ln.kind == "url" and ln.text not in urls:
                urls.append(ln.text)
        paragraphs = join_paragraphs([ln for ln in body if ln.kind == "text"])
        target = _interpreted_policy(title, policies)
        if target is None:
            result.warnings.append(f"interpretation '{title}' matches no appendix document")
        out.append(Draft({
            "kind": "interpretation",
            "title": clean_spaces(title),
            "interprets": target["id"] if target else None,
            "publish_date": target.get("publish_date") if target else None,
            "summary": next((q for q in paragraphs if len(q) >= 20 and not re.fullmatch(r"【[^】]*】", q)),
                            paragraphs[0] if paragraphs else None),
            "text": "\n".join(paragraphs),
            "source_urls": urls,
            "categories": [],
        }, first_line=items[k].no, last_line=items[end - 1].no))
    return out


def _interpreted_policy(title: str, policies: list[dict]) -> dict | None:
    t = norm_title(title)
    best, best_score = None, 0.0
    for p in policies:
        pt = norm_title(p["title"])
        inner = re.sub(r"^关于(印发)?", "", pt)
        inner = re.sub(r"的通知$", "", inner)
        s = SequenceMatcher(None, t, pt).ratio()
        if inner and inner in t:
            s += 1
        if s > best_score:
            best, best_score = p, s
    return best if best_score >= 0.6 else None
