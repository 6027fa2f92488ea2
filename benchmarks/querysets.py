"""The queries every engine is timed on, by type, drawn partly from the corpus itself.

A query is a dict: q, filters (the Searcher's `filters` argument), sort, page.
"""
from __future__ import annotations

import random
from collections import Counter
from urllib.parse import urlencode

SINGLE = ("基础设施", "专项债券", "乡村振兴", "城市更新", "新基建", "碳达峰", "冷链物流", "水利")
SEVERAL = ("基础设施 投资 融资", "专项债券 项目 资本金", "生态 保护 修复", "老旧小区 改造 城市",
           "交通 物流 枢纽", "新能源 储能 电网")
PHRASES = ('"生态保护和修复"', '"中央预算内投资"', '"政府和社会资本合作"', '"高质量发展"',
           '"基础设施领域不动产投资信托基金"', '"专项债券资金"')
LATIN = ("REITs", "PPP", "EOD", "5G", "TOD")

# Typed the way people type (search that forgives, docs/query-language.md): each kind
# relaxes matching differently, so each is timed as its own type.
TRADITIONAL = ("碳達峰", "鄉村振興 金融", "專項債券 項目", "資料中心 綠色", "關於科學綠化的實施意見")
PROXIMITY = ("同句(碳达峰 金融)", "同段(专项债券 项目)", "同句(冷链 物流)", "同段(乡村振兴 基础设施)")
# A word no document holds beside a common topic: every document of the topic is a partial match.
PARTIAL = ("冷链物流 量子纠缠", "基础设施 投资 量子纠缠", "发展 改革 量子纠缠 光子晶体", "冷连物流")

# The query-time targets are over the standard types; the relaxed ones are timed apart.
STANDARD_TYPES = ("single", "several", "phrase", "doc_number", "latin", "filtered", "browse")
RELAXED_TYPES = ("title_paste", "traditional", "loose_doc_number", "proximity", "partial")
TYPES = STANDARD_TYPES + RELAXED_TYPES


def _q(q: str, filters: dict | None = None, sort: str | None = None, page: int = 1) -> dict:
    return {"q": q, "filters": filters or {}, "sort": sort or ("relevance" if q.strip() else "newest"),
            "page": page}


def build_queries(records: list[dict], seed: int = 7) -> dict[str, list[dict]]:
    rng = random.Random(seed)
    numbers = sorted({r["doc_number"] for r in records if r.get("doc_number")})
    regions = [name for name, _ in Counter(r["region"] for r in records if r.get("region")).most_common(6)]
    bodies = [name for name, _ in Counter(b for r in records for b in r.get("bodies_canonical") or []).most_common(3)]
    region_a = regions[0] if regions else None
    region_b = regions[1] if len(regions) > 1 else region_a
    filtered = [
        _q("基础设施", {"level": ["local"]}),
        _q("规划", {"kind": ["policy"], "date_from": "2021-01-01"}),
        _q("投资", {"level": ["central"]}, sort="newest"),
    ]
    if region_a:
        filtered.append(_q("发展", {"region": [region_a]}))
        filtered.append(_q("项目 建设", {"region": [region_a, region_b]}))
    if bodies:
        filtered.append(_q("通知", {"body": [bodies[0]]}))
    browse = [_q(""), _q("", {"kind": ["policy"]}), _q("", page=2), _q("", sort="oldest")]
    titled = [r for r in records if r.get("bodies") and len(r.get("title") or "") >= 12]
    pasted = [_q(f"{r['bodies'][0]}{r['title']}") for r in rng.sample(titled, min(3, len(titled)))]
    pasted += [_q(f"【解读】{r['title'][:-3]}") for r in rng.sample(titled, min(3, len(titled)))]
    parts = [r["doc_number_parts"] for r in records if r.get("doc_number_parts")]
    loose = [_q(f"{p['agency']}{p['year']}年第{p['serial']}号") for p in rng.sample(parts, min(4, len(parts)))]
    loose += [_q(f"{p['agency']} {p['year']} {p['serial']}") for p in rng.sample(parts, min(4, len(parts)))]
    if region_a:
        browse.append(_q("", {"region": [region_a]}))
    return {
        "single": [_q(q) for q in SINGLE],
        "several": [_q(q) for q in SEVERAL],
        "phrase": [_q(q) for q in PHRASES],
        "doc_number": [_q(n) for n in rng.sample(numbers, min(8, len(numbers)))],
        "latin": [_q(q) for q in LATIN],
        "filtered": filtered,
        "browse": browse,
        "title_paste": pasted,
        "traditional": [_q(q) for q in TRADITIONAL],
        "loose_doc_number": loose,
        "proximity": [_q(q) for q in PROXIMITY],
        "partial": [_q(q) for q in PARTIAL],
    }


def url_for(query: dict, per_page: int = 20) -> str:
    """The JSON API address of a query (the same parameters the search page takes)."""
    params: list[tuple[str, str]] = [("q", query["q"])] if query["q"] else []
    for name, value in query["filters"].items():
        for v in value if isinstance(value, list) else [value]:
            params.append((name, v))
    params += [("sort", query["sort"]), ("page", str(query["page"])), ("per_page", str(per_page))]
    return "/api/search?" + urlencode(params)
