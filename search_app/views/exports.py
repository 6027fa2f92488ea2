"""Exports of a whole filtered result set (CSV, JSON Lines) and the Atom feed of a search."""
from __future__ import annotations

import csv
import io
import itertools
import json
from datetime import datetime, timezone

from flask import Blueprint, Response, render_template, request, stream_with_context, url_for

from indexer.schema import RESULT_FIELDS
from search_app.settings import setting

from .errors import error_response
from .formatting import source_reports
from .params import parse_search_args
from .resources import get_searcher
from .searching import QueryError, iter_records, run_search

bp = Blueprint("exports", __name__)

# CSV columns, in order: every metadata field, then where to find it and when it was taken.
CSV_COLUMNS = tuple(f for f in RESULT_FIELDS if f != "interprets") + ("source_reports", "url", "retrieved_at")
LIST_SEPARATOR = "; "
# Excel runs a cell that starts with one of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
UTF8_BOM = "\ufeff"


def csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        value = LIST_SEPARATOR.join(str(v) for v in value if v is not None)
    value = str(value)
    if value.startswith(FORMULA_PREFIXES):
        value = "'" + value
    return value


def csv_row(record: dict, url: str, retrieved_at: str) -> list[str]:
    reports = [s.get("report", "") for s in source_reports(record)]
    extra = {"source_reports": reports, "url": url, "retrieved_at": retrieved_at}
    return [csv_cell(extra[c] if c in extra else record.get(c)) for c in CSV_COLUMNS]


def _download(chunks, mimetype: str, extension: str) -> Response:
    # Streamed, so a large result set never sits in memory; the request context (and the
    # index generation pinned on g) lives until the last chunk is sent.
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Response(
        stream_with_context(chunks),
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="policy-search-{stamp}.{extension}"'},
    )


def _checked_records(params):
    """Start the query before the response starts, so a bad query is a 400, not a broken
    download, and the records come from the index generation pinned for this request
    (teardown releases it before a streamed body is sent)."""
    records = iter_records(get_searcher(), params)
    try:
        first = next(records, None)
    except QueryError as exc:
        return None, error_response(400, str(exc))
    if first is None:
        return iter(()), None
    return itertools.chain([first], records), None


@bp.get("/export.csv")
def export_csv():
    params = parse_search_args(request.args)
    records, error = _checked_records(params)
    if error is not None:
        return error
    retrieved_at = datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")

    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        buffer.write(UTF8_BOM)
        writer.writerow(CSV_COLUMNS)
        for record in records:
            url = url_for("pages.document", doc_id=record["id"], _external=True)
            writer.writerow(csv_row(record, url, retrieved_at))
            if buffer.tell() > 64_000:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return _download(generate(), "text/csv", "csv")


@bp.get("/export.jsonl")
def export_jsonl():
    params = parse_search_args(request.args)
    records, error = _checked_records(params)
    if error is not None:
        return error

    # Records exactly as the parser's schema has them, so the file can be imported again.
    def generate():
        for record in records:
            yield json.dumps(record, ensure_ascii=False) + "\n"

    return _download(generate(), "application/x-ndjson", "jsonl")


def atom_time(value: str | None) -> str | None:
    """An ISO date or datetime as an RFC 3339 timestamp (Atom requires a time and zone)."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.isoformat(timespec="seconds")


@bp.get("/feed.atom")
def feed():
    # Newest first whatever the page's sort: a feed reader shows what is new.
    params = parse_search_args(request.args).replace(
        sort="newest", page=1, per_page=setting("feed_entries"))
    searcher = get_searcher()
    try:
        result = run_search(searcher, params)
    except QueryError as exc:
        return error_response(400, str(exc))
    status = searcher.status() or {}
    built_at = atom_time(status.get("built_at"))
    entries = []
    for item in result["results"]:
        published = atom_time(item.get("publish_date") or item.get("written_date"))
        entries.append({
            "item": item,
            "url": url_for("pages.document", doc_id=item["id"], _external=True),
            "published": published,
            "updated": published or built_at,
        })
    dates = [e["updated"] for e in entries if e["updated"]]
    updated = built_at or (max(dates) if dates else None) or datetime.now(timezone.utc).isoformat(timespec="seconds")
    for entry in entries:
        entry["updated"] = entry["updated"] or updated
    feed_query = params.replace(sort=None, page=1, per_page=20).query_string(paging=False)
    body = render_template(
        "feed.atom.xml",
        params=params,
        entries=entries,
        updated=updated,
        total=result["total"],
        self_url=url_for("exports.feed", _external=True) + (f"?{feed_query}" if feed_query else ""),
        html_url=url_for("pages.search", _external=True) + (f"?{feed_query}" if feed_query else ""),
        feed_id="urn:policy-search:feed:" + (feed_query or "all"),
    )
    return Response(body, mimetype="application/atom+xml")
