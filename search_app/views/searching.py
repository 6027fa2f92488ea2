"""The views' only calls into search_app.search, so pages, API and exports ask alike."""
from __future__ import annotations

from search_app.search import IndexUnavailable, QueryError  # noqa: F401 - re-exported for the views

from .formatting import with_html
from .params import SearchParams


def run_search(searcher, params: SearchParams) -> dict:
    """The search core's answer, each result with its HTML (title_html, snippet_html)."""
    result = searcher.search(
        params.q,
        filters=params.search_filters(),
        sort=params.effective_sort,
        page=params.page,
        per_page=params.per_page,
    )
    return {**result, "results": [with_html(r) for r in result["results"]]}


def iter_records(searcher, params: SearchParams):
    """Every record of the filtered result set (not just one page), full text included."""
    return searcher.iter_results(params.q, params.search_filters(), params.effective_sort)


def find_document(searcher, doc_id: str) -> dict | None:
    try:
        return searcher.get_document(doc_id)
    except (KeyError, LookupError):
        return None


def related_documents(searcher, doc_id: str, n: int) -> list[dict]:
    return [with_html(r) for r in searcher.more_like_this(doc_id, n) or []]


def find_diffusion(searcher, value: str) -> dict | None:
    """The documents citing the parent `value` names, with regions and dates (or None)."""
    return searcher.diffusion(value)
