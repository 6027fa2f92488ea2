"""The Whoosh schema, declared once.

Every searchable text is indexed twice: as jieba words (`<name>`, ranking) and as
character n-grams (`<name>_ng`, exact substring recall); both keep positions
only. Character offsets would double what a query reads from the postings, and
the snippets find their matches in the stored text instead (search_app.search).
Facet fields hold the values the search page counts and filters on; the whole
record is stored as JSON for result lists, document pages and exports.
"""
from __future__ import annotations

import json

from whoosh import fields, formats

from indexer.analysis import CharGramAnalyzer, WordAnalyzer, doc_number_key

# Searchable texts: record key → index field (words); the n-gram twin is FIELD + "_ng".
TEXT_FIELDS = ("title", "summary", "text", "bodies", "doc_number", "place")
NGRAM_SUFFIX = "_ng"

# Query-language field prefixes → the texts they search.
FIELD_PREFIXES = {
    "标题": ("title",),
    "title": ("title",),
    "全文": ("text",),
    "正文": ("text",),
    "text": ("text",),
    "文号": ("doc_number",),
    "docnum": ("doc_number",),
    "机关": ("bodies",),
    "发布机关": ("bodies",),
    "body": ("bodies",),
    "地区": ("place",),
    "region": ("place",),
}
# An unprefixed query word searches these.
DEFAULT_FIELDS = ("title", "summary", "text", "bodies", "doc_number")

# BM25F weight of each text in ranking.
FIELD_WEIGHTS = {
    "title": 4.0,
    "summary": 2.0,
    "bodies": 1.5,
    "doc_number": 1.5,
    "text": 1.0,
    "place": 1.0,
}

# Relevance prior by record kind. An activity is a one-sentence note of a meeting: its
# shortness wins it BM25's length normalisation over the policies that treat a topic
# at length, which are what a researcher is looking for.
KIND_PRIOR = {"policy": 1.0, "interpretation": 1.0, "activity": 0.5}

# Facets: the name used in filters and in the response → the record key it comes from.
FACETS = {
    "kind": "kind",
    "level": "level",
    "region": "region",
    "city": "city",
    "body": "bodies_canonical",
    "doc_type": "doc_type",
    "category": "categories",
    "year": "publish_year",
    "month": "publish_month",
    # The documents a hit cites, each parent once under its key (record id, else 文号, else
    # title): a table of the build's (indexer.doc_tables), from the links beside the index.
    "cites": "cited_parents",
}
# The facets a search response lists (year/month make the histogram instead).
LISTED_FACETS = ("kind", "level", "region", "city", "body", "doc_type", "category", "cites")
FILTER_FACETS = ("region", "city", "level", "body", "doc_type", "category", "kind", "cites")
# Facets whose filter matches another field than the one they count: `cites=` finds a parent
# by any of its names (record id, 文号, title), the facet counts each parent once.
FILTER_FIELDS = {"cites": "cite_keys"}
DATE_FILTERS = {
    "date_from": ("publish_date", ">="),
    "date_to": ("publish_date", "<="),
    "written_from": ("written_date", ">="),
    "written_to": ("written_date", "<="),
}
FACET_LABELS = {
    "kind": {"policy": "政策文件", "activity": "重要活动", "interpretation": "政策解读"},
    "level": {"central": "中央", "local": "地方"},
}

KIND_ORDER = ("policy", "interpretation", "activity")
# What each searchable field is called when a query is explained ("限标题").
FIELD_LABELS = {"title": "标题", "summary": "摘要", "text": "全文", "bodies": "发布机关",
                "doc_number": "文号", "place": "地区"}
# What each facet is called where it is listed (sidebar, CLI help, exports).
FACET_TITLES = {
    "kind": "类型", "level": "层级", "region": "地区", "city": "城市", "body": "发布部门",
    "doc_type": "文种", "category": "分类", "cites": "引用的文件",
}
# Orders a result list can take, with their labels.
SORTS = {"relevance": "相关度", "newest": "最新发布", "oldest": "最早发布"}

