"""The search core: query language, scoring, filters, facets and highlighting over the
live index generation, returning plain data (records, scores, match spans).

    query/        lexer → parser → compiler → Plan (docs/query-language.md); Chain
    scoring       the one-pass BM25F scorer; postings: its reading of Whoosh's postings
    filters       the filters argument checked, and the documents each selection allows
    facets        facet counts and the month histogram
    generations   the live generation, opened once, leased per call or per request
    highlight     match spans, snippet passages and paragraphs; formatters for callers
    searcher      `Searcher`, which only orchestrates the above

The views and the CLI import from here only.
"""
from .errors import IndexUnavailable, QueryError, SearchError
from .filters import normalize_filters, parse_date_bound
from .generations import Lease, resolve_index
from .highlight import AnsiFormatter, Fragment, HtmlFormatter, PlainFormatter
from .query import Plan, parse_query
from .searcher import Searcher

__all__ = [
    "AnsiFormatter", "Fragment", "HtmlFormatter", "IndexUnavailable", "Lease", "Plan", "PlainFormatter",
    "QueryError", "SearchError", "Searcher", "normalize_filters", "parse_date_bound", "parse_query",
    "resolve_index",
]
