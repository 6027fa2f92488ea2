"""Presentation helpers shared by pages, API and exports: citations and safe highlighting."""
from __future__ import annotations

import html
import re
from datetime import date

from markupsafe import Markup

_MARK_SPLIT = re.compile(r"(<mark>|</mark>)")

# GB/T 7714-2015 lists at most three responsible parties, then "等".
MAX_CITED_BODIES = 3


def safe_marks(fragment: str | None, *, first_id: str | None = None) -> Markup:
    """Re-escape a highlighted fragment so that `<mark>` is the only markup that survives.

    The search module already escapes; doing it again here (unescape, then escape) is
    idempotent and means a bug upstream can never inject markup into a page. With
    `first_id`, the first opened `<mark>` carries that id so a link can jump to it.
    """
    if not fragment:
        return Markup("")
    out: list[str] = []
    depth = 0
    for part in _MARK_SPLIT.split(fragment):
        if part == "<mark>":
            if depth == 0:
                if first_id:
                    out.append(f'<mark id="{html.escape(first_id)}">')
                    first_id = None
                else:
                    out.append("<mark>")
            depth += 1
        elif part == "</mark>":
            if depth > 0:
                depth -= 1
                if depth == 0:
                    out.append("</mark>")
        else:
            out.append(html.escape(html.unescape(part), quote=False))
    if depth > 0:
        out.append("</mark>")
    return Markup("".join(out))


def web_url(url) -> str | None:
    """The URL if it is an http(s) address fit for an href, else None (javascript:, data:…)."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    if re.match(r"^https?://[^\s/?#]+", url, re.IGNORECASE) and not re.search(r"[\s<>\"']", url):
        return url
    return None


def has_mark(fragment: str | None) -> bool:
    return bool(fragment) and "<mark>" in fragment


def citation(record: dict, *, accessed: date | None = None) -> str:
    """A GB/T 7714-2015 reference for a policy document (or activity) record.

    Online documents are cited as electronic bulletins `[EB/OL]` with their publication
    date in parentheses and the access date in brackets; a document known only from the
    report has no URL and is cited as `[Z]` (other).
    """
    accessed = accessed or date.today()
    bodies = [b for b in (record.get("bodies") or []) if b]
    responsible = ", ".join(bodies[:MAX_CITED_BODIES])
    if len(bodies) > MAX_CITED_BODIES:
        responsible += ", 等"
    title = (record.get("title") or "").strip().rstrip("。.")
    if record.get("doc_number"):
        title = f"{title}: {record['doc_number']}"
    urls = [u for u in (record.get("source_urls") or []) if web_url(u)]
    published = record.get("publish_date") or record.get("written_date")

    parts = []
    if responsible:
        parts.append(f"{responsible}. ")
    if urls:
        parts.append(f"{title}[EB/OL]. ")
        if published:
            parts.append(f"({published})")
        parts.append(f"[{accessed.isoformat()}]. {urls[0]}.")
    else:
        parts.append(f"{title}[Z]. ")
        if published:
            parts.append(f"{published}.")
    return "".join(parts).strip()


def source_reports(record: dict) -> list[dict]:
    """The report(s) a record came from, whether merged (`sources`) or not (`source`)."""
    sources = record.get("sources")
    if sources:
        return [s for s in sources if isinstance(s, dict)]
    source = record.get("source")
    return [source] if isinstance(source, dict) else []
