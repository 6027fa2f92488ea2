"""`make bench`: build, query, FTS5 and HTTP benchmarks; JSON into benchmarks/results/.

    python -m benchmarks.run [--scales 1,10] [--duration 10] [--quick] ...

Each measurement runs in a fresh process (benchmarks.worker). Figures that are
compared are measured in the same run: see docs/performance.md for the method.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from . import balanced, http_load, machine, memory, querysets, report, synth, targets

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
WORK = HERE / "work"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# The code under measurement is copied at the start of a run: the checkout is shared
# with ongoing work, and a file edited mid-run would otherwise mix two versions in
# one run (and turn an incremental build into a full one, the indexing code having
# "changed").
SNAPSHOT_PARTS = ("indexer", "search_app", "benchmarks", "data")
CODE = HERE.parent


def snapshot(work: Path) -> dict:
    global CODE
    target = work / "code"
    shutil.rmtree(target, ignore_errors=True)
    ignore = shutil.ignore_patterns("__pycache__", "work", "results", "*.pyc")
    for part in SNAPSHOT_PARTS:
        shutil.copytree(HERE.parent / part, target / part, ignore=ignore)
    CODE = target

    def git(*args):
        done = subprocess.run(["git", *args], capture_output=True, text=True, cwd=HERE.parent)
        return done.stdout.rstrip("\n") if done.returncode == 0 else None

    changed = git("status", "--porcelain", "--", *SNAPSHOT_PARTS)
    return {"commit": (git("rev-parse", "HEAD") or "").strip() or None,
            "uncommitted": [line[3:] for line in (changed or "").splitlines()
                            if not line[3:].startswith("benchmarks/")]}


def worker(task: str, args: dict, timeout: float = 3 * 3600) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.worker", task, json.dumps(args, ensure_ascii=False)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=CODE)
    except subprocess.TimeoutExpired:
        return {"error": f"{task} took longer than {timeout:.0f} s"}
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if done.returncode != 0 or not lines:
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        return {"error": f"{task} failed (exit {done.returncode}): {tail[0][:300]}"}
    return json.loads(lines[-1])


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[0])
    p.add_argument("--scales", default="1,10", help="corpus scales to build and query (e.g. 1,10,50)")
    p.add_argument("--repeat", type=int, default=3, help="full builds (each beside a jieba floor) at 1×")
    p.add_argument("--rounds", type=int, default=5, help="timed rounds over the query set per engine")
    p.add_argument("--duration", type=float, default=10.0, help="seconds per HTTP load level (issue: 60)")
    p.add_argument("--concurrency", default="1,4,16")
    p.add_argument("--http-scale", type=int, default=1)
    p.add_argument("--workers", type=int, default=None, help="gunicorn workers (serve's default if unset)")
    p.add_argument("--skip-http", action="store_true")
    p.add_argument("--build-jobs", default="1,2",
                   help="indexing processes of the full builds, each measured at every scale (e.g. 2 at 200×)")
    p.add_argument("--memory-workers", type=int, default=4,
                   help="workers of the server whose memory is read after a generation switch, at every scale")
    p.add_argument("--skip-memory", action="store_true")
    p.add_argument("--skip-balanced", action="store_true",
                   help="leave out the load balancer (HAProxy → two replicas beside one server)")
    p.add_argument("--balanced-concurrency", type=int, default=8,
                   help="clients for the load-balancer comparison")
    p.add_argument("--balanced-rounds", type=int, default=3,
                   help="rounds of the load-balancer comparison (each set-up --duration seconds per round)")
    p.add_argument("--queries-only", action="store_true",
                   help="only the in-process queries, on the indexes an earlier run left in --work "
                        "(no build, no incremental build, no HTTP)")
    p.add_argument("--http-only", action="store_true",
                   help="only the HTTP load and the switch, at --http-scale, on the index and data "
                        "an earlier run left in --work")
    p.add_argument("--skip-fts", action="store_true")
    p.add_argument("--quick", action="store_true", help="1× only, one build, short load: a smoke run")
    p.add_argument("--seed", type=int, default=20211231)
    p.add_argument("--work", default=str(WORK))
    p.add_argument("--out", default=str(RESULTS))
    a = p.parse_args(argv)
    if a.quick:
        a.scales, a.repeat, a.rounds, a.duration = "1", 1, 2, min(a.duration, 3.0)
    a.scales = sorted({int(s) for s in a.scales.split(",") if s.strip()})
    a.concurrency = [int(c) for c in a.concurrency.split(",") if c.strip()]
    a.build_jobs = [int(j) for j in a.build_jobs.split(",") if j.strip()]
    return a


def run_http(a, work: Path, records: list[dict], results: dict) -> dict:
    scale = a.http_scale
    src_root, src_data = work / f"index-{scale}", work / f"data-{scale}"
    root, data = work / "http-index", work / "http-data"
    for path in (root, data):
        shutil.rmtree(path, ignore_errors=True)
    shutil.copytree(src_root, root, symlinks=True)
    shutil.copytree(src_data, data)
    if a.http_only:
        # The index copied may hold the report the last run's incremental build added:
        # its file goes with the data, so the switch below adds exactly one report.
        for extra in sorted((work / "extra").glob("*.jsonl")):
            shutil.copy2(extra, data / "reports" / extra.name)
    corpus = synth.corpus(records, scale, a.seed)
    queries = querysets.build_queries(corpus)
    paths = [querysets.url_for(q) for qs in queries.values() for q in qs]
    # (a path under two types is timed under the last)
    kinds = {querysets.url_for(q): kind for kind, qs in queries.items() for q in qs}
    out = {"scale": scale, "paths": len(paths), "load": []}
    server = http_load.Server(root, work / "server.log", workers=a.workers, cwd=CODE)
    try:
        out["startup_s"] = round(server.wait_ready(), 3)
        http_load.load(server.base, paths, 2, 2.0)  # warm every worker's caches
        for c in a.concurrency:
            log(f"HTTP load at concurrency {c} for {a.duration:g} s")
            run = http_load.load(server.base, paths, c, a.duration, server=server, kinds=kinds)
            run["memory"] = server.memory()
            out["load"].append(run)
        out["switch"] = run_switch(a, server, root, data, corpus)
        out["memory_after"] = server.memory()
    except Exception as exc:  # noqa: BLE001 - the run goes on; the JSON says what failed
        out["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        server.stop()
    if not a.skip_balanced:
        out["balanced"] = balanced.run(root, paths, work, a.balanced_concurrency, a.duration, a.workers, CODE, log,
                                       rounds=1 if a.quick else a.balanced_rounds)
    return out


def run_switch(a, server, root: Path, data: Path, corpus: list[dict]) -> dict:
    """Load at concurrency 4 while a build adds one report and switches it in."""
    browse = querysets.url_for(querysets._q(""))
    extra = memory.add_month(data, a.seed, a.http_scale)
    before = memory.total_at(server.base, browse)
    after = before + len(extra)
    paths = [browse] + [querysets.url_for(q) for q in querysets.build_queries(corpus)["single"]]

    def check(path, status, body):
        if path != browse:
            return None
        total = http_load.total_of(body)
        return "before" if total == before else "after" if total == after else f"other:{total}"

    holder = {}

    def build_in_background():
        holder["build"] = memory.build_in_process(data, root, CODE)

    import threading

    thread = threading.Thread(target=build_in_background)
    log("HTTP load at concurrency 4 while a new generation is built and switched in")
    thread.start()
    t0 = time.perf_counter()
    load_runs = []
    # Keep the load on until the build has switched and for a little after.
    while True:
        load_runs.append(http_load.load(server.base, paths, 4, max(2.0, a.duration / 2), check=check))
        if not thread.is_alive() or time.perf_counter() - t0 > 1800:
            break
    thread.join()
    load_runs.append(http_load.load(server.base, paths, 4, 3.0, check=check))
    merged = {"concurrency": 4, "duration_s": round(sum(r["duration_s"] for r in load_runs), 3),
              "requests": sum(r["requests"] for r in load_runs), "errors": sum(r["errors"] for r in load_runs),
              "error_samples": [e for r in load_runs for e in r["error_samples"]][:5], "labels": {}}
    for r in load_runs:
        for k, v in r["labels"].items():
            merged["labels"][k] = merged["labels"].get(k, 0) + v
    lost = sum(v for k, v in merged["labels"].items() if k.startswith("other"))
    out = {"documents_before": before, "documents_after": after, "build": holder.get("build"), "load": merged,
           "lost_documents_responses": lost}
    if not merged["labels"].get("after"):
        out["note"] = "no response from the new generation was seen: the switch was not observed"
    return out


def main(argv=None) -> int:
    a = parse_args(sys.argv[1:] if argv is None else argv)
    work, out_dir = Path(a.work).resolve(), Path(a.out).resolve()
    if a.http_only:
        missing = [p for p in (work / f"index-{a.http_scale}", work / f"data-{a.http_scale}") if not p.exists()]
        if missing:
            print(f"--http-only needs an earlier run's {missing[0]}", file=sys.stderr)
            return 2
        a.scales = []
    if a.queries_only:
        missing = [s for s in a.scales if not (work / f"index-{s}").exists()]
        if missing:
            print(f"--queries-only needs an earlier run's {work / f'index-{missing[0]}'}", file=sys.stderr)
            return 2
        a.skip_http = True
    work.mkdir(parents=True, exist_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    code = snapshot(work)
    results = {"machine": machine.machine_info(), "code": code, "options": {k: v for k, v in vars(a).items()},
               "builds": {}, "fts": {}, "queries": {}, "incremental": {}}
    log(f"machine: {results['machine']['nproc']} cores, {results['machine']['memory_mb']} MB, "
        f"Python {results['machine']['python']}")
    records = synth.real_records()
    for scale in a.scales:
        data, root = work / f"data-{scale}", work / f"index-{scale}"
        if not a.queries_only:
            shutil.rmtree(root, ignore_errors=True)
            extra = synth.write_data_dir(data, records, scale, a.seed)
            log(f"{scale}×: {len(records) * scale} records in {1 + len(extra)} reports; full build")
            results["builds"][str(scale)] = worker("build", {
                "scale": scale, "seed": a.seed, "data_dir": str(data), "index_root": str(root),
                "repeat": a.repeat if scale == 1 else 1, "analyzers": scale == 1, "jobs": a.build_jobs})
        fts_path = None
        if not a.skip_fts:
            log(f"{scale}×: SQLite FTS5 build")
            results["fts"][str(scale)] = worker("fts", {"scale": scale, "seed": a.seed, "work": str(work)})
            fts_path = results["fts"][str(scale)].get("path")
        log(f"{scale}×: queries")
        results["queries"][str(scale)] = worker("queries", {
            "scale": scale, "seed": a.seed, "index_root": str(root), "rounds": a.rounds, "fts_path": fts_path})
        if fts_path:
            Path(fts_path).unlink(missing_ok=True)
        if not a.skip_memory:
            results.setdefault("memory", {})[str(scale)] = memory.run(
                work, scale, a.seed, a.memory_workers, a.duration, CODE, log)
    if not a.skip_http:
        log("HTTP")
        results["http"] = run_http(a, work, records, results)
    if a.scales and not a.queries_only:
        top = a.scales[-1]
        synthesizer = synth.Synthesizer(records, a.seed)
        (work / "extra").mkdir(exist_ok=True)
        extra_paths = []
        for back in (top, top + 1):  # two months before the corpus: two consecutive nightly builds
            path = work / "extra" / synthesizer.report_name(back)
            path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in synthesizer.report(back)) + "\n",
                            encoding="utf-8")
            extra_paths.append(str(path))
        log(f"{top}×: two incremental builds, one more report each")
        results["incremental"][str(top)] = worker("incremental", {
            "scale": top, "data_dir": str(work / f"data-{top}"), "index_root": str(work / f"index-{top}"),
            "extra_reports": extra_paths, "work": str(work), "jobs": a.build_jobs[-1]})
    results["targets"] = targets.check(results)
    results["total_wall_s"] = round(time.perf_counter() - started, 1)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(results, ensure_ascii=False, indent=2)
    (out_dir / f"bench-{stamp}.json").write_text(text, encoding="utf-8")
    (out_dir / "latest.json").write_text(text, encoding="utf-8")
    table = report.render(results)
    (out_dir / "latest.md").write_text(table, encoding="utf-8")
    (out_dir / f"bench-{stamp}.md").write_text(table, encoding="utf-8")
    print(table)
    log(f"done in {results['total_wall_s']:.0f} s; results in {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
