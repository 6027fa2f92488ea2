"""Where a search's documents come from and how a cited document spread: the region map
of a search, the diffusion view of a cited document, the time chart, and their CSV and
SVG downloads (the JSON twins are in api.py). Every URL carries the whole state.

The numbers are the search core's (the region facet, the `cites=` filter); the geometry
is views/charts.py's; this module only joins them with URLs and labels.
"""
from __future__ import annotations

import csv
import io
from datetime import date

from flask import Blueprint, Response, render_template, request, url_for

from .charts import TILE_NAMES, SHORT_NAMES, tile_map, time_bins, timeline
from .errors import error_response
from .exports import UTF8_BOM, csv_cell
from .formatting import search_url
from .params import SearchParams, parse_search_args
from .resources import get_searcher
from .searching import QueryError, find_diffusion, run_search

bp = Blueprint("maps", __name__)

CENTRAL_LABEL = "中央（无地区）"
NOT_YET_NOTE = "“尚无”指本语料中没有该省份引用或落实此文件的文件，不等于该省份没有发文。"


# ------------------------------------------------------------------------------ a search

def map_counts(result: dict) -> dict:
    """The region facet's counts (full names → documents) and the central documents,
    which have no region and are counted apart (the level facet's count)."""
    facets = result.get("facets") or {}
    regions = {e["value"]: e["count"] for e in facets.get("region") or [] if e["count"]}
    central = next((e["count"] for e in facets.get("level") or [] if e["value"] == "central"), 0)
    return {"regions": regions, "central": central}


def search_map(result: dict, params: SearchParams) -> dict:
    """The tile map of a search: each region shaded by its count, a click toggles the
    region facet exactly as the facet list does; `rows` is its table twin."""
    counts = map_counts(result)
    selected = set(params.filters.get("region", ()))
    base = search_url()
    entries = {}
    for name in sorted(set(counts["regions"]) | selected, key=lambda n: (-counts["regions"].get(n, 0), n)):
        count = counts["regions"].get(name, 0)
        entries[name] = {
            "value": count, "text": str(count) if count else "", "empty": not count,
            "title": f"{name}：{count} 件", "selected": name in selected,
            # search_url()'s link, its base built once: one link per region on every results page.
            "url": f"{base}?{params.toggled('region', name).query_string()}",
        }
    picture = tile_map(entries, unit="件", empty_label="0 件", title="各省份的命中文件数")
    picture["rows"] = [{"name": name, "count": e["value"], "url": e["url"], "selected": e["selected"]}
                       for name, e in entries.items()]
    picture["central"] = counts["central"]
    return picture


def searched(args):
    """(params, result, None) or (params, None, a 400 response): the search of a picture or
    its twin. One result row is enough: the counts are the whole result set's."""
    params = parse_search_args(args)
    try:
        return params, run_search(get_searcher(), params.replace(page=1, per_page=1)), None
    except QueryError as exc:
        return params, None, error_response(400, str(exc))


def _twin_links(endpoint_prefix: str, query_string: str) -> dict:
    qs = f"?{query_string}" if query_string else ""
    return {"svg": url_for(f"maps.{endpoint_prefix}_svg") + qs, "csv": url_for(f"maps.{endpoint_prefix}_csv") + qs,
            "json": url_for(f"api.{endpoint_prefix}") + qs}


def search_map_links(params: SearchParams) -> dict:
    """The downloads and JSON of the search page's pictures, for the same search."""
    query_string = params.query_string(paging=False)
    links = _twin_links("map", query_string)
    links["histogram_svg"] = url_for("maps.histogram_svg") + (f"?{query_string}" if query_string else "")
    return links


def time_chart(result: dict, params: SearchParams) -> dict | None:
    """The month histogram as bars of a month, quarter or year; a bar selects its dates."""
    def url_for_range(first: str, last: str) -> str:
        return search_url(params.replace(date_from=first, date_to=last, page=1).query_string())

    return time_bins(result.get("histogram") or [], url_for_range, dated=bool(params.date_from or params.date_to))


