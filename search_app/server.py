"""Production serving with gunicorn.

jieba's dictionary and the index are loaded once in the master process, before the
workers fork, so workers share those pages and start answering at once instead of each
spending seconds loading the dictionary on its first request.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
from pathlib import Path

from gunicorn.app.base import BaseApplication

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def _malloc_trim():
    """glibc's malloc_trim, or None elsewhere."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


_MALLOC_TRIM = _malloc_trim()


def release_freed_memory(worker=None, req=None, environ=None, resp=None) -> None:
    """After each request (gunicorn's post_request): hand back to the system the heap
    pages a request used and freed. A broad query at 50× the report scores and counts
    thousands of documents; glibc keeps the freed pages, so without this a worker's
    private memory grows with the corpus long after the query (measured: 47 → 30 MB
    per worker at 50× after the query set, about 2 ms for the first trim, 0.1 ms when
    there is little to give back)."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


class ServerError(Exception):
    """The server cannot start for a reason the operator can fix; one line."""


def default_workers() -> int:
    # Search is CPU-bound: one worker per core, at least two so a slow export never
    # blocks every other request.
    return max(2, min(os.cpu_count() or 1, 8))


class PolicySearchServer(BaseApplication):
    def __init__(self, app, options: dict):
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self):
        return self.application


def build_app(index_dir: str, publish_allow=()):
    """Initialise jieba and open the index in this process, then create the app around them."""
    from indexer.analysis import init_jieba
    from search_app import create_app
    from search_app.views.resources import open_searcher

    if not Path(index_dir).is_dir():
        raise ServerError(f"索引目录 {index_dir} 不存在：请先运行 policy-search build --index-dir {index_dir}")
    init_jieba()
    searcher = open_searcher(index_dir)
    # Opening the live generation here (status() does) opens its segment files in the
    # master, so the forked workers start with them open; a missing or resource-mismatched index
    # stops the server now rather than greeting the first visitor with an error.
    status = searcher.status()
    if not status.get("available"):
        raise ServerError(status.get("error") or f"索引目录 {index_dir} 中没有可用的索引")
    searcher.warm()
    app = create_app({"INDEX_DIR": index_dir, "SEARCHER": searcher, "PUBLISH_ALLOW": tuple(publish_allow)})
    # What the master made so far is the workers' shared start: frozen, the cyclic
    # collector in each worker never writes to it (which would copy its pages into
    # every worker); and its freed heap is given back before the fork.
    gc.collect()
    gc.freeze()
    release_freed_memory()
    return app


def gunicorn_options(host: str, port: int, workers: int | None) -> dict:
    return {
        "bind": f"{host}:{port}",
        "workers": workers or default_workers(),
        "worker_class": "sync",
        "timeout": 120,  # a full CSV export of a large result set may take a while
        "graceful_timeout": 30,
        "accesslog": "-",
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "policy-search",
        "preload_app": True,
        "forwarded_allow_ips": "127.0.0.1",
        # gunicorn's control socket lives at one fixed path in $HOME: a second server
        # (another index, a test run) would take it over. Signals do the same job.
        "control_socket_disable": True,
        "post_request": release_freed_memory,
    }


def serve(index_dir: str, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, workers: int | None = None,
          publish_allow=()) -> None:
    app = build_app(index_dir, publish_allow)
    PolicySearchServer(app, gunicorn_options(host, port, workers)).run()
