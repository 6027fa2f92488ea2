"""The pictures and their twins: the region map of a search, the time chart, the diffusion
view of a cited document; checked against the region facet and the citation links of the
real report."""
from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from collections import defaultdict
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from indexer.lineage import resolve_references
from indexer.normalize import load_table
from search_app.views.charts import SCALE, TILE_NAMES, classes, time_bins
from tests.search_snapshot import FILTERED, QUERIES
from tests.web_support import client, parse_html, web_app, web_index, web_records  # noqa: F401 - fixtures

EVAL = Path(__file__).resolve().parent / "eval" / "forgiving_queries.tsv"
SVG = "{http://www.w3.org/2000/svg}"
# The cited central document three provinces' 关于科学绿化的实施意见 implement; not itself in the report.
GREENING = "国办发〔2021〕19号"


def graded_searches() -> list[dict]:
    """The graded query set: the search snapshot's queries and filtered searches, and the
    queries of the forgiving-search evaluation."""
    searches = [{"q": q} for q in QUERIES]
    for q, filters, sort in FILTERED:
        searches.append({"q": q, "sort": sort, **filters})
    with EVAL.open(encoding="utf-8") as fh:
        searches += [{"q": row["query"]} for row in csv.DictReader(fh, delimiter="\t")]
    return searches


def query_string(search: dict) -> str:
    return urlencode([(k, v) for k, values in search.items()
                      for v in (values if isinstance(values, list) else [values]) if v], doseq=False)


@pytest.fixture(scope="module")
def full_client(full_index):
    from search_app import create_app

    return create_app({"INDEX_DIR": str(full_index), "TESTING": True}).test_client()


def facet_counts(client, qs: str) -> dict[str, int]:
    data = client.get(f"/api/search?{qs}").get_json()
    return {e["value"]: e["count"] for e in data["facets"]["region"] if e["count"]}


def page_map(doc) -> tuple[dict[str, int], dict[str, int]]:
    """The counts printed on the map's tiles and in its table twin."""
    tiles = {}
    for tile in doc.find("svg", cls="tile-map").find_all(cls="map-tile"):
        texts = [t.text() for t in tile.find_all("text")]
        if len(texts) == 2:
            tiles[tile.attrs["data-region"]] = int(texts[1])
    table = {}
    for row in doc.find("table", cls="map-table").find_all("tr"):
        th, td = row.find("th"), row.find("td")
        if th is not None and td is not None and th.find("a") is not None:
            table[th.text().strip()] = int(td.text())
    return tiles, table


def test_map_counts_equal_the_region_facet_for_every_graded_search(full_client):
    searches = graded_searches()
    assert len(searches) > 250
    drawn = 0
    for search in searches:
        qs = query_string(search)
        expected = facet_counts(full_client, qs)
        api = full_client.get(f"/api/map?{qs}").get_json()
        assert {r["region"]: r["count"] for r in api["regions"]} == expected, search
        response = full_client.get(f"/?{qs}")
        assert response.status_code == 200, search
        doc = parse_html(response.data)
        if not api["total"]:
            assert doc.find("svg", cls="tile-map") is None
            continue
        tiles, table = page_map(doc)
        on_map = {k: v for k, v in expected.items() if k in TILE_NAMES}
        assert tiles == on_map, search
        assert table == expected, search
        # The facet list of the same page says the same.
        listed = {label.find("input").attrs["value"]: int(label.find(cls="facet-count").text())
                  for label in doc.find("fieldset", **{"data-facet": "region"}).find_all("label", cls="facet-value")} \
            if doc.find("fieldset", **{"data-facet": "region"}) else {}
        assert {k: v for k, v in listed.items() if v} == expected, search
        drawn += bool(tiles)
    assert drawn > 100


def test_central_documents_are_counted_apart(full_client, report_records):
    data = full_client.get("/api/map?q=规划").get_json()
    search = full_client.get("/api/search?q=规划").get_json()
    central = next(e["count"] for e in search["facets"]["level"] if e["value"] == "central")
    assert data["central"] == central > 0
    assert sum(r["count"] for r in data["regions"]) + central <= data["total"] + central
    assert "中央文件没有地区，另计" in full_client.get("/?q=规划").data.decode()


def test_a_tile_applies_the_region_facet_as_the_facet_list_does(client):
    doc = parse_html(client.get("/?q=物流").data)
    facet_links = {}
    for label in doc.find("fieldset", **{"data-facet": "region"}).find_all("label", cls="facet-value"):
        facet_links[label.find("input").attrs["value"]] = label
    tiles = {a.attrs["data-region"]: a.attrs["href"] for a in doc.find("svg", cls="tile-map").find_all("a")}
    assert tiles and set(tiles) <= set(facet_links)
    for region, href in tiles.items():
        assert parse_qs(urlsplit(href).query) == {"q": ["物流"], "region": [region]}
    # A ticked region is outlined and its tile unticks it.
    region = sorted(tiles)[0]
    doc = parse_html(client.get(f"/?q=物流&region={region}").data)
    tile = next(a for a in doc.find("svg", cls="tile-map").find_all("a") if a.attrs["data-region"] == region)
    assert parse_qs(urlsplit(tile.attrs["href"]).query) == {"q": ["物流"]}
    assert tile.find("rect").attrs["stroke-width"] == "2.5"


