"""A snapshot of what the search core answers on the whole report, query by query.

`snapshot(searcher)` runs a fixed query set (what researchers type and every
construct of the query language) and keeps everything a user sees: totals, the
ordered ids with their scores, titles and snippets as marked, facet counts, the
histogram, the document view's highlighting and the related documents. A change of
the search core meant to keep its answers (a refactor, a speed-up) must leave it
unchanged: tests/test_search_snapshot.py compares it with
tests/golden/search_snapshot.json. A change meant to change answers rewrites that file
and says in its commit which queries changed and why. It is written by

    python -m tests.search_snapshot tests/golden/search_snapshot.json
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

QUERIES = (
    "", "基础设施", "专项债券", "乡村振兴", "冷链物流", "城市更新行动", "碳达峰碳中和", "水利", "规划",
    "基础设施 投资 融资", "老旧小区 改造 城市", "交通 物流 枢纽", "生态 保护 修复", "新能源 储能 电网",
    '"高质量发展"', '"生态保护和修复"', '"政府和社会资本合作"', '"绿色 低碳"', '"中央预算内投资"',
    "REITs", "5G", "ppp项目", "PPP", "EOD", "TOD", "国家发展改革委", "发改委", "住建部",
    "title:乡村振兴", "文号:国办发", "body:财政部", "summary:物流", "乡村振兴 OR 新型城镇化",
    "(专项债 OR 专项债券) 资本金", "数字经济 -金融", "冷链 -物流", "-冷链", "NOT 规划 基础设施",
    "国办发〔2021〕36号", "发改投资〔2021〕1号", "发改高技〔2021〕1742号", "发改高技(2021)1742",
    "高质量发展 乡村振兴 生态保护 基础设施", "的", "a", "保障性租赁住房", "数据中心 绿色",
    "乡村振兴 金融", "特色小镇", "数字化转型", "无废城市", "气候投融资", "再生水", "知识产权",
    "外贸新业态", "高速公路 投融资", "循环经济", "中小企业 融资", "关于印发“十四五”冷链物流发展规划的通知",
    '"未闭合', "(基础设施", "OR 规划", "title: ", "绿色金融改革",
)
FILTERED = (
    ("基础设施", {"level": ["local"]}, "relevance"),
    ("规划", {"kind": ["policy"], "date_from": "2021-01-01"}, "relevance"),
    ("投资", {"level": ["central"]}, "newest"),
    ("发展", {"region": ["江西省", "青海省"]}, "relevance"),
    ("", {"category": ["行业"], "doc_type": ["意见"]}, "oldest"),
    ("通知", {"body": ["国家发改委"]}, "relevance"),
    ("物流", {"date_from": "2021-12", "date_to": "2021-12-15"}, "newest"),
)
DOCUMENTS = ("2021-12-c01", "2021-12-c02", "2021-12-l10", "2021-12-act03", "2021-12-int1")


def _as_shown(result: dict) -> dict:
    """A result as the pages and the API show it: title and snippet as HTML."""
    from search_app.views.formatting import with_html

    shown = {k: str(v) if k.endswith("_html") else v for k, v in with_html(result).items()}
    for key in ("title_spans", "snippet"):
        shown.pop(key)
    return shown


def _search(searcher, q, filters=None, sort="relevance", page=1) -> dict:
    response = searcher.search(q, filters=filters, sort=sort, page=page, per_page=20)
    response.pop("took_ms")
    response["results"] = [_as_shown(r) for r in response["results"]]
    return response


def _paragraphs_html(searcher, doc_id: str, q: str) -> list[str]:
    from search_app.search import HtmlFormatter

    return [HtmlFormatter().format(p["text"], p["spans"]) for p in searcher.paragraphs(doc_id, q)]


def snapshot(searcher) -> dict:
    out: dict = {"search": {}, "filtered": [], "documents": {}}
    for q in QUERIES:
        out["search"][q] = _search(searcher, q)
    out["page2"] = _search(searcher, "发展", page=2)
    for q, filters, sort in FILTERED:
        out["filtered"].append(_search(searcher, q, filters, sort))
    for doc_id in DOCUMENTS:
        out["documents"][doc_id] = {
            "highlight": _paragraphs_html(searcher, doc_id, "冷链物流 基础设施"),
            "related": [_as_shown(r) for r in searcher.more_like_this(doc_id, 5)],
            "exported": [r["id"] for r in searcher.iter_results("冷链物流")],
        }
    return json.loads(json.dumps(out, ensure_ascii=False))


def main(target: str) -> None:
    import tempfile

    from indexer.analysis import init_jieba
    from indexer.corpus import load_corpus
    from indexer.indexing import create_index
    from indexer.lineage import annotate
    from search_app.search import Searcher

    root = Path(__file__).resolve().parent.parent
    init_jieba()
    records = annotate(load_corpus(root / "data").records)
    with tempfile.TemporaryDirectory() as tmp:
        create_index(tmp, records)
        searcher = Searcher(tmp)
        try:
            data = snapshot(searcher)
        finally:
            searcher.close()
    Path(target).write_text(json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
                            encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
