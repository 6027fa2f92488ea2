"""`policy-search serve`: a real gunicorn process in front of the app."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest

from tests.web_support import ROOT, WEB_IDS, Server, web_index, web_records  # noqa: F401 - fixtures


@pytest.fixture(scope="module")
def server(web_index, tmp_path_factory):
    running = Server(web_index, workers=2, log_dir=tmp_path_factory.mktemp("serve-log"))
    yield running
    running.stop()


def fetch(url: str) -> tuple[int, dict, bytes]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, dict(response.headers), response.read()


def test_serves_pages_api_and_exports(server):
    status, headers, body = fetch(server.base + "/?q=" + urllib.parse.quote("冷链"))
    assert status == 200 and "冷链" in body.decode() and headers["Content-Security-Policy"]
    status, _, body = fetch(server.base + "/api/status")
    assert json.loads(body)["total"] == len(WEB_IDS)
    status, headers, body = fetch(server.base + "/export.csv")
    assert body.startswith(b"\xef\xbb\xbf") and body.count(b"\r\n") == len(WEB_IDS) + 1
    status, _, body = fetch(server.base + "/static/app.js")
    assert status == 200 and b"use strict" in body


def test_concurrent_requests_agree(server, web_records):
    queries = ["冷链", "物流", "绿色低碳", "保障性租赁住房", "", "实施意见"]
    urls = [server.base + "/api/search?" + urlencode({"q": q, "per_page": 100}) for q in queries] * 4

    def total(url):
        status, _, body = fetch(url)
        assert status == 200
        data = json.loads(body)
        return url, data["total"], [r["id"] for r in data["results"]]

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(total, urls))
    by_url: dict[str, set] = {}
    for url, count, ids in answers:
        by_url.setdefault(url, set()).add((count, tuple(ids)))
    assert all(len(seen) == 1 for seen in by_url.values())
    everything = server.base + "/api/search?" + urlencode({"q": "", "per_page": 100})
    assert next(iter(by_url[everything]))[0] == len(web_records)


def test_bound_to_loopback_with_the_index_opened_before_the_fork(server, web_index):
    log = server.log()
    assert f"Listening at: http://127.0.0.1:{server.port}" in log
    assert log.count("Booting worker") == 2
    # The master process (the one we started) has opened the live generation's segment
    # files, so the workers it forked read them through the same page cache.
    live = (web_index / "generations" / (web_index / "CURRENT").read_text().strip()).resolve()
    fds = f"/proc/{server.process.pid}/fd"
    opened = {os.path.realpath(f"{fds}/{fd}") for fd in os.listdir(fds)}
    assert any(path.startswith(str(live)) and path.endswith(".seg") for path in opened)


def test_master_and_workers_map_one_copy_of_the_document_tables(server, web_index):
    """The live generation's document tables (indexer.doc_tables) are mapped by the
    master before the fork, and so by each worker: one copy in the page cache."""
    live = (web_index / "generations" / (web_index / "CURRENT").read_text().strip()).resolve()
    tables = str(live / "documents.tables")
    fetch(server.base + "/api/search?q=" + urllib.parse.quote("物流"))
    children = [int(p) for p in os.listdir("/proc") if p.isdigit() and _parent_of(p) == server.process.pid]
    assert len(children) == 2
    for pid in [server.process.pid, *children]:
        with open(f"/proc/{pid}/maps") as maps:
            assert tables in maps.read(), pid


def _parent_of(pid: str) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def test_workers_give_freed_heap_back_after_each_request(web_index):
    """gunicorn runs release_freed_memory after every request (a worker's memory must
    not keep the peak of the broadest query it answered)."""
    from search_app.server import PolicySearchServer, gunicorn_options, release_freed_memory

    options = gunicorn_options("127.0.0.1", 0, 2)
    assert options["post_request"] is release_freed_memory
    config = PolicySearchServer(object(), options).cfg
    assert config.post_request is release_freed_memory
    release_freed_memory()


def test_missing_index_is_a_one_line_error(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "search_app.cli", "serve", "--index-dir", str(tmp_path / "none"), "--port", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("policy-search: ") and "policy-search build" in lines[0]
    assert "Traceback" not in result.stderr


def test_empty_index_directory_is_a_one_line_error(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "search_app.cli", "serve", "--index-dir", str(tmp_path), "--port", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
