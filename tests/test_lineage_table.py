"""The lineage table stored beside a generation (indexer.lineage_table): what the build
wrote is what a search reads back, look-up by look-up, in this process and in a
process forked after it was opened."""
from __future__ import annotations

import json
import os
import sqlite3

from indexer import lineage
from indexer.lineage_table import PARTS, read_table, write_table
from indexer.corpus import load_corpus
from tests.report_slices import ROOT


def test_the_stored_table_reads_back_as_written(tmp_path):
    records = load_corpus(ROOT / "data").records
    table = lineage.derived_table(lineage.resolve_references(records, {}))
    assert table["cited_by"], "the report holds citing documents"
    write_table(tmp_path / "lineage.sqlite", table)
    stored = read_table(tmp_path / "lineage.sqlite")
    try:
        assert set(stored) == set(PARTS) == {"cites", "cited_by", "parents"}
        for part in stored:
            assert len(stored[part]) == len(table[part])
            assert dict(stored[part]) == json.loads(json.dumps(table[part], ensure_ascii=False))
        assert stored["cited_by"].get("no such parent") is None
        key = next(iter(table["cited_by"]))
        reader, writer = os.pipe()
        pid = os.fork()
        if pid == 0:  # a worker forked after the table was opened reads it itself
            ok = stored["cited_by"][key] == json.loads(json.dumps(table["cited_by"][key], ensure_ascii=False))
            os.write(writer, b"1" if ok else b"0")
            os._exit(0)
        os.waitpid(pid, 0)
        assert os.read(reader, 1) == b"1"
        assert stored["cited_by"][key] == json.loads(json.dumps(table["cited_by"][key], ensure_ascii=False))
    finally:
        stored.close()


def test_a_table_without_the_citations_leaves_a_record_its_own(tmp_path):
    """A table written before each document's citations were kept there has no such
    part; a record read with it keeps the citations it was indexed with."""
    records = load_corpus(ROOT / "data").records
    links = lineage.resolve_references(records, {})
    write_table(tmp_path / "lineage.sqlite", lineage.derived_table(links))
    with sqlite3.connect(tmp_path / "lineage.sqlite") as connection:
        connection.execute("DROP TABLE cites")
    stored = read_table(tmp_path / "lineage.sqlite")
    try:
        assert set(stored) == {"cited_by", "parents"}
        annotated = next(r for r in lineage.annotate(records, links) if r["cites"])
        assert lineage.with_derived(annotated, stored)["cites"] == annotated["cites"]
        assert lineage.with_derived(lineage.without_derived(annotated), stored)["cites"] == []
    finally:
        stored.close()


def test_a_missing_or_damaged_table_reads_as_none(tmp_path):
    assert read_table(tmp_path / "absent.sqlite") is None
    (tmp_path / "damaged.sqlite").write_bytes(b"not a database at all" * 10)
    assert read_table(tmp_path / "damaged.sqlite") is None


def test_a_generation_built_before_the_table_still_serves_its_json(tmp_path):
    """A generation from before lineage.sqlite (its table as lineage.json) serves the
    same cited-by lists until the next build replaces it."""
    from indexer import build as B
    from search_app.search import Searcher
    root = tmp_path / "index"
    assert B.build(ROOT / "data", root, jobs=2).outcome == "ok"
    live = B.live_generation(root)
    searcher = Searcher(root)
    documents = {r["id"]: searcher.get_document(r["id"]) for r in searcher.search("", per_page=100)["results"]}
    searcher.close()
    assert any(d["cited_by"] for d in documents.values()), "the report holds citing documents"
    stored = read_table(live / B.LINEAGE)
    legacy = {part: dict(stored[part]) for part in stored}
    stored.close()
    (live / B.LINEAGE).unlink()
    (live / B.LEGACY_LINEAGE).write_text(json.dumps(legacy, ensure_ascii=False), encoding="utf-8")
    searcher = Searcher(root)
    try:
        assert {i: searcher.get_document(i) for i in documents} == documents
    finally:
        searcher.close()
