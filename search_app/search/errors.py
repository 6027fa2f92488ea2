"""The errors a search reports; every message is Chinese, written for the user."""
from __future__ import annotations


class SearchError(Exception):
    """Base of the errors a search reports."""


class QueryError(SearchError):
    """The query or a parameter cannot be used as given (a user error: HTTP 400)."""


class IndexUnavailable(SearchError):
    """No usable index: missing, unreadable, or built with other analysis
    resources (a server-side condition: HTTP 503)."""
