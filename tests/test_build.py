"""Index builds on temporary data directories made from slices of the real report.

Builds run for real: in-process where only the outcome matters, as
`policy-search` subprocesses where exit codes, locks and kill -9 matter.

Over 500 lines because its sections (first build, incremental, validation, locks and
kills, the switch under load, rollback, status) all work on copies of one built index
root and share its fixtures and readers (`site`, `served`, `debris`); the parallel
build's equality with the sequential one is in test_parallel_build.py.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from whoosh import qparser
from whoosh.query import Phrase

from indexer import build as B
from indexer import indexing, lineage, schema, spelling
from indexer.analysis import char_grams
from indexer.corpus import load_corpus
from indexer.lineage_table import read_table
from tests.report_slices import (REPORT_A, REPORT_B, ROOT, january_report, make_data_dir, make_pdf,
                                 report_slice)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SLICE_A = dict(central=(2, 4, 8), local=(1, 19))


# --------------------------------------------------------------------------- helpers

def policy_search(*args, env=None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "search_app.cli", *map(str, args)], cwd=ROOT,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})}, **kwargs)


def start_paused_build(data: Path, root: Path, stage: str, marker: Path, *extra) -> subprocess.Popen:
    env = {**os.environ, B.PAUSE_ENV: stage, B.PAUSE_FILE_ENV: str(marker)}
    proc = subprocess.Popen([sys.executable, "-m", "search_app.cli", "build", "--data-dir", str(data),
                             "--index-dir", str(root), *extra], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120  # a guard against hanging, not a measurement
    while not marker.exists():
        if proc.poll() is not None:
            raise AssertionError(f"build ended before stage {stage}: {proc.communicate()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"build never reached stage {stage}")
        time.sleep(0.02)
    return proc


def served(root: Path) -> dict[str, dict]:
    """Every document the live generation serves: id → stored record."""
    gen = B.live_generation(root)
    assert gen is not None, "no live generation"
    ix = indexing.open_index(gen)
    try:
        with ix.searcher() as searcher:
            return {f["id"]: json.loads(f["record"]) for f in searcher.all_stored_fields()}
    finally:
        ix.close()


def assert_serves(root: Path, records: list[dict]) -> None:
    """What users get: the search module lists and returns every record; and the
    live generation's postings find each record by the words of its title."""
    from search_app.search import Searcher

    searcher = Searcher(root)
    try:
        listing = searcher.search("", per_page=100)
        assert listing["total"] == len(records)
        assert {r["id"] for r in listing["results"]} == {r["id"] for r in records}
        for record in records:
            assert searcher.get_document(record["id"])["text"] == record["text"]
    finally:
        searcher.close()
    gen = B.live_generation(root)
    ix = indexing.open_index(gen)
    try:
        with ix.searcher() as searcher:
            parser = qparser.QueryParser("title", schema.SCHEMA)
            for record in records:
                stored = searcher.document(id=record["id"])
                assert stored is not None, f"{record['id']} is not served"
                assert json.loads(stored["record"])["title"] == record["title"]
                hits = searcher.search(parser.parse(record["title"]), limit=None)
                assert record["id"] in {h["id"] for h in hits}, f"{record['id']} not found by its title"
    finally:
        ix.close()


def containing(root: Path, needle: str) -> set[str]:
    """Ids of the live documents whose text contains `needle` (the n-gram phrase)."""
    gen = B.live_generation(root)
    ix = indexing.open_index(gen)
    try:
        with ix.searcher() as searcher:
            query = Phrase("text" + schema.NGRAM_SUFFIX, char_grams(needle))
            return {h["id"] for h in searcher.search(query, limit=None)}
    finally:
        ix.close()


def debris(root: Path) -> list[str]:
    found = [str(p.relative_to(root)) for p in root.rglob(f"*{B.TMP_PREFIX}*")]
    found += [p.name for p in (root / B.GENERATIONS).iterdir() if not (p / B.ACTIVATED).exists()]
    return found


def stored_lineage(generation: Path) -> dict:
    """The lineage table a generation stores, as plain dicts."""
    table = read_table(generation / B.LINEAGE)
    try:
        return {part: dict(table[part]) for part in table}
    finally:
        table.close()


def stored_spelling(generation: Path) -> list[list[tuple]]:
    connection = sqlite3.connect(generation / B.SPELLING)
    try:
        return [connection.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in ("words", "near")]
    finally:
        connection.close()


