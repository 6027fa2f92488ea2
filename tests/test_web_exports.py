"""Exports of the whole filtered result set and the Atom feed of a search."""
from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from datetime import date, datetime
from urllib.parse import urlencode, urlsplit

from search_app.views.exports import CSV_COLUMNS, csv_cell
from search_app.views.formatting import citation
from tests.web_support import (  # noqa: F401 - fixtures
    WEB_IDS,
    client,
    indexed,
    web_app,
    web_index,
    web_records,
)

ATOM = "{http://www.w3.org/2005/Atom}"


def csv_rows(client, path: str) -> tuple[list[dict], bytes]:
    response = client.get(path)
    assert response.status_code == 200, response.data[:300]
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    raw = response.data
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig")))), raw


def test_csv_is_the_whole_result_set_with_bom(client, web_records):
    rows, raw = csv_rows(client, "/export.csv?per_page=5&page=2")
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.decode("utf-8-sig").split("\r\n", 1)[0] == ",".join(CSV_COLUMNS)
    # Every document, not one page of them, newest first as on the page.
    assert sorted(r["id"] for r in rows) == sorted(WEB_IDS)
    dates = [r["publish_date"] for r in rows if r["publish_date"]]
    assert dates == sorted(dates, reverse=True)


def test_csv_filters_and_fields(client, web_records):
    rows, _ = csv_rows(client, "/export.csv?" + urlencode({"q": "保障性租赁住房", "level": "local"}))
    expected = {r["id"] for r in web_records if r.get("level") == "local" and "保障性租赁住房" in (r["title"] + r["text"] + (r.get("summary") or ""))}
    assert {r["id"] for r in rows} == expected
    by_id = {r["id"]: r for r in web_records}
    stamps = set()
    for row in rows:
        record = by_id[row["id"]]
        assert row["title"] == record["title"] and row["doc_number"] == (record["doc_number"] or "")
        assert row["bodies"] == "; ".join(record["bodies"])
        assert row["categories"] == "; ".join(record["categories"])
        assert row["region"] == record["region"] and row["publish_date"] == record["publish_date"]
        assert row["source_urls"] == "; ".join(record["source_urls"])
        assert row["source_reports"] == record["source"]["report"]
        assert urlsplit(row["url"]).path == f"/doc/{record['id']}" and row["url"].startswith("http")
        stamps.add(row["retrieved_at"])
    assert len(stamps) == 1
    datetime.fromisoformat(stamps.pop())


def test_csv_cells_cannot_become_formulas():
    assert csv_cell("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert csv_cell("-1+2") == "'-1+2" and csv_cell("@SUM(A1)") == "'@SUM(A1)"
    assert csv_cell(["国家发展改革委", "工业和信息化部"]) == "国家发展改革委; 工业和信息化部"
    assert csv_cell(None) == "" and csv_cell("2021-12-01") == "2021-12-01"


def test_jsonl_carries_full_records(client, indexed):
    response = client.get("/export.jsonl?q=冷链")
    assert response.status_code == 200 and response.mimetype == "application/x-ndjson"
    lines = response.data.decode("utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    api = client.get("/api/search?q=冷链&per_page=100").get_json()
    assert [r["id"] for r in records] == [r["id"] for r in api["results"]]
    for record in records:
        assert record == indexed[record["id"]]
        assert record["text"]


def test_exports_of_nothing_and_of_bad_parameters(client):
    rows, _ = csv_rows(client, "/export.csv?" + urlencode({"q": "冷链", "region": "海南省"}))
    assert rows == []
    assert client.get("/export.jsonl?" + urlencode({"q": "冷链", "region": "海南省"})).data == b""
    for path in ("/export.csv?date_to=31/12/2021x", "/export.jsonl?sort=random", "/feed.atom?page=zz"):
        response = client.get(path)
        assert response.status_code == 400 and "请求有误" in response.data.decode()


def test_atom_feed_of_a_search(client, web_records):
    response = client.get("/feed.atom?" + urlencode({"q": "绿色", "region": "广东省"}))
    assert response.status_code == 200 and response.mimetype == "application/atom+xml"
    feed = ET.fromstring(response.data)
    assert feed.tag == ATOM + "feed"
    assert "绿色" in feed.find(ATOM + "title").text
    for name in ("id", "updated"):
        assert feed.find(ATOM + name).text
    self_link = next(l for l in feed.findall(ATOM + "link") if l.get("rel") == "self")
    assert urlsplit(self_link.get("href")).query == urlencode({"q": "绿色", "region": "广东省"})
    entries = feed.findall(ATOM + "entry")
    api = client.get("/api/search?" + urlencode({"q": "绿色", "region": "广东省", "sort": "newest"})).get_json()
    assert [e.find(ATOM + "id").text for e in entries] == [f"urn:policy-search:doc:{r['id']}" for r in api["results"]]
    assert entries
    rfc3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d([+-]\d\d:\d\d|Z)$")
    by_id = {r["id"]: r for r in web_records}
    for entry in entries:
        record = by_id[entry.find(ATOM + "id").text.rsplit(":", 1)[1]]
        assert entry.find(ATOM + "title").text == record["title"]
        assert rfc3339.match(entry.find(ATOM + "updated").text)
        assert entry.find(ATOM + "published").text.startswith(record["publish_date"])
        link = entry.find(ATOM + "link")
        assert urlsplit(link.get("href")).path == f"/doc/{record['id']}"
        assert record["summary"][:20] in entry.find(ATOM + "summary").text


def test_atom_feed_of_everything_is_newest_first(client, web_records):
    feed = ET.fromstring(client.get("/feed.atom?sort=oldest").data)
    published = [e.find(ATOM + "published").text for e in feed.findall(ATOM + "entry") if e.find(ATOM + "published") is not None]
    assert published == sorted(published, reverse=True)
    assert len(feed.findall(ATOM + "entry")) == len(WEB_IDS)


def test_citation_follows_gbt_7714(indexed):
    accessed = date(2022, 1, 5)
    c01 = indexed["2021-12-c01"]
    assert citation(c01, accessed=accessed) == (
        "国务院办公厅. 关于印发“十四五”冷链物流发展规划的通知: 国办发〔2021〕46号[EB/OL]. "
        "(2021-12-12)[2022-01-05]. http://www.gov.cn/zhengce/content/2021-12/12/content_5660244.htm."
    )
    # More than three issuing bodies: the first three, then "等".
    joint = next(r for r in indexed.values() if len(r.get("bodies") or []) > 3)
    cited = citation(joint, accessed=accessed)
    assert cited.startswith(", ".join(joint["bodies"][:3]) + ", 等. ")
    # Without an online source: [Z] and the publication date.
    offline = dict(c01, source_urls=[])
    assert citation(offline, accessed=accessed).endswith("国办发〔2021〕46号[Z]. 2021-12-12.")
    # An activity has no issuing body or number.
    activity = indexed["2021-12-act06"]
    assert citation(activity, accessed=accessed).startswith(activity["title"] + "[")
