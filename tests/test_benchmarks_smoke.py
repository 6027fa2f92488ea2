"""The benchmark pieces run on tiny real inputs and give well-formed results.

No figure is checked against a limit here: speed is measured by `make bench` only.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from benchmarks import building, fts, http_load, querysets, queries, report, stats, synth, targets

SEED = 20211231


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return synth.real_records()


@pytest.fixture(scope="module")
def small(records) -> list[dict]:
    """The shortest documents of each kind: a corpus that indexes in a moment."""
    out = []
    for kind in ("policy", "activity", "interpretation"):
        of_kind = sorted((r for r in records if r["kind"] == kind), key=lambda r: len(r.get("text") or ""))
        out += of_kind[:4]
    return out


def test_synthetic_report_moves_ids_dates_and_regions(records):
    synthesizer = synth.Synthesizer(records, SEED)
    copy = synthesizer.report(3)
    assert len(copy) == len(records)
    assert synthesizer.month_of(3) == "2021-09"
    assert all(r["id"].startswith("2021-09-") for r in copy)
    assert len({r["id"] for r in copy}) == len(copy)
    region_names = {r.name for r in synth.regions()}
    for old, new in zip(records, copy):
        if new.get("publish_date"):
            assert new["publish_date"][:7] in ("2021-08", "2021-09", "2021-10")
        if old.get("region"):
            assert new["region"] in region_names
        assert new["source"]["report"] == synthesizer.report_name(3)
    moved = sum(1 for o, n in zip(records, copy) if o.get("region") and o["region"] != n["region"])
    local = sum(1 for o in records if o.get("region"))
    assert moved > local // 2
    # Titles and bodies vary, so copies neither compress nor tie in ranking.
    assert sum(o["title"] != n["title"] for o, n in zip(records, copy)) > len(records) // 2
    assert sum(o["text"] != n["text"] for o, n in zip(records, copy) if o.get("text")) > len(records) // 2
    numbered = [(o, n) for o, n in zip(records, copy) if o.get("doc_number")]
    assert all(n["doc_number"] != o["doc_number"] for o, n in numbered)
    assert all(re.search(r"〔\d{4}〕\d+号", n["doc_number"]) for o, n in numbered if "〔" in o["doc_number"])


def test_synthetic_corpus_is_deterministic_with_unique_ids(records):
    corpus = synth.corpus(records, 3, SEED)
    assert len(corpus) == 3 * len(records)
    assert len({r["id"] for r in corpus}) == len(corpus)
    again = synth.corpus(records, 3, SEED)
    assert [r["title"] for r in again] == [r["title"] for r in corpus]
    other = synth.corpus(records, 3, SEED + 1)
    assert [r["title"] for r in other] != [r["title"] for r in corpus]


def test_floor_and_analyzer_pass_count_tokens(small):
    texts = building.indexed_texts(small)
    assert texts and all(isinstance(t, str) and t for t in texts)
    floor = building.jieba_floor(texts)
    assert floor["tokens"] > 0 and floor["chars"] == sum(map(len, texts))
    assert floor["wall_s"] >= 0 and floor["cpu_s"] >= 0
    passes = building.analyzer_pass(texts)
    assert passes["words"]["tokens"] > 0
    # Every non-space character and every adjacent pair: more n-grams than words.
    assert passes["char_grams"]["tokens"] > passes["words"]["tokens"]


def test_whoosh_only_pass_analyses_nothing_while_timed(tmp_path, small):
    from indexer import analysis
    from search_app.search import Searcher

    spans = analysis.WordAnalyzer.spans
    result = building.whoosh_only_pass(small, tmp_path / "whoosh-only")
    assert result["texts_analysed_during_build"] == 0 and result["commit"]["calls"] == 1
    assert analysis.WordAnalyzer.spans is spans  # the analyzers are restored
    # the index it wrote is a real one, searchable like any other
    first = small[0]
    assert first["id"] in {r["id"] for r in Searcher(tmp_path / "whoosh-only").search(first["title"])["results"]}


def test_full_build_through_indexer_build(tmp_path, small):
    data = tmp_path / "data" / "reports"
    data.mkdir(parents=True)
    (data / "small.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in small) + "\n",
                                      encoding="utf-8")
    result = building.run_build(tmp_path / "data", tmp_path / "index", full=True)
    assert result["outcome"] == "ok", result["message"]
    assert result["documents"] == len(small)
    assert result["mode"] == "full"
    assert result["index_mb"] > 0
    assert result["commit"]["calls"] >= 1
    assert set(result["split_wall_s"]) == {"read_parse", "index_add_documents", "commit", "validate_publish_switch"}
    assert "index" in result["stages_wall_s"]


def _write_small(data: Path, name: str, records: list[dict]) -> Path:
    data.mkdir(parents=True, exist_ok=True)
    path = data / name
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")
    return path


def test_memory_after_a_switch_and_consecutive_incremental_builds(tmp_path, small, records):
    """The memory step (a real server, a build under it) and two incremental builds in a row."""
    from benchmarks import memory, worker

    work = tmp_path / "work"
    _write_small(work / "data-1" / "reports", "small.jsonl", small)
    assert building.run_build(work / "data-1", work / "index-1", full=True, jobs=2)["outcome"] == "ok"
    out = memory.run(work, 1, SEED, workers=2, duration=1.0, cwd=Path(__file__).resolve().parent.parent,
                     log=lambda message: None)
    assert "error" not in out, out.get("error")
    assert out["switched"] and out["build"]["mode"] == "incremental"
    after = out["after_switch"]
    assert after["workers"] == 2 and after["errors"] == 0
    for figures in after["worker_memory"]:
        assert 0 < figures["uss_mb"] <= figures["pss_mb"] <= figures["rss_mb"]
    assert after["total_pss_mb"] >= sum(w["pss_mb"] for w in after["worker_memory"])

    synthesizer = synth.Synthesizer(records, SEED)
    extras = [_write_small(tmp_path / "extra", synthesizer.report_name(back), synthesizer.report(back)[:3])
              for back in (5, 6)]
    inc = worker.task_incremental({"scale": 1, "data_dir": str(work / "data-1"), "index_root": str(work / "index-1"),
                                   "extra_reports": [str(p) for p in extras], "work": str(work), "jobs": 2})
    assert [r["incremental"]["mode"] for r in inc["runs"]] == ["incremental", "incremental"]
    assert inc["ratio_wall_max"] == max(r["ratio_wall"] for r in inc["runs"])
    assert sorted(p.name for p in (work / "data-1" / "reports").iterdir()) == ["small.jsonl"]


def test_fts5_alternative_answers_with_facets_and_snippets(tmp_path, small):
    path = tmp_path / "fts.sqlite"
    built = fts.build_db(path, small)
    assert built["documents"] == len(small) and built["size_mb"] > 0
    searcher = fts.FtsSearcher(path)
    word = "建设"
    expected = sum(1 for r in small if any(word in (r.get(k) or "") for k in ("title", "summary", "text")))
    result = searcher.search(word, {}, "relevance", 1, 20)
    assert 0 < result["total"] <= expected
    assert any("<mark>" in (hit["snippet"] or "") for hit in result["results"])
    assert sum(c for _, c in result["facets"]["kind"]) == result["total"]
    browse = searcher.search("", {"kind": ["policy"]}, "newest", 1, 20)
    assert browse["total"] == sum(1 for r in small if r["kind"] == "policy")
    dated = [r["publish_date"] for r in small if r["kind"] == "policy" and r.get("publish_date")]
    assert [h["id"] for h in browse["results"]][0] in {
        r["id"] for r in small if r.get("publish_date") == max(dated)}
    numbered = next(r for r in small if r.get("doc_number"))
    exact = searcher.search(numbered["doc_number"], {}, "relevance", 1, 20)
    assert numbered["id"] in [h["id"] for h in exact["results"]]


def test_query_timing_by_type_over_both_engines(tmp_path, small):
    from indexer.indexing import create_index
    from search_app.search import Searcher

    create_index(tmp_path / "index", small)
    fts.build_db(tmp_path / "fts.sqlite", small)
    qs = querysets.build_queries(small)
    assert set(qs) == set(querysets.TYPES) and all(qs.values())
    few = {kind: items[:2] for kind, items in qs.items()}
    engines = {"whoosh": Searcher(tmp_path / "index").search, "fts5": fts.FtsSearcher(tmp_path / "fts.sqlite").search}
    out = queries.time_engines(engines, few, rounds=2, seed=1)
    for name in engines:
        assert out[name]["errors"] == []
        for kind, items in few.items():
            summary = out[name]["by_type"][kind]
            assert summary["n"] == 2 * len(items)
            assert summary["p50_ms"] <= summary["p95_ms"] <= summary["p99_ms"] <= summary["max_ms"]
            # each query's first run is timed apart from the repeats
            assert out[name]["cold_by_type"][kind]["n"] == len(items)
        # the targets are over the standard types; the relaxed ones are summed apart
        assert out[name]["cold_all"]["n"] == sum(len(few[k]) for k in querysets.STANDARD_TYPES)
        assert out[name]["cold_relaxed"]["n"] == sum(len(few[k]) for k in querysets.RELAXED_TYPES)
        assert len(out[name]["hits"]) == sum(len(v) for v in few.values())
    browse_key = next(k for k in out["whoosh"]["hits"] if k.startswith("browse::{}:newest:1"))
    assert out["whoosh"]["hits"][browse_key] == out["fts5"]["hits"][browse_key] == len(small)


def test_load_generator_counts_requests_and_errors():
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            code = 200 if self.path.startswith("/ok") else 404
            body = json.dumps({"total": 7}).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        seen = lambda path, status, body: f"total:{http_load.total_of(body)}"  # noqa: E731
        run = http_load.load(base, ["/ok/a", "/missing"], concurrency=2, duration=0.5, check=seen, max_requests=40,
                             kinds={"/ok/a": "single", "/missing": "phrase"})
        assert 0 < run["requests"] <= 40
        # Round robin over one good and one missing path: every other request fails.
        assert abs(run["errors"] - run["requests"] / 2) <= 1
        assert all("HTTP 404" in e for e in run["error_samples"])
        assert run["labels"] == {"total:7": run["requests"] - run["errors"]}
        assert run["latency"]["n"] == run["requests"]
        by_type = run["latency_by_type"]
        assert set(by_type) == {"single", "phrase"}
        assert by_type["single"]["n"] + by_type["phrase"]["n"] == run["requests"]
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(ValueError):
        http_load.Server("unused", Path("unused.log"), host="0.0.0.0")


def test_percentiles_and_summaries():
    values = list(range(1, 101))
    assert stats.percentile(values, 50) == 50
    assert stats.percentile(values, 95) == 95
    assert stats.percentile(values, 99) == 99
    assert stats.percentile([], 50) is None
    summary = stats.summarize_ms([0.001, 0.002, 0.003])
    assert summary == {"n": 3, "p50_ms": 2.0, "p95_ms": 3.0, "p99_ms": 3.0, "mean_ms": 2.0, "max_ms": 3.0}
    assert stats.ratio(3.0, 1.5) == 2.0 and stats.ratio(1.0, 0) is None


def test_targets_and_report_from_a_run(records):
    run = {
        "machine": {"measured_at": "2026-01-01T00:00:00+00:00", "nproc": 2, "cpu_model": "x", "memory_mb": 1024,
                    "python": "3.11", "jieba": "0.42.1", "whoosh": "2.7.5", "sqlite": "3.40",
                    "load_average_at_start": [0.5, 0.5, 0.5]},
        "builds": {"1": {"records": 100, "chars": 1000, "peak_rss_mb": 300.0, "runs": [
            {"floor": {"wall_s": 1.0}, "ratio_wall": 1.8,
             "build": {"wall_s": 1.8, "index_mb": 40.0,
                       "split_wall_s": {"read_parse": 0.1, "index_add_documents": 1.0, "commit": 0.7}}}]}},
        "queries": {"1": {"whoosh": {"all": {"p95_ms": 31.0}, "by_type": {},
                                     "cold_all": {"p95_ms": 29.0}, "cold_by_type": {}}}},
        "incremental": {},
        "http": {"load": [{"concurrency": 1, "throughput_rps": 10.0, "errors": 0, "duration_s": 1.0, "requests": 10,
                           "latency": stats.summarize_ms([0.1])},
                          {"concurrency": 16, "throughput_rps": 20.0, "errors": 0, "duration_s": 1.0,
                           "requests": 20, "latency": stats.summarize_ms([0.1]),
                           "latency_by_type": {"phrase": stats.summarize_ms([0.25])}}]},
    }
    checked = {t["name"]: t for t in targets.check(run)}
    assert checked["build_vs_jieba_1x"]["status"] == "pass"
    assert checked["query_p95_1x"]["status"] == "miss"
    assert checked["query_p95_1x_cold"]["status"] == "pass"
    assert checked["query_p95_50x"]["status"] == "not measured"
    assert checked["incremental_50x"]["status"] == "not measured"
    assert checked["http_errors_c16"]["status"] == "pass"
    assert checked["http_throughput_c16_vs_c1"]["value"] == 2.0
    assert checked["generation_switch"]["status"] == "not measured"
    run["targets"] = list(checked.values())
    text = report.render(run)
    assert "| 1× | 100 | 1,000 |" in text and "**miss**" in text and "**not measured**" in text
    assert "| 1× | whoosh first run |" in text
    assert "| 16 | — / — / — | — / — / — | 250.0 / 250.0 / 250.0 |" in text


@pytest.mark.parametrize("option", ["--queries-only", "--http-only"])
def test_reusing_runs_refuse_without_an_earlier_run(tmp_path, option, capsys):
    from benchmarks import run

    code = run.main([option, "--scales", "1", "--work", str(tmp_path / "work"), "--out", str(tmp_path / "out")])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert "needs an earlier run's" in err and "index-1" in err and len(err.splitlines()) == 1
    assert not list((tmp_path / "out").glob("bench-*.json"))


def test_pictures_timed_on_the_facet_counts_of_each_query(tmp_path, small):
    from indexer.indexing import create_index
    from search_app.search import Searcher

    from benchmarks.pictures import time_pictures

    create_index(tmp_path / "index", small)
    searcher = Searcher(tmp_path / "index")
    few = {kind: items[:2] for kind, items in querysets.build_queries(small).items()}
    out = time_pictures(searcher, few, rounds=2)
    with_hits = sum(1 for items in few.values() for q in items
                    if searcher.search(q["q"], q["filters"], q["sort"], q["page"], 20)["total"])
    assert out["search"]["n"] == sum(len(v) for v in few.values())
    assert out["map"]["n"] == out["time_chart"]["n"] == with_hits > 0
    assert 0 < out["map"]["p50_ms"] <= out["map"]["p95_ms"]
    run = {"queries": {"1": {"pictures": out}}}
    checked = {t["name"]: t for t in targets.check(run)}
    assert checked["map_render_1x"]["value"] == out["map"]["p95_ms"]
    assert checked["map_render_50x"]["status"] == "not measured"


def test_haproxy_config_points_the_deployed_file_at_the_replicas(tmp_path):
    from benchmarks import balanced

    path = balanced.haproxy_config("127.0.0.1:9999", ["127.0.0.1:8001", "127.0.0.1:8002", "127.0.0.1:8003"],
                                   tmp_path / "haproxy.cfg")
    text = path.read_text()
    deployed = balanced.DEPLOY_CONFIG.read_text()
    assert "bind 127.0.0.1:9999" in text and "option httpchk GET /api/ready" in text
    assert [line.split()[-1] for line in text.splitlines() if line.strip().startswith("server ")] == [
        "127.0.0.1:8001", "127.0.0.1:8002", "127.0.0.1:8003"]
    # Everything else is the deployed file's (retries, health checks, the /replicate/ block).
    kept = [line for line in deployed.splitlines() if not line.strip().startswith(("bind ", "server ", "log "))]
    assert kept == [line for line in text.splitlines() if not line.strip().startswith(("bind ", "server "))]
    if os.path.exists(balanced.HAPROXY):
        checked = subprocess.run([balanced.HAPROXY, "-c", "-f", str(path)], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_report_renders_the_load_balancer_comparison():
    def setup(name, servers, rps, proxy):
        return {"setup": name, "servers": servers, "workers": 2 * servers, "requests": int(rps * 10), "errors": 0,
                "throughput_rps": rps, "latency": stats.summarize_ms([0.05]), "server_cores": 1.5,
                "haproxy_cores": proxy, "client_cores": 0.2, "machine_busy": 0.97, "rounds_rps": [rps, rps + 1]}

    machine = {"measured_at": "2026-01-01T00:00:00+00:00", "nproc": 2, "cpu_model": "x", "memory_mb": 1024,
               "python": "3.11", "jieba": "0.42.1", "whoosh": "2.7.5", "sqlite": "3.40",
               "load_average_at_start": [0.5, 0.5, 0.5]}
    run = {"machine": machine, "http": {"scale": 1, "load": [], "balanced": {
        "concurrency": 8, "two_replicas_vs_one_server": 1.05,
        "runs": [setup("one server", 1, 100.0, None), setup("HAProxy → 2 replicas", 2, 105.0, 0.1)]}}}
    text = report.render(run)
    assert "### Load balancer (HAProxy" in text
    assert "| HAProxy → 2 replicas | 2 × 2 | 1050 | 0 | 105.0 | 105.0, 106.0 |" in text
    assert "97%" in text and "(median of the rounds' ratios): 1.05×" in text
