"""Build benchmarks: jieba's own tokenisation (the floor), the analyzers, a full
build through indexer.build, the incremental build after one more report."""
from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from pathlib import Path

from indexer.build import Progress

from . import stats


def indexed_texts(records: list[dict]) -> list[str]:
    """Every text a build tokenises, exactly as the schema hands it to the analyzers."""
    from indexer.schema import TEXT_FIELDS, record_to_document

    texts = []
    for record in records:
        doc = record_to_document(record)
        texts.extend(doc[name] for name in TEXT_FIELDS if doc.get(name))
    return texts


def jieba_floor(texts: list[str]) -> dict:
    """jieba's accurate mode without HMM, single process, default dictionary loaded
    beforehand: no build that tokenises this text can be faster on one core."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    tokens = 0
    with stats.clock() as c:
        for text in texts:
            tokens += len(jieba.lcut(text, HMM=False))
    return {**c.as_dict(), "texts": len(texts), "chars": sum(map(len, texts)), "tokens": tokens}


def analyzer_pass(texts: list[str]) -> dict:
    """The index's two analyzers (jieba words + sub-words, character n-grams) over the
    same texts, positions and offsets on: the tokenising share of a build."""
    from indexer.analysis import CharGramAnalyzer, WordAnalyzer, init_jieba

    init_jieba()
    words, grams = WordAnalyzer(), CharGramAnalyzer()
    n_words = n_grams = 0
    with stats.clock() as cw:
        for text in texts:
            for _ in words(text, positions=True, chars=True):
                n_words += 1
    with stats.clock() as cg:
        for text in texts:
            for _ in grams(text, positions=True, chars=True):
                n_grams += 1
    return {"words": {**cw.as_dict(), "tokens": n_words}, "char_grams": {**cg.as_dict(), "tokens": n_grams},
            "wall_s": round(cw.wall + cg.wall, 4), "cpu_s": round(cw.cpu + cg.cpu, 4)}


def whoosh_only_pass(records: list[dict], index_dir: Path) -> dict:
    """Whoosh's own share of a build: the same records indexed with every analyzer's
    output computed beforehand, so the clock sees only posting encoding, the writer's
    pool and the commit. No tokeniser, however fast, takes a build below this."""
    from indexer import analysis
    from indexer.indexing import create_index

    analysis.init_jieba()
    classes = (analysis.WordAnalyzer, analysis.CharGramAnalyzer)
    originals = {cls: cls.spans for cls in classes}
    memo: dict = {}

    def remembering(cls):
        def spans(self, value, mode):
            key = (cls, value, mode)
            if key not in memo:
                memo[key] = list(originals[cls](self, value, mode))
            return memo[key]
        return spans

    for cls in classes:
        cls.spans = remembering(cls)
    try:
        # a first, untimed build of the same records fills the memo
        create_index(index_dir, records)
        primed = len(memo)
        with commit_timer() as commit, stats.clock() as c:
            create_index(index_dir, records)
        missed = len(memo) - primed
    finally:
        for cls, original in originals.items():
            cls.spans = original
    return {**c.as_dict(), "commit": {k: round(v, 4) if isinstance(v, float) else v for k, v in commit.items()},
            "texts_analysed_during_build": missed}


class StageTimes(Progress):
    """An indexer.build Progress that notes when each stage starts."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.marks: list[tuple[str, float]] = []

    def stage(self, name: str, message: str) -> None:
        self.marks.append((name, time.perf_counter() - self.t0))

    def durations(self, end: float) -> dict:
        out = {}
        for (name, start), nxt in zip(self.marks, [m[1] for m in self.marks[1:]] + [end]):
            out[name] = round(out.get(name, 0.0) + nxt - start, 4)
        return out


@contextmanager
def commit_timer():
    """Times Whoosh's segment commits (merging, writing postings) during a build."""
    from whoosh.writing import SegmentWriter

    original = SegmentWriter.commit
    spent = {"wall_s": 0.0, "cpu_s": 0.0, "calls": 0}

    def wrapper(self, *args, **kwargs):
        w0, c0 = time.perf_counter(), stats._cpu()
        try:
            return original(self, *args, **kwargs)
        finally:
            spent["wall_s"] += time.perf_counter() - w0
            spent["cpu_s"] += stats._cpu() - c0
            spent["calls"] += 1

    SegmentWriter.commit = wrapper
    try:
        yield spent
    finally:
        SegmentWriter.commit = original


def run_build(data_dir, index_root, full: bool, jobs: int = 1) -> dict:
    """One build through indexer.build (read + parse, index, commit, validate, switch);
    a full one indexes with `jobs` processes."""
    from indexer import build as index_build

    progress = StageTimes()
    with commit_timer() as commit, stats.clock() as c:
        result = index_build.build(data_dir, index_root, full=full, progress=progress, jobs=jobs)
    stages = progress.durations(c.wall)
    live = index_build.live_generation(index_root)
    manifest = index_build.read_manifest(live) if live else None
    out = {
        **c.as_dict(),
        "outcome": getattr(result, "outcome", None),
        "message": getattr(result, "message", None),
        "stages_wall_s": stages,
        "commit": {k: round(v, 4) if isinstance(v, float) else v for k, v in commit.items()},
        "jobs": jobs,
        "mode": (manifest or {}).get("mode"),
        "full_reason": (manifest or {}).get("full_reason"),
        "documents": (manifest or {}).get("documents"),
        "index_mb": stats.dir_size_mb(live) if live else None,
    }
    index_wall = stages.get("index", 0.0) + stages.get("index-progress", 0.0)
    out["split_wall_s"] = {
        "read_parse": stages.get("read"),
        "index_add_documents": round(max(index_wall - commit["wall_s"], 0.0), 4),
        "commit": round(commit["wall_s"], 4),
        "validate_publish_switch": round(sum(v for k, v in stages.items()
                                             if k not in ("lock", "read", "index", "index-progress")), 4),
    }
    return out


__all__ = ["indexed_texts", "jieba_floor", "analyzer_pass", "run_build", "StageTimes", "commit_timer"]
