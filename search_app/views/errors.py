"""Error pages and their JSON twins: one Chinese message, the right status, never a traceback."""
from __future__ import annotations

import logging

from flask import jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException

from .params import BadParameter
from .searching import IndexUnavailable

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


def register_error_handlers(app) -> None:
    app.register_error_handler(BadParameter, _bad_parameter)
    app.register_error_handler(IndexUnavailable, _index_unavailable)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)


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