def corpus_records(data: Path) -> list[dict]:
    return load_corpus(data).records


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """Report A built once; tests work on copies."""
    where = tmp_path_factory.mktemp("base")
    data = make_data_dir(where, {REPORT_A: report_slice(**SLICE_A)})
    root = where / "index"
    result = B.build(data, root)
    assert result.outcome == "ok", result.message
    return data, root


@pytest.fixture
def site(base, tmp_path):
    data, root = base
    shutil.copytree(data, tmp_path / "data")
    shutil.copytree(root, tmp_path / "index")
    return tmp_path / "data", tmp_path / "index"


def add_report_b(data: Path) -> None:
    (data / "reports" / REPORT_B).write_text(january_report(), encoding="utf-8")


# --------------------------------------------------------------------------- first build, manifest, status

def test_first_build_creates_the_index_root(tmp_path):
    data = make_data_dir(tmp_path, {REPORT_A: report_slice(**SLICE_A)})
    root = tmp_path / "var" / "index"  # does not exist yet
    run = policy_search("build", "--data-dir", data, "--index-dir", root)
    assert run.returncode == 0, run.stderr
    assert re.search(r"generation \S+ is live: 5 documents", run.stdout)
    live = B.live_build_id(root)
    gen = root / "generations" / live
    manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    raw = (data / "reports" / REPORT_A).read_bytes()
    import hashlib

    assert manifest["build_id"] == live
    assert manifest["mode"] == "full" and manifest["full_reason"] == "no live generation"
    assert manifest["documents"] == 5 and manifest["documents_by_kind"] == {"policy": 5}
    assert [(s["path"], s["sha256"], s["size"]) for s in manifest["sources"]] == [
        (REPORT_A, hashlib.sha256(raw).hexdigest(), len(raw))
    ]
    assert manifest["started_at"] <= manifest["finished_at"] and manifest["duration_s"] > 0
    from indexer import analysis

    assert manifest["resources"]["analysis"] == analysis.resources_version()
    assert all(q["found"] for q in manifest["validation"]["smoke_queries"])
    assert set(manifest["record_hashes"]) == {r["id"] for r in corpus_records(data)}
    assert_serves(root, corpus_records(data))
    last = json.loads((root / "last_build.json").read_text(encoding="utf-8"))
    assert last["outcome"] == "ok" and last["live_generation"] == live and last["documents"] == 5
    # Plain log lines when not on a terminal.
    assert re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d build: validating", run.stderr, re.M)


def test_status(site):
    data, root = site
    info = B.index_status(root)
    live = info["live"]
    assert live["build_id"] == B.live_build_id(root)
    assert live["documents"] == 5 and live["documents_by_kind"] == {"policy": 5}
    assert live["sources"][0]["path"] == REPORT_A and live["sources"][0]["records"] == 5
    assert live["age_seconds"] >= 0 and live["age"].endswith(("s", "min", "h", "d"))
    assert info["last_build"]["outcome"] == "ok"
    assert info["generations"] == [{"build_id": live["build_id"], "built_at": live["built_at"], "documents": 5,
                                    "live": True}]
    run = policy_search("status", "--index-dir", root)
    assert run.returncode == 0
    assert f"live         {live['build_id']}" in run.stdout
    assert "documents    5 (policy 5)" in run.stdout
    assert REPORT_A in run.stdout and "last build   ok" in run.stdout
    as_json = json.loads(policy_search("status", "--index-dir", root, "--json").stdout)
    assert as_json["live"]["build_id"] == live["build_id"]
    empty = policy_search("status", "--index-dir", root.parent / "nothing")
    assert empty.returncode == 1 and "live         none" in empty.stdout


def test_if_missing_builds_only_once(tmp_path):
    data = make_data_dir(tmp_path, {REPORT_A: report_slice(central=(2,), local=())})
    root = tmp_path / "index"
    first = policy_search("build", "--if-missing", "--data-dir", data, "--index-dir", root)
    assert first.returncode == 0 and "is live" in first.stdout
    live = B.live_build_id(root)
    add_report_b(data)
    again = policy_search("build", "--if-missing", "--data-dir", data, "--index-dir", root)
    assert again.returncode == 0 and "already built" in again.stdout
    assert B.live_build_id(root) == live and B.list_generations(root) == [live]