def test_map_twins_csv_json_and_svg_agree(client):
    data = client.get("/api/map?q=物流").get_json()
    assert data["params"]["q"] == "物流" and data["regions"]
    response = client.get("/map.csv?q=物流")
    assert response.mimetype == "text/csv" and response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert {r["region"]: int(r["count"]) for r in rows[:-1]} == {r["region"]: r["count"] for r in data["regions"]}
    assert rows[-1]["region"] == "中央（无地区）" and int(rows[-1]["count"]) == data["central"]
    svg = client.get("/map.svg?q=物流")
    assert svg.mimetype == "image/svg+xml" and "attachment" in svg.headers["Content-Disposition"]
    root = ET.fromstring(svg.data)
    assert root.tag == f"{SVG}svg"
    # A file stands alone: no links back into the app, every tile drawn.
    assert not root.findall(f".//{SVG}a")
    assert len(root.findall(f".//{SVG}rect")) == len(TILE_NAMES)
    printed = {}
    for g in root.findall(f"{SVG}g"):
        texts = [t.text for t in g.findall(f"{SVG}text")]
        if len(texts) == 2:
            printed[g.get("data-region")] = int(texts[1])
    assert printed == {r["region"]: r["count"] for r in data["regions"] if r["on_map"]}


def test_the_map_table_covers_every_region_of_the_regions_table():
    names = {row["name"] for row in load_table("regions.tsv")}
    assert set(TILE_NAMES) == names
    positions = [(row["col"], row["row"]) for row in load_table("map_tiles.tsv")]
    assert len(positions) == len(set(positions)), "two tiles in one place"


def test_the_colour_scale_is_one_hue_light_to_dark():
    def lightness(colour: str) -> float:
        r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    assert [lightness(c) for c in SCALE] == sorted((lightness(c) for c in SCALE), reverse=True)
    for values in ([1], [1, 2, 3], list(range(1, 40)), [0, 5, 17, 200]):
        bounds = classes(values)
        assert bounds[0]["low"] == min(values) and bounds[-1]["high"] == max(values)
        assert all(a["high"] < b["low"] for a, b in zip(bounds, bounds[1:]))
        fills = [b["fill"] for b in bounds]
        assert fills == [c for c in SCALE if c in fills]
        # Shorter lags darker: the same classes, the scale reversed.
        assert [b["fill"] for b in classes(values, high_is_dark=False)] == fills[::-1]


@pytest.mark.parametrize("months, unit, bars", [(1, "month", 1), (14, "month", 14), (30, "quarter", 11),
                                                (120, "year", 11)])
def test_time_chart_stays_readable_from_a_month_to_ten_years(months, unit, bars):
    # Counts on every other month and the last, starting 2015-02: the chart fills the gaps.
    histogram = []
    for i in sorted(set(range(0, months, 2)) | {months - 1}):
        year, month = divmod(2015 * 12 + 1 + i, 12)
        histogram.append({"value": f"{year}-{month + 1:02d}", "count": i + 1, "selected": False})
    chart = time_bins(histogram, lambda first, last: f"/?date_from={first}&date_to={last}", dated=False)
    assert chart["unit"] == unit and len(chart["bins"]) == bars
    assert sum(b["count"] for b in chart["bins"]) == sum(h["count"] for h in histogram)
    # Consecutive periods, each bar linking to exactly its period.
    for a, b in zip(chart["bins"], chart["bins"][1:]):
        assert date.fromisoformat(b["first"]).toordinal() == date.fromisoformat(a["last"]).toordinal() + 1
    for b in chart["bins"]:
        assert (b["url"] is None) == (b["count"] == 0)
        assert 0 <= b["x"] and b["x"] + b["w"] <= chart["width"]
    assert sum(1 for b in chart["bins"] if b["tick"]) <= 12


def test_the_time_chart_filters_by_its_period(client, web_records):
    doc = parse_html(client.get("/").data)
    bars = doc.find("figure", cls="histogram").find_all("a")
    for bar in bars:
        params = parse_qs(urlsplit(bar.attrs["href"]).query)
        first, last = params["date_from"][0], params["date_to"][0]
        expected = sum(1 for r in web_records if first <= (r.get("publish_date") or "") <= last)
        assert client.get(f"/api/search?date_from={first}&date_to={last}").get_json()["total"] == expected > 0
    svg = client.get("/histogram.svg")
    assert svg.mimetype == "image/svg+xml"
    assert len(ET.fromstring(svg.data).findall(f".//{SVG}rect")) == len(bars)


def expected_diffusion(records: list[dict], value: str) -> dict[str, list[dict]]:
    """From the citation links of the report: region → the records citing `value`."""
    lineage = resolve_references(records)
    by_id = {r["id"]: r for r in records}
    key = lineage["aliases"][value]
    out = defaultdict(list)
    for entry in lineage["cited_by"][key]:
        if entry["region"]:
            out[entry["region"]].append(by_id[entry["id"]])
    return out


