"""The JSON twin of every page: the same parameters, the search module's own dicts."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from .params import parse_search_args, valid_doc_id
from .resources import get_searcher
from .searching import QueryError, find_document, run_search

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.get("/search")
def search():
    from search_app import error_response

    params = parse_search_args(request.args)
    try:
        result = run_search(get_searcher(), params)
    except QueryError as exc:
        return error_response(400, str(exc))
    return jsonify({**result, "params": params.to_json()})


@bp.get("/documents/<doc_id>")
def document(doc_id: str):
    from search_app import error_response

    if not valid_doc_id(doc_id):
        return error_response(404, f"文档编号「{doc_id[:60]}」格式不正确。")
    record = find_document(get_searcher(), doc_id)
    if record is None:
        return error_response(404, f"没有编号为「{doc_id}」的文档。")
    return jsonify(record)


@bp.get("/status")
def status():
    from flask import current_app

    from indexer.build import index_status

    from .resources import EXTENSION

    # Not pinned: status must answer (503, with the reason and the last build attempt)
    # when there is no usable generation at all.
    info = current_app.extensions[EXTENSION].searcher().status()
    # The generations and the outcome of the last build attempt (a failed nightly build
    # leaves the old generation live; this is where an operator sees why).
    info["build"] = index_status(current_app.config["INDEX_DIR"])
    return jsonify(info), (200 if info.get("available") else 503)
