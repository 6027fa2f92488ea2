"""Presentation helpers shared by pages, API and exports: highlighting as HTML, citations."""
from __future__ import annotations

import re
from datetime import date

from flask import url_for
from markupsafe import Markup

from search_app.search import HtmlFormatter

# GB/T 7714-2015 lists at most three responsible parties, then "等".
MAX_CITED_BODIES = 3


def with_html(result: dict) -> dict:
    """A search result with its title and snippet rendered as HTML (`title_html`,
    `snippet_html`: every character escaped but the <mark> of a match), for the
    pages and the JSON API."""
    html_of = HtmlFormatter()
    return {
        **result,
        "title_html": Markup(html_of.format(result.get("title") or "", result.get("title_spans") or ())),
        "snippet_html": Markup(html_of.format_fragments(result.get("snippet") or ())),
    }


def paragraphs_html(paragraphs) -> tuple[list[Markup], bool]:
    """The document's paragraphs as HTML with the matches marked, the first mark
    carrying id="first-hit" so the page can link to it; and whether any was marked."""
    first = next((i for i, p in enumerate(paragraphs) if p["spans"]), None)
    rendered = [Markup(HtmlFormatter(first_id="first-hit" if i == first else None).format(p["text"], p["spans"]))
                for i, p in enumerate(paragraphs)]
    return rendered, first is not None


def search_url(query_string: str = "") -> str:
    """The search page with a query string (SearchParams.query_string())."""
    base = url_for("pages.search")
    return f"{base}?{query_string}" if query_string else base


def web_url(url) -> str | None:
    """The URL if it is an http(s) address fit for an href, else None (javascript:, data:…)."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    if re.match(r"^https?://[^\s/?#]+", url, re.IGNORECASE) and not re.search(r"[\s<>\"']", url):
        return url
    return None


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
