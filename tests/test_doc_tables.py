"""The document tables (indexer.doc_tables) mapped by the search workers: on the real
report they say what Whoosh's own postings say, value by value and document by
document (and, for what documents cite, what their links say), skip deleted documents,
are written by the build and read after a fork."""
from __future__ import annotations

import json
import os
import shutil

from whoosh import query as Q

from indexer import build as B
from indexer.doc_tables import (FIELDS, ID_FIELD, LABELS, LINK_FIELDS, POSTING_FIELDS, DocsByValue, DocTables,
                                ValuesOfDoc, open_tables, write_tables)
from indexer.indexing import open_index
from indexer.lineage import link_label
from tests.report_slices import ROOT

LABELS_FIELD = next(iter(LABELS))


def _postings_by_query(searcher, fieldname):
    """value → live documents, asked of Whoosh one term query at a time."""
    out = {}
    for term in searcher.reader().lexicon(fieldname):
        value = term.decode("utf-8")
        docs = sorted(searcher.search(Q.Term(fieldname, value), limit=None).docs())
        if docs:
            out[value] = docs
    return out


def test_every_value_and_every_document_as_whoosh_has_them(full_index, tmp_path):
    ix = open_index(full_index)
    try:
        with ix.searcher() as searcher:
            write_tables(tmp_path / "t", searcher.reader())
            tables = DocTables(tmp_path / "t")
            assert tables.doc_count == searcher.reader().doc_count_all()
            assert sorted(tables.live) == sorted(searcher.reader().all_doc_ids())
            for fieldname in POSTING_FIELDS:
                expected = _postings_by_query(searcher, fieldname)
                by_value = DocsByValue(tables.fields[fieldname])
                assert {v: list(d) for v, d in by_value.items()} == expected, fieldname
                assert all(by_value.get(v) is not None for v in expected)
                assert by_value.get("没有这个值") is None and "没有这个值" not in by_value
                of_doc = ValuesOfDoc(tables.fields[fieldname])
                inverted: dict[int, list[str]] = {}
                for value, docs in expected.items():
                    for d in docs:
                        inverted.setdefault(d, []).append(value)
                assert {d: list(v) for d, v in of_doc.items()} == inverted, fieldname
                some = sorted(inverted)[: len(inverted) // 2]
                counted = {}
                for d in some:
                    for v in inverted[d]:
                        counted[v] = counted.get(v, 0) + 1
                assert dict(of_doc.count(some)) == counted
            # what each document cites: the values of its links, document by document
            links = {d: json.loads(searcher.stored_fields(d)["record"]).get("cites") or []
                     for d in searcher.reader().all_doc_ids()}
            assert sum(map(len, links.values())) > 50
            for fieldname, values_of in LINK_FIELDS.items():
                of_doc = ValuesOfDoc(tables.fields[fieldname])
                assert {d: sorted(v) for d, v in of_doc.items()} == {
                    d: sorted(set(values_of(ls))) for d, ls in links.items() if ls}, fieldname
            # a cited parent's label: how the first document citing it names it
            cited = tables.fields[LABELS_FIELD]
            labelled = 0
            for number in range(cited.size):
                value = cited.value(number)
                names = [next((link_label(link) for link in links[d] if link["key"] == value), None)
                         for d in sorted(cited.docs(number))]
                expected_label = next((n for n in names if n), None)
                assert cited.label(number) == expected_label, value
                labelled += expected_label is not None
            assert labelled > 10
            ids = DocsByValue(tables.fields[ID_FIELD], single=True)
            for docnum in searcher.reader().all_doc_ids():
                doc_id = searcher.stored_fields(docnum)["id"]
                assert ids.get(doc_id) == docnum
                assert ValuesOfDoc(tables.fields[ID_FIELD], single=True).get(docnum) == doc_id
            tables.close()
    finally:
        ix.close()


def test_deleted_documents_are_in_no_table(report_records, tmp_path, jieba_ready):
    from indexer.indexing import create_index

    create_index(tmp_path / "ix", report_records[:40])
    ix = open_index(tmp_path / "ix")
    gone = report_records[3]["id"]
    writer = ix.writer()
    writer.delete_by_term("id", gone)
    writer.commit(merge=False)
    try:
        with ix.searcher() as searcher:
            deleted = [d for d in range(searcher.reader().doc_count_all()) if searcher.reader().is_deleted(d)]
            assert len(deleted) == 1
            write_tables(tmp_path / "t", searcher.reader())
            tables = DocTables(tmp_path / "t")
            assert len(tables.live) == 39 and deleted[0] not in tables.live
            assert DocsByValue(tables.fields[ID_FIELD]).get(gone) is None
            for fieldname in FIELDS:
                field = tables.fields[fieldname]
                assert all(deleted[0] not in DocsByValue(field)[v] for v in DocsByValue(field))
                assert deleted[0] not in ValuesOfDoc(field)
            tables.close()
    finally:
        ix.close()


def test_the_build_writes_them_and_a_generation_maps_them(tmp_path):
    from search_app.search import Searcher

    root = tmp_path / "index"
    assert B.build(ROOT / "data", root, jobs=2).outcome == "ok"
    live = B.live_generation(root)
    assert (live / B.DOC_TABLES).is_file()
    searcher = Searcher(root)
    try:
        with searcher.generation() as gen:
            assert gen.tables.path == live / B.DOC_TABLES
            kinds = {k: len(d) for k, d in gen.by_value["kind"].items()}
        expected = searcher.search("", per_page=1)
        assert sum(kinds.values()) == expected["total"]
        facets = {e["value"]: e["count"] for e in expected["facets"]["kind"]}
        assert facets == kinds
        # a child forked with the generation open reads the same mapping
        reader, writer = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                with searcher.generation() as gen:
                    ok = {k: len(d) for k, d in gen.by_value["kind"].items()} == kinds
            except Exception:
                ok = False
            os.write(writer, b"1" if ok else b"0")
            os._exit(0)
        os.waitpid(pid, 0)
        assert os.read(reader, 1) == b"1"
    finally:
        searcher.close()


def test_tables_of_another_index_or_none_are_made_afresh(tmp_path, slice_index):
    """A damaged file reads as absent; one that does not fit the index (copied from
    another) is not used: the generation makes its own beside it."""
    from search_app.search import Searcher

    (tmp_path / "damaged").write_bytes(b"\0" * 64)
    assert open_tables(tmp_path / "damaged") is None
    assert open_tables(tmp_path / "absent") is None
    root = tmp_path / "index"
    assert B.build(ROOT / "data", root, jobs=2).outcome == "ok"
    live = B.live_generation(root)
    before = Searcher(root)
    expected = before.search("基础设施", per_page=50)
    before.close()
    index = tmp_path / "copy"
    shutil.copytree(slice_index, index)
    shutil.copy(live / B.DOC_TABLES, index / B.DOC_TABLES)  # the full report's: too many documents
    searcher = Searcher(index)
    try:
        with searcher.generation() as gen:
            assert gen.tables.path != index / B.DOC_TABLES
            spare = gen.tables.path
        hits = searcher.search("基础设施", per_page=50)
        assert 0 < hits["total"] < expected["total"]
    finally:
        searcher.close()
    assert not spare.exists(), "the spare tables go with the generation"


def test_the_codec_walk_reads_what_the_public_path_reads(full_index):
    """collect() walks each segment's terms table (whoosh3's private names); the
    public lexicon-and-postings path gives the same terms and documents."""
    from indexer.doc_tables import _segment_postings

    ix = open_index(full_index)
    try:
        with ix.reader() as reader:
            read = 0
            for leaf, _base in reader.leaf_readers():
                assert hasattr(leaf, "_terms"), "the fast path is the one taken"
                for fieldname in POSTING_FIELDS:
                    fast = [(t, list(ids)) for t, ids in _segment_postings(leaf, fieldname)]
                    public = [(t, list(leaf.postings(fieldname, t).all_ids())) for t in leaf.lexicon(fieldname)]
                    assert fast == public, fieldname
                    read += len(fast)
            assert read > 100
    finally:
        ix.close()
