"""The primary's offer to its replicas: the live generation's listing and its files.

Registered only when the operator names the addresses allowed to pull
(`policy-search serve --publish-allow 10.0.0.0/24`); every other address gets a 403.
The listing and the files come from indexer.publish; a replica (indexer.replicate)
checks each file against its hash. Not for the public: the load balancer's
configuration in deploy/ does not pass /replicate/ on.
"""
from __future__ import annotations

import ipaddress

from flask import Blueprint, current_app, jsonify, request, send_file

from indexer.publish import describe_generation, published_file

bp = Blueprint("publish", __name__, url_prefix="/replicate")

CONFIG_KEY = "PUBLISH_ALLOW"


def allowed_networks(values) -> list:
    """The --publish-allow values as networks (ValueError for one that is not an
    address or a network such as 10.0.0.0/24)."""
    return [ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip()]


def _refuse(status: int, message: str):
    response = jsonify({"error": {"status": status, "message": message}})
    response.status_code = status
    return response


@bp.before_request
def only_allowed_addresses():
    try:
        peer = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        peer = None
    if peer is None or not any(peer in net for net in current_app.config[CONFIG_KEY]):
        return _refuse(403, "this address may not pull index generations")
    return None


@bp.get("/live")
def live():
    listing = describe_generation(current_app.config["INDEX_DIR"])
    if listing is None:
        return _refuse(503, "no live generation to publish")
    return jsonify(listing)


@bp.get("/generations/<build_id>/<name>")
def generation_file(build_id: str, name: str):
    # Any kept generation, not only the live one: a pull that started just before
    # the primary switched can finish.
    path = published_file(current_app.config["INDEX_DIR"], build_id, name)
    if path is None:
        return _refuse(404, "no such file in a published generation")
    return send_file(path, mimetype="application/octet-stream", conditional=False, etag=False,
                     max_age=0)


def init_app(app) -> None:
    """Publish only when the operator configured who may pull."""
    networks = allowed_networks(app.config.get(CONFIG_KEY) or ())
    if networks:
        app.config[CONFIG_KEY] = networks
        app.register_blueprint(bp)
