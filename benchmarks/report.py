"""A run's figures as Markdown tables (benchmarks/results/latest.md), for docs/performance.md."""
from __future__ import annotations

from . import stats
from .querysets import TYPES


def _f(value, digits=2) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _table(header: list[str], rows: list[list], left=(0,)) -> list[str]:
    """A Markdown table; numbers right-aligned except in the `left` columns."""
    align = ["---" if n in left else "---:" for n in range(len(header))]
    return ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"] + [
        "| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]


def render(r: dict) -> str:
    m = r["machine"]
    lines = [f"Run of {m['measured_at']}: {m['nproc']} cores ({m['cpu_model']}), {m['memory_mb']} MB, "
             f"Python {m['python']}, jieba {m['jieba']}, whoosh-reloaded {m['whoosh']}, SQLite {m['sqlite']}; "
             f"load average at start {m['load_average_at_start']}; whole run {r.get('total_wall_s')} s.", ""]
    code = r.get("code") or {}
    if code.get("commit"):
        extra = f", plus uncommitted {', '.join(code['uncommitted'])}" if code.get("uncommitted") else ""
        lines[-1:-1] = [f"Code measured: a copy taken at the start of the run of commit {code['commit'][:10]}{extra}."]

    lines += ["### Build", "",
              "| scale | records | chars | jieba floor (s) | full build (s) | build / floor | read+parse | "
              "add documents | commit | index MB | peak RSS MB | FTS5 build (s) | FTS5 MB |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for scale, b in r.get("builds", {}).items():
        fts = (r.get("fts") or {}).get(scale) or {}
        if "error" in b:
            lines.append(f"| {scale}× | {b['error']} |")
            continue
        runs = b["runs"]
        floor = stats.median([x["floor"]["wall_s"] for x in runs])
        build = stats.median([x["build"]["wall_s"] for x in runs])
        ratio = stats.median([x["ratio_wall"] for x in runs])
        split = {k: stats.median([x["build"]["split_wall_s"].get(k) for x in runs])
                 for k in ("read_parse", "index_add_documents", "commit")}
        lines.append(
            f"| {scale}× | {b['records']} | {b['chars']:,} | {_f(floor)} | {_f(build)} | {_f(ratio)}× | "
            f"{_f(split['read_parse'])} | {_f(split['index_add_documents'])} | {_f(split['commit'])} | "
            f"{_f(runs[-1]['build'].get('index_mb'))} | {_f(b.get('peak_rss_mb'), 0)} | "
            f"{_f((fts.get('build') or {}).get('wall_s'))} | {_f((fts.get('build') or {}).get('size_mb'))} |")
    one = (r.get("builds") or {}).get("1") or {}
    if one.get("analyzers"):
        an = one["analyzers"]
        lines += ["", f"At 1× ({len(one['runs'])} builds, medians), the index's analyzers alone over the same text: "
                      f"words {_f(an['words']['wall_s'])} s, character n-grams {_f(an['char_grams']['wall_s'])} s."]
    whoosh = one.get("whoosh_only")
    if whoosh:
        lines += ["", f"Whoosh's own share at 1× (every analyzer's output computed beforehand): "
                      f"{_f(whoosh['build']['wall_s'])} s, of which commit {_f(whoosh['build']['commit']['wall_s'])} s, "
                      f"against a jieba floor of {_f(whoosh['floor']['wall_s'])} s measured beside it: "
                      f"{_f(whoosh.get('ratio_wall'))}×."]
    for scale, b in r.get("builds", {}).items():
        runs = [x for x in b.get("runs", []) if x.get("builds_by_jobs")]
        if runs:
            by_jobs = runs[0]["builds_by_jobs"]
            walls = ", ".join(f"--jobs {n}: {_f(stats.median([x['builds_by_jobs'][n]['wall_s'] for x in runs]))} s "
                              f"(CPU {_f(stats.median([x['builds_by_jobs'][n]['cpu_s'] for x in runs]))} s)"
                              for n in by_jobs)
            lines += ["", f"Full build at {scale}× by indexing processes ({len(runs)} run(s), medians): {walls}; "
                          f"ratio {_f(stats.median([x['parallel_ratio_wall'] for x in runs]))}×."]
    for scale, inc in (r.get("incremental") or {}).items():
        if "error" in inc:
            lines += ["", f"Incremental at {scale}×: {inc['error']}"]
            continue
        for n, one in enumerate(inc.get("runs") or [inc], 1):
            build, alone = one["incremental"], one["alone"]
            stages = ", ".join(f"{k} {_f(v)}" for k, v in (build.get("stages_wall_s") or {}).items() if v >= 0.05)
            lines += ["", f"Incremental at {scale}× (run {n}, --jobs {inc.get('jobs', 1)}): one more report "
                          f"({build.get('documents')} documents after) in {_f(build['wall_s'])} s (build mode "
                          f"{build.get('mode')}{': ' + build['full_reason'] if build.get('full_reason') else ''}; "
                          f"stages {stages}), against {_f(alone['wall_s'])} s for that report alone: "
                          f"{_f(one.get('ratio_wall'))}×."]

    memory = r.get("memory") or {}
    if memory:
        lines += ["", "### Search workers' memory after a generation switch (MB, from smaps_rollup)", "",
                  "| scale | workers | USS max | USS each | of which index files | PSS each | RSS each | "
                  "anonymous each | server total (PSS) | switched | errors |",
                  "| --- | ---: | ---: | --- | --- | --- | --- | --- | ---: | --- | ---: |"]
        for scale, m in memory.items():
            after = m.get("after_switch") or {}
            if m.get("error") or not after:
                lines.append(f"| {scale}× | {m.get('error') or 'no figures'} |")
                continue
            each = after.get("worker_memory") or []

            def column(key, digits=0):
                return " / ".join(_f(w.get(key), digits) for w in each)

            # (USS to a tenth: the target is a ratio of two figures some 20 MB each)
            lines.append(f"| {scale}× | {after.get('workers')} | {_f(after.get('worker_uss_max_mb'), 1)} | "
                         f"{column('uss_mb', 1)} | {column('uss_index_files_mb')} | {column('pss_mb')} | {column('rss_mb')} | "
                         f"{column('anonymous_mb')} | "
                         f"{_f(after.get('total_pss_mb'), 0)} | {m.get('switched')} | {after.get('errors')} |")

    lines += ["", "### Queries in process (ms; one page of 20 with snippets + all facet counts)", "",
              "| scale | engine | " + " | ".join(f"{t} p50/p95/p99" for t in TYPES) + " | standard p95 | relaxed p95 |",
              "| --- | --- |" + " ---: |" * (len(TYPES) + 2)]
    for scale, q in (r.get("queries") or {}).items():
        if "error" in q:
            lines.append(f"| {scale}× | {q['error']} |")
            continue
        if q.get("whoosh_unavailable"):
            lines.append(f"| {scale}× | whoosh | {q['whoosh_unavailable']} |")
        for engine in ("whoosh", "fts5"):
            e = q.get(engine)
            if not e:
                continue
            errs = f" ({len(e['errors'])} errors)" if e.get("errors") else ""
            for label, by_type, every, relaxed in (("", "by_type", "all", "relaxed"),
                                                   (" first run", "cold_by_type", "cold_all", "cold_relaxed")):
                if by_type not in e:
                    continue
                cells = []
                for t in TYPES:
                    s = (e.get(by_type) or {}).get(t) or {}
                    cells.append(f"{_f(s.get('p50_ms'), 1)} / {_f(s.get('p95_ms'), 1)} / {_f(s.get('p99_ms'), 1)}")
                lines.append(f"| {scale}× | {engine}{label}{errs} | " + " | ".join(cells) +
                             f" | {_f((e.get(every) or {}).get('p95_ms'), 1)}"
                             f" | {_f((e.get(relaxed) or {}).get('p95_ms'), 1)} |")

    pictures = {scale: q["pictures"] for scale, q in (r.get("queries") or {}).items() if q.get("pictures")}
    if pictures:
        lines += ["", "### Pictures on a results page (ms per query, median of the rounds; p50 / p95 over the query set)", "",
                  "| scale | queries with hits | region map | time chart | the search itself (first run) |",
                  "| --- | ---: | ---: | ---: | ---: |"]
        for scale, p in pictures.items():
            lines.append(f"| {scale}× | {p['map']['n']} | {_f(p['map']['p50_ms'], 2)} / {_f(p['map']['p95_ms'], 2)} | "
                         f"{_f(p['time_chart']['p50_ms'], 2)} / {_f(p['time_chart']['p95_ms'], 2)} | "
                         f"{_f(p['search']['p50_ms'], 1)} / {_f(p['search']['p95_ms'], 1)} |")

    http = r.get("http")
    if http:
        lines += ["", f"### HTTP (JSON API, {http.get('scale')}×, loopback)", ""]
        if http.get("error"):
            lines.append(f"Error: {http['error']}")
        rows = []
        for run in http.get("load", []):
            lat, mem = run["latency"], run.get("memory") or {}
            rows.append([run["concurrency"], _f(run["duration_s"], 1), run["requests"], run["errors"],
                         _f(run["throughput_rps"], 1), _f(lat["p50_ms"], 1), _f(lat["p95_ms"], 1),
                         _f(lat["p99_ms"], 1), f"{_f(mem.get('worker_rss_max_mb'), 0)} × {mem.get('workers')}",
                         _f(run.get("server_cores")), _f(run.get("client_cores"))])
        lines += _table(["concurrency", "seconds", "requests", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms",
                         "worker RSS MB", "server cores", "client cores"], rows, left=())
        typed = [run for run in http.get("load", []) if run.get("latency_by_type")]
        if typed:
            lines += ["", "HTTP latency by query type (ms, p50 / p95 / p99):", "",
                      "| concurrency | " + " | ".join(TYPES) + " |", "| ---: |" + " ---: |" * len(TYPES)]
            for run in typed:
                cells = []
                for t in TYPES:
                    s_ = run["latency_by_type"].get(t) or {}
                    cells.append(f"{_f(s_.get('p50_ms'), 1)} / {_f(s_.get('p95_ms'), 1)} / {_f(s_.get('p99_ms'), 1)}")
                lines.append(f"| {run['concurrency']} | " + " | ".join(cells) + " |")
        sw = http.get("switch")
        if sw and sw.get("load"):
            lines += ["", f"Generation switch under load (concurrency 4): {sw['load']['requests']} requests in "
                          f"{_f(sw['load']['duration_s'], 1)} s, {sw['load']['errors']} errors; browse totals "
                          f"seen {sw['load']['labels']} (before {sw['documents_before']}, after "
                          f"{sw['documents_after']}); build outcome "
                          f"{(sw.get('build') or {}).get('outcome') or (sw.get('build') or {}).get('error')}."]

        lb = http.get("balanced")
        if lb:
            lines += ["", f"### Load balancer (HAProxy, deploy/haproxy.cfg; concurrency {lb.get('concurrency')}, "
                          f"{http.get('scale')}×, loopback; median of {lb.get('rounds', 1)} rounds)", ""]
            if lb.get("error"):
                lines.append(f"Error: {lb['error']}")
            rows = []
            for run in lb.get("runs", []):
                lat = run["latency"]
                rows.append([run["setup"], f"{run['servers']} × {run['workers'] // max(run['servers'], 1)}",
                             run["requests"], run["errors"], _f(run["throughput_rps"], 1),
                             ", ".join(_f(x, 1) for x in run.get("rounds_rps") or []), _f(lat["p50_ms"], 1),
                             _f(lat["p95_ms"], 1), _f(run["server_cores"]), _f(run["haproxy_cores"]),
                             _f(run["client_cores"]), f"{_f(run['machine_busy'] * 100, 0)}%"])
            lines += _table(["set-up", "servers × workers", "requests", "errors", "req/s", "req/s each round",
                             "p50 ms", "p95 ms", "server cores", "haproxy cores", "client cores", "machine busy"],
                            rows, left=(0, 1, 5))
            if lb.get("two_replicas_vs_one_server") is not None:
                lines += ["", f"Two replicas through HAProxy / one server (median of the rounds' ratios): "
                              f"{_f(lb['two_replicas_vs_one_server'])}×. Machine busy counts every process on "
                              "the machine, other work included."]

    lines += ["", "### Targets", "", "| target | value | limit | status |", "| --- | ---: | ---: | --- |"]
    for t in r.get("targets", []):
        note = f" — {t['note']}" if t.get("note") else ""
        lines.append(f"| {t['description']} | {_f(t['value'])} {t['unit'] if t['value'] is not None else ''} | "
                     f"{t['limit']} {t['unit']} | **{t['status']}**{note} |")
    return "\n".join(lines) + "\n"
