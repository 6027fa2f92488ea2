"""What the pictures add to a results page: the region map and the time chart drawn
from a search's facet counts (the search core has counted them already), timed per
query of the query set, beside the search itself measured in the same run.

The map is timed as the page builds it: the geometry (views.maps.search_map) and the
partial template (_map.html) rendered in a request context of the real app.
"""
from __future__ import annotations

import time
from urllib.parse import parse_qsl, urlsplit

from . import querysets, stats


def time_pictures(searcher, queries: dict[str, list[dict]], rounds: int) -> dict:
    """Per query, the median over `rounds` of drawing the map and of drawing the time
    chart; summarised over the query set (relaxed query types included: every results
    page with hits has a map)."""
    from flask import render_template
    from werkzeug.datastructures import MultiDict

    from search_app import create_app
    from search_app.views.maps import search_map, search_map_links, time_chart
    from search_app.views.params import parse_search_args

    app = create_app({"INDEX_DIR": str(searcher.index_root), "SEARCHER": searcher, "TESTING": True})
    map_ms, chart_ms, search_ms = [], [], []
    with app.test_request_context("/"):
        for qs in queries.values():
            for q in qs:
                params = parse_search_args(MultiDict(parse_qsl(urlsplit(querysets.url_for(q)).query)))
                t0 = time.perf_counter()
                result = searcher.search(params.q, params.search_filters(), params.effective_sort,
                                         params.page, params.per_page)
                search_ms.append(time.perf_counter() - t0)
                if not result["total"]:
                    continue  # no hits, no map
                drawn, charted = [], []
                for _ in range(rounds):
                    t0 = time.perf_counter()
                    render_template("_map.html", region_map=search_map(result, params),
                                    map_links=search_map_links(params))
                    t1 = time.perf_counter()
                    chart = time_chart(result, params)
                    if chart:
                        render_template("_histogram.html", histogram=chart, map_links=search_map_links(params))
                    t2 = time.perf_counter()
                    drawn.append(t1 - t0)
                    charted.append(t2 - t1)
                map_ms.append(stats.median(drawn))
                chart_ms.append(stats.median(charted))
    return {"map": stats.summarize_ms(map_ms), "time_chart": stats.summarize_ms(chart_ms),
            # The search each picture is drawn for (its first run: scores then remembered).
            "search": stats.summarize_ms(search_ms)}