def test_if_missing_rebuilds_an_index_of_other_analysis_resources(tmp_path):
    """After an upgrade that changed a dictionary, `make run` (build --if-missing) must
    not leave a live index that every search refuses."""
    from indexer.indexing import read_stamp

    data = make_data_dir(tmp_path, {REPORT_A: report_slice(central=(2,), local=())})
    root = tmp_path / "index"
    assert policy_search("build", "--if-missing", "--data-dir", data, "--index-dir", root).returncode == 0
    old = B.live_build_id(root)
    # What an index built before a dictionary changed carries: another version in its
    # stamp and in its manifest.
    live_dir = B.live_generation(root)
    stamp = read_stamp(live_dir)
    (live_dir / "analysis.json").write_text(json.dumps({**stamp, "resources_version": "older"}), encoding="utf-8")
    manifest = B.read_manifest(live_dir)
    manifest["resources"]["analysis"] = "older"
    (live_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    again = policy_search("build", "--if-missing", "--data-dir", data, "--index-dir", root)
    assert again.returncode == 0 and "already built" not in again.stdout
    assert B.live_build_id(root) != old
    assert read_stamp(B.live_generation(root))["resources_version"] == stamp["resources_version"]


# --------------------------------------------------------------------------- incremental builds

def test_incremental_reuses_extracted_references_and_links_as_a_full_build(site, tmp_path):
    data, root = site
    add_report_b(data)
    assert B.build(data, root, jobs=2).outcome == "ok"
    live = B.live_generation(root)
    memo = json.loads((live / B.REFERENCES).read_text(encoding="utf-8"))
    records = corpus_records(data)
    assert set(memo) == {lineage.extraction_key(r) for r in records}
    full_root = tmp_path / "full"
    assert B.build(data, full_root, full=True).outcome == "ok"
    assert stored_lineage(live) == stored_lineage(B.live_generation(full_root))
    # the spelling table started from the last generation's is the one written from
    # nothing from the same index's lexicon
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    ix = indexing.open_index(live)
    with ix.reader() as reader:
        spelling.write_table(fresh / B.SPELLING, spelling.lexicon_words(reader))
    ix.close()
    assert stored_spelling(live) == stored_spelling(fresh)
    assert len(stored_spelling(live)[0]) > 100
    assert served(root) == served(full_root)


def source_statuses(result) -> dict[str, str]:
    return {s["path"]: s["status"] for s in result.manifest["sources"]}


def test_unchanged_reports_parse_results_are_linked_not_rewritten(site, tmp_path):
    data, root = site
    before = B.live_generation(root)
    cache_a = before / B.source_cache_name(REPORT_A, json.loads((before / B.FILES).read_text())[REPORT_A])
    add_report_b(data)
    result = B.build(data, root)
    assert result.outcome == "ok" and source_statuses(result) == {REPORT_A: "cached", REPORT_B: "parsed"}
    after = B.live_generation(root)
    index = json.loads((after / B.FILES).read_text(encoding="utf-8"))
    assert set(index) == {REPORT_A, REPORT_B}
    assert os.path.samefile(after / cache_a.name, cache_a)
    # the cache of B holds what parsing B gives
    parsed_b = next(f for f in load_corpus(data).files if f.path == REPORT_B)
    assert B.read_source_caches(after)[REPORT_B].to_json() == parsed_b.to_json()
    full_root = tmp_path / "full"
    assert B.build(data, full_root, full=True).outcome == "ok"
    assert served(root) == served(full_root)


@pytest.mark.parametrize("damage", ["truncated", "missing", "other_report", "older_layout"])
def test_a_damaged_or_missing_parse_cache_is_parsed_again(site, tmp_path, damage):
    data, root = site
    live = B.live_generation(root)
    sha_a = json.loads((live / B.FILES).read_text())[REPORT_A]
    cache_a = live / B.source_cache_name(REPORT_A, sha_a)
    entry = json.loads(cache_a.read_text(encoding="utf-8"))
    cache_a.unlink()  # hard-linked into other generations: damage this one only
    if damage == "truncated":
        cache_a.write_text(json.dumps(entry)[:1000], encoding="utf-8")
    elif damage == "other_report":
        cache_a.write_text(json.dumps({**entry, "sha256": "0" * 64}), encoding="utf-8")
    elif damage == "older_layout":  # every result inline in files.json
        (live / B.FILES).write_text(json.dumps({REPORT_A: entry}), encoding="utf-8")
    add_report_b(data)
    result = B.build(data, root)
    assert result.outcome == "ok", result.message
    expected = "cached" if damage == "older_layout" else "parsed"
    assert source_statuses(result) == {REPORT_A: expected, REPORT_B: "parsed"}
    full_root = tmp_path / "full"
    assert B.build(data, full_root, full=True).outcome == "ok"
    assert served(root) == served(full_root)
    assert B.read_source_caches(B.live_generation(root)).keys() == {REPORT_A, REPORT_B}


def test_incremental_add_change_and_remove(site):
    data, root = site
    first = B.live_build_id(root)

    add_report_b(data)
    added = B.build(data, root)
    assert added.outcome == "ok", added.message
    m = added.manifest
    assert m["mode"] == "incremental" and m["base_generation"] == first
    # Three new documents; one of A's documents gained B as a second source.
    assert m["changes"] == {"added": 3, "changed": 1, "removed": 0, "unchanged": 4}
    assert {s["path"]: s["status"] for s in m["sources"]} == {REPORT_A: "cached", REPORT_B: "parsed"}
    records = corpus_records(data)
    assert set(served(root)) == {r["id"] for r in records}
    assert_serves(root, records)
    merged = served(root)["2021-12-c02"]
    assert [s["report"] for s in merged["sources"]] == [REPORT_A, REPORT_B]

    # Change one document's text.
    path = data / "reports" / REPORT_A
    text = path.read_text(encoding="utf-8")
    old_phrase = "计划单列市"
    target = next(r for r in records if old_phrase in r["text"] and r["id"].startswith("2021-12-c"))
    assert old_phrase in text
    path.write_text(text.replace(old_phrase, "计划单列市和新区", 1), encoding="utf-8")
    changed = B.build(data, root)
    assert changed.outcome == "ok", changed.message
    assert changed.manifest["changes"]["changed"] >= 1 and changed.manifest["changes"]["added"] == 0
    assert changed.manifest["changes"]["unchanged"] >= 6
    assert "计划单列市和新区" in served(root)[target["id"]]["text"]
    assert target["id"] in containing(root, "计划单列市和新区")
    assert {s["path"]: s["status"] for s in changed.manifest["sources"]} == {REPORT_A: "parsed", REPORT_B: "cached"}

    # Remove report B: its three documents go, the shared one keeps report A only.
    (data / "reports" / REPORT_B).unlink()
    removed = B.build(data, root, max_drop=0.5)
    assert removed.outcome == "ok", removed.message
    assert removed.manifest["changes"]["removed"] == 3
    assert set(served(root)) == {r["id"] for r in corpus_records(data)}
    assert "sources" not in served(root)["2021-12-c02"]

    # Nothing changed: no new generation.
    gens = B.list_generations(root)
    same = B.build(data, root)
    assert same.outcome == "ok" and "no changes" in same.message
    assert B.list_generations(root) == gens


def test_full_rebuild_on_request_and_on_new_analysis_resources(site):
    data, root = site
    full = B.build(data, root, full=True)
    assert full.manifest["mode"] == "full" and full.manifest["full_reason"] == "--full"
    assert full.manifest["changes"]["added"] == 5
    # The live generation as an older release left it: built with other resources.
    gen = B.live_generation(root)
    manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    manifest["resources"]["analysis"] = "0123456789abcdef"
    (gen / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    stamp = json.loads((gen / indexing.STAMP_FILE).read_text(encoding="utf-8"))
    stamp["resources_version"] = "0123456789abcdef"
    (gen / indexing.STAMP_FILE).write_text(json.dumps(stamp), encoding="utf-8")
    add_report_b(data)
    result = B.build(data, root)
    assert result.outcome == "ok", result.message
    assert result.manifest["mode"] == "full"
    assert result.manifest["full_reason"].startswith("analysis resources changed (0123456789abcdef")
    assert_serves(root, corpus_records(data))


def test_keep_last_generations(site):
    data, root = site
    ids = [B.live_build_id(root)]
    for n, central in enumerate(((5,), (5, 16), (16,))):
        (data / "reports" / REPORT_B).write_text(january_report(central=central, reprinted=()), encoding="utf-8")
        result = B.build(data, root, keep=2, max_drop=1)
        assert result.outcome == "ok", result.message
        ids.append(result.build_id)
    assert B.list_generations(root) == ids[-2:]
    assert not debris(root)


# --------------------------------------------------------------------------- inputs

def test_gbk_pdf_and_jsonl_reports(tmp_path):
    central = report_slice(central=(2, 4), local=()).replace("\u2003", "\u3000")
    local_pdf = make_pdf(january_report(central=(), local=(1, 22), reprinted=()), tmp_path / "b.pdf")
    extra = {"id": "ext-1", "kind": "activity", "title": "城市更新项目推介会", "text": "推介会介绍了城市更新试点项目。",
             "publish_date": "2022-01-20"}
    data = make_data_dir(tmp_path, {
        REPORT_A: central.encode("gbk"),
        "2022-01_基建PPP政策月报.pdf": local_pdf.read_bytes(),
        "2022-01_activities.jsonl": json.dumps(extra, ensure_ascii=False) + "\n",
    })
    root = tmp_path / "index"
    run = policy_search("build", "--data-dir", data, "--index-dir", root)
    assert run.returncode == 0, run.stderr
    manifest = json.loads((B.live_generation(root) / "manifest.json").read_text(encoding="utf-8"))
    assert {s["path"]: (s["format"], s["encoding"], s["records"]) for s in manifest["sources"]} == {
        REPORT_A: ("txt", "gbk", 2),
        "2022-01_基建PPP政策月报.pdf": ("pdf", "pdf", 2),
        "2022-01_activities.jsonl": ("jsonl", "utf-8", 1),
    }
    records = corpus_records(data)
    assert len(records) == 5
    assert_serves(root, records)
    assert "ext-1" in containing(root, "城市更新试点")


def test_unreadable_file_among_good_ones_exits_3(site):
    data, root = site
    before = served(root)
    (data / "reports" / "2022-02_scan.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    add_report_b(data)
    run = policy_search("build", "--data-dir", data, "--index-dir", root)
    assert run.returncode == 3, run.stderr
    assert "skipped: 2022-02_scan.txt: binary file, not a text report" in run.stderr
    assert "1 file(s) skipped" in run.stdout
    now = served(root)
    assert set(before) < set(now) and len(now) == 8
    last = B.read_last_build(root)
    assert last["outcome"] == "partial" and last["skipped"][0]["path"] == "2022-02_scan.txt"
    assert B.index_status(root)["live"]["skipped"][0]["reason"] == "binary file, not a text report"

    # A report that turns unreadable keeps its documents from its last good version.
    (data / "reports" / REPORT_A).write_bytes(b"\x00" * 100)
    run = policy_search("build", "--data-dir", data, "--index-dir", root)
    assert run.returncode == 3, run.stderr
    assert f"skipped: {REPORT_A}: binary file" in run.stderr
    assert set(served(root)) == set(now)


def test_nothing_readable_fails_and_changes_nothing(site):
    data, root = site
    live = B.live_build_id(root)
    (data / "reports" / REPORT_A).unlink()
    (data / "reports" / "x.txt").write_bytes(b"")
    run = policy_search("build", "--data-dir", data, "--index-dir", root)
    assert run.returncode == 1
    assert run.stderr.strip().endswith("policy-search: no documents could be read from any report; nothing changed")
    assert B.live_build_id(root) == live and B.read_last_build(root)["outcome"] == "failed"
    fresh = policy_search("build", "--data-dir", data, "--index-dir", root.parent / "fresh")
    assert fresh.returncode == 1 and B.live_build_id(root.parent / "fresh") is None


def test_missing_data_dir_is_a_usage_error(site):
    data, root = site
    run = policy_search("build", "--data-dir", data.parent / "nope", "--index-dir", root)
    assert run.returncode == 2
    assert run.stderr.splitlines()[-1] == f"policy-search: data directory not found: {data.parent / 'nope'}"
    assert "Traceback" not in run.stderr
    assert B.read_last_build(root)["outcome"] == "bad_input"


# --------------------------------------------------------------------------- validation and rollback

def test_validation_refuses_a_large_drop_exits_4(site):
    data, root = site
    add_report_b(data)
    assert B.build(data, root).outcome == "ok"
    live = B.live_build_id(root)
    gens = B.list_generations(root)
    (data / "reports" / REPORT_B).unlink()
    run = policy_search("build", "--data-dir", data, "--index-dir", root)
    assert run.returncode == 4
    assert run.stderr.splitlines()[-1] == (
        "policy-search: validation refused the new generation, the live one stays: the document count "
        "would drop from 8 to 5 (38%, more than the allowed 20%); use --force if that is intended")
    assert B.live_build_id(root) == live and B.list_generations(root) == gens and not debris(root)
    assert len(served(root)) == 8
    assert B.read_last_build(root)["outcome"] == "refused"
    assert policy_search("build", "--data-dir", data, "--index-dir", root, "--max-drop", "0.5").returncode == 0
    assert len(served(root)) == 5
    (data / "reports" / "b.txt").write_text(january_report(), encoding="utf-8")
    assert B.build(data, root).outcome == "ok"
    (data / "reports" / "b.txt").unlink()
    forced = policy_search("build", "--data-dir", data, "--index-dir", root, "--force")
    assert forced.returncode == 0, forced.stderr
    validation = B.read_manifest(B.live_generation(root))["validation"]
    assert validation["forced"].endswith("; allowed by --force") and len(served(root)) == 5


def test_rollback(site):
    data, root = site
    first = B.live_build_id(root)
    add_report_b(data)
    second = B.build(data, root).build_id
    assert len(served(root)) == 8
    run = policy_search("rollback", "--index-dir", root)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"generation {first} is live (was {second})"
    assert B.live_build_id(root) == first and len(served(root)) == 5
    again = policy_search("rollback", "--index-dir", root)
    assert again.returncode == 1 and "no generation older than the live one" in again.stderr
    forward = policy_search("rollback", "--index-dir", root, "--to", second)
    assert forward.returncode == 0 and len(served(root)) == 8
    unknown = policy_search("rollback", "--index-dir", root, "--to", "nope")
    assert unknown.returncode == 1 and "no complete generation 'nope'" in unknown.stderr
    # The next build starts from the live generation.
    policy_search("rollback", "--index-dir", root)
    result = B.build(data, root)
    assert result.manifest["base_generation"] == first and result.manifest["changes"]["added"] == 3


# --------------------------------------------------------------------------- concurrency and crashes

def test_second_build_exits_75_at_once(site, tmp_path):
    data, root = site
    add_report_b(data)
    marker = tmp_path / "paused"
    first = start_paused_build(data, root, "index", marker)
    try:
        second = policy_search("build", "--data-dir", data, "--index-dir", root)
        assert second.returncode == 75
        assert re.fullmatch(r"policy-search: another build is running \(build pid \d+ since \S+\); "
                            r"try again when it has finished\n", second.stderr)
        assert str(first.pid) in second.stderr
        assert policy_search("rollback", "--index-dir", root).returncode == 75
        assert B.index_status(root)["build_running"] is True
    finally:
        marker.unlink()
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert len(served(root)) == 8


@pytest.mark.parametrize("stage", B.STAGES)
def test_kill_9_at_any_stage_leaves_the_live_index_serving(site, tmp_path, stage):
    data, root = site
    before = B.live_build_id(root)
    old_records = corpus_records(data)
    add_report_b(data)
    marker = tmp_path / "paused"
    proc = start_paused_build(data, root, stage, marker)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    marker.unlink()

    switched = B.STAGES.index(stage) > B.STAGES.index("switch")
    assert (B.live_build_id(root) != before) == switched
    assert_serves(root, corpus_records(data) if switched else old_records)
    status = B.index_status(root)
    if stage != "lock":
        assert status["last_build"]["outcome"] == "interrupted"
    assert status["build_running"] is False

    run = policy_search("build", "--data-dir", data, "--index-dir", root)
    assert run.returncode == 0, run.stderr
    assert not debris(root)
    assert_serves(root, corpus_records(data))
    if stage != "lock":
        assert "was interrupted" in run.stderr


# --------------------------------------------------------------------------- a live server during switches

def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get_json(url: str) -> tuple[int, dict]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def test_generation_switch_under_a_stream_of_requests(site, tmp_path):
    import threading
    import urllib.parse

    data, root = site
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "search_app.cli", "serve", "--index-dir", str(root), "--port", str(port),
         "--workers", "2"],
        cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "server.log", "w"),
        start_new_session=True)
    try:
        deadline = time.monotonic() + 120  # a guard against hanging, not a measurement
        while True:
            try:
                if _get_json(base_url + "/api/status")[0] == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None, (tmp_path / "server.log").read_text()
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)

        seen_totals: set[int] = set()
        failures: list[str] = []
        count = [0]
        stop = threading.Event()
        urls = [base_url + "/api/search?" + urllib.parse.urlencode({"q": q}) for q in ("", "发展", "“十四五”")]
        urls.append(base_url + "/api/documents/2021-12-c01")

        def hammer() -> None:
            # Bounded: stops when told, after 20,000 requests, or after five minutes.
            end = time.monotonic() + 300
            while not stop.is_set() and count[0] < 20000 and time.monotonic() < end:
                url = urls[count[0] % len(urls)]
                count[0] += 1
                try:
                    status, body = _get_json(url)
                except OSError as exc:
                    failures.append(f"{url}: {exc}")
                    continue
                if status != 200:
                    failures.append(f"{url}: HTTP {status}")
                elif "/api/search?q=&" in url + "&":
                    seen_totals.add(body["total"])

        threads = [threading.Thread(target=hammer) for _ in range(3)]
        for t in threads:
            t.start()

        def switch_and_wait(expected_total: int, action) -> None:
            action()
            end = time.monotonic() + 60
            while _get_json(urls[0])[1].get("total") != expected_total:
                assert time.monotonic() < end, f"the server never showed {expected_total} documents"
                time.sleep(0.05)

        try:
            switch_and_wait(8, lambda: (add_report_b(data), B.build(data, root)))
            switch_and_wait(5, lambda: policy_search("rollback", "--index-dir", root))
            switch_and_wait(8, lambda: policy_search("rollback", "--index-dir", root, "--to",
                                                     B.list_generations(root)[-1]))
            (data / "reports" / REPORT_B).unlink()
            switch_and_wait(5, lambda: B.build(data, root, max_drop=1))
        finally:
            stop.set()
            for t in threads:
                t.join()
        assert failures == []
        assert {5, 8} <= seen_totals
        assert count[0] > 50
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)


