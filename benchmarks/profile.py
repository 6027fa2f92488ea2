"""Where the time goes: cProfile of a 1× index build or of the query set.

    python -m benchmarks.profile build   [--top 25]
    python -m benchmarks.profile queries --index-root benchmarks/work/index-1 [--top 25]

Prints the functions with the most own time and writes the same text to
benchmarks/results/profile-<what>.txt. cProfile slows pure-Python code unevenly, so
read the shares, not the absolute times.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
from pathlib import Path

from . import querysets, synth

RESULTS = Path(__file__).resolve().parent / "results"


def profile_build(records) -> cProfile.Profile:
    from indexer.analysis import init_jieba
    from indexer.indexing import create_index

    init_jieba()
    profiler = cProfile.Profile()
    with tempfile.TemporaryDirectory() as tmp:
        profiler.enable()
        create_index(Path(tmp) / "index", records)
        profiler.disable()
    return profiler


def profile_queries(records, index_root: str, rounds: int = 3) -> cProfile.Profile:
    from indexer.analysis import init_jieba
    from search_app.search import Searcher

    init_jieba()
    searcher = Searcher(index_root)
    items = [q for qs in querysets.build_queries(records).values() for q in qs]
    for q in items:  # warm-up, as in the benchmark
        searcher.search(q["q"], q["filters"], q["sort"], q["page"], 20)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(rounds):
        for q in items:
            searcher.search(q["q"], q["filters"], q["sort"], q["page"], 20)
    profiler.disable()
    return profiler


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.profile")
    p.add_argument("what", choices=("build", "queries"))
    p.add_argument("--index-root", default=str(Path(__file__).resolve().parent / "work" / "index-1"))
    p.add_argument("--top", type=int, default=25)
    a = p.parse_args(argv)
    records = synth.real_records()
    profiler = profile_build(records) if a.what == "build" else profile_queries(records, a.index_root)
    out = io.StringIO()
    st = pstats.Stats(profiler, stream=out).strip_dirs()
    st.sort_stats("tottime").print_stats(a.top)
    st.sort_stats("cumulative").print_stats(a.top)
    text = out.getvalue()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"profile-{a.what}.txt").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