def test_diffusion_of_a_cited_document_not_in_the_report(full_client, report_records):
    expected = expected_diffusion(report_records, GREENING)
    assert len(expected) >= 3
    data = full_client.get(f"/api/diffusion?cites={GREENING}").get_json()
    assert data["parent"]["target_id"] is None and data["parent"]["publish_date"] is None
    got = {r["name"]: r for r in data["regions"]}
    assert set(got) == set(expected)
    first = min(min(d["publish_date"] for d in docs) for docs in expected.values())
    # Not in the corpus, so no publication date: the days count from the first province.
    assert data["lag_from_date"] == first
    for region, docs in expected.items():
        assert {d["id"] for d in got[region]["documents"]} == {d["id"] for d in docs}
        earliest = min(d["publish_date"] for d in docs)
        assert got[region]["first_date"] == earliest
        assert got[region]["lag_days"] == (date.fromisoformat(earliest) - date.fromisoformat(first)).days
    assert set(data["not_yet"]) == set(TILE_NAMES) - set(expected)
    assert "本语料" in data["note"]
    # Any spelling of the 文号 names the same document.
    assert full_client.get("/api/diffusion?cites=国办发(2021)19号").get_json()["regions"] == data["regions"]

    page = parse_html(full_client.get(f"/diffusion?cites={GREENING}").data)
    section = page.find("section", cls="diffusion")
    assert "不在本语料中" in section.text() and "尚无" in section.text()
    rows = {tr.attrs["data-region"]: tr.find("td", cls="lag").text() for tr in section.find_all("tr") if "data-region" in tr.attrs}
    assert rows == {name: str(r["lag_days"]) for name, r in got.items()}
    tiles = {g.attrs["data-region"]: g for g in section.find("svg", cls="tile-map").find_all(cls="map-tile")}
    for name, r in got.items():
        assert f"{r['lag_days']}天" in tiles[name].text()
        assert parse_qs(urlsplit(tiles[name].attrs["href"]).query) == {"region": [name], "cites": [GREENING]}
    missing = section.find("p", cls="not-yet").text()
    assert all(name in missing for name in data["not_yet"])

    csv_rows = list(csv.DictReader(io.StringIO(full_client.get(f"/diffusion.csv?cites={GREENING}").data.decode("utf-8-sig"))))
    assert len(csv_rows) == len(TILE_NAMES)
    assert {r["region"]: int(r["lag_days"]) for r in csv_rows if r["lag_days"]} == {n: r["lag_days"] for n, r in got.items()}
    for path in (f"/diffusion/map.svg?cites={GREENING}", f"/diffusion/timeline.svg?cites={GREENING}"):
        response = full_client.get(path)
        assert response.mimetype == "image/svg+xml", path
        ET.fromstring(response.data)
    timeline = ET.fromstring(full_client.get(f"/diffusion/timeline.svg?cites={GREENING}").data)
    assert len(timeline.findall(f".//{SVG}circle")) == len(expected)


def test_every_central_policy_page_shows_its_diffusion(client, web_records):
    central = [r for r in web_records if r.get("level") == "central" and r.get("kind") == "policy"]
    assert central
    for record in central:
        doc = parse_html(client.get(f"/doc/{record['id']}").data)
        section = doc.find("section", cls="diffusion")
        assert section is not None, record["id"]
        assert "尚无文件的省级地区" in section.text()
    local = next(r for r in web_records if r.get("level") == "local")
    assert parse_html(client.get(f"/doc/{local['id']}").data).find("section", cls="diffusion") is None


def test_a_cited_parent_links_to_its_diffusion(client):
    doc = parse_html(client.get("/doc/2021-12-l14").data)
    links = [a.attrs["href"] for a in doc.find("section", cls="lineage").find_all("a") if a.text() == "各省落实情况"]
    assert links
    assert any(client.get(href).status_code == 200 for href in links)


@pytest.mark.parametrize("path, status", [("/diffusion", 400), ("/api/diffusion", 400), ("/diffusion?cites=没有这份文件", 404),
                                          ("/api/diffusion?cites=没有这份文件", 404), ("/diffusion.csv?cites=", 400),
                                          ("/map.svg?q=%22", 200), ("/api/map?date_from=bad", 400)])
def test_picture_errors_are_friendly(client, path, status):
    response = client.get(path)
    assert response.status_code == status
    assert b"Traceback" not in response.data


def test_a_search_narrowed_to_a_parent_links_to_its_diffusion(client):
    doc = parse_html(client.get(f"/?cites={GREENING}").data)
    links = [a.attrs["href"] for a in doc.find("details", cls="region-map").find_all("a")
             if a.attrs["href"].startswith("/diffusion?")]
    assert links and parse_qs(urlsplit(links[0]).query) == {"cites": [GREENING]}
    assert client.get(links[0]).status_code == 200
