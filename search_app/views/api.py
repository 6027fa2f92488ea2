"""The JSON twin of every page: the same parameters, the search module's own dicts."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from indexer.build import index_status

from .errors import error_response
from .maps import diffusion_json, load_diffusion, map_json, searched
from .params import parse_search_args, valid_doc_id
from .resources import EXTENSION, generation_name, get_searcher
from .searching import QueryError, find_document, run_search

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.get("/search")
def search():
    params = parse_search_args(request.args)
    try:
        result = run_search(get_searcher(), params)
    except QueryError as exc:
        return error_response(400, str(exc))
    return jsonify({**result, "generation": generation_name(), "params": params.to_json()})


@bp.get("/map", endpoint="map")
def region_map():
    """The counts the map of the search page draws: the region facet, the central documents apart."""
    params, result, error = searched(request.args)
    if error is not None:
        return error
    return jsonify(map_json(result, params))


@bp.get("/diffusion")
def diffusion():
    view, error = load_diffusion(request.args)
    if error is not None:
        return error
    return jsonify(diffusion_json(view))


@bp.get("/documents/<doc_id>")
def document(doc_id: str):
    if not valid_doc_id(doc_id):
        return error_response(404, f"文档编号「{doc_id[:60]}」格式不正确。")
    record = find_document(get_searcher(), doc_id)
    if record is None:
        return error_response(404, f"没有编号为「{doc_id}」的文档。")
    return jsonify({**record, "generation": generation_name()})


@bp.get("/ready")
def ready():
    """For a load balancer's health check: 200 when the live generation is open and
    was built with this server's analysis resources, else 503 with the reason."""
    name = get_searcher().ready()  # IndexUnavailable → 503
    return jsonify({"ready": True, "generation": name})


@bp.get("/status")
def status():
    # Not pinned: status must answer (503, with the reason and the last build attempt)
    # when there is no usable generation at all.
    info = current_app.extensions[EXTENSION].searcher().status()
    # The generations and the outcome of the last build attempt (a failed nightly build
    # leaves the old generation live; this is where an operator sees why).
    info["build"] = index_status(current_app.config["INDEX_DIR"])
    return jsonify(public_status(info)), (200 if info.get("available") else 503)


# Where the index lives on the server is the operator's business (`policy-search
# status` shows it), not the public's.
_PRIVATE_KEYS = {"index_root", "index_path", "path"}


def public_status(info: dict) -> dict:
    """The status without the server's file system paths (the relative paths of the
    source reports stay: they name the reports)."""
    out = {k: v for k, v in info.items() if k not in _PRIVATE_KEYS}
    build = out.get("build")
    if isinstance(build, dict):
        build = {k: v for k, v in build.items() if k not in _PRIVATE_KEYS}
        if isinstance(build.get("live"), dict):
            build["live"] = {k: v for k, v in build["live"].items() if k not in _PRIVATE_KEYS}
        out["build"] = build
    return out
