"""Throughput through HAProxy (deploy/haproxy.cfg) with two replicas, beside one server.

Three set-ups, each loaded with the same paths at the same concurrency for the same
time, one after the other in one run: one `policy-search serve` asked directly;
HAProxy in front of that one server (what the proxy costs); HAProxy in front of two
servers (two replicas). On one machine the replicas share its cores with each other,
with HAProxy and with the load generator, so two replicas cannot double the
throughput of one: the CPU each part used is reported beside the figures so that the
reader can see where the cores went. Every process binds a loopback address.
"""
from __future__ import annotations

import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from . import http_load

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
DEPLOY_CONFIG = Path(__file__).resolve().parent.parent / "deploy" / "haproxy.cfg"


def haproxy_config(bind: str, replicas: list[str], path: Path, source: Path = DEPLOY_CONFIG) -> Path:
    """deploy/haproxy.cfg with its bind and server lines pointed at `replicas`
    (host:port each); its syslog lines left out (no syslog socket needed)."""
    lines, servers_written = [], False
    for line in source.read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("bind "):
            line = f"    bind {bind}"
        elif stripped.startswith("server "):
            if servers_written:
                continue
            line = "\n".join(f"    server replica{n + 1} {address}" for n, address in enumerate(replicas))
            servers_written = True
        elif stripped.startswith("log "):
            continue
        lines.append(line)
    path.write_text("\n".join(lines) + "\n")
    return path


class Balancer:
    """HAProxy in the foreground on loopback, in front of `servers`."""

    def __init__(self, servers: list[http_load.Server], work: Path):
        self.port = http_load.free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        config = haproxy_config(f"127.0.0.1:{self.port}", [f"{s.host}:{s.port}" for s in servers],
                                work / f"haproxy-{len(servers)}.cfg")
        self.log = open(work / f"haproxy-{len(servers)}.log", "wb")
        self.proc = subprocess.Popen([HAPROXY, "-db", "-f", str(config)], stdout=self.log, stderr=subprocess.STDOUT)
        self.servers = servers

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Until every server is up in HAProxy's eyes: as many answers in a row as servers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"haproxy exited with code {self.proc.returncode}")
            try:
                with urllib.request.urlopen(self.base + "/api/ready", timeout=5) as response:
                    if response.status == 200:
                        time.sleep(2.5)  # two health checks a second apart ("rise 2")
                        return
            except (urllib.error.URLError, OSError):
                time.sleep(0.25)
        raise RuntimeError(f"haproxy did not answer within {timeout:.0f} s")

    def cpu_seconds(self) -> float:
        return http_load.process_cpu_seconds([self.proc.pid])

    def stop(self) -> None:
        http_load.stop_process(self.proc, 10)
        self.log.close()


def _machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine: other sessions' work shows here too."""
    with open("/proc/stat", encoding="ascii") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values) - idle, sum(values)


def _measure(label: str, base: str, paths: list[str], concurrency: int, duration: float,
             servers: list[http_load.Server], balancer: Balancer | None) -> dict:
    busy0, total0 = _machine_busy()
    servers0 = sum(s.cpu_seconds() for s in servers)
    proxy0 = balancer.cpu_seconds() if balancer else 0.0
    run = http_load.load(base, paths, concurrency, duration)
    busy1, total1 = _machine_busy()
    wall = run["duration_s"] or 1.0
    run.update({
        "setup": label,
        "servers": len(servers),
        "workers": sum(len(s.worker_pids()) for s in servers),
        "server_cores": round((sum(s.cpu_seconds() for s in servers) - servers0) / wall, 2),
        "haproxy_cores": round((balancer.cpu_seconds() - proxy0) / wall, 2) if balancer else None,
        # Share of all the machine's cores busy (user + system), whoever used them.
        "machine_busy": round((busy1 - busy0) / max(total1 - total0, 1), 3),
    })
    return run


def _median_run(runs: list[dict]) -> dict:
    """The round of median throughput, with every round's throughput beside it."""
    ordered = sorted(runs, key=lambda r: r["throughput_rps"] or 0)
    return {**ordered[(len(ordered) - 1) // 2], "rounds_rps": [r["throughput_rps"] for r in runs]}


def run(root: Path, paths: list[str], work: Path, concurrency: int, duration: float, workers: int | None,
        cwd: Path, log, rounds: int = 3) -> dict:
    """The three set-ups on the index under `root`, in turn, `rounds` times (machine
    noise falls on all three alike); each set-up's median round. {'error': …} without
    HAProxy."""
    if not Path(HAPROXY).exists():
        return {"error": "haproxy is not installed (apt-get install haproxy): load balancer not measured"}
    out = {"concurrency": concurrency, "rounds": rounds, "runs": []}
    servers: list[http_load.Server] = []
    balancers: list[Balancer] = []
    by_setup: dict[str, list[dict]] = {}
    try:
        for n in (1, 2):
            servers.append(http_load.Server(root, work / f"replica-{n}.log", workers=workers, cwd=cwd))
            servers[-1].wait_ready()
        for group in (servers[:1], servers):
            balancers.append(Balancer(group, work))
            balancers[-1].wait_ready()
        setups = [("one server", servers[0].base, servers[:1], None),
                  ("HAProxy → 1 replica", balancers[0].base, servers[:1], balancers[0]),
                  ("HAProxy → 2 replicas", balancers[1].base, servers, balancers[1])]
        for label, base, group, balancer in setups:
            http_load.load(base, paths, 2, 2.0)  # warm every worker's caches
        for n in range(rounds):
            for label, base, group, balancer in setups:
                log(f"load balancer, round {n + 1}/{rounds}: {label}, concurrency {concurrency}")
                by_setup.setdefault(label, []).append(
                    _measure(label, base, paths, concurrency, duration, group, balancer))
    except Exception as exc:  # noqa: BLE001 - the run goes on; the JSON says what failed
        out["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        for balancer in balancers:
            balancer.stop()
        for server in servers:
            server.stop()
    out["runs"] = [_median_run(runs) for runs in by_setup.values()]
    one = by_setup.get("one server")
    two = by_setup.get("HAProxy → 2 replicas")
    if one and two and len(one) == len(two):
        # Ratio of the rounds' medians (each round measured the set-ups back to back).
        ratios = sorted(b["throughput_rps"] / a["throughput_rps"] for a, b in zip(one, two) if a["throughput_rps"])
        if ratios:
            out["two_replicas_vs_one_server"] = round(ratios[(len(ratios) - 1) // 2], 2)
    return out
