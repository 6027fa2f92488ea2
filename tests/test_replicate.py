"""Replicas: the primary publishes its live generation, a replica copies, checks and
switches to it, and refuses whatever arrives broken. Over real HTTP on loopback: the
real Flask app (publishing blueprint) in a werkzeug server, real builds of the web
slice of the report. The cluster over network namespaces is tests/test_cluster.py."""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.replica_support import Http, damaging, publishing_app, write_report
from tests.web_support import ROOT, web_records  # noqa: F401 - fixture

FIRST = 18  # records in the first report; the rest come in a second one


@pytest.fixture(scope="module")
def primary(tmp_path_factory, web_records, jieba_ready):
    from indexer.build import build

    base = tmp_path_factory.mktemp("primary")
    write_report(base / "data", "2021-12_first.jsonl", web_records[:FIRST])
    result = build(base / "data", base / "index")
    assert result.outcome == "ok", result.message
    http = Http(publishing_app(base / "index"))
    yield {"base": base, "root": base / "index", "url": http.url, "first": result.build_id}
    http.stop()


def live_files(root: Path) -> dict[str, bytes]:
    gen = root / "generations" / (root / "CURRENT").read_text().strip()
    # What a generation is, without this machine's ACTIVATED mark and Whoosh's empty lock file.
    return {p.name: p.read_bytes() for p in gen.iterdir()
            if p.name != "ACTIVATED" and not p.name.endswith("WRITELOCK")}


def no_debris(root: Path) -> bool:
    return not [p for p in (root / "generations").iterdir() if p.name.startswith(".tmp-")]


def test_publishing_is_off_unless_configured_and_admits_only_allowed_addresses(primary):
    from search_app import create_app

    closed = create_app({"INDEX_DIR": str(primary["root"]), "TESTING": True}).test_client()
    assert closed.get("/replicate/live").status_code == 404
    app = publishing_app(primary["root"], allow=("10.20.0.0/16",)).test_client()
    refused = app.get("/replicate/live")  # the test client comes from 127.0.0.1
    assert refused.status_code == 403
    inside = {"REMOTE_ADDR": "10.20.3.4"}
    listing = app.get("/replicate/live", environ_base=inside).get_json()
    gen = primary["root"] / "generations" / listing["build_id"]
    assert listing["build_id"] == (primary["root"] / "CURRENT").read_text().strip()
    names = {f["name"] for f in listing["files"]}
    assert "manifest.json" in names and "ACTIVATED" not in names and any(n.endswith(".toc") for n in names)
    for entry in listing["files"]:
        body = app.get(f"/replicate/generations/{listing['build_id']}/{entry['name']}", environ_base=inside)
        assert body.status_code == 200 and hashlib.sha256(body.data).hexdigest() == entry["sha256"]
        assert len(body.data) == entry["size"] == (gen / entry["name"]).stat().st_size
    for bad in ("ACTIVATED", "..%2FCURRENT", ".hidden", "nothing-such"):
        assert app.get(f"/replicate/generations/{listing['build_id']}/{bad}", environ_base=inside).status_code == 404
    assert app.get("/replicate/generations/19990101T000000.000Z/manifest.json",
                   environ_base=inside).status_code == 404


