"""Escaping, security headers, and assets that never leave the site."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import pytest

from search_app import SECURITY_HEADERS, create_app
from tests.web_support import (  # noqa: F401 - fixtures
    client,
    parse_html,
    web_app,
    web_index,
    web_records,
)

PAGES = ("/", "/?q=冷链&region=广东省", "/doc/2021-12-c01?q=冷链", "/doc/2021-12-act06", "/help",
         "/?q=冷链&region=海南省", "/nope", "/?date_from=x")
ROUTES = PAGES + ("/api/search?q=冷链", "/api/documents/2021-12-c01", "/api/status", "/export.csv",
                  "/export.jsonl", "/feed.atom", "/static/style.css", "/static/app.js", "/api/x")

PROBE = "<script>alert('xss')</script>\"'><img src=x onerror=alert(1)>"


@pytest.mark.parametrize("path", ROUTES)
def test_security_headers_everywhere(client, path):
    response = client.get(path)
    assert response.status_code < 500
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (path, name)
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", PAGES)
def test_pages_have_no_inline_script_or_style_and_no_external_assets(client, path):
    doc = parse_html(client.get(path).data)
    scripts = doc.find_all("script")
    assert scripts and all(s.attrs.get("src", "").startswith("/static/") and not s.text().strip() for s in scripts)
    assert not doc.find_all("style")
    for el in doc.iter():
        assert "style" not in el.attrs, el
        assert not [a for a in el.attrs if a.startswith("on")], el
    for link in doc.find_all("link"):
        assert link.attrs["href"].startswith("/"), link
    for img in doc.find_all("img"):
        assert img.attrs["src"].startswith("/static/")
    assert doc.find("html").attrs["lang"] == "zh-CN"
    assert doc.find("meta", name="viewport") is not None


def test_static_assets_name_no_other_host(client):
    for asset in ("/static/style.css", "/static/app.js", "/static/favicon.svg"):
        body = client.get(asset).data.decode()
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", body.replace("http://www.w3.org/2000/svg", "")), asset
        assert "@import" not in body


def test_query_probe_is_escaped_everywhere(client):
    for path in ("/?" + urlencode({"q": PROBE}), "/?" + urlencode({"q": "冷链 " + PROBE}),
                 "/doc/2021-12-c01?" + urlencode({"q": PROBE}), "/?" + urlencode({"q": PROBE, "region": PROBE}),
                 "/?" + urlencode({"q": PROBE, "date_from": PROBE})):
        response = client.get(path)
        body = response.data.decode()
        assert response.status_code in (200, 400)
        assert "<script>alert" not in body and "<img src=x" not in body, path
        _no_injected_markup(parse_html(body))
    feed = client.get("/feed.atom?" + urlencode({"q": PROBE})).data
    root = ET.fromstring(feed)  # well-formed: the probe did not break out of the XML
    assert PROBE in root.find("{http://www.w3.org/2005/Atom}title").text


# --------------------------------------------------------------------------- hostile records


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, web_records, jieba_ready):
    """A real record whose every rendered field carries markup, in an index of its own."""
    from indexer.indexing import create_index

    base = next(r for r in web_records if r["id"] == "2021-12-l17")
    evil = dict(
        base,
        id="2021-12-l90",
        title="关于冷链" + PROBE + "的通知",
        doc_number="<b>粤府〔2021〕99号</b>",
        bodies=["<img src=x onerror=alert(2)>人民政府"],
        bodies_canonical=["<svg onload=alert(3)>人民政府"],
        region="<i>广东省</i>",
        city="<u>广州市</u>",
        doc_type="<em>意见</em>",
        categories=["<script>alert(4)</script>"],
        summary="摘要" + PROBE,
        text="冷链" + PROBE + "\n第二段 <iframe src=//evil> 冷链",
        source_urls=["javascript:alert(5)", "http://example.org/\"><script>alert(6)</script>"],
        source={"report": "<script>alert(7)</script>.txt", "first_line": 1, "last_line": 2},
        cites=[{"key": "<k>", "target_id": None, "title": "<script>alert(8)</script>", "doc_number": None,
                "relation": "cites"}],
    )
    path = tmp_path_factory.mktemp("hostile")
    create_index(path, [evil, next(r for r in web_records if r["id"] == "2021-12-c01")])
    app = create_app({"INDEX_DIR": str(path), "TESTING": True})
    return app.test_client()


# The pictures the app draws itself (views/charts.py): the only places an <svg> may be.
CHART_CONTAINERS = {"histogram", "map-figure", "map-legend", "timeline-figure"}


def _in_chart(el) -> bool:
    parent = el.parent
    while parent is not None:
        if parent.classes & CHART_CONTAINERS:
            return True
        parent = parent.parent
    return False


def _no_injected_markup(doc) -> None:
    for el in doc.iter():
        assert el.tag not in ("img", "iframe", "b", "i", "u", "em", "k") or el.attrs.get("src", "").startswith("/static/"), el
        assert el.tag != "script" or el.attrs.get("src", "").startswith("/static/"), el
        assert el.tag != "svg" or _in_chart(el), el
        assert not [a for a in el.attrs if a.startswith("on")], el
        href = el.attrs.get("href", "")
        assert not href.lower().startswith(("javascript:", "data:")), el


@pytest.mark.parametrize("path", ["/?q=冷链", "/", "/?q=冷链&sort=newest", "/doc/2021-12-l90", "/doc/2021-12-l90?q=冷链",
                                  "/?q=不存在的词语组合&region=<i>广东省</i>", "/doc/2021-12-c01"])
def test_every_rendered_field_is_escaped(hostile, path):
    response = hostile.get(path)
    assert response.status_code == 200
    body = response.data.decode()
    for needle in ("<script>alert", "<img src=x", "<svg onload", "<b>粤府", "<i>广东省", "<u>广州市",
                   "<em>意见", "<iframe", "href=\"javascript:"):
        assert needle not in body, (path, needle)
    _no_injected_markup(parse_html(body))


def test_hostile_record_in_feed_and_exports(hostile):
    root = ET.fromstring(hostile.get("/feed.atom?q=冷链").data)
    titles = [e.find("{http://www.w3.org/2005/Atom}title").text for e in root.findall("{http://www.w3.org/2005/Atom}entry")]
    assert any(PROBE in t for t in titles)
    assert hostile.get("/export.csv?q=冷链").status_code == 200
    assert b"<script>" in hostile.get("/export.jsonl?q=冷链").data  # data, served as application/x-ndjson
    assert hostile.get("/export.jsonl").mimetype == "application/x-ndjson"


def test_snippets_carry_only_marks(hostile):
    doc = parse_html(hostile.get("/?q=冷链").data)
    for snippet in doc.find_all("p", cls="snippet"):
        assert {el.tag for el in snippet.iter()} <= {"mark"}
    for title in doc.find_all("h2", cls="result-title"):
        tags = {el.tag for el in title.find("a").iter()}
        assert tags <= {"mark"}
