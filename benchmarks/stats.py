"""Small measuring helpers: percentiles, wall + CPU clocks, process memory."""
from __future__ import annotations

import os
import resource
import statistics
import time
from contextlib import contextmanager
from pathlib import Path

from indexer.build import DOC_TABLES


def percentile(values, p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100) of `values`; None when empty."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, -(-len(ordered) * p // 100))  # ceil without floats drifting
    return ordered[int(min(rank, len(ordered))) - 1]


def summarize_ms(seconds) -> dict:
    """Latency summary in milliseconds of a list of durations in seconds."""
    values = [s * 1000.0 for s in seconds]
    if not values:
        return {"n": 0, "p50_ms": None, "p95_ms": None, "p99_ms": None, "mean_ms": None, "max_ms": None}
    return {
        "n": len(values),
        "p50_ms": round(percentile(values, 50), 3),
        "p95_ms": round(percentile(values, 95), 3),
        "p99_ms": round(percentile(values, 99), 3),
        "mean_ms": round(statistics.fmean(values), 3),
        "max_ms": round(max(values), 3),
    }


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ratio(numerator, denominator) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 3)


class Clock:
    """Wall and CPU (user + system of this process) time of a block."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0

    def as_dict(self) -> dict:
        return {"wall_s": round(self.wall, 4), "cpu_s": round(self.cpu, 4)}


def cpu_seconds() -> float:
    """User + system CPU time of this process, all threads."""
    return _cpu()


def _cpu() -> float:
    # Waited-for children count too: a parallel build's indexing runs in worker processes.
    return sum(u.ru_utime + u.ru_stime for u in (resource.getrusage(resource.RUSAGE_SELF),
                                                 resource.getrusage(resource.RUSAGE_CHILDREN)))


@contextmanager
def clock():
    c = Clock()
    w0, c0 = time.perf_counter(), _cpu()
    try:
        yield c
    finally:
        c.wall = time.perf_counter() - w0
        c.cpu = _cpu() - c0


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


def rss_mb(pid: int | None = None) -> float | None:
    """Current resident set size of a process, from /proc."""
    try:
        with open(f"/proc/{pid or os.getpid()}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024.0, 1)
    except OSError:
        return None
    return None


def memory_mb(pid: int) -> dict | None:
    """A process's memory from /proc/<pid>/smaps_rollup: USS (pages no other process
    maps: private clean + private dirty), PSS (shared pages split between their
    users), RSS, and the anonymous share; and, from /proc/<pid>/smaps, the part of
    USS that is index files (pages of a mapped file of an index generation, segments or
    document tables, that only this process has read)."""
    fields = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) == 3 and parts[2] == "kB":
                    fields[parts[0].rstrip(":")] = int(parts[1])
    except OSError:
        return None
    mb = {k: round(v / 1024.0, 1) for k, v in fields.items()}
    return {"uss_mb": round(mb.get("Private_Clean", 0) + mb.get("Private_Dirty", 0), 1),
            "pss_mb": mb.get("Pss"), "rss_mb": mb.get("Rss"), "anonymous_mb": mb.get("Anonymous"),
            "uss_index_files_mb": _private_in_index_files(pid)}


# The files of a generation a worker may map: Whoosh's segments (read with positioned
# reads, so 0 here unless that changes) and the document tables (mapped).
INDEX_FILE_SUFFIXES = (".seg", Path(DOC_TABLES).suffix)


def _private_in_index_files(pid: int) -> float | None:
    private_kb, in_index = 0, False
    try:
        with open(f"/proc/{pid}/smaps", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                parts = line.split()
                if not parts:
                    continue
                if not parts[0].endswith(":"):  # a mapping's header line: address range ... path
                    in_index = len(parts) > 5 and parts[-1].endswith(INDEX_FILE_SUFFIXES)
                elif in_index and parts[0] in ("Private_Clean:", "Private_Dirty:"):
                    private_kb += int(parts[1])
    except OSError:
        return None
    return round(private_kb / 1024.0, 1)


def dir_size_mb(path) -> float:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    return round(total / (1024.0 * 1024.0), 2)