def test_progress_bar_on_a_terminal(site):
    import pty

    data, root = site
    add_report_b(data)
    main, sub = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "search_app.cli", "build", "--data-dir", str(data),
                             "--index-dir", str(root), "--full"], cwd=ROOT, stdin=subprocess.DEVNULL,
                            stdout=sub, stderr=sub)
    os.close(sub)
    chunks = []
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # the terminal closes when the build exits
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main)
    assert proc.wait(timeout=300) == 0
    screen = b"".join(chunks).decode("utf-8")
    assert "indexing" in screen and "8/8" in screen and "#" in screen
    # A bar redraws in place; log lines carry no timestamps on a terminal.
    assert "\r" in screen
    assert not re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d build:", screen, re.M)
    assert "is live: 8 documents" in screen


# --------------------------------------------------------------------------- deploy/

def test_systemd_units_verify(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    # The units name the production path; point them at this checkout's command.
    command = shutil.which("policy-search", path=str(Path(sys.executable).parent))
    assert command, "policy-search is not installed in the venv"
    for name in ("policy-search-build.service", "policy-search-build.timer"):
        text = (ROOT / "deploy" / name).read_text(encoding="utf-8")
        (tmp_path / name).write_text(text.replace("/opt/policy-search/.venv/bin/policy-search", command))
    timer = (tmp_path / "policy-search-build.timer").read_text()
    assert "Persistent=true" in timer and "OnCalendar=" in timer
    run = subprocess.run([analyze, "verify", "--man=no", str(tmp_path / "policy-search-build.service"),
                          str(tmp_path / "policy-search-build.timer")], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stderr.strip() == "", run.stderr


def test_crontab_line_builds(tmp_path):
    lines = [ln for ln in (ROOT / "deploy" / "crontab").read_text(encoding="utf-8").splitlines()
             if ln.strip() and not ln.startswith("#")]
    assert len(lines) == 1
    fields = lines[0].split(None, 5)
    assert fields[:5] == ["30", "2", "*", "*", "*"]
    # Run the job's command as cron would, in a stand-in for /opt/policy-search.
    install = tmp_path / "opt"
    make_data_dir(install, {REPORT_A: report_slice(central=(2,), local=(19,))})
    (install / ".venv" / "bin").mkdir(parents=True)
    (install / ".venv" / "bin" / "policy-search").symlink_to(
        shutil.which("policy-search", path=str(Path(sys.executable).parent)))
    (install / "var").mkdir()
    command = fields[5].replace("/opt/policy-search", str(install))
    run = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True, timeout=300,
                         stdin=subprocess.DEVNULL)
    assert run.returncode == 0, (install / "var" / "build.log").read_text()
    assert "is live: 2 documents" in (install / "var" / "build.log").read_text()
    assert B.live_generation(install / "var" / "index") is not None


def test_damaged_live_generation_is_rebuilt_in_full(site):
    data, root = site
    live = B.live_generation(root)
    for seg in live.glob("*.seg"):
        seg.write_bytes(seg.read_bytes()[: seg.stat().st_size // 3])
    add_report_b(data)
    run = policy_search("build", "--data-dir", data, "--index-dir", root)
    assert run.returncode == 0, run.stderr
    assert "the incremental update failed" in run.stderr and "rebuilding every document" in run.stderr
    manifest = B.read_manifest(B.live_generation(root))
    assert manifest["mode"] == "full" and manifest["full_reason"].startswith("the incremental update failed (")
    assert_serves(root, corpus_records(data))


def _citing_pair_in_two_reports(tmp_path, first: int, later: int):
    """Local documents #4 (赣府厅发〔2021〕42号) and #32 (《江西省“十四五”综合交通运输体系发展规划》,
    which #4 cites), local #`first` built in one report and local #`later` arriving in the
    next: (root, first build, second build, a Searcher, the cited and the citing result)."""
    data = make_data_dir(tmp_path, {REPORT_A: report_slice(central=(1,), local=(first,))})
    root = tmp_path / "index"
    built = B.build(data, root)
    assert built.outcome == "ok", built.message
    (data / "reports" / REPORT_B).write_text(january_report(central=(), local=(later,), reprinted=()),
                                             encoding="utf-8")
    again = B.build(data, root)
    assert again.outcome == "ok", again.message
    assert again.manifest["changes"] == {"added": 1, "changed": 0, "removed": 0, "unchanged": 2}

    from search_app.search import Searcher

    searcher = Searcher(root)
    listing = {r["title"]: r for r in searcher.search("", per_page=10)["results"]}
    return (root, built, again, searcher, listing["关于印发江西省“十四五”综合交通运输体系发展规划的通知"],
            listing["关于深化高速公路、水运项目投融资改革的若干意见"])


def test_a_new_report_holding_a_cited_document_does_not_reindex_its_citers(tmp_path):
    # The citing document comes first, the document it cites by title in a later report.
    # The citation now resolves to a document of the index; the citing document is not
    # indexed again, and yet its citation, the cites filter and facet and the cited
    # document's cited-by all name it.
    root, first, _second, searcher, cited, citing = _citing_pair_in_two_reports(tmp_path, 4, 32)
    (link,) = [c for c in searcher.get_document(citing["id"])["cites"] if c["target_id"] == cited["id"]]
    assert link["key"] == cited["id"]
    assert [e["id"] for e in searcher.get_document(cited["id"])["cited_by"]] == [citing["id"]]
    for value in (cited["id"], cited["doc_number"], "江西省“十四五”综合交通运输体系发展规划"):
        found = searcher.search("", filters={"cites": [value]}, per_page=10)
        assert [r["id"] for r in found["results"]] == [citing["id"]], value
    facet = {e["value"]: e for e in searcher.search("", per_page=10)["facets"]["cites"]}
    assert facet[cited["id"]]["count"] == 1 and cited["doc_number"] in facet[cited["id"]]["label"]
    # before the report came, the same citation named the document by its title alone
    assert B.rollback(root) == first.live
    assert cited["id"] not in {e["value"] for e in searcher.search("", per_page=10)["facets"]["cites"]}
    searcher.close()


def test_a_new_citing_report_does_not_reindex_what_it_cites(tmp_path):
    # The cited document comes first, the document citing it in a later report: the cited
    # one gains a cited-by entry without being indexed again, and the live index's
    # segments are linked, not copied.
    from search_app.search import Searcher

    root, first, second, searcher, cited, citing = _citing_pair_in_two_reports(tmp_path, 32, 4)
    assert [e["id"] for e in searcher.get_document(cited["id"])["cited_by"]] == [citing["id"]]
    assert any(c["target_id"] == cited["id"] for c in searcher.get_document(citing["id"])["cites"])
    # the first generation still answers as it did: nothing there cites the document
    old = B.generation_dir(root, first.live)
    assert cited["id"] not in stored_lineage(old)["cited_by"]
    pinned = Searcher(root)
    assert B.rollback(root) == first.live
    assert pinned.get_document(cited["id"])["cited_by"] == []
    pinned.close()
    new = B.generation_dir(root, second.live)
    segments = [p for p in old.iterdir() if p.suffix == ".seg"]
    assert segments and all((new / p.name).exists() and os.stat(p).st_ino == os.stat(new / p.name).st_ino
                            for p in segments)
    searcher.close()


def test_validation_counts_documents_from_the_index_and_finds_each_smoke_record(tmp_path, slice_records):
    records = slice_records[:6]
    index_dir = tmp_path / "ix"
    indexing.create_index(index_dir, records)
    found = B.validate_generation(index_dir, records, None, 0.5, False, fresh_ids=[records[-1]["id"]])
    assert found["problems"] == [] and found["documents"] == len(records)
    assert found["smoke_queries"] and all(q["found"] and q["hits"] >= 1 for q in found["smoke_queries"])
    # A record the index lacks, and one indexed twice, are both refused.
    ghost = dict(records[0], id="2021-12-c999", title="不在索引中的文件")
    ix = indexing.open_index(index_dir)
    writer = ix.writer()
    writer.add_document(**schema.record_to_document(records[1]))
    writer.commit()
    ix.close()
    found = B.validate_generation(index_dir, records + [ghost], None, 0.5, False)
    assert found["documents"] == len(records) + 1
    assert any("twice" in p for p in found["problems"])
    assert any("missing" in p and ghost["id"] in p for p in found["problems"])
