"""Index generations: the live one found under an index root, opened once with the
tables every search reads (facet values, dates, ids), leased to callers, and closed
when it has been replaced and its last lease is returned.

`indexer.build` owns the layout (CURRENT names the live generation); this module only
reads it. A search takes a `Lease` for each call, or a request takes one for all its
calls (a page and its facets, a document and its related list must see one index).
"""
from __future__ import annotations

import os
import shutil
import tempfile
import threading
from pathlib import Path

import numpy as np

from indexer import analysis, doc_tables, lineage_table, spelling
from indexer.build import DOC_TABLES, LEGACY_LINEAGE, LINEAGE, SPELLING, locate_live_index, read_json, read_manifest
from indexer.indexing import open_index, read_stamp
from indexer.doc_tables import ID_FIELD, DocsByValue, ValuesOfDoc
from indexer.lineage import with_derived
from indexer.schema import DATE_FILTERS, FACETS, FILTER_FIELDS, KIND_PRIOR

from search_app.settings import setting
from .errors import IndexUnavailable
from .postings import stored_record
from .scored_cache import ScoredCache
from .scoring import WEIGHTING, Scorer
from .suggest import Suggester


class Generation:
    """One opened index: the Whoosh searcher and the document tables the build wrote
    beside it (indexer.doc_tables: which documents carry which facet value, dates, ids),
    mapped rather than read into this process."""

    def __init__(self, path: Path, name: str | None):
        self.path = path
        self.name = name
        self.lock = threading.RLock()  # serialises use of the Whoosh searcher
        self._count_lock = threading.Lock()
        self.users = 0
        self.retired = False
        try:
            self.ix = open_index(path)
            self.searcher = self.ix.searcher(weighting=WEIGHTING)
            self.scorer = Scorer(self.searcher)
        except Exception as exc:  # a damaged or half-written index
            raise IndexUnavailable(f"无法打开索引 {path}：{exc}") from exc
        self.stamp = read_stamp(path) or {}
        # who cites each document, written by the build beside the index (absent in an
        # index made directly from annotated records, whose records carry it)
        self.derived = lineage_table.read_table(path / LINEAGE) or read_json(path / LEGACY_LINEAGE)
        current = analysis.loaded_resources_version()
        built = self.stamp.get("resources_version")
        self.mismatch = None
        if built != current:
            self.mismatch = (
                f"索引使用的分析资源版本（{built or '未知'}）与程序当前的版本（{current}）不一致："
                "词典、同义词或对照表已更改，请重新建立索引（policy-search build）"
            )
        # query text -> the relevance score of every document it matches
        self.scored_cache = ScoredCache(setting("score_cache_size"), setting("score_cache_documents"))
        self._suggester: Suggester | None = None
        self._spare_dir: Path | None = None  # tables made for an index without them
        self._load_tables()

    def _load_tables(self) -> None:
        reader = self.searcher.reader()
        tables = doc_tables.open_tables(self.path / DOC_TABLES)
        if tables is not None and (tables.doc_count, len(tables.live)) != (reader.doc_count_all(),
                                                                           reader.doc_count()):
            tables.close()  # not this index's (copied beside another): made afresh below
            tables = None
        if tables is None:  # an index made directly from records, or built before the tables
            spare = self._spare_file(DOC_TABLES)
            links = self.derived.get("cites") if self.derived is not None else None
            doc_tables.write_tables(spare, reader, links)
            tables = doc_tables.DocTables(spare)
        self.tables = tables
        fields = tables.fields
        self.all_docs = tables.live
        self.docnum_by_id = DocsByValue(fields[ID_FIELD], single=True)
        self.id_of = ValuesOfDoc(fields[ID_FIELD], single=True)
        counted = [*FACETS.items(), ("report", "report")]
        self.by_value = {facet: DocsByValue(fields[name]) for facet, name in counted}
        self.of_doc = {facet: ValuesOfDoc(fields[name]) for facet, name in counted}
        # Filters that match another field than the facet counts (cites: any name of a parent).
        self.filter_by_value = {facet: DocsByValue(fields[name]) for facet, name in FILTER_FIELDS.items()}
        self.dates = {name: ValuesOfDoc(fields[name], single=True) for name, _op in DATE_FILTERS.values()}
        # Each document's relevance prior (indexer.schema.KIND_PRIOR) is asked for every
        # document a query scores: one byte a document naming its kind's prior, read
        # once, instead of decoding its kind each time.
        kinds = fields[FACETS["kind"]]
        self._priors = np.array([KIND_PRIOR.get(kinds.value(n), 1.0) for n in range(kinds.size)] + [1.0])
        self._prior_of = np.frombuffer(bytes(self.of_doc["kind"].rank(d, kinds.size)
                                             for d in range(tables.doc_count)), dtype=np.uint8)
        self.live_mask = np.frombuffer(tables.live.flags, dtype=bool)

    def priors(self) -> np.ndarray:
        """The relevance prior of each document's kind, by docnum (made when asked: eight
        bytes a document a worker would otherwise hold)."""
        return self._priors[self._prior_of]

    def _spare_file(self, name: str) -> Path:
        """A path for a table this generation's directory lacks, in a directory of its
        own removed with the generation (by the process that made it: forked workers
        share it)."""
        if self._spare_dir is None:
            self._spare_dir = Path(tempfile.mkdtemp(prefix="policy-search-tables-"))
            self._spare_owner = os.getpid()
        return self._spare_dir / name

    @property
    def manifest(self) -> dict | None:
        """Read when asked (the status page): at 50× the report its record hashes alone
        are a megabyte every worker would otherwise hold."""
        return read_manifest(self.path)

    def stale(self) -> bool:
        """An index updated in place (no generations) is reopened when it changed."""
        try:
            return not self.searcher.up_to_date()
        except Exception:
            return True

    def record(self, docnum: int, lineage: bool = True) -> dict:
        """A document's stored record; with `lineage`, also what it cites, who cites it
        and its siblings (looked up in the lineage table: a result list shows none)."""
        record = stored_record(self.searcher, docnum)
        return record if self.derived is None or not lineage else with_derived(record, self.derived)

    def suggester(self) -> Suggester:
        """Words of this generation near a misspelt one, from the spelling table the
        build wrote beside it. An index made directly from records has none: one is
        made from its lexicon on first use (a second or two at 50× the report)."""
        if self._suggester is None:
            table = spelling.read_table(self.path / SPELLING)
            if table is None:
                spare = self._spare_file(SPELLING)
                spelling.write_table(spare, spelling.lexicon_words(self.searcher.reader()))
                table = spelling.read_table(spare)
            self._suggester = Suggester(table)
        return self._suggester

    def close(self) -> None:
        try:
            self.searcher.close()
            self.ix.close()
            if isinstance(self.derived, lineage_table.StoredLineage):
                self.derived.close()
            if self._suggester is not None:
                self._suggester.table.close()
            self.tables.close()
        except Exception:
            pass
        if self._spare_dir is not None and self._spare_owner == os.getpid():
            shutil.rmtree(self._spare_dir, ignore_errors=True)

    def acquire(self) -> None:
        with self._count_lock:
            self.users += 1

    def release(self) -> None:
        with self._count_lock:
            self.users -= 1
            done = self.retired and self.users == 0
        if done:
            self.close()

    def retire(self) -> None:
        with self._count_lock:
            self.retired = True
            done = self.users == 0
        if done:
            self.close()


