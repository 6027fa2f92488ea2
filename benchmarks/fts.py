"""The alternative: SQLite FTS5 over the same jieba words, with the same facets.

Each text is segmented by the project's own tokenizer (indexer.analysis.query_words:
jieba without HMM, the user dictionary, content words lower-cased) and stored as
space-separated words, which FTS5's unicode61 tokenizer keeps whole; a quoted phrase is
then an FTS5 phrase of consecutive words. Facets are GROUP BY counts over the full hit
set, snippets come from FTS5's snippet() (over the segmented text, so with spaces).
What FTS5 lacks next to the Whoosh index: the character n-gram view (exact substring
recall whatever jieba made of a word), sub-words, synonyms.
"""
from __future__ import annotations

import json
import os
import re
import sqlite3
from pathlib import Path

from . import stats

WORD_COLUMNS = ("title", "summary", "text", "bodies", "doc_number")
WEIGHTS = (4.0, 2.0, 1.0, 1.5, 1.5)  # the Whoosh schema's field weights, same order
FACET_COLUMNS = {"kind": "kind", "level": "level", "region": "region", "city": "city", "doc_type": "doc_type"}
MULTI_FACETS = {"body": "doc_bodies", "category": "doc_categories"}
_DOC_NUMBER = re.compile(r"〔\d{4}〕\d+号")

SCHEMA = """
CREATE TABLE docs (rowid INTEGER PRIMARY KEY, id TEXT UNIQUE, kind TEXT, level TEXT, region TEXT, city TEXT,
                   doc_type TEXT, publish_date TEXT, publish_month TEXT, doc_number_key TEXT, record TEXT);
CREATE INDEX docs_date ON docs(publish_date);
CREATE INDEX docs_number ON docs(doc_number_key);
CREATE TABLE doc_bodies (doc INTEGER, value TEXT);
CREATE INDEX doc_bodies_value ON doc_bodies(value, doc);
CREATE TABLE doc_categories (doc INTEGER, value TEXT);
CREATE INDEX doc_categories_value ON doc_categories(value, doc);
CREATE VIRTUAL TABLE fts USING fts5(title, summary, text, bodies, doc_number, tokenize = 'unicode61');
"""


def _words(text: str) -> str:
    from indexer.analysis import query_words

    return " ".join(query_words(text)) if text else ""


def build_db(path: Path, records: list[dict]) -> dict:
    from indexer.analysis import doc_number_key, init_jieba
    from indexer.schema import record_to_document

    init_jieba()
    if path.exists():
        path.unlink()
    con = sqlite3.connect(path)
    with stats.clock() as c:
        con.executescript(SCHEMA)
        with stats.clock() as tok:
            rows = []
            for rowid, record in enumerate(records, 1):
                doc = record_to_document(record)
                rows.append((rowid, record, doc, tuple(_words(doc.get(col) or "") for col in WORD_COLUMNS)))
        with stats.clock() as ins:
            for rowid, record, doc, words in rows:
                publish = record.get("publish_date") or ""
                con.execute("INSERT INTO docs VALUES (?,?,?,?,?,?,?,?,?,?,?)", (
                    rowid, record["id"], record.get("kind"), record.get("level"), record.get("region"),
                    record.get("city"), record.get("doc_type"), publish, publish[:7],
                    doc_number_key(record["doc_number"]) if record.get("doc_number") else None,
                    json.dumps(record, ensure_ascii=False)))
                con.executemany("INSERT INTO doc_bodies VALUES (?,?)",
                                [(rowid, b) for b in dict.fromkeys(record.get("bodies_canonical") or [])])
                con.executemany("INSERT INTO doc_categories VALUES (?,?)",
                                [(rowid, b) for b in dict.fromkeys(record.get("categories") or [])])
                con.execute("INSERT INTO fts(rowid, title, summary, text, bodies, doc_number) VALUES (?,?,?,?,?,?)",
                            (rowid, *words))
            con.commit()
            con.execute("INSERT INTO fts(fts) VALUES ('optimize')")
            con.commit()
    con.close()
    return {**c.as_dict(), "tokenise": tok.as_dict(), "insert_commit": ins.as_dict(),
            "size_mb": round(os.path.getsize(path) / 1048576, 2), "documents": len(records)}


def _terms(q: str) -> list[tuple[str, str]]:
    """(kind, text) for each quoted phrase or bare word of a query."""
    out = []
    for match in re.finditer(r'"([^"]*)"|(\S+)', q):
        if match.group(1) is not None:
            out.append(("phrase", match.group(1)))
        else:
            out.append(("word", match.group(2)))
    return out