def map_json(result: dict, params: SearchParams) -> dict:
    counts = map_counts(result)
    return {
        "params": params.to_json(),
        "total": result["total"],
        "central": counts["central"],
        "regions": [{"region": name, "short": SHORT_NAMES.get(name), "count": count,
                     "on_map": name in SHORT_NAMES,
                     "url": search_url(params.toggled("region", name).query_string())}
                    for name, count in sorted(counts["regions"].items(), key=lambda kv: (-kv[1], kv[0]))],
    }


def _svg(picture_template: str, name: str, **context) -> Response:
    body = render_template("svg_download.svg", partial=picture_template, linked=False, **context)
    return Response(body, mimetype="image/svg+xml",
                    headers={"Content-Disposition": f'attachment; filename="{name}.svg"'})


def _csv(rows, name: str) -> Response:
    buffer = io.StringIO()
    buffer.write(UTF8_BOM)
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    return Response(buffer.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


@bp.get("/map.svg")
def map_svg():
    params, result, error = searched(request.args)
    if error is not None:
        return error
    return _svg("_map_svg.html", "policy-search-map", map=search_map(result, params))


@bp.get("/map.csv")
def map_csv():
    params, result, error = searched(request.args)
    if error is not None:
        return error
    data = map_json(result, params)
    rows = [("region", "short", "count", "url")]
    rows += [(r["region"], r["short"] or "", r["count"], request.host_url.rstrip("/") + r["url"])
             for r in data["regions"]]
    rows.append((CENTRAL_LABEL, "", data["central"], ""))
    return _csv(rows, "policy-search-map")


@bp.get("/histogram.svg")
def histogram_svg():
    params, result, error = searched(request.args)
    if error is not None:
        return error
    chart = time_chart(result, params)
    if chart is None:
        return error_response(404, "这次检索没有带日期的文件，无法绘制时间分布。")
    return _svg("_time_svg.html", "policy-search-time", chart=chart)


# ------------------------------------------------------------------------------ diffusion

def _cites_value(args) -> str | None:
    values = parse_search_args(args).filters.get("cites") or ()
    return values[0] if values else None


def diffusion_view(data: dict) -> dict:
    """The diffusion of a cited document: per region its documents, the days from the
    central document's publication (or, when that date is unknown because the document is
    not in the corpus, from the first region's document) to its first one; the map, the
    timeline, and the regions with no document in this corpus."""
    parent, documents = data["parent"], data["documents"]
    start = parent.get("publish_date")
    regional = [d for d in documents if d.get("region")]
    elsewhere = [d for d in documents if not d.get("region")]
    by_region: dict[str, list[dict]] = {}
    for d in regional:
        by_region.setdefault(d["region"], []).append(d)
    first_dates = {name: min((d["publish_date"] for d in docs if d.get("publish_date")), default=None)
                   for name, docs in by_region.items()}
    known = sorted(d for d in first_dates.values() if d)
    basis = start or (known[0] if known else None)
    basis_label = "中央文件发布" if start else "最早一份省级文件发布"

    def lag(day: str | None) -> int | None:
        if not (day and basis):
            return None
        return (date.fromisoformat(day[:10]) - date.fromisoformat(basis[:10])).days

    def doc_row(d: dict) -> dict:
        return {**d, "lag": lag(d.get("publish_date")), "url": url_for("pages.document", doc_id=d["id"])}

    key = parent["key"]
    rows, entries = [], {}
    for name in sorted(by_region, key=lambda n: (first_dates[n] or "9999", n)):
        days = lag(first_dates[name])
        docs = [doc_row(d) for d in by_region[name]]
        url = search_url(SearchParams().toggled("cites", key).toggled("region", name).query_string())
        title = (f"{name}：{len(docs)} 件，最早 {first_dates[name]}，{basis_label}后 {days} 天"
                 if days is not None else f"{name}：{len(docs)} 件，发布日期不详")
        entries[name] = {"value": days, "text": f"{days}天" if days is not None else "?", "title": title,
                         "url": url}
        rows.append({"name": name, "short": SHORT_NAMES.get(name, name), "count": len(docs),
                     "first_date": first_dates[name], "lag": days, "url": url, "documents": docs})
    steps = [{"date": r["first_date"], "count": i + 1,
              "label": f"{r['first_date']}：{r['name']}（第 {i + 1} 个省份）"}
             for i, r in enumerate(r for r in rows if r["first_date"])]
    name = parent.get("title") or parent.get("doc_number") or key
    return {
        "parent": parent,
        "name": name,
        "in_corpus": bool(parent.get("target_id")),
        "parent_url": url_for("pages.document", doc_id=parent["target_id"]) if parent.get("target_id") else None,
        "basis": basis, "basis_label": basis_label, "start": start,
        "map": tile_map(entries, unit="天", empty_label="尚无（本语料中）", high_is_dark=False,
                        title=f"落实或引用《{name}》的省份，按{basis_label}后的天数着色"),
        "timeline": timeline(steps, start),
        "rows": rows,
        "elsewhere": [doc_row(d) for d in elsewhere],
        "missing": [n for n in TILE_NAMES if n not in by_region],
        "note": NOT_YET_NOTE,
        "search": search_url(SearchParams().toggled("cites", key).query_string()),
        "links": _twin_links("diffusion", SearchParams(filters={"cites": (key,)}).query_string()),
        "timeline_svg": url_for("maps.diffusion_timeline_svg") + "?" + SearchParams(filters={"cites": (key,)}).query_string(),
        "page": url_for("maps.diffusion") + "?" + SearchParams(filters={"cites": (key,)}).query_string(),
    }


def diffusion_json(view: dict) -> dict:
    return {
        "parent": view["parent"],
        "lag_from": view["basis_label"], "lag_from_date": view["basis"],
        "regions": [{"name": r["name"], "count": r["count"], "first_date": r["first_date"], "lag_days": r["lag"],
                     "documents": [{**{k: d.get(k) for k in ("id", "title", "doc_number", "publish_date", "relation")},
                                    "lag_days": d["lag"]} for d in r["documents"]]} for r in view["rows"]],
        "elsewhere": [{k: d.get(k) for k in ("id", "title", "kind", "level", "publish_date", "relation")}
                      for d in view["elsewhere"]],
        "not_yet": view["missing"],
        "note": view["note"],
    }


def load_diffusion(args):
    """(view, None) or (None, an error response) for the `cites=` value in `args`."""
    value = _cites_value(args)
    if not value:
        return None, error_response(400, "请用参数 cites 指定一份文件：记录编号、文号或标题，例如 cites=国办发〔2021〕19号。")
    data = find_diffusion(get_searcher(), value)
    if data is None:
        return None, error_response(404, f"本语料中没有引用「{value[:60]}」的文件，也没有这份文件。")
    return diffusion_view(data), None


@bp.get("/diffusion")
def diffusion():
    view, error = load_diffusion(request.args)
    if error is not None:
        return error
    return render_template("diffusion.html", d=view)


@bp.get("/diffusion.csv")
def diffusion_csv():
    view, error = load_diffusion(request.args)
    if error is not None:
        return error
    rows = [("region", "status", "documents", "first_date", "lag_days", "lag_from", "document_ids", "titles")]
    for r in view["rows"]:
        rows.append((r["name"], "已有文件", r["count"], r["first_date"] or "", "" if r["lag"] is None else r["lag"],
                     view["basis_label"], [d["id"] for d in r["documents"]], [d["title"] for d in r["documents"]]))
    for name in view["missing"]:
        rows.append((name, "尚无（本语料中）", 0, "", "", "", "", ""))
    return _csv(rows, "policy-search-diffusion")


@bp.get("/diffusion/map.svg")
def diffusion_svg():
    view, error = load_diffusion(request.args)
    if error is not None:
        return error
    return _svg("_map_svg.html", "policy-search-diffusion-map", map=view["map"])


@bp.get("/diffusion/timeline.svg")
def diffusion_timeline_svg():
    view, error = load_diffusion(request.args)
    if error is not None:
        return error
    if view["timeline"] is None:
        return error_response(404, "还没有带日期的省级文件，无法绘制时间线。")
    return _svg("_timeline_svg.html", "policy-search-diffusion-timeline", tl=view["timeline"])
