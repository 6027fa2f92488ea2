"""Per-request access to the index, in the manner of the Flask tutorial's get_db().

The Searcher is opened once per process (by the production server before it forks, else
on first use) and kept in `app.extensions`; each request takes its own handle on `g`, so
a request that started on one index generation finishes on it, and teardown releases it.
"""
from __future__ import annotations

import threading

from flask import current_app, g

EXTENSION = "policy_search"
# Names the index generation that answered, on every response (see name_generation).
GENERATION_HEADER = "X-Index-Generation"


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

    return Searcher(index_dir)


def init_app(app) -> None:
    app.extensions[EXTENSION] = SearchService(app.config["INDEX_DIR"], app.config.get("SEARCHER"))
    app.teardown_appcontext(release_searcher)
    app.after_request(name_generation)


def get_searcher():
    if "searcher" not in g:
        searcher = current_app.extensions[EXTENSION].searcher()
        # Pinned to the live generation for the whole request (page, facets, related list).
        g.searcher = searcher.acquire()
    return g.searcher


def release_searcher(exc=None) -> None:
    searcher = g.pop("searcher", None)
    if searcher is not None:
        searcher.release()


def generation_name() -> str | None:
    """The generation this request searched, else the live one (a page that reads no
    index, such as a static file, is still served beside that generation)."""
    searcher = g.get("searcher")
    if searcher is not None:
        return searcher.generation_name
    from indexer.build import live_build_id

    try:
        return live_build_id(current_app.config["INDEX_DIR"])  # CURRENT read, nothing opened
    except OSError:
        return None


def name_generation(response):
    """Behind a load balancer a client or an operator sees which replica's index answered."""
    name = generation_name()
    if name:
        response.headers.setdefault(GENERATION_HEADER, name)
    return response
