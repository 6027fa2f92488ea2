"""The targets of the performance issue, checked against a run's figures.

Each target is pass, miss, or not measured (with the reason); a figure is never
adjusted to meet one.
"""
from __future__ import annotations

from . import stats


def _status(value, limit, lower_is_better=True) -> str:
    if value is None:
        return "not measured"
    ok = value <= limit if lower_is_better else value >= limit
    return "pass" if ok else "miss"


def _target(name, description, value, limit, unit, lower_is_better=True, note=None) -> dict:
    out = {"name": name, "description": description, "value": value, "limit": limit, "unit": unit,
           "status": _status(value, limit, lower_is_better)}
    if note:
        out["note"] = note
    return out


def check(results: dict) -> list[dict]:
    builds = results.get("builds", {})
    queries = results.get("queries", {})
    out = []

    one = builds.get("1") or {}
    ratios = [r.get("ratio_wall") for r in one.get("runs", [])]
    out.append(_target("build_vs_jieba_1x", "full build of the report ≤ 2× jieba's single-process tokenisation "
                       "of the same text (median of the wall-time ratios)", stats.median(ratios), 2.0, "×"))

    fifty = builds.get("50") or {}
    parallel = [r.get("parallel_ratio_wall") for r in fifty.get("runs", [])]
    jobs = (((fifty.get("runs") or [{}])[0].get("builds_by_jobs")) or {}).keys()
    out.append(_target("parallel_build_50x", f"full build at 50× with --jobs {max(jobs, key=int, default='2')} ≤ "
                       "0.6× the sequential build's wall time (same run)", stats.median(parallel), 0.6, "×",
                       note=None if fifty else "no 50× build (run with --scales including 50)"))

    inc = results.get("incremental", {}).get("50") or {}
    note = None
    if not inc:
        measured = sorted(results.get("incremental", {}), key=int)
        if measured:
            note = (f"measured at {measured[-1]}× only: ratio "
                    f"{results['incremental'][measured[-1]].get('ratio_wall_max')} (run with --scales including 50)")
        else:
            note = "no incremental build measured"
    modes = [(r.get("incremental") or {}) for r in inc.get("runs", [])]
    wrong = [m for m in modes if m.get("mode") != "incremental"]
    if wrong:
        note = f"a build ran as {wrong[0].get('mode')}: {wrong[0].get('full_reason')}"
    out.append(_target("incremental_50x", f"each of {len(modes) or 2} consecutive incremental builds at 50× (one "
                       "new report each) ≤ 1.5× a build of that report alone (the worse ratio)",
                       inc.get("ratio_wall_max"), 1.5, "×", note=note))

    mem = results.get("memory") or {}
    small, large = (mem.get("1") or {}).get("after_switch") or {}, (mem.get("50") or {}).get("after_switch") or {}
    out.append(_target("worker_uss_50x_vs_1x", "private memory (USS) of the largest search worker after a "
                       "generation switch and the query set: 50× ≤ 1.25× 1×",
                       stats.ratio(large.get("worker_uss_max_mb"), small.get("worker_uss_max_mb")), 1.25, "×",
                       note=None if small and large else "run with --scales including 1 and 50"))
    out.append(_target("server_memory_50x", f"the whole server at 50× ({large.get('workers', '?')} workers and the "
                       "master, shared pages counted once: summed PSS) < 1.5 GB",
                       large.get("total_pss_mb"), 1500, "MB", note=None if large else "no 50× memory run"))

    # Both the first run of each query (nothing remembered: what a new query costs)
    # and the repeated runs (paging, facet clicks, the same search again) are checked.
    limits = {"1": (30.0, 30.0), "50": (150.0, 150.0), "200": (100.0, 300.0)}  # (repeated, first run)
    for scale, (repeated, first) in limits.items():
        if scale == "200" and scale not in queries:
            continue  # an opt-in scale
        q = (queries.get(scale) or {}).get("whoosh") or {}
        for suffix, key, label, limit in (("", "all", "repeated queries", repeated),
                                          ("_cold", "cold_all", "each query's first run", first)):
            value = (q.get(key) or {}).get("p95_ms")
            note = None
            if value is None:
                note = (queries.get(scale) or {}).get("whoosh_unavailable") or f"no {scale}× query run"
            out.append(_target(f"query_p95_{scale}x{suffix}", f"in-process search with facets and snippets at "
                               f"{scale}×, {label}: p95 over the standard query types ≤ {limit:g} ms",
                               value, limit, "ms", note=note))

    # The region map of a results page is drawn from facet counts the search already has.
    for scale in ("1", "50"):
        pictures = (queries.get(scale) or {}).get("pictures") or {}
        value = (pictures.get("map") or {}).get("p95_ms")
        note = None if value is not None else (queries.get(scale) or {}).get("whoosh_unavailable") or f"no {scale}× query run"
        out.append(_target(f"map_render_{scale}x", f"the region map added to a results page at {scale}× (geometry "
                           f"and partial template): p95 over the query set ≤ 5 ms", value, 5.0, "ms", note=note))

    http = results.get("http") or {}
    runs = {str(r["concurrency"]): r for r in http.get("load", [])}
    c1, c16 = runs.get("1"), runs.get("16")
    out.append(_target("http_errors_c16", "over HTTP at concurrency 16: zero errors",
                       c16.get("errors") if c16 else None, 0, "errors",
                       note=None if c16 else http.get("error") or "not run"))
    ratio = stats.ratio(c16.get("throughput_rps"), c1.get("throughput_rps")) if c1 and c16 else None
    out.append(_target("http_throughput_c16_vs_c1", "throughput at concurrency 16 ≥ 1.5× that at concurrency 1",
                       ratio, 1.5, "×", lower_is_better=False, note=None if ratio else http.get("error") or "not run"))
    switch = http.get("switch") or {}
    failures = None
    if switch.get("load"):
        failures = switch["load"]["errors"] + switch.get("lost_documents_responses", 0)
    out.append(_target("generation_switch", "load while a new generation is built and switched in: zero failed "
                       "requests, no response missing documents", failures, 0, "failures",
                       note=switch.get("note") or (None if switch else "not run")))
    return out
