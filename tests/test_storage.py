"""Index files read with positioned reads through the page cache (indexer.storage):
file semantics, no copy of a segment per opening, and a real multi-worker server
answering correctly after each worker has opened a new generation itself."""
from __future__ import annotations

import io
import json
import os
import random
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from indexer import build as B
from indexer.indexing import open_index
from indexer.storage import Descriptor, Region, open_shared
from tests.report_slices import REPORT_A, january_report, make_data_dir, report_slice
from tests.web_support import Server


def test_a_region_reads_like_a_bytes_file(tmp_path):
    data = bytes(random.Random(7).randrange(256) for _ in range(5000)).replace(b"\x07", b"\n")
    data = data[:2000] + b"x" * 5000 + data[2000:]  # a line longer than readline's look-ahead
    (tmp_path / "part").write_bytes(data)
    inner = data[1000:9000]
    region, reference = Region(Descriptor(str(tmp_path / "part")), 1000, 8000), io.BytesIO(inner)
    steps = random.Random(11)
    for _ in range(2000):
        action = steps.choice(["read", "readline", "seek", "readinto", "tell"])
        if action == "read":
            size = steps.choice([-1, 0, 1, 4, 100, 5000])
            assert region.read(size) == reference.read(size)
        elif action == "readline":
            assert region.readline() == reference.readline()
        elif action == "seek":
            offset, whence = steps.randrange(0, 8500), steps.choice([0, 1, 2])
            offset = offset if whence == 0 else -min(offset, reference.tell() if whence == 1 else 8000)
            assert region.seek(offset, whence) == reference.seek(offset, whence)
        elif action == "readinto":
            a, b = bytearray(steps.randrange(0, 50)), None
            b = bytearray(len(a))
            assert region.readinto(a) == reference.readinto(b) and a == b
        assert region.tell() == reference.tell()
    with pytest.raises(EOFError):
        region.slice(7990, 20)


def test_pickles_read_from_the_read_ahead_or_past_it(tmp_path):
    """A postings block header is unpickled from the bytes read ahead; a pickle longer
    than those is read from the file; either way the file is left just after it."""
    import pickle

    values = [(128, 5, 1.5, 3, 9, 12), list(range(400)), "末", {"k": "值" * 300}, (1, 2)]
    blob = b"head" + b"".join(pickle.dumps(v, protocol=2) for v in values) + b"tail"
    (tmp_path / "part").write_bytes(blob)
    f = open_shared(str(tmp_path / "part"))
    assert f.read(4) == b"head"
    assert [f.read_pickle() for _ in values] == values
    assert f.read(4) == b"tail"


def test_segment_parts_are_windows_on_one_descriptor(slice_index):
    ix = open_index(slice_index)
    try:
        with ix.searcher() as searcher:
            reader = searcher.reader()
            compound = reader.storage().a  # OverlayStorage(the compound segment's parts, the directory)
            parts = [compound.open_file(name) for name in compound.list()]
            sources = {id(part.file.source) for part in parts}
            assert len(parts) > 5 and len(sources) == 1
            assert isinstance(parts[0].file.source, Descriptor)
            # A search reads through them: the index answers as usual.
            assert searcher.doc_count() > 0 and list(searcher.lexicon("kind"))
    finally:
        ix.close()


def test_an_empty_file_reads_as_nothing(tmp_path):
    (tmp_path / "empty").write_bytes(b"")
    f = open_shared(str(tmp_path / "empty"))
    assert f.read() == b"" and f.tell() == 0


def _queries(records: list[dict]) -> list[dict]:
    words = ["", "实施意见", "基础设施", "发展", "管理办法", "通知"]
    words += [r["title"][2:6] for r in records[:6] if len(r.get("title") or "") > 6]
    params = [{"q": w, "per_page": 50} for w in words]
    params += [{"q": "", "region": r["region"]} for r in records if r.get("region")][:3]
    return params


def test_workers_answer_correctly_after_a_switch(tmp_path):
    """Each worker opens the new generation itself after the switch, with its own
    descriptors: under concurrent load every answer equals the in-process search of it."""
    from search_app.search import Searcher

    data = make_data_dir(tmp_path, {REPORT_A: report_slice()})
    root = tmp_path / "index"
    assert B.build(data, root).outcome == "ok"
    server = Server(root, workers=2, log_dir=tmp_path)
    try:
        (data / "reports" / "2022-01_基建PPP政策月报.txt").write_text(january_report(), encoding="utf-8")
        result = B.build(data, root, jobs=2)
        assert result.outcome == "ok", result.message
        live = B.live_generation(root)
        local = Searcher(root)
        records = [local.get_document(i) for i in B.read_manifest(live)["record_hashes"]]
        expected = {}
        for params in _queries(records):
            answer = local.search(params.get("q", ""), {k: [v] for k, v in params.items()
                                                        if k not in ("q", "per_page")}, per_page=50)
            expected[urllib.parse.urlencode(params)] = (answer["total"], [(r["id"], r["score"]) for r in
                                                                          answer["results"]])
        local.close()

        def ask(query: str):
            with urllib.request.urlopen(f"{server.base}/api/search?{query}", timeout=30) as response:
                body = json.loads(response.read())
            return query, (body["total"], [(r["id"], r["score"]) for r in body["results"]])

        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(ask, list(expected) * 12))
        assert all(expected[query] == answer for query, answer in answers)
        # Every worker has opened the new generation's segment itself, and maps no
        # index file (its pages are the page cache's, not the worker's).
        workers = [int(p) for p in open(f"/proc/{server.process.pid}/task/{server.process.pid}/children")
                   .read().split()]
        assert len(workers) == 2
        for pid in workers:
            opened = {os.path.realpath(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
            assert any(path.startswith(str(live.resolve())) and path.endswith(".seg") for path in opened)
            assert ".seg" not in open(f"/proc/{pid}/maps").read()
    finally:
        server.stop()