def _match_expr(q: str) -> tuple[str | None, str | None]:
    """An FTS5 MATCH expression, or a 文号 key to look up exactly."""
    from indexer.analysis import doc_number_key, query_words

    if _DOC_NUMBER.search(q) and len(_terms(q)) == 1:
        return None, doc_number_key(q)
    parts = []
    for kind, text in _terms(q):
        words = [w.replace('"', '""') for w in query_words(text)]
        if not words:
            continue
        if kind == "phrase":
            parts.append('"' + " ".join(words) + '"')
        else:
            parts.extend(f'"{w}"' for w in words)
    return (" AND ".join(parts) or None), None


def _filters_sql(filters: dict) -> tuple[str, list]:
    clauses, params = [], []
    for name, values in filters.items():
        values = values if isinstance(values, list) else [values]
        if name in FACET_COLUMNS:
            clauses.append(f"docs.{FACET_COLUMNS[name]} IN ({','.join('?' * len(values))})")
            params += values
        elif name in MULTI_FACETS:
            table = MULTI_FACETS[name]
            clauses.append(f"docs.rowid IN (SELECT doc FROM {table} WHERE value IN ({','.join('?' * len(values))}))")
            params += values
        elif name == "date_from":
            clauses.append("docs.publish_date >= ?")
            params.append(values[0])
        elif name == "date_to":
            clauses.append("docs.publish_date <= ?")
            params.append(values[0])
    return (" AND ".join(clauses) or "1"), params


class FtsSearcher:
    def __init__(self, path: Path) -> None:
        self.con = sqlite3.connect(path)

    def search(self, q: str, filters: dict, sort: str, page: int, per_page: int = 20) -> dict:
        con = self.con
        where, params = _filters_sql(filters)
        match, number_key = _match_expr(q)
        con.execute("DROP TABLE IF EXISTS temp.hits")
        if match:
            con.execute(f"CREATE TEMP TABLE hits AS SELECT fts.rowid AS r, bm25(fts, {', '.join(map(str, WEIGHTS))}) "
                        f"AS score FROM fts JOIN docs ON docs.rowid = fts.rowid WHERE fts MATCH ? AND {where}",
                        [match, *params])
        elif number_key:
            con.execute(f"CREATE TEMP TABLE hits AS SELECT docs.rowid AS r, 0.0 AS score FROM docs "
                        f"WHERE doc_number_key = ? AND {where}", [number_key, *params])
        else:
            con.execute(f"CREATE TEMP TABLE hits AS SELECT docs.rowid AS r, 0.0 AS score FROM docs WHERE {where}",
                        params)
        total = con.execute("SELECT count(*) FROM hits").fetchone()[0]
        facets = {}
        for name, column in FACET_COLUMNS.items():
            facets[name] = con.execute(f"SELECT docs.{column}, count(*) c FROM hits JOIN docs ON docs.rowid = hits.r "
                                       f"WHERE docs.{column} IS NOT NULL GROUP BY 1 ORDER BY c DESC").fetchall()
        for name, table in MULTI_FACETS.items():
            facets[name] = con.execute(f"SELECT value, count(*) c FROM hits JOIN {table} ON doc = hits.r "
                                       "GROUP BY 1 ORDER BY c DESC").fetchall()
        facets["month"] = con.execute("SELECT publish_month, count(*) FROM hits JOIN docs ON docs.rowid = hits.r "
                                      "GROUP BY 1 ORDER BY 1").fetchall()
        order = {"newest": "docs.publish_date DESC", "oldest": "docs.publish_date ASC"}.get(
            sort, "hits.score ASC" if match else "docs.publish_date DESC")
        rows = con.execute(f"SELECT docs.rowid, docs.record FROM hits JOIN docs ON docs.rowid = hits.r "
                           f"ORDER BY {order}, docs.rowid LIMIT ? OFFSET ?",
                           (per_page, (page - 1) * per_page)).fetchall()
        snippets = {}
        if match and rows:
            ids = [r[0] for r in rows]
            snippets = dict(con.execute(
                f"SELECT rowid, snippet(fts, -1, '<mark>', '</mark>', '…', 16) FROM fts WHERE fts MATCH ? "
                f"AND rowid IN ({','.join('?' * len(ids))})", [match, *ids]).fetchall())
        results = []
        for rowid, record in rows:
            data = json.loads(record)
            results.append({"id": data["id"], "title": data.get("title"), "snippet": snippets.get(rowid)})
        return {"total": total, "results": results, "facets": facets}


def run(args: dict) -> dict:
    """Build the FTS5 database of one scale's corpus (kept for the query timings)."""
    from . import synth

    records = synth.corpus(synth.real_records(), args["scale"], args["seed"])
    path = Path(args["work"]) / f"fts-{args['scale']}.sqlite"
    return {"scale": args["scale"], "build": build_db(path, records), "path": str(path),
            "peak_rss_mb": stats.peak_rss_mb()}
