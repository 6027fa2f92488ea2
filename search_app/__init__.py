"""政策检索 web application: see create_app."""
from __future__ import annotations

import logging
import os

from flask import Flask, jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException

INDEX_DIR_ENV = "POLICY_SEARCH_INDEX_DIR"
DEFAULT_INDEX_DIR = "var/index"

# Settings declared once; create_app(config) overrides any of them.
DEFAULT_SETTINGS = {
    "INDEX_DIR": None,  # else $POLICY_SEARCH_INDEX_DIR, else DEFAULT_INDEX_DIR
    "SEARCHER": None,  # an already opened Searcher (the production server opens it before forking)
    "SITE_NAME": "政策检索",
    "FEED_ENTRIES": 50,
    "RELATED_DOCUMENTS": 6,
}

# The browser may load only what this application serves: no inline script, no frames.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}

ERROR_TITLES = {
    400: "请求有误",
    404: "页面不存在",
    405: "不支持的请求方法",
    500: "服务器内部错误",
    503: "检索服务暂不可用",
}
ERROR_MESSAGES = {
    400: "请求的参数无法处理。",
    404: "没有找到这个地址对应的页面或文档。",
    405: "此地址不支持该请求方法。",
    500: "处理请求时出现了意外错误，已记录在服务器日志中。",
    503: "索引暂时无法打开，请稍后再试。",
}

log = logging.getLogger(__name__)


def resolve_index_dir(config: dict | None = None) -> str:
    config = config or {}
    return config.get("INDEX_DIR") or os.environ.get(INDEX_DIR_ENV) or DEFAULT_INDEX_DIR


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(DEFAULT_SETTINGS)
    if config:
        app.config.update(config)
    app.config["INDEX_DIR"] = resolve_index_dir(app.config)

    # Chinese in JSON as characters, keys in the order the search module chose.
    app.json.ensure_ascii = False
    app.json.sort_keys = False

    from .views import api, exports, pages, params, resources, searching

    resources.init_app(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(exports.bp)
    pages.register_template_helpers(app)

    app.after_request(_security_headers)
    app.register_error_handler(params.BadParameter, _bad_parameter)
    app.register_error_handler(searching.IndexUnavailable, _index_unavailable)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    return app


def _security_headers(response):
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(status: int, message: str | None = None):
    title = ERROR_TITLES.get(status, "出错了")
    message = message or ERROR_MESSAGES.get(status, title)
    if wants_json():
        response = jsonify({"error": {"status": status, "title": title, "message": message}})
    else:
        response = make_response(render_template("error.html", status=status, title=title, message=message))
    response.status_code = status
    return response


def _bad_parameter(exc: Exception):
    return error_response(400, str(exc))


def _index_unavailable(exc: Exception):
    log.error("%s", exc)
    return error_response(503, str(exc))


def _http_error(exc: HTTPException):
    status = exc.code or 500
    # Werkzeug's own descriptions are English boilerplate: show ours.
    response = error_response(status)
    if status == 405 and hasattr(exc, "valid_methods") and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


def _unexpected_error(exc: Exception):
    log.exception("unhandled error on %s", request.path)
    return error_response(500)
