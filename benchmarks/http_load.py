"""Load on `policy-search serve` over loopback: throughput, latency, errors, worker memory.

The load generator is a bounded thread pool of urllib clients (bounded in threads,
requests and seconds) in this process; it only ever talks to a loopback address. It
shares the machine's cores with the server it measures, which the figures include.
"""
from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import stats

LOOPBACK = ("127.0.0.1", "::1", "localhost")
MAX_REQUESTS = 200_000
REQUEST_TIMEOUT_S = 30


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class Server:
    """`policy-search serve` in a child process, on loopback only."""

    def __init__(self, index_root, log_path: Path, host: str = "127.0.0.1", workers: int | None = None,
                 cwd: Path | None = None) -> None:
        if host not in LOOPBACK:
            raise ValueError("the benchmark serves on a loopback address only")
        self.host, self.port = host, free_port(host)
        self.base = f"http://{host}:{self.port}"
        cmd = [sys.executable, "-m", "search_app.cli", "serve", "--index-dir", str(index_root),
               "--host", host, "--port", str(self.port)]
        if workers:
            cmd += ["--workers", str(workers)]
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     cwd=cwd or Path(__file__).resolve().parent.parent)

    def wait_ready(self, timeout: float = 120.0) -> float:
        start = time.perf_counter()
        while time.perf_counter() - start < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with code {self.proc.returncode}")
            try:
                with urllib.request.urlopen(self.base + "/api/status", timeout=5) as response:
                    if response.status == 200:
                        return time.perf_counter() - start
            except (urllib.error.URLError, OSError):
                time.sleep(0.25)
        raise RuntimeError(f"the server did not answer within {timeout:.0f} s")

    def worker_pids(self) -> list[int]:
        pids = []
        try:
            for task in os.listdir(f"/proc/{self.proc.pid}/task"):
                with open(f"/proc/{self.proc.pid}/task/{task}/children", encoding="ascii") as fh:
                    pids += [int(p) for p in fh.read().split()]
        except OSError:
            pass
        return pids

    def memory(self) -> dict:
        workers = [stats.memory_mb(pid) for pid in self.worker_pids()]
        workers = [w for w in workers if w is not None]
        master = stats.memory_mb(self.proc.pid) or {}
        rss = [w["rss_mb"] for w in workers]
        uss = [w["uss_mb"] for w in workers]
        return {"master_rss_mb": master.get("rss_mb"), "workers": len(workers), "worker_memory": workers,
                "worker_rss_mb": rss, "worker_rss_max_mb": max(rss) if rss else None,
                "worker_uss_max_mb": max(uss) if uss else None,
                # the memory the server takes in all: shared pages counted once
                "total_pss_mb": round(sum(w["pss_mb"] or 0 for w in workers) + (master.get("pss_mb") or 0), 1)}

    def cpu_seconds(self) -> float:
        """User + system CPU of the master and its current workers, from /proc."""
        return process_cpu_seconds([self.proc.pid, *self.worker_pids()])

    def stop(self) -> None:
        stop_process(self.proc, 40)
        self.log.close()


def stop_process(proc: subprocess.Popen, timeout: float) -> None:
    """SIGTERM, then SIGKILL after `timeout` seconds: only the process we started."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def process_cpu_seconds(pids) -> float:
    """User + system CPU of these processes (all their threads), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / tick


def _fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=REQUEST_TIMEOUT_S) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def load(base: str, paths: list[str], concurrency: int, duration: float, check=None,
         max_requests: int = MAX_REQUESTS, server: Server | None = None,
         kinds: dict[str, str] | None = None) -> dict:
    """`concurrency` clients request `paths` round-robin for `duration` seconds.
    `check(path, status, body)` may return a label to count (for the switch test);
    `kinds` (path → query type) adds latency percentiles by type."""
    lock = threading.Lock()
    cursor = itertools.cycle(range(len(paths)))
    latencies: list[float] = []
    by_kind: dict[str, list[float]] = {}
    errors: list[str] = []
    labels: dict[str, int] = {}
    sent = [0]
    deadline = time.perf_counter() + duration

    def client() -> None:
        while time.perf_counter() < deadline:
            with lock:
                if sent[0] >= max_requests:
                    return
                sent[0] += 1
                path = paths[next(cursor)]
            t0 = time.perf_counter()
            try:
                status, body = _fetch(base + path)
            except Exception as exc:  # noqa: BLE001 - every failure counts as an error
                status, body = None, b""
                problem = f"{type(exc).__name__}: {exc}"
            else:
                problem = None if status == 200 else f"HTTP {status}"
            elapsed = time.perf_counter() - t0
            label = check(path, status, body) if check and problem is None else None
            with lock:
                latencies.append(elapsed)
                if kinds and path in kinds:
                    by_kind.setdefault(kinds[path], []).append(elapsed)
                if problem:
                    errors.append(f"{path}: {problem}"[:300])
                if label:
                    labels[label] = labels.get(label, 0) + 1

    server_cpu0 = server.cpu_seconds() if server else None
    start, client_cpu0 = time.perf_counter(), stats.cpu_seconds()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for future in [pool.submit(client) for _ in range(concurrency)]:
            future.result()
    wall = time.perf_counter() - start
    client_cpu = stats.cpu_seconds() - client_cpu0
    server_cpu = server.cpu_seconds() - server_cpu0 if server else None
    return {"concurrency": concurrency, "duration_s": round(wall, 3), "requests": len(latencies),
            "errors": len(errors), "error_samples": errors[:5],
            "throughput_rps": round(len(latencies) / wall, 2) if wall else None,
            "latency": stats.summarize_ms(latencies), "labels": labels,
            "latency_by_type": {k: stats.summarize_ms(v) for k, v in by_kind.items()},
            # Cores busy on average: the load generator shares the machine with the server.
            "client_cores": round(client_cpu / wall, 2) if wall else None,
            "server_cores": round(server_cpu / wall, 2) if wall and server_cpu is not None else None}


def total_of(body: bytes) -> int | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    for name in ("total", "count", "hits"):
        if isinstance(data.get(name), int):
            return data[name]
    return None
