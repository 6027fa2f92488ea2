"""Search workers' memory after a nightly build has switched in a new generation.

That is when each worker opens an index by itself (the first generation is opened by
the master before it forks, so its pages start out shared). The server runs the query
set, a build adds one report and switches, the query set runs again so that every
worker has opened the new generation and searched it, and then each process's
memory is read from /proc/<pid>/smaps_rollup (benchmarks.stats.memory_mb).
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from . import http_load, querysets, synth

BUILD_ONE = ("import json,sys; from benchmarks.building import run_build; "
             "print(json.dumps(run_build(sys.argv[1], sys.argv[2], full=False)))")


def add_month(data: Path, seed: int, after: int) -> list[dict]:
    """Write one synthetic report of a month the corpus does not have yet (the first
    free one at or after `after` months back); returns its records."""
    synthesizer = synth.Synthesizer(synth.real_records(), seed)
    back = after
    while (data / "reports" / synthesizer.report_name(back)).exists():
        back += 1
    extra = synthesizer.report(back)
    (data / "reports" / synthesizer.report_name(back)).write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in extra) + "\n", encoding="utf-8")
    return extra


def build_in_process(data: Path, root: Path, cwd: Path) -> dict:
    """One incremental build (benchmarks.building.run_build) in a child process."""
    done = subprocess.run([sys.executable, "-c", BUILD_ONE, str(data), str(root)],
                          capture_output=True, text=True, cwd=cwd)
    lines = done.stdout.strip().splitlines()
    if done.returncode == 0 and lines:
        return json.loads(lines[-1])
    return {"error": (done.stderr.strip().splitlines() or ["?"])[-1][:300]}


def total_at(base: str, path: str) -> int | None:
    """The document total a search page of the server reports."""
    with urllib.request.urlopen(base + path, timeout=60) as response:
        return http_load.total_of(response.read())


def run(work: Path, scale: int, seed: int, workers: int, duration: float, cwd: Path, log) -> dict:
    root, data = work / "memory-index", work / "memory-data"
    for path in (root, data):
        shutil.rmtree(path, ignore_errors=True)
    shutil.copytree(work / f"index-{scale}", root, symlinks=True)
    shutil.copytree(work / f"data-{scale}", data)
    paths = [querysets.url_for(q) for qs in querysets.build_queries(
        synth.corpus(synth.real_records(), scale, seed)).values() for q in qs]
    browse = querysets.url_for(querysets._q(""))
    server = http_load.Server(root, work / f"memory-server-{scale}.log", workers=workers, cwd=cwd)
    out = {"scale": scale, "workers": workers, "paths": len(paths)}
    try:
        server.wait_ready()
        log(f"{scale}×: memory of {workers} workers: query set, then a build switches in a new generation")
        http_load.load(server.base, paths, workers, duration)
        out["before_switch"] = server.memory()
        before = total_at(server.base, browse)
        add_month(data, seed, scale)
        out["build"] = build_in_process(data, root, cwd)
        waited = time.perf_counter()
        while total_at(server.base, browse) == before and time.perf_counter() - waited < 60:
            time.sleep(0.2)
        out["switched"] = total_at(server.base, browse) != before
        run_after = http_load.load(server.base, paths, workers, duration)
        out["after_switch"] = server.memory()
        out["after_switch"]["errors"] = run_after["errors"]
    except Exception as exc:  # noqa: BLE001 - the run goes on; the JSON says what failed
        out["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        server.stop()
    return out
