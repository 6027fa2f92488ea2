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
    jobs = args.get("jobs") or [1]
    for _ in range(args.get("repeat", 1)):
        floor = building.jieba_floor(texts)
        by_jobs = {str(n): building.run_build(args["data_dir"], args["index_root"], full=True, jobs=n)
                   for n in jobs}
        build = by_jobs[str(jobs[0])]
        run = {"floor": floor, "build": build, "ratio_wall": stats.ratio(build["wall_s"], floor["wall_s"]),
               "ratio_cpu": stats.ratio(build["cpu_s"], floor["cpu_s"])}
        if len(jobs) > 1:
            # the same corpus indexed with more processes, right after: wall time against the first
            run["builds_by_jobs"] = by_jobs
            run["parallel_ratio_wall"] = stats.ratio(by_jobs[str(jobs[-1])]["wall_s"], build["wall_s"])
        runs.append(run)
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
    """Builds after new reports land, one after another, in a corpus whose index is
    live, each against a build of that report alone (same process, same code path,
    the same number of indexing processes)."""
    from indexer.analysis import init_jieba

    init_jieba()
    jobs = args.get("jobs", 1)
    data_reports = Path(args["data_dir"]) / "reports"
    runs = []
    try:
        for extra in map(Path, args["extra_reports"]):
            alone_dir = Path(args["work"]) / "alone-data"
            alone_root = Path(args["work"]) / "alone-index"
            for path in (alone_dir, alone_root):
                shutil.rmtree(path, ignore_errors=True)
            (alone_dir / "reports").mkdir(parents=True)
            shutil.copy2(extra, alone_dir / "reports" / extra.name)
            alone = building.run_build(alone_dir, alone_root, full=True, jobs=jobs)
            shutil.rmtree(alone_root, ignore_errors=True)
            shutil.copy2(extra, data_reports / extra.name)
            incremental = building.run_build(args["data_dir"], args["index_root"], full=False, jobs=jobs)
            runs.append({"report": extra.name, "alone": alone, "incremental": incremental,
                         "ratio_wall": stats.ratio(incremental["wall_s"], alone["wall_s"])})
    finally:
        # The corpus directory is left as it was, for the next run.
        for extra in map(Path, args["extra_reports"]):
            (data_reports / extra.name).unlink(missing_ok=True)
    return {"scale": args["scale"], "jobs": jobs, "runs": runs, **runs[0],
            "ratio_wall_max": max(r["ratio_wall"] or 0 for r in runs),
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
