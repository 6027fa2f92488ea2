"""Per-request access to the index, in the manner of the Flask tutorial's get_db().

The Searcher is opened once per process (by the production server before it forks, else
on first use) and kept in `app.extensions`; each request takes its own handle on `g`, so
a request that started on one index generation finishes on it, and teardown releases it.
"""
from __future__ import annotations

import threading

from flask import current_app, g

EXTENSION = "policy_search"


class IndexUnavailable(Exception):
    """The index cannot be opened (never built, or unreadable); the message is for users."""


class SearchService:
    def __init__(self, index_dir: str, searcher=None):
        self.index_dir = index_dir
        self._searcher = searcher
        self._lock = threading.Lock()

    def searcher(self):
        if self._searcher is None:
            with self._lock:
                if self._searcher is None:
                    self._searcher = open_searcher(self.index_dir)
        return self._searcher


def open_searcher(index_dir: str):
    from search_app.search import Searcher

    try:
        return Searcher(index_dir)
    except Exception as exc:  # noqa: BLE001 - any failure to open means the same to a user
        raise IndexUnavailable(
            f"无法打开索引目录 {index_dir}：{exc}。请先运行 policy-search build 建立索引。"
        ) from exc


def init_app(app) -> None:
    app.extensions[EXTENSION] = SearchService(app.config["INDEX_DIR"], app.config.get("SEARCHER"))
    app.teardown_appcontext(release_searcher)


def get_searcher():
    if "searcher" not in g:
        searcher = current_app.extensions[EXTENSION].searcher()
        # A Searcher that can pin a generation hands out a per-request snapshot.
        acquire = getattr(searcher, "acquire", None)
        g.searcher = acquire() if callable(acquire) else searcher
    return g.searcher


def release_searcher(exc=None) -> None:
    searcher = g.pop("searcher", None)
    release = getattr(searcher, "release", None)
    if callable(release):
        release()
