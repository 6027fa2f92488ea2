"""A full index built on every core.

Tokenising with jieba and writing postings take one core each; the records are cut
into contiguous slices of about equal text, each slice is indexed into a segment of
its own by a forked worker process, and the segments are joined into one index in
slice order. Whoosh numbers documents segment after segment, so every document keeps
the number the sequential build gives it, and postings, lengths, stored records and
scores are the same (tests/test_parallel_build.py compares the two on the real
report); only the files differ, one segment per slice instead of one in all.

Workers are forked after jieba has loaded its dictionary and inherit their slice, so
nothing is pickled on the way in; a worker reports how many documents it has indexed
through a shared counter and its failure, if any, in one line.
"""
from __future__ import annotations

import gc
import multiprocessing
import os
import shutil
import time
import traceback
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC

from indexer.errors import IndexingError
from indexer.schema import SCHEMA, record_to_document

PART_PREFIX = ".part-"
WRITER_MB = 128  # Whoosh's posting pool per writer, the same as a sequential build's


def text_slices(records: list[dict], parts: int) -> list[list[dict]]:
    """Consecutive slices of about equal text size (documents differ a hundredfold)."""
    sizes = [len(r.get("text") or "") + len(r.get("title") or "") + 1 for r in records]
    target = sum(sizes) / max(parts, 1)
    slices, current, filled = [], [], 0.0
    for record, size in zip(records, sizes):
        current.append(record)
        filled += size
        if filled >= target * (len(slices) + 1) and len(slices) < parts - 1:
            slices.append(current)
            current = []
    if current:
        slices.append(current)
    return slices


def write_segment(directory: Path, index_name: str, records: list[dict], done=None) -> None:
    """Index `records` into a new single-segment index in `directory`."""
    ix = whoosh_index.create_in(str(directory), SCHEMA, indexname=index_name)
    writer = ix.writer(limitmb=WRITER_MB)
    try:
        for record in records:
            writer.add_document(**record_to_document(record))
            if done is not None:
                with done.get_lock():
                    done.value += 1
    except BaseException:
        writer.cancel()
        raise
    writer.commit(merge=False)
    ix.close()


def _worker(directory: Path, index_name: str, records: list[dict], done, errors) -> None:
    try:
        write_segment(directory, index_name, records, done)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent in one line
        detail = " ".join(str(exc).split()) or type(exc).__name__
        errors.put(f"{type(exc).__name__}: {detail}\n{traceback.format_exc()}")
        os._exit(1)
    os._exit(0)


def build_segments(index_dir: Path, index_name: str, records: list[dict], jobs: int,
                   on_progress=None) -> None:
    """Add segments of `records` after those of the index in `index_dir` (a new, empty
    one from whoosh's create_in, or a copy being updated), with `jobs` worker processes; `on_progress(n)` is called with the documents indexed so far."""
    slices = [s for s in text_slices(records, jobs) if s]
    context = multiprocessing.get_context("fork")
    done = context.Value("l", 0)
    errors = context.SimpleQueue()
    parts = [index_dir / f"{PART_PREFIX}{n}" for n in range(len(slices))]
    workers = []
    # A nightly build forks from a process holding the whole corpus (a GB at 50× the
    # report): frozen, those objects are left alone by the workers' garbage collector,
    # whose passes would otherwise touch, and so copy, every page of them.
    gc.freeze()
    try:
        for part, chunk in zip(parts, slices):
            part.mkdir(parents=True)
            worker = context.Process(target=_worker, args=(part, index_name, chunk, done, errors), daemon=True)
            worker.start()
            workers.append(worker)
        gc.unfreeze()
        reported = -1
        while any(w.is_alive() for w in workers):
            if on_progress is not None and done.value != reported:
                reported = done.value
                on_progress(reported)
            time.sleep(0.2)
        for worker in workers:
            worker.join()
        if not errors.empty() or any(w.exitcode != 0 for w in workers):
            message = errors.get() if not errors.empty() else (
                f"an indexing worker died (exit {next(w.exitcode for w in workers if w.exitcode)})")
            raise IndexingError(f"并行建索引失败：{message.splitlines()[0]}")
        if on_progress is not None:
            on_progress(done.value)
        _join(index_dir, index_name, parts)
    finally:
        gc.unfreeze()
        for worker in workers:
            if worker.is_alive():
                worker.kill()
                worker.join()
        for part in parts:
            shutil.rmtree(part, ignore_errors=True)


def _join(index_dir: Path, index_name: str, parts: list[Path]) -> None:
    """Move each part's segment files into `index_dir` and write the next table of
    contents: the index's segments, then the parts' in slice order."""
    storage = FileStorage(str(index_dir))
    base = TOC.read(storage, index_name)
    segments = list(base.segments)
    for part in parts:
        part_storage = FileStorage(str(part))
        for segment in TOC.read(part_storage, index_name).segments:
            for name in segment.list_files(part_storage):
                os.replace(part / name, index_dir / name)
            segments.append(segment)
    TOC(SCHEMA, segments, base.generation + 1).write(storage, index_name)
    storage.delete_file(TOC._filename(index_name, base.generation))
