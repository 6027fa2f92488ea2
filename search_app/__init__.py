"""政策检索 web application: see create_app."""
from __future__ import annotations

import os

from flask import Flask

INDEX_DIR_ENV = "POLICY_SEARCH_INDEX_DIR"
DEFAULT_INDEX_DIR = "var/index"

# The application's own configuration; create_app(config) overrides any of it. Limits
# and defaults are in search_app/settings.py.
DEFAULT_CONFIG = {
    "INDEX_DIR": None,  # else $POLICY_SEARCH_INDEX_DIR, else DEFAULT_INDEX_DIR
    "SEARCHER": None,  # an already opened Searcher (the production server opens it before forking)
    "SITE_NAME": "政策检索",
    # Addresses or networks that may pull index generations (views/publish.py); empty:
    # nothing is published.
    "PUBLISH_ALLOW": (),
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


def resolve_index_dir(config: dict | None = None) -> str:
    config = config or {}
    return config.get("INDEX_DIR") or os.environ.get(INDEX_DIR_ENV) or DEFAULT_INDEX_DIR


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(DEFAULT_CONFIG)
    if config:
        app.config.update(config)
    app.config["INDEX_DIR"] = resolve_index_dir(app.config)

    # Chinese in JSON as characters, keys in the order the search module chose.
    app.json.ensure_ascii = False
    app.json.sort_keys = False

    from .views import api, errors, exports, maps, pages, publish, resources

    resources.init_app(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(exports.bp)
    app.register_blueprint(maps.bp)
    publish.init_app(app)
    pages.register_template_helpers(app)

    app.after_request(_security_headers)
    errors.register_error_handlers(app)
    return app


def _security_headers(response):
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response
