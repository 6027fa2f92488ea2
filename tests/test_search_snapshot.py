"""The search core answers exactly as the saved run: results, scores, facet counts,
snippets, highlighting and related documents, query by query (see
tests/search_snapshot.py for the query set and how the saved run is written)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from .search_snapshot import snapshot

GOLDEN = Path(__file__).resolve().parent / "golden" / "search_snapshot.json"


@pytest.fixture(scope="module")
def saved_and_now(full_searcher):
    return json.loads(GOLDEN.read_text(encoding="utf-8")), snapshot(full_searcher)


def test_every_query_answers_as_the_saved_run(saved_and_now):
    saved, now = saved_and_now
    assert set(now["search"]) == set(saved["search"])
    for q, expected in saved["search"].items():
        assert now["search"][q] == expected, q


def test_paging_filters_documents_and_exports_as_the_saved_run(saved_and_now):
    saved, now = saved_and_now
    assert now["page2"] == saved["page2"]
    assert len(now["filtered"]) == len(saved["filtered"])
    for got, expected in zip(now["filtered"], saved["filtered"]):
        assert got == expected, expected["query"]
    for doc_id, expected in saved["documents"].items():
        assert now["documents"][doc_id] == expected, doc_id
