"""What the web tests share: one small real index, the app on it, a real server process.

The index is built once per test session by the real build pipeline (generations,
manifest, lineage) from records the real parser made of the real report, written as
a JSON Lines report: the format the corpus loader imports.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"

# Both levels, a dozen regions (广东省 with a city), every kind, a cover notice of a few
# lines and a plan of 19,000 characters, a policy with its interpretation, two documents
# implementing the same parent, publish dates in two months.
WEB_IDS = tuple("2021-12-" + s for s in (
    "c01 c02 c05 c09 c12 c15 l03 l10 l14 l17 l26 l29 l36 l43 l44 l48 l49 l51 l56 l60 "
    "act03 act06 act17 int1 int2"
).split())

_built: dict[str, Path] = {}


@pytest.fixture(scope="session")
def web_records(report_records) -> list[dict]:
    by_id = {r["id"]: r for r in report_records}
    missing = [i for i in WEB_IDS if i not in by_id]
    assert not missing, f"the parser no longer produces {missing}"
    return [by_id[i] for i in WEB_IDS]


@pytest.fixture(scope="session")
def web_index(tmp_path_factory, web_records, jieba_ready) -> Path:
    """An index root with one live generation. Built once per process even when several
    test modules import this fixture."""
    if "root" not in _built:
        from indexer.build import build

        base = tmp_path_factory.mktemp("web")
        reports = base / "data" / "reports"
        reports.mkdir(parents=True)
        with open(reports / "2021-12_web-slice.jsonl", "w", encoding="utf-8") as out:
            for record in web_records:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
        result = build(base / "data", base / "index")
        assert result.outcome == "ok", result.message
        _built["root"] = base / "index"
    return _built["root"]


@pytest.fixture(scope="session")
def web_app(web_index):
    from search_app import create_app

    return create_app({"INDEX_DIR": str(web_index), "TESTING": True})


@pytest.fixture
def client(web_app):
    return web_app.test_client()


@pytest.fixture(scope="session")
def indexed(web_app) -> dict[str, dict]:
    """The stored records of the index, by id (what the pages should show)."""
    with web_app.app_context():
        from search_app.views.resources import get_searcher

        searcher = get_searcher()
        return {i: searcher.get_document(i) for i in WEB_IDS}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise AssertionError(f"server did not answer {url}")


class Server:
    """`policy-search serve` as a real process (gunicorn), stopped by its own pid."""

    def __init__(self, index_dir: Path, workers: int = 2, log_dir: Path | None = None):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = (log_dir or Path(os.environ.get("TMPDIR", "/tmp"))) / f"serve-{self.port}.log"
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "search_app.cli", "serve", "--index-dir", str(index_dir),
             "--port", str(self.port), "--workers", str(workers)],
            cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
        )
        try:
            wait_until_up(self.base + "/api/status", self.process)
        except AssertionError:
            self.stop()
            raise AssertionError(self.log_path.read_text(errors="replace")[-3000:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


# --------------------------------------------------------------------------- reading pages

from html.parser import HTMLParser  # noqa: E402

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Element:
    def __init__(self, tag: str, attrs: dict, parent: "Element | None"):
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list = []  # Elements and strings

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self):
        for child in self.children:
            if isinstance(child, Element):
                yield child
                yield from child.iter()

    def find_all(self, tag: str | None = None, cls: str | None = None, **attrs) -> list["Element"]:
        found = []
        for el in self.iter():
            if tag and el.tag != tag:
                continue
            if cls and cls not in el.classes:
                continue
            if any(el.attrs.get(k.rstrip("_").replace("_", "-")) != v for k, v in attrs.items()):
                continue
            found.append(el)
        return found

    def find(self, tag: str | None = None, cls: str | None = None, **attrs) -> "Element | None":
        found = self.find_all(tag, cls, **attrs)
        return found[0] if found else None

    def __repr__(self) -> str:
        return f"<{self.tag} {self.attrs}>"


class _TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {}, None)
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        el = Element(tag, {k: (v if v is not None else "") for k, v in attrs}, self.current)
        self.current.children.append(el)
        if tag not in VOID:
            self.current = el

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Element(tag, {k: (v if v is not None else "") for k, v in attrs}, self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse_html(source: bytes | str) -> Element:
    builder = _TreeBuilder()
    builder.feed(source.decode("utf-8") if isinstance(source, bytes) else source)
    builder.close()
    return builder.root


def squeeze(text: str) -> str:
    return " ".join(text.split())