def resolve_index(index_root: str | Path) -> tuple[Path, str | None]:
    """The live index directory under `index_root` and its generation name."""
    root = Path(index_root)
    try:
        path, name = locate_live_index(root)
    except OSError as exc:
        raise IndexUnavailable(f"无法读取 {root / 'CURRENT'}：{exc.strerror}") from exc
    if path is not None:
        return path, name
    if name is not None:
        raise IndexUnavailable(f"CURRENT 指向的索引不存在：{name}")
    raise IndexUnavailable(f"没有找到索引：{root}（请先运行 policy-search build）")


class Lease:
    """One generation held open for a caller until `release()` (idempotent). While
    any lease on it is out, a replaced generation stays open."""

    def __init__(self, generation: Generation):
        self.generation = generation
        self._released = False
        self._lock = threading.Lock()
        generation.acquire()

    @property
    def released(self) -> bool:
        return self._released

    def release(self) -> None:
        with self._lock:
            if self._released:
                return
            self._released = True
        self.generation.release()

    def __enter__(self) -> "Lease":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


class LiveIndex:
    """The live generation under an index root. Safe to share between threads: each
    `lease()` reads CURRENT and opens the new generation when it changed; the old one
    is closed when its last lease is returned."""

    def __init__(self, index_root: str | Path):
        self.index_root = Path(index_root)
        self._lock = threading.Lock()
        self._gen: Generation | None = None

    def lease(self) -> Lease:
        path, name = resolve_index(self.index_root)
        with self._lock:
            gen = self._gen
            if gen is None or gen.path != path or (name is None and gen.stale()):
                fresh = Generation(path, name)
                if gen is not None:
                    gen.retire()
                self._gen = gen = fresh
            return Lease(gen)

    def close(self) -> None:
        with self._lock:
            if self._gen is not None:
                self._gen.retire()
                self._gen = None
