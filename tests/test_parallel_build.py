"""The parallel build (indexer.parallel) against the sequential one, on the whole report:
the same documents under the same numbers, the same postings, lengths, vectors, stored
records and scores."""
from __future__ import annotations

import pytest

from indexer.indexing import create_index, open_index
from indexer.parallel import text_slices
from indexer.schema import SCHEMA


@pytest.fixture(scope="module")
def parallel_index(tmp_path_factory, report_records, jieba_ready):
    path = tmp_path_factory.mktemp("parallel-index")
    seen = []
    create_index(path, report_records, jobs=3, on_progress=seen.append)
    return path, seen


@pytest.fixture(scope="module")
def readers(full_index, parallel_index):
    sequential, parallel = open_index(full_index), open_index(parallel_index[0])
    with sequential.searcher() as one, parallel.searcher() as many:
        yield one.reader(), many.reader()
    sequential.close()
    parallel.close()


def test_slices_keep_order_and_balance_text(report_records):
    parts = text_slices(report_records, 3)
    assert [r["id"] for part in parts for r in part] == [r["id"] for r in report_records]
    sizes = [sum(len(r.get("text") or "") for r in part) for part in parts]
    # Contiguous slices cannot split a document: each holds about a third, give or take the longest.
    longest = max(len(r.get("text") or "") for r in report_records)
    assert all(abs(size - sum(sizes) / 3) <= longest for size in sizes)


def test_one_segment_per_slice_and_progress_to_the_end(parallel_index, report_records, readers):
    _, seen = parallel_index
    one, many = readers
    assert len(list(one.leaf_readers())) == 1 and len(list(many.leaf_readers())) == 3
    assert seen and seen[-1] == len(report_records) and seen == sorted(seen)


def test_same_documents_under_the_same_numbers(readers):
    one, many = readers
    assert one.doc_count_all() == many.doc_count_all() and one.doc_count() == many.doc_count()
    assert list(one.all_stored_fields()) == list(many.all_stored_fields())


def test_same_postings_in_every_field(readers):
    one, many = readers

    def postings(reader):
        return sorted(reader.iter_postings())

    assert postings(one) == postings(many)


def test_same_lengths_and_vectors(readers):
    one, many = readers
    for fieldname in SCHEMA.scorable_names():
        assert one.field_length(fieldname) == many.field_length(fieldname)
        assert one.max_field_length(fieldname) == many.max_field_length(fieldname)
        assert [one.doc_field_length(d, fieldname) for d in range(one.doc_count_all())] == \
               [many.doc_field_length(d, fieldname) for d in range(many.doc_count_all())]
    vectored = [name for name in SCHEMA.names() if SCHEMA[name].vector]
    assert vectored
    for fieldname in vectored:
        for docnum in range(one.doc_count_all()):
            if one.has_vector(docnum, fieldname):
                assert list(one.vector_as("weight", docnum, fieldname)) == \
                       list(many.vector_as("weight", docnum, fieldname))
            else:
                assert not many.has_vector(docnum, fieldname)


def test_an_update_in_parallel_equals_one_in_sequence(tmp_path, report_records, jieba_ready):
    """Incremental: some records replaced, some removed, the rest added in new segments."""
    from indexer.indexing import update_index

    first, rest = report_records[:40], report_records[40:]
    changed = [{**r, "title": r["title"] + "（修订）"} for r in first[:3]]
    removed = [r["id"] for r in first[3:5]]
    paths = []
    for jobs in (1, 2):
        path = tmp_path / f"jobs-{jobs}"
        create_index(path, first, jobs=jobs)
        update_index(path, changed + rest, removed, jobs=jobs)
        paths.append(path)
    one, many = open_index(paths[0]), open_index(paths[1])
    try:
        with one.searcher() as a, many.searcher() as b:
            assert len(list(b.reader().leaf_readers())) > len(list(a.reader().leaf_readers()))
            live = lambda s: [(s.stored_fields(d)["id"], s.stored_fields(d)["record"])  # noqa: E731
                              for d in sorted(s.reader().all_doc_ids())]
            assert live(a) == live(b)
            assert len(live(b)) == len(report_records) - len(removed)
            assert sorted(a.reader().iter_postings()) == sorted(b.reader().iter_postings())
    finally:
        one.close()
        many.close()


@pytest.mark.parametrize("query", ["冷链物流", "基础设施 REITs", "保障性租赁住房", "标题:实施意见", "发改投资",
                                   "同句(绿色 金融)", "“十四五”规划", ""])
def test_same_results_and_scores(full_index, parallel_index, query):
    from search_app.search import Searcher

    one, many = Searcher(full_index), Searcher(parallel_index[0])
    try:
        a, b = one.search(query, per_page=100), many.search(query, per_page=100)
    finally:
        one.close()
        many.close()
    assert a["total"] == b["total"]
    assert [(r["id"], r["score"]) for r in a["results"]] == [(r["id"], r["score"]) for r in b["results"]]
    assert a["facets"] == b["facets"]


def test_a_failing_worker_fails_the_build_in_one_line(tmp_path, report_records, jieba_ready):
    from indexer.errors import IndexingError

    broken = [dict(r) for r in report_records[:6]]
    broken[4]["doc_number_parts"] = "not a mapping"  # the second worker cannot make its document
    with pytest.raises(IndexingError) as caught:
        create_index(tmp_path / "index", broken, jobs=2)
    assert "\n" not in str(caught.value) and "并行建索引失败" in str(caught.value)
    assert not list((tmp_path / "index").glob(".part-*"))
