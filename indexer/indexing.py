"""Records → a Whoosh index directory.

`create_index` writes a complete index into a directory (indexer.build gives it
a fresh generation directory); `update_index` adds, replaces and removes
records in place. Each index carries `analysis.json`, the analysis resources
version it was built with; search refuses an index whose version differs from
the running code's, and update_index refuses to mix versions in one index.
"""
from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from whoosh import index as whoosh_index

from indexer import analysis, parallel
from indexer.errors import IndexingError, ResourcesMismatch
from indexer.schema import SCHEMA, record_to_document
from indexer.storage import SharedFileStorage

INDEX_NAME = "MAIN"
STAMP_FILE = "analysis.json"


def _check_ids(records) -> None:
    seen: set[str] = set()
    for record in records:
        rid = record.get("id")
        if not rid:
            raise IndexingError(f"记录缺少 id：{record.get('title')!r}")
        if rid in seen:
            raise IndexingError(f"记录 id 重复：{rid}")
        seen.add(rid)


def _write_stamp(index_dir: Path, count: int) -> dict:
    stamp = {
        "resources_version": analysis.loaded_resources_version(),
        "analysis": analysis.resources_description(),
        "documents": count,
        "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    fd, tmp = tempfile.mkstemp(dir=index_dir, prefix=".analysis-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(stamp, fh, ensure_ascii=False, indent=2)
    os.chmod(tmp, 0o644)
    os.replace(tmp, index_dir / STAMP_FILE)
    return stamp


def read_stamp(index_dir: str | os.PathLike) -> dict | None:
    path = Path(index_dir) / STAMP_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_index(index_dir: str | os.PathLike) -> bool:
    directory = Path(index_dir)
    return directory.is_dir() and whoosh_index.exists_in(str(directory), indexname=INDEX_NAME)


def open_index(index_dir: str | os.PathLike):
    """The index in `index_dir`, its files read through the page cache (indexer.storage)."""
    return SharedFileStorage(str(index_dir)).open_index(indexname=INDEX_NAME)


def create_index(index_dir: str | os.PathLike, records, jobs: int = 1, on_progress=None) -> dict:
    """Write a new index of `records` into `index_dir` (created if missing;
    an index already there is replaced), with `jobs` processes (indexer.parallel);
    `on_progress(n)` hears how many documents are indexed. Returns {documents,
    resources_version}."""
    records = list(records)
    _check_ids(records)
    directory = Path(index_dir)
    directory.mkdir(parents=True, exist_ok=True)
    analysis.init_jieba()
    ix = whoosh_index.create_in(str(directory), SCHEMA, indexname=INDEX_NAME)
    if jobs > 1 and len(records) > 1:
        ix.close()
        parallel.build_segments(directory, INDEX_NAME, records, jobs, on_progress)
    else:
        writer = ix.writer(limitmb=parallel.WRITER_MB)
        try:
            for record in records:
                writer.add_document(**record_to_document(record))
        except BaseException:
            writer.cancel()
            raise
        writer.commit(optimize=True)
        ix.close()
        if on_progress is not None:
            on_progress(len(records))
    stamp = _write_stamp(directory, len(records))
    return {"documents": len(records), "resources_version": stamp["resources_version"]}


def update_index(index_dir: str | os.PathLike, added, removed_ids, jobs: int = 1, on_progress=None) -> dict:
    """Add (or replace, by id) `added` records and delete `removed_ids` in place; with
    `jobs` > 1 the added records are indexed in new segments by worker processes.
    Raises ResourcesMismatch when the index was built with other analysis
    resources: the caller rebuilds it with create_index instead."""
    directory = Path(index_dir)
    if not is_index(directory):
        raise IndexingError(f"不是索引目录：{directory}")
    analysis.init_jieba()
    stamp = read_stamp(directory) or {}
    current = analysis.loaded_resources_version()
    if stamp.get("resources_version") != current:
        raise ResourcesMismatch(
            f"索引的分析资源版本 {stamp.get('resources_version')} 与当前 {current} 不同，需要完整重建"
        )
    added = list(added)
    _check_ids(added)
    removed = [rid for rid in dict.fromkeys(removed_ids or []) if rid]
    in_parallel = jobs > 1 and len(added) > 1
    ix = open_index(directory)
    writer = ix.writer(limitmb=parallel.WRITER_MB)
    deleted = 0
    try:
        for rid in removed:
            deleted += writer.delete_by_term("id", rid)
        for record in added:
            if in_parallel:  # the new version goes into the workers' segments
                writer.delete_by_term("id", record["id"])
            else:
                writer.update_document(**record_to_document(record))
    except BaseException:
        writer.cancel()
        raise
    writer.commit()
    ix.close()
    if in_parallel:
        parallel.build_segments(directory, INDEX_NAME, added, jobs, on_progress)
    elif on_progress is not None:
        on_progress(len(added))
    ix = open_index(directory)
    with ix.searcher() as searcher:
        count = searcher.doc_count()
    ix.close()
    _write_stamp(directory, count)
    return {"documents": count, "added": len(added), "removed": deleted,
            "resources_version": current}
