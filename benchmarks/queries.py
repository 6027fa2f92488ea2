"""In-process query latency: the Searcher the web app uses, and FTS5 beside it.

Both engines answer the same queries in the same process, alternating query by query
in a shuffled order, so a burst of load from elsewhere on the machine hits both alike.
A search here is what a page needs: one page of results with snippets plus the facet
counts over the whole hit set.
"""
from __future__ import annotations

import json
import random
import time

from . import querysets, stats


def _key(kind: str, q: dict) -> str:
    return f"{kind}:{q['q']}:{json.dumps(q['filters'], ensure_ascii=False, sort_keys=True)}:{q['sort']}:{q['page']}"


def _total(result) -> int | None:
    if isinstance(result, dict):
        for name in ("total", "count", "hits"):
            if isinstance(result.get(name), int):
                return result[name]
    return None


def time_engines(engines: dict, queries: dict[str, list[dict]], rounds: int, seed: int,
                 per_page: int = 20) -> dict:
    """Each engine is a function (q, filters, sort, page, per_page) -> dict. Every query is
    run once per engine untimed (warm-up, and the hit counts), then `rounds` times."""
    items = [(kind, q) for kind, qs in queries.items() for q in qs]
    out = {name: {"hits": {}, "errors": []} for name in engines}
    # The warm-up is each query's first run: nothing of it is remembered yet (the
    # Searcher keeps each query's scored matches per generation), so its latencies
    # are reported as "cold" beside the repeated runs.
    cold = {name: {kind: [] for kind in queries} for name in engines}
    for name, search in engines.items():
        with stats.clock() as warm:
            for kind, q in items:
                t0 = time.perf_counter()
                try:
                    result = search(q["q"], q["filters"], q["sort"], q["page"], per_page)
                    cold[name][kind].append(time.perf_counter() - t0)
                    out[name]["hits"][_key(kind, q)] = _total(result)
                except Exception as exc:  # noqa: BLE001 - reported, never hidden
                    out[name]["errors"].append(f"{_key(kind, q)}: {type(exc).__name__}: {exc}"[:300])
        out[name]["warm_up_wall_s"] = round(warm.wall, 3)
        out[name]["cold_by_type"] = {kind: stats.summarize_ms(v) for kind, v in cold[name].items()}
        out[name]["cold_all"] = stats.summarize_ms(
            [x for kind, v in cold[name].items() if kind not in querysets.RELAXED_TYPES for x in v])
        out[name]["cold_relaxed"] = stats.summarize_ms(
            [x for kind, v in cold[name].items() if kind in querysets.RELAXED_TYPES for x in v])
    latencies = {name: {kind: [] for kind in queries} for name in engines}
    rng = random.Random(seed)
    names = list(engines)
    for _ in range(rounds):
        order = list(items)
        rng.shuffle(order)
        for kind, q in order:
            rng.shuffle(names)
            for name in names:
                t0 = time.perf_counter()
                try:
                    engines[name](q["q"], q["filters"], q["sort"], q["page"], per_page)
                except Exception:  # noqa: BLE001 - counted in the warm-up already
                    continue
                latencies[name][kind].append(time.perf_counter() - t0)
    for name in engines:
        out[name]["by_type"] = {kind: stats.summarize_ms(v) for kind, v in latencies[name].items()}
        out[name]["all"] = stats.summarize_ms(
            [x for kind, v in latencies[name].items() if kind not in querysets.RELAXED_TYPES for x in v])
        out[name]["relaxed"] = stats.summarize_ms(
            [x for kind, v in latencies[name].items() if kind in querysets.RELAXED_TYPES for x in v])
    return out


def run(args: dict) -> dict:
    """args: scale, seed, index_root, rounds, and fts_path (an FTS5 database of the same
    corpus) when the alternative is to be timed alongside."""
    from indexer.analysis import init_jieba

    from . import synth

    records = synth.corpus(synth.real_records(), args["scale"], args["seed"])
    queries = querysets.build_queries(records)
    init_jieba()
    out = {"scale": args["scale"], "queries": {k: len(v) for k, v in queries.items()}}
    engines = {}
    try:
        from search_app.search import Searcher
    except ImportError as exc:
        out["whoosh_unavailable"] = f"search_app.search could not be imported: {exc}"
    else:
        with stats.clock() as opening:
            searcher = Searcher(args["index_root"])
            searcher.warm()  # as the server does before it forks
        q0 = queries["single"][0]
        with stats.clock() as first:
            searcher.search(q0["q"], q0["filters"], q0["sort"], q0["page"], 20)
        out["open_s"] = round(opening.wall, 4)
        out["first_query_s"] = round(first.wall, 4)
        engines["whoosh"] = searcher.search
    if args.get("fts_path"):
        from .fts import FtsSearcher

        engines["fts5"] = FtsSearcher(args["fts_path"]).search
    if engines:
        out.update(time_engines(engines, queries, args.get("rounds", 5), args["seed"]))
    if "whoosh" in engines:
        from .pictures import time_pictures

        out["pictures"] = time_pictures(searcher, queries, args.get("rounds", 5))
    out["peak_rss_mb"] = stats.peak_rss_mb()
    return out
