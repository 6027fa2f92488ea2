"""HTML pages: the search page, the document page and the query-language help."""
from __future__ import annotations

import re

from flask import Blueprint, current_app, render_template, request, url_for

from indexer.lineage import RELATION_LABELS, group_by_region
from search_app.settings import setting

from .errors import error_response
from .formatting import citation, paragraphs_html, search_url, source_reports, web_url
from .helpdoc import help_html
from .params import (
    FACETS,
    FACETS_BY_NAME,
    MAX_RESULT_WINDOW,
    SORTS,
    SearchParams,
    parse_search_args,
    valid_doc_id,
)
from .resources import get_searcher
from .maps import diffusion_view, search_map, search_map_links, time_chart
from .searching import QueryError, find_diffusion, find_document, related_documents, run_search

bp = Blueprint("pages", __name__)

# Facet values listed before the rest fold under "更多" (a <details>, so no script needed).
FACET_VISIBLE = 8
# Alternatives probed on a zero-result page; each costs one search.
MAX_ALTERNATIVES = 6


def register_template_helpers(app) -> None:
    app.jinja_env.globals.update(
        search_url=search_url,
        site_name=lambda: current_app.config["SITE_NAME"],
    )
    app.jinja_env.filters["facet_label"] = facet_label
    app.jinja_env.filters["cn_date"] = cn_date
    app.jinja_env.filters["web_url"] = web_url


def facet_label(value, name: str) -> str:
    facet = FACETS_BY_NAME.get(name)
    return facet.label_for(value) if facet else value


def cn_date(iso: str | None) -> str:
    if not iso:
        return ""
    m = re.match(r"^(\d{4})-(\d{2})-(\d{2})", iso)
    if not m:
        return iso
    return f"{int(m.group(1))}年{int(m.group(2))}月{int(m.group(3))}日"


@bp.get("/")
def search():
    params = parse_search_args(request.args)
    searcher = get_searcher()
    try:
        result = run_search(searcher, params)
    except QueryError as exc:
        return render_template("search.html", params=params, result=None, query_error=str(exc)), 400

    context = {
        "params": params,
        "result": result,
        "full_results": [r for r in result["results"] if r.get("match") != "partial"],
        "partial_results": [r for r in result["results"] if r.get("match") == "partial"],
        "suggestions": [{**s, "url": search_url(params.replace(q=s["query"], page=1).query_string())}
                        for s in result.get("suggestions") or []],
        "facets": facet_views(result, params),
        "histogram": time_chart(result, params),
        "region_map": search_map(result, params) if result["total"] else None,
        "map_links": search_map_links(params),
        # A search narrowed to the documents citing a parent: that parent's diffusion view.
        "diffusion_links": [url_for("maps.diffusion", cites=v) for v in params.filters.get("cites", ())],
        "chips": params.chips(),
        "clear_all": params.cleared().query_string(),
        "pages": pagination(result, params),
        "sort_links": [
            {"name": name, "label": label, "active": params.effective_sort == name,
             "url": search_url(params.replace(sort=name, page=1).query_string())}
            for name, label in SORTS
        ],
        "json_url": url_for("api.search") + _qs(params.query_string()),
        "csv_url": url_for("exports.export_csv") + _qs(params.query_string(paging=False)),
        "jsonl_url": url_for("exports.export_jsonl") + _qs(params.query_string(paging=False)),
        "feed_url": url_for("exports.feed") + _qs(params.replace(sort=None).query_string(paging=False)),
        "alternatives": [] if result["total"] else alternatives(searcher, params),
        "past_end": bool(result["total"] + result["partial_total"]) and not result["results"],
    }
    return render_template("search.html", **context)


@bp.get("/doc/<doc_id>")
def document(doc_id: str):
    if not valid_doc_id(doc_id):
        return error_response(404, f"文档编号「{doc_id[:60]}」格式不正确。")
    q = parse_search_args(request.args).q
    searcher = get_searcher()
    record = find_document(searcher, doc_id)
    if record is None:
        return error_response(404, f"没有编号为「{doc_id}」的文档：可能已从索引中移除。")

    # The text in paragraphs, the query's matches in <mark> (none without a query).
    rendered, first_hit = paragraphs_html(searcher.paragraphs(record, q))
    related = related_documents(searcher, doc_id, setting("related_documents"))
    return render_template(
        "document.html",
        doc=record,
        q=q,
        paragraphs=rendered,
        first_hit=first_hit,
        citation=citation(record),
        sources=source_reports(record),
        related=related,
        body_links=[(b, search_url(SearchParams().toggled("body", b).query_string()))
                    for b in (record.get("bodies_canonical") or record.get("bodies") or [])],
        region_link=(search_url(SearchParams().toggled("region", record["region"]).query_string())
                     if record.get("region") else None),
        lineage=lineage_view(searcher, record),
        diffusion=document_diffusion(searcher, record),
        json_url=url_for("api.document", doc_id=doc_id),
        search_back=search_url(SearchParams(q=q).query_string()) if q else None,
    )


@bp.get("/help")
def help_page():
    return render_template("help.html", query_language=help_html())


def document_diffusion(searcher, record: dict) -> dict | None:
    """Where a central document was taken up (for every central policy, cited or not)."""
    if record.get("level") != "central" or record.get("kind") != "policy":
        return None
    data = find_diffusion(searcher, record["id"])
    return diffusion_view(data) if data else None


