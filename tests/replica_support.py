"""What the replica tests share: reports written as JSON Lines, the primary's publishing
app served over real HTTP from a thread, and a link that damages what it carries."""
from __future__ import annotations

import json
import threading
from pathlib import Path

from werkzeug.serving import make_server


def write_report(data_dir: Path, name: str, records) -> None:
    reports = data_dir / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    with open(reports / name, "w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


class Http:
    """A WSGI app served from a thread (on `host`, loopback by default); `url` is its base."""

    def __init__(self, app, host: str = "127.0.0.1"):
        self.server = make_server(host, 0, app, threaded=True)
        self.url = f"http://{host}:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(10)


def publishing_app(index_root: Path, allow=("127.0.0.1/32",)):
    from search_app import create_app

    return create_app({"INDEX_DIR": str(index_root), "PUBLISH_ALLOW": allow, "TESTING": True})


def damaging(app, how: str):
    """The primary's app behind a link that damages one file body: a flipped byte, or
    the connection closed half-way (the Content-Length promised the whole file)."""
    def wrapped(environ, start_response):
        body = app(environ, start_response)
        if "/replicate/generations/" not in environ.get("PATH_INFO", ""):
            return body
        data = b"".join(body)
        if how == "flip":
            return [data[:len(data) // 2] + bytes([data[len(data) // 2] ^ 0x55]) + data[len(data) // 2 + 1:]]
        return [data[: len(data) // 2]]
    return wrapped
