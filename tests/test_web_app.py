"""The app factory: where the index comes from, and what a missing index looks like."""
from __future__ import annotations

from search_app import DEFAULT_INDEX_DIR, INDEX_DIR_ENV, create_app
from tests.web_support import WEB_IDS, web_index, web_records  # noqa: F401 - fixtures


def test_index_dir_from_config_then_environment_then_default(monkeypatch, web_index, tmp_path):
    monkeypatch.setenv(INDEX_DIR_ENV, str(web_index))
    from_env = create_app({"TESTING": True})
    assert from_env.config["INDEX_DIR"] == str(web_index)
    assert from_env.test_client().get("/api/status").get_json()["total"] == len(WEB_IDS)
    # Configuration (what --index-dir sets) wins over the environment.
    assert create_app({"INDEX_DIR": str(tmp_path)}).config["INDEX_DIR"] == str(tmp_path)
    monkeypatch.delenv(INDEX_DIR_ENV)
    assert create_app().config["INDEX_DIR"] == DEFAULT_INDEX_DIR


def test_without_an_index_every_route_says_so_with_a_503(tmp_path):
    client = create_app({"INDEX_DIR": str(tmp_path / "never-built"), "TESTING": True}).test_client()
    for path in ("/", "/doc/2021-12-c01", "/export.csv", "/feed.atom"):
        response = client.get(path)
        assert response.status_code == 503, path
        body = response.data.decode()
        assert "检索服务暂不可用" in body and "policy-search build" in body and "Traceback" not in body
    data = client.get("/api/search?q=冷链").get_json()
    assert data["error"]["status"] == 503 and "policy-search build" in data["error"]["message"]
    # Status still reports, for the operator: no generation, and why.
    status = client.get("/api/status")
    assert status.status_code == 503
    assert status.get_json()["available"] is False and status.get_json()["build"]["live"] is None
    # Pages that need no index still work.
    assert client.get("/help").status_code == 200
    assert client.get("/static/style.css").status_code == 200


def test_one_app_serves_many_requests_on_one_searcher(web_index):
    app = create_app({"INDEX_DIR": str(web_index), "TESTING": True})
    client = app.test_client()
    for _ in range(3):
        assert client.get("/?q=冷链").status_code == 200
    service = app.extensions["policy_search"]
    assert service.searcher() is service.searcher()