def lineage_view(searcher, record: dict) -> dict | None:
    """The documents this one names and the documents naming it, as links."""
    def doc_link(doc_id):
        return url_for("pages.document", doc_id=doc_id) if doc_id and valid_doc_id(doc_id) else None

    interprets = None
    if record.get("interprets"):
        target = find_document(searcher, record["interprets"])
        if target:
            interprets = {"title": target.get("title"), "url": doc_link(target["id"])}
    cites = []
    for link in record.get("cites") or []:
        cites.append({
            "relation": RELATION_LABELS.get(link.get("relation"), "引用"),
            "title": link.get("title"),
            "doc_number": link.get("doc_number"),
            "url": doc_link(link.get("target_id")),
            "phrase": link.get("phrase"),
            "others": search_url(SearchParams().toggled("cites", link["key"]).query_string()) if link.get("key") else None,
            "diffusion": url_for("maps.diffusion", cites=link["key"]) if link.get("key") else None,
        })
    # Who cites it, by region: how far down the hierarchy a policy was taken up.
    cited_by = [(region, [{"relation": RELATION_LABELS.get(e.get("relation"), "引用"), "title": e.get("title"),
                           "url": doc_link(e.get("id")), "phrase": e.get("phrase")} for e in entries])
                for region, entries in group_by_region(record.get("cited_by") or [])]
    siblings = []
    for group in record.get("siblings") or []:
        parent = group.get("parent") or {}
        siblings.append({
            "parent": parent.get("title") or parent.get("doc_number") or parent.get("key"),
            "documents": [{"title": d.get("title"), "url": doc_link(d.get("id"))} for d in group.get("documents") or []],
        })
    if not (interprets or cites or cited_by or siblings):
        return None
    return {"interprets": interprets, "cites": cites, "cited_by": cited_by, "siblings": siblings}


def _qs(query_string: str) -> str:
    return f"?{query_string}" if query_string else ""


def facet_views(result: dict, params: SearchParams) -> list[dict]:
    """Plain dicts for the `_facet.html` partial: each value with the URL that toggles it."""
    views = []
    facets = result.get("facets") or {}
    for facet in FACETS:
        counts = facets.get(facet.name)
        if counts is None:
            continue
        selected = set(params.filters.get(facet.name, ()))
        values = [{"value": item["value"], "count": item["count"], "selected": item["value"] in selected,
                   "label": item.get("label")} for item in counts]
        seen = {v["value"] for v in values}
        # A selected value with no hits left still shows, ticked, so it can be unticked.
        values.extend({"value": v, "count": 0, "selected": True}
                      for v in params.filters.get(facet.name, ()) if v not in seen)
        if not values:
            continue
        # Ticked values stay above the fold so the state is always visible.
        head = [v for v in values if v["selected"]]
        rest = [v for v in values if not v["selected"]]
        visible = max(FACET_VISIBLE - len(head), 0)
        for v in values:
            v["url"] = search_url(params.toggled(facet.name, v["value"]).query_string())
            # The search module names some values itself (a cited parent by its title).
            v["label"] = v.get("label") or facet.label_for(v["value"])
        views.append({
            "name": facet.name,
            "label": facet.label,
            "filter_box": facet.filter_box and len(values) > FACET_VISIBLE,
            "values": head + rest[:visible],
            "more": rest[visible:],
            "selected_count": len(head),
        })
    return views


def pagination(result: dict, params: SearchParams) -> dict | None:
    # Partial matches continue the list past the full ones, on the same pages.
    total = min(result["total"] + result.get("partial_total", 0), MAX_RESULT_WINDOW)
    last = max((total + params.per_page - 1) // params.per_page, 1)
    if last <= 1:
        return None
    current = params.page
    numbers = sorted({1, last, *range(max(current - 2, 1), min(current + 2, last) + 1)})
    items = []
    previous = 0
    for n in numbers:
        if n - previous > 1:
            items.append({"gap": True})
        items.append({"number": n, "current": n == current,
                      "url": search_url(params.replace(page=n).query_string())})
        previous = n
    return {
        "items": items,
        "prev": search_url(params.replace(page=current - 1).query_string()) if current > 1 else None,
        "next": search_url(params.replace(page=current + 1).query_string()) if current < last else None,
        "last": last,
        "capped": result["total"] > MAX_RESULT_WINDOW,
    }


def alternatives(searcher, params: SearchParams) -> list[dict]:
    """Ways out of a zero-result page, each probed so the page can say what it would give."""
    candidates: list[tuple[str, SearchParams]] = []
    for chip in params.chips():
        candidates.append((f"去掉筛选「{chip['label']}：{chip['value']}」",
                           _params_from_qs(chip["remove"])))
    if params.has_filters:
        candidates.append(("清除全部筛选条件", params.cleared()))
    q = params.q.strip()
    if '"' in q or "“" in q or "”" in q:
        unquoted = re.sub(r'["“”]', " ", q).strip()
        candidates.append((f"不加引号检索「{unquoted}」", params.replace(q=unquoted, page=1)))
    words = [w for w in re.split(r"\s+", re.sub(r'["“”()（）]', " ", q)) if w and w.upper() != "OR"]
    if len(words) > 1:
        for i in range(len(words)):
            fewer = " ".join(words[:i] + words[i + 1:])
            candidates.append((f"少一个词：「{fewer}」", params.replace(q=fewer, page=1)))
    out = []
    for label, alt in candidates[:MAX_ALTERNATIVES]:
        try:
            total = run_search(searcher, alt.replace(page=1, per_page=1))["total"]
        except QueryError:
            continue
        out.append({"label": label, "total": total, "url": search_url(alt.query_string())})
    return out


def _params_from_qs(query_string: str) -> SearchParams:
    from werkzeug.datastructures import MultiDict
    from urllib.parse import parse_qsl

    return parse_search_args(MultiDict(parse_qsl(query_string, keep_blank_values=False)))
