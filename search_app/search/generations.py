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
from array import array
from pathlib import Path

from indexer import analysis, lineage_table, spelling
from indexer.build import LEGACY_LINEAGE, LINEAGE, SPELLING, locate_live_index, read_json, read_manifest
from indexer.indexing import open_index, read_stamp
from indexer.lineage import with_derived
from indexer.schema import FACETS, FILTER_FIELDS

from search_app.settings import setting
from .errors import IndexUnavailable
from .postings import stored_record
from .scored_cache import ScoredCache
from .scoring import WEIGHTING, Scorer
from .suggest import Suggester


class PerDocument:
    """A value per document number, held in a list (a dict's keys and slots cost
    several times more at tens of thousands of documents); reads like a dict of the
    documents that have one."""

    __slots__ = ("_values", "_count")

    def __init__(self, size: int):
        self._values: list = [None] * size
        self._count = 0

    @classmethod
    def of(cls, size: int, values: dict, convert=None) -> "PerDocument":
        table = cls(size)
        shared: dict = {}  # equal values stored once
        for docnum, value in values.items():
            value = convert(value) if convert else value
            table[docnum] = shared.setdefault(value, value)
        return table

    def __setitem__(self, docnum: int, value) -> None:
        if self._values[docnum] is None:
            self._count += 1
        self._values[docnum] = value

    def get(self, docnum: int, default=None):
        value = self._values[docnum] if 0 <= docnum < len(self._values) else None
        return default if value is None else value

    def __contains__(self, docnum) -> bool:
        return self.get(docnum) is not None

    def __iter__(self):
        return (d for d, v in enumerate(self._values) if v is not None)

    def items(self):
        return ((d, v) for d, v in enumerate(self._values) if v is not None)

    def __len__(self) -> int:
        return self._count


class Generation:
    """One opened index: the Whoosh searcher and, read once from the index's
    facet fields, which documents carry which facet value."""

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
        self._spare_dir: Path | None = None  # a spelling table made for an index without one
        self._load_tables()

    def _load_tables(self) -> None:
        reader = self.searcher.reader()
        # One int object per document number shared by every table below, and one
        # tuple per distinct set of values: at 50× the report the tables cost a
        # worker 14 MB of heap as plain dicts of their own ints and tuples, under 4 MB so.
        self._docnums = list(range(reader.doc_count_all()))
        self.all_docs = frozenset(self._docnums[d] for d in reader.all_doc_ids())
        self._cite_labels: dict[str, str] | None = None
        self.docnum_by_id: dict[str, int] = {}
        self.id_of = PerDocument(len(self._docnums))
        for docnum, value in self._postings(reader, "id"):
            self.docnum_by_id[value] = docnum
            self.id_of[docnum] = value
        # value → its documents, in ascending arrays (4 bytes a document; a set costs
        # ten times that)
        self.by_value: dict[str, dict[str, array]] = {}
        self.of_doc: dict[str, PerDocument] = {}
        for facet, fieldname in list(FACETS.items()) + [("report", "report")]:
            by_value: dict[str, array] = {}
            of_doc: dict[int, list[str]] = {}
            for docnum, value in self._postings(reader, fieldname):
                by_value.setdefault(value, array("i")).append(docnum)
                of_doc.setdefault(docnum, []).append(value)
            self.by_value[facet] = by_value
            self.of_doc[facet] = PerDocument.of(len(self._docnums), of_doc, tuple)
        # Filters that match another field than the facet counts (cites: any name of a parent).
        self.filter_by_value: dict[str, dict[str, array]] = {}
        for facet, fieldname in FILTER_FIELDS.items():
            by_value = {}
            for docnum, value in self._postings(reader, fieldname):
                by_value.setdefault(value, array("i")).append(docnum)
            self.filter_by_value[facet] = by_value
        self.dates: dict[str, PerDocument] = {}
        for fieldname in ("publish_date", "written_date"):
            self.dates[fieldname] = PerDocument.of(len(self._docnums), dict(self._postings(reader, fieldname)))

    def _postings(self, reader, fieldname: str):
        if fieldname not in reader.schema:
            return
        for term in reader.lexicon(fieldname):
            value = term.decode("utf-8") if isinstance(term, bytes) else str(term)
            for docnum in reader.postings(fieldname, term).all_ids():
                if docnum in self.all_docs:
                    yield self._docnums[docnum], value

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

    def record(self, docnum: int) -> dict:
        record = stored_record(self.searcher, docnum)
        return record if self.derived is None else with_derived(record, self.derived)

    def suggester(self) -> Suggester:
        """Words of this generation near a misspelt one, from the spelling table the
        build wrote beside it. An index made directly from records has none: one is
        made from its lexicon on first use (a second or two at 50× the report)."""
        if self._suggester is None:
            table = spelling.read_table(self.path / SPELLING)
            if table is None:
                self._spare_dir = Path(tempfile.mkdtemp(prefix="policy-search-spelling-"))
                self._spare_owner = os.getpid()  # workers forked after this share it
                spelling.write_table(self._spare_dir / SPELLING, spelling.lexicon_words(self.searcher.reader()))
                table = spelling.read_table(self._spare_dir / SPELLING)
            self._suggester = Suggester(table)
        return self._suggester

    def cite_labels(self) -> dict[str, str]:
        """Cited parent key → how the citing documents name it (title and 文号), read once."""
        if self._cite_labels is None:
            labels: dict[str, str] = {}
            for docnum in sorted(self.of_doc.get("cites", {})):
                for key, label in (self.searcher.stored_fields(docnum).get("cite_labels") or {}).items():
                    labels.setdefault(key, label)
            self._cite_labels = labels
        return self._cite_labels

    def close(self) -> None:
        try:
            self.searcher.close()
            self.ix.close()
            if isinstance(self.derived, lineage_table.StoredLineage):
                self.derived.close()
            if self._suggester is not None:
                self._suggester.table.close()
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