# The fields of a record a result list carries, in the order exports print them (a record's
# own field order is the parser's: indexer.report.policy_metadata.RECORD_FIELDS).
RESULT_FIELDS = (
    "id", "kind", "title", "doc_number", "bodies", "bodies_canonical", "level", "region", "city",
    "publish_date", "written_date", "doc_type", "categories", "summary", "source_urls", "interprets",
)
LIST_FIELDS = ("bodies", "bodies_canonical", "categories", "source_urls")


def _words(vector: bool = False) -> fields.TEXT:
    return fields.TEXT(analyzer=WordAnalyzer(), phrase=True,
                       vector=formats.Frequency() if vector else None)


def _grams() -> fields.TEXT:
    return fields.TEXT(analyzer=CharGramAnalyzer(), phrase=True)


def build_schema() -> fields.Schema:
    spec = {
        "id": fields.ID(stored=True, unique=True),
        "kind": fields.ID(stored=True),
        "record": fields.STORED(),
        # 文号 as one exact normalised keyword, and its parts.
        "doc_number_key": fields.ID(),
        "dn_agency": fields.ID(),
        "dn_year": fields.ID(),
        "dn_serial": fields.ID(),
        # Facets (multi-valued ones are KEYWORD with one value per token).
        "level": fields.ID(),
        "region": fields.ID(),
        "city": fields.ID(),
        "bodies_canonical": fields.KEYWORD(commas=True, scorable=False),
        "doc_type": fields.ID(),
        "categories": fields.KEYWORD(commas=True, scorable=False),
        "publish_year": fields.ID(),
        "publish_month": fields.ID(),
        "publish_date": fields.ID(sortable=True),
        "written_date": fields.ID(sortable=True),
        "report": fields.KEYWORD(commas=True, scorable=False),
    }
    for name in TEXT_FIELDS:
        spec[name] = _words(vector=name in ("title", "text"))
        spec[name + NGRAM_SUFFIX] = _grams()
    return fields.Schema(**spec)


SCHEMA = build_schema()


def _keyword(values) -> str:
    # Commas separate a KEYWORD field's values; a value never contains one.
    return ",".join(v.replace(",", "，") for v in dict.fromkeys(v for v in values if v))


def _unique(values) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def record_reports(record: dict) -> list[str]:
    sources = record.get("sources") or ([record["source"]] if record.get("source") else [])
    return _unique((s or {}).get("report") for s in sources)


def record_to_document(record: dict) -> dict:
    """The Whoosh document for one record (see docs/architecture.md for records)."""
    if not record.get("id"):
        raise ValueError("record without an id")
    doc_number = record.get("doc_number") or ""
    parts = record.get("doc_number_parts") or {}
    publish = record.get("publish_date") or ""
    written = record.get("written_date") or ""
    bodies = _unique(list(record.get("bodies") or []) + list(record.get("bodies_canonical") or []))
    doc = {
        "id": record["id"],
        "kind": record.get("kind") or "policy",
        "record": json.dumps(record, ensure_ascii=False),
        "title": record.get("title") or "",
        "summary": record.get("summary") or "",
        "text": record.get("text") or "",
        # Separate names so a phrase never runs from one body into the next.
        "bodies": "；".join(bodies),
        "doc_number": doc_number,
        "place": "；".join(_unique([record.get("region"), record.get("city")])),
        "level": record.get("level") or "",
        "region": record.get("region") or "",
        "city": record.get("city") or "",
        "bodies_canonical": _keyword(record.get("bodies_canonical") or []),
        "doc_type": record.get("doc_type") or "",
        "categories": _keyword(record.get("categories") or []),
        "publish_year": publish[:4],
        "publish_month": publish[:7],
        "publish_date": publish,
        "written_date": written,
        "report": _keyword(record_reports(record)),
    }
    if doc_number:
        doc["doc_number_key"] = doc_number_key(doc_number)
    if parts:
        doc["dn_agency"] = str(parts.get("agency") or "")
        doc["dn_year"] = str(parts.get("year") or "")
        doc["dn_serial"] = str(parts.get("serial") or "")
    for name in TEXT_FIELDS:
        doc[name + NGRAM_SUFFIX] = doc[name]
    # Whoosh rejects empty strings in ID fields only by indexing nothing; drop them.
    return {k: v for k, v in doc.items() if v != "" or k in TEXT_FIELDS}
