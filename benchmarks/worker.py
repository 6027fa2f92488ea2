"""One measurement in a fresh process: `python -m benchmarks.worker TASK JSON-ARGS`.

A fresh process per measurement gives each its own peak memory figure and keeps
one measurement's caches and garbage out of the next. The result is printed as
the last line of standard output, as JSON.
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from . import building, stats, synth


def _corpus(scale: int, seed: int) -> list[dict]:
    return synth.corpus(synth.real_records(), scale, seed)


def task_build(args: dict) -> dict:
    """Full builds of the corpus at one scale, each preceded by jieba's floor on the
    same text, so every build has a floor measured right next to it."""
    from indexer.analysis import init_jieba

    records = _corpus(args["scale"], args["seed"])
    texts = building.indexed_texts(records)
    init_jieba()  # loaded once per process in production as well; kept out of the timings
    rss_before = stats.rss_mb()
    runs = []
    for _ in range(args.get("repeat", 1)):
        floor = building.jieba_floor(texts)
        build = building.run_build(args["data_dir"], args["index_root"], full=True)
        runs.append({"floor": floor, "build": build,
                     "ratio_wall": stats.ratio(build["wall_s"], floor["wall_s"]),
                     "ratio_cpu": stats.ratio(build["cpu_s"], floor["cpu_s"])})
    out = {"scale": args["scale"], "records": len(records), "texts": len(texts),
           "chars": sum(map(len, texts)), "runs": runs,
           "rss_before_build_mb": rss_before}
    if args.get("analyzers"):
        out["analyzers"] = building.analyzer_pass(texts)
        floor = building.jieba_floor(texts)
        whoosh = building.whoosh_only_pass(records, Path(args["index_root"]).with_name("whoosh-only"))
        out["whoosh_only"] = {"floor": floor, "build": whoosh,
                              "ratio_wall": stats.ratio(whoosh["wall_s"], floor["wall_s"])}
    out["peak_rss_mb"] = stats.peak_rss_mb()
    return out


def task_incremental(args: dict) -> dict:
    """The build after one new report lands in a corpus whose index is live, against
    a build of that report alone (same process, same code path)."""
    from indexer.analysis import init_jieba

    init_jieba()
    extra = Path(args["extra_report"])
    alone_dir = Path(args["work"]) / "alone-data"
    alone_root = Path(args["work"]) / "alone-index"
    for path in (alone_dir, alone_root):
        shutil.rmtree(path, ignore_errors=True)
    (alone_dir / "reports").mkdir(parents=True)
    shutil.copy2(extra, alone_dir / "reports" / extra.name)
    alone = building.run_build(alone_dir, alone_root, full=True)
    shutil.copy2(extra, Path(args["data_dir"]) / "reports" / extra.name)
    try:
        incremental = building.run_build(args["data_dir"], args["index_root"], full=False)
    finally:
        # The corpus directory is left as it was, for the next run.
        (Path(args["data_dir"]) / "reports" / extra.name).unlink(missing_ok=True)
    shutil.rmtree(alone_root, ignore_errors=True)
    return {"scale": args["scale"], "alone": alone, "incremental": incremental,
            "ratio_wall": stats.ratio(incremental["wall_s"], alone["wall_s"]),
            "peak_rss_mb": stats.peak_rss_mb()}


def task_queries(args: dict) -> dict:
    from . import queries

    return queries.run(args)


def task_fts(args: dict) -> dict:
    from . import fts

    return fts.run(args)


TASKS = {"build": task_build, "incremental": task_incremental, "queries": task_queries, "fts": task_fts}


def main(argv: list[str]) -> int:
    task, raw = argv[0], argv[1]
    result = TASKS[task](json.loads(raw))
    sys.stdout.write("\n" + json.dumps(result, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
