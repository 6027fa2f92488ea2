"""Shared fixtures: records parsed from the real report and real Whoosh indexes.

Most search tests use a slice of the report's records indexed once per session;
the whole report is indexed once per session only for the tests that need it.
"""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# A slice that covers every record kind, both levels, a dozen regions, shared
# and unique 文号, the researcher topics of the relevance tests, and texts from
# a cover notice of a few lines to a full plan of 19,000 characters.
SLICE_IDS = (
    "2021-12-c01", "2021-12-c02", "2021-12-c04", "2021-12-c06", "2021-12-c09", "2021-12-c15",
    "2021-12-l03", "2021-12-l10", "2021-12-l14", "2021-12-l29", "2021-12-l36", "2021-12-l43",
    "2021-12-l26", "2021-12-l48", "2021-12-l51", "2021-12-l56", "2021-12-l60",
    "2021-12-act03", "2021-12-act06", "2021-12-act17", "2021-12-int1",
)


@pytest.fixture(scope="session")
def jieba_ready():
    from indexer.analysis import init_jieba

    return init_jieba()


@pytest.fixture(scope="session")
def report_records() -> list[dict]:
    """Every record of the corpus under data/, with its lineage, as a build indexes it."""
    from indexer.corpus import load_corpus
    from indexer.lineage import annotate

    return annotate(load_corpus(ROOT / "data").records)


@pytest.fixture(scope="session")
def slice_records(report_records) -> list[dict]:
    by_id = {r["id"]: r for r in report_records}
    missing = [i for i in SLICE_IDS if i not in by_id]
    assert not missing, f"the parser no longer produces {missing}"
    return [by_id[i] for i in SLICE_IDS]


def _build(tmp_path_factory, name: str, records) -> Path:
    from indexer.indexing import create_index

    path = tmp_path_factory.mktemp(name)
    create_index(path, records)
    return path


def _open(path: Path):
    from search_app.search import Searcher

    return Searcher(path)


@pytest.fixture(scope="session")
def slice_index(tmp_path_factory, slice_records, jieba_ready) -> Path:
    """A Whoosh index directory (no generations) of the slice."""
    return _build(tmp_path_factory, "slice-index", slice_records)


@pytest.fixture(scope="session")
def slice_searcher(slice_index):
    searcher = _open(slice_index)
    yield searcher
    searcher.close()


@pytest.fixture(scope="session")
def full_index(tmp_path_factory, report_records, jieba_ready) -> Path:
    """The whole corpus indexed (about 20 s): for corpus-wide recall and relevance."""
    return _build(tmp_path_factory, "full-index", report_records)


@pytest.fixture(scope="session")
def full_searcher(full_index):
    searcher = _open(full_index)
    yield searcher
    searcher.close()
