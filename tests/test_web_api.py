"""The JSON API: the page's parameters, the search module's dicts, status of the index."""
from __future__ import annotations

from collections import Counter
from urllib.parse import urlencode

from tests.web_support import (  # noqa: F401 - fixtures
    WEB_IDS,
    client,
    indexed,
    web_app,
    web_index,
    web_records,
)


def api(client, path: str, status: int = 200) -> dict:
    response = client.get(path)
    assert response.status_code == status, response.data[:500]
    assert response.mimetype == "application/json"
    return response.get_json()


def test_search_returns_the_search_dict(client, web_app):
    data = api(client, "/api/search?q=物流&region=江西省&region=青海省&per_page=5")
    for key in ("total", "page", "per_page", "took_ms", "explanation", "results", "facets"):
        assert key in data
    with web_app.app_context():
        from search_app.views.resources import get_searcher

        expected = get_searcher().search("物流", {"region": ["江西省", "青海省"]}, "relevance", 1, 5)
    assert data["total"] == expected["total"] > 0
    assert [r["id"] for r in data["results"]] == [r["id"] for r in expected["results"]]
    assert data["facets"] == expected["facets"]
    for result in data["results"]:
        assert result["region"] in ("江西省", "青海省")
        for key in ("id", "kind", "title", "doc_number", "bodies", "bodies_canonical", "level", "region",
                    "city", "publish_date", "written_date", "doc_type", "categories", "summary",
                    "snippet_html", "source_urls"):
            assert key in result
    assert data["params"] == {"q": "物流", "filters": {"region": ["江西省", "青海省"]}, "sort": "relevance",
                              "page": 1, "per_page": 5}
    # Chinese as characters, not \u escapes.
    assert "物流".encode() in client.get("/api/search?q=物流").data


def test_search_takes_every_page_parameter(client, web_records):
    params = [("kind", "policy"), ("level", "local"), ("doc_type", "意见"), ("category", "行业"),
              ("date_from", "2021-12-01"), ("date_to", "2021-12-31"), ("sort", "oldest"), ("per_page", "100")]
    data = api(client, "/api/search?" + urlencode(params))
    expected = [r for r in web_records
                if r["kind"] == "policy" and r.get("level") == "local" and r.get("doc_type") == "意见"
                and "行业" in (r.get("categories") or []) and "2021-12-01" <= r["publish_date"] <= "2021-12-31"]
    assert sorted(r["id"] for r in data["results"]) == sorted(r["id"] for r in expected)
    dates = [r["publish_date"] for r in data["results"]]
    assert dates == sorted(dates)
    body = next(iter(expected))["bodies_canonical"][0]
    data = api(client, "/api/search?" + urlencode({"body": body, "per_page": 100}))
    assert {r["id"] for r in data["results"]} == {r["id"] for r in web_records if body in (r.get("bodies_canonical") or [])}
    data = api(client, "/api/search?city=广州市")
    assert {r["id"] for r in data["results"]} == {r["id"] for r in web_records if r.get("city") == "广州市"}


def test_search_pages(client):
    first = api(client, "/api/search?per_page=10")
    second = api(client, "/api/search?per_page=10&page=2")
    assert first["total"] == second["total"] == len(WEB_IDS)
    assert not {r["id"] for r in first["results"]} & {r["id"] for r in second["results"]}
    assert second["page"] == 2


def test_search_errors_are_json_400_in_chinese(client):
    for path in ("/api/search?date_from=foo", "/api/search?sort=best", "/api/search?q=%00",
                 "/api/search?page=x", "/api/search?kind=memo", "/api/search?date_from=2021-12-31&date_to=2021-12-01",
                 "/api/search?q=" + "税" * 10_000):
        data = api(client, path, 400)
        assert data["error"]["status"] == 400
        assert any("\u4e00" <= ch <= "\u9fff" for ch in data["error"]["message"]), data


def test_document(client, indexed, web_index):
    data = api(client, "/api/documents/2021-12-l17")
    # The stored record, and which index generation answered.
    assert data.pop("generation") == (web_index / "CURRENT").read_text().strip()
    assert data == indexed["2021-12-l17"]
    assert data["text"] and data["summary"]
    data = api(client, "/api/documents/2021-12-x99", 404)
    assert "2021-12-x99" in data["error"]["message"]
    api(client, "/api/documents/..", 404)
    assert client.get("/api/nothing").get_json()["error"]["status"] == 404


def test_status(client, web_index, web_records):
    data = api(client, "/api/status")
    live = (web_index / "CURRENT").read_text().strip()
    assert data["generation"] == live and data["available"] is True
    assert data["built_at"]
    assert data["documents"] == dict(Counter(r["kind"] for r in web_records))
    assert data["total"] == len(WEB_IDS)
    assert [r["report"] for r in data["reports"]] == ["2021-12_基建PPP政策月报.txt"]
    assert data["resources_version"] == data["index_resources_version"]
    # The build side: the live generation, its age and sources, the last attempt.
    build = data["build"]
    assert build["live"]["build_id"] == live and build["live"]["age"]
    assert build["live"]["sources"][0]["path"] == "2021-12_web-slice.jsonl"
    assert build["last_build"]["outcome"] == "ok"


def test_only_get(client):
    response = client.post("/api/search")
    assert response.status_code == 405 and response.get_json()["error"]["status"] == 405
    assert "GET" in response.headers["Allow"]


def test_readiness_and_the_generation_on_every_response(client, web_index, tmp_path):
    from search_app import create_app

    live = (web_index / "CURRENT").read_text().strip()
    ready = client.get("/api/ready")
    assert ready.status_code == 200 and ready.get_json() == {"ready": True, "generation": live}
    for url in ("/api/search?q=冷链", "/?q=冷链", "/static/app.js", "/api/status", "/api/documents/2021-12-c01"):
        response = client.get(url)
        assert response.status_code == 200 and response.headers["X-Index-Generation"] == live, url
    assert client.get("/api/documents/2021-12-c01").get_json()["generation"] == live
    empty = create_app({"INDEX_DIR": str(tmp_path), "TESTING": True}).test_client()
    not_ready = empty.get("/api/ready")
    assert not_ready.status_code == 503 and not_ready.get_json()["error"]["status"] == 503
