"""Bad parameters get a 400 with a clear Chinese message or a sane clamp, never a 500."""
from __future__ import annotations

from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search_app.views.params import MAX_PER_PAGE, MAX_RESULT_WINDOW, parse_search_args
from tests.web_support import (  # noqa: F401 - fixtures
    WEB_IDS,
    client,
    parse_html,
    web_app,
    web_index,
    web_records,
)

ROUTES = ("/", "/api/search", "/export.csv", "/export.jsonl", "/feed.atom")

REJECTED = {
    "date_from=foo": "日期",
    "date_to=2021-13-01": "月份",
    "date_from=2021-02-30": "有效日期",
    "date_from=2021-12-31&date_to=2021-12-01": "晚于",
    "sort=popular": "排序",
    "q=" + "政" * 10_000: "过长",
    "q=%00": "控制字符",
    "region=%00北京": "控制字符",
    "page=abc": "整数",
    "per_page=1e9": "整数",
    "kind=memo": "kind",
    "level=province": "level",
    "region=" + "x" * 300: "过长",
    "&".join(f"region=r{i}" for i in range(60)): "过多",
}


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("query", list(REJECTED), ids=[q[:30] for q in REJECTED])
def test_rejected_with_a_clear_message(client, route, query):
    response = client.get(f"{route}?{query}")
    assert response.status_code == 400
    body = response.get_json()["error"]["message"] if route.startswith("/api/") else response.data.decode()
    assert REJECTED[query] in body
    assert "Traceback" not in body


def test_clamped(client):
    data = client.get("/api/search?page=-1").get_json()
    assert data["page"] == 1
    data = client.get("/api/search?per_page=1000000").get_json()
    assert data["per_page"] == MAX_PER_PAGE and len(data["results"]) == len(WEB_IDS)
    data = client.get("/api/search?per_page=0").get_json()
    assert data["per_page"] == 1
    data = client.get("/api/search?page=99999999999").get_json()
    assert data["page"] * data["per_page"] <= MAX_RESULT_WINDOW
    doc = parse_html(client.get("/?page=-1&per_page=1000000").data)
    assert len(doc.find_all("li", cls="result")) == len(WEB_IDS)


def test_partial_dates_cover_their_period(client, web_records):
    args = parse_search_args(_args("date_from=2021-11&date_to=2021-11"))
    assert (args.date_from, args.date_to) == ("2021-11-01", "2021-11-30")
    args = parse_search_args(_args("date_from=2021&date_to=2021"))
    assert (args.date_from, args.date_to) == ("2021-01-01", "2021-12-31")
    ids = {r["id"] for r in client.get("/api/search?date_from=2021-11&date_to=2021-11").get_json()["results"]}
    assert ids == {r["id"] for r in web_records if (r.get("publish_date") or "").startswith("2021-11")}


def test_doubled_and_empty_parameters(client):
    # Empty values are absent values; a repeated single-valued parameter takes the first.
    data = client.get("/api/search?q=&region=&date_from=&sort=&page=").get_json()
    assert data["total"] == len(WEB_IDS)
    data = client.get("/api/search?q=冷链&q=物流").get_json()
    assert data["params"]["q"] == "冷链"


def test_path_tricks_never_reach_the_file_system(client):
    for path in ("/doc/../../etc/passwd", "/doc/..%2F..%2Fetc%2Fpasswd", "/doc/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
                 "/api/documents/..%2Fmanifest.json", "/static/../search.py", "/static/..%2f__init__.py",
                 "/doc/%00", "/doc/%ff%fe"):
        response = client.get(path)
        assert response.status_code in (400, 404), path
        assert b"root:" not in response.data and b"import" not in response.data


def test_invalid_utf8_in_the_query_string(client):
    response = client.get("/?q=%ff%fe%fd")
    assert response.status_code in (200, 400)
    assert client.get("/api/search?q=%E5%86%B7%E9%93").status_code in (200, 400)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=st.text(max_size=60), page=st.text(max_size=6), sort=st.sampled_from(["", "relevance", "newest", "x"]))
def test_any_input_is_answered_without_a_server_error(client, q, page, sort):
    url = "/?" + urlencode({"q": q, "page": page, "sort": sort})
    assert client.get(url).status_code in (200, 400)
    api = "/api/search?q=" + quote(q, safe="")
    assert client.get(api).status_code in (200, 400)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=st.text(alphabet=st.sampled_from('冷链物流"()-OR :文号标题〔〕2021'), max_size=30))
def test_query_syntax_fragments_never_break_a_page(client, q):
    assert client.get("/?" + urlencode({"q": q})).status_code in (200, 400)
    assert client.get("/export.csv?" + urlencode({"q": q})).status_code in (200, 400)


def _args(query_string: str):
    from urllib.parse import parse_qsl

    from werkzeug.datastructures import MultiDict

    return MultiDict(parse_qsl(query_string))


_NAMES = ("q", "region", "city", "body", "level", "doc_type", "category", "kind", "cites", "date_from",
          "date_to", "written_from", "written_to", "sort", "page", "per_page", "unknown")
_VALUES = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["福建省", "宁夏", "国家发展改革委", "发改委", "central", "地方", "规划", "生态", "policy",
                     "2021-12", "2021-12-31", "2021", "foo", "-1", "0", "1000000", "newest", "国办发〔2021〕19号",
                     "<script>alert(1)</script>", "\x00", "%ff"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=st.lists(st.tuples(st.sampled_from(_NAMES), _VALUES), max_size=8))
def test_any_combination_of_parameters_is_answered_without_a_server_error(client, params):
    # Repeated, missing, malformed and hostile values in every parameter, on every
    # route that takes the search parameters: an answer or a clear 400, never a 500.
    query = urlencode(params)
    for route in ("/", "/api/search", "/export.csv", "/export.jsonl", "/feed.atom"):
        response = client.get(f"{route}?{query}")
        assert response.status_code in (200, 400), (route, query, response.status_code)
        if route in ("/", "/feed.atom"):  # markup: every echoed value escaped
            assert b"<script>alert(1)</script>" not in response.data
        response.close()  # a streamed export finishes inside its request