def test_a_replica_copies_each_new_generation_and_keeps_the_previous(primary, web_records, tmp_path):
    from indexer.build import build, list_generations, rollback
    from indexer.replicate import replicate
    from search_app import create_app

    replica = tmp_path / "replica"
    first = replicate(primary["url"], replica)
    assert first.outcome == "copied" and first.build_id == primary["first"] and first.linked_files == 0
    assert live_files(replica) == live_files(primary["root"])
    assert replicate(primary["url"], replica).outcome == "unchanged"

    write_report(primary["base"] / "data", "2022-01_second.jsonl", web_records[FIRST:])
    second = build(primary["base"] / "data", primary["root"])
    try:
        assert second.outcome == "ok" and second.manifest["mode"] == "incremental"
        copied = replicate(primary["url"], replica)
        assert copied.outcome == "copied" and copied.build_id == second.build_id
        # The incremental build kept the first generation's segments: not fetched again.
        assert copied.linked_files > 0 and copied.downloaded_files > 0
        assert live_files(replica) == live_files(primary["root"])
        assert list_generations(replica) == [primary["first"], second.build_id] and no_debris(replica)
        client = create_app({"INDEX_DIR": str(replica), "TESTING": True}).test_client()
        found = client.get("/api/search?q=&per_page=100")
        assert found.get_json()["total"] == len(web_records)
        assert found.get_json()["generation"] == found.headers["X-Index-Generation"] == second.build_id

        # The primary goes back: the replica switches to the generation it kept.
        rollback(primary["root"])
        back = replicate(primary["url"], replica)
        assert back.outcome == "switched" and (replica / "CURRENT").read_text().strip() == primary["first"]
    finally:  # the primary as the other tests expect it: the first generation live
        (primary["base"] / "data" / "reports" / "2022-01_second.jsonl").unlink()
        if (primary["root"] / "CURRENT").read_text().strip() != primary["first"]:
            rollback(primary["root"], to=primary["first"])


@pytest.fixture(scope="module")
def newer(primary, web_records, tmp_path_factory):
    """A copy of the primary that has built a second generation."""
    from indexer.build import build

    base = tmp_path_factory.mktemp("newer")
    shutil.copytree(primary["base"], base, dirs_exist_ok=True)
    write_report(base / "data", "2022-01_second.jsonl", web_records[FIRST:])
    result = build(base / "data", base / "index")
    assert result.outcome == "ok", result.message
    return base / "index"


@pytest.mark.parametrize("how, expect", [("flip", "arrived corrupted"), ("cut", "cut off")])
def test_a_damaged_transfer_is_refused_and_the_live_generation_stays(primary, newer, tmp_path, how, expect):
    from indexer.errors import ReplicationError
    from indexer.replicate import replicate

    replica = tmp_path / "replica"
    shutil.copytree(primary["root"], replica)  # serving the first generation
    before = sorted(p.name for p in (replica / "generations").iterdir())
    link = Http(damaging(publishing_app(newer), how))
    try:
        with pytest.raises(ReplicationError, match=expect) as caught:
            replicate(link.url, replica)
    finally:
        link.stop()
    assert "\n" not in str(caught.value)
    assert (replica / "CURRENT").read_text().strip() == primary["first"] and no_debris(replica)
    assert sorted(p.name for p in (replica / "generations").iterdir()) == before
    # The same pull over a sound link goes through.
    sound = Http(publishing_app(newer))
    try:
        assert replicate(sound.url, replica).build_id == (newer / "CURRENT").read_text().strip()
    finally:
        sound.stop()


def test_a_generation_of_other_analysis_resources_is_refused(primary, tmp_path):
    from indexer.errors import ReplicationError
    from indexer.replicate import replicate

    other = tmp_path / "other"
    shutil.copytree(primary["root"], other)
    gen = other / "generations" / primary["first"]
    manifest = json.loads((gen / "manifest.json").read_text())
    manifest["resources"]["analysis"] = "0123456789abcdef"  # built by another version's dictionaries
    (gen / "manifest.json").write_text(json.dumps(manifest))
    http = Http(publishing_app(other))
    replica = tmp_path / "replica"
    try:
        with pytest.raises(ReplicationError, match="analysis resources 0123456789abcdef"):
            replicate(http.url, replica)
    finally:
        http.stop()
    assert not (replica / "CURRENT").exists()


def test_cli_one_line_and_non_zero_when_the_primary_is_down(tmp_path):
    from tests.web_support import free_port

    done = subprocess.run(
        [sys.executable, "-m", "search_app.cli", "replicate", "--from", f"http://127.0.0.1:{free_port()}",
         "--index-dir", str(tmp_path / "replica")],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("policy-search: replicate from") and "cannot be reached" in lines[0]
    usage = subprocess.run([sys.executable, "-m", "search_app.cli", "replicate", "--from", "ftp://primary",
                            "--index-dir", str(tmp_path / "replica")], cwd=ROOT, capture_output=True, text=True,
                           timeout=60)
    assert usage.returncode == 2 and "http://" in usage.stderr and not (tmp_path / "replica").exists()
