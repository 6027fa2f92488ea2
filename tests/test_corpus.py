"""indexer.corpus on data directories made from slices of the real report."""
from __future__ import annotations

import hashlib
import json

import pytest

from indexer.corpus import CorpusError, load_corpus
from tests.report_slices import REPORT_A, REPORT_B, january_report, make_data_dir, make_pdf, report_slice


@pytest.fixture(scope="module")
def slice_a() -> str:
    return report_slice(central=(2, 4, 8), local=(1, 19))


def by_title(records):
    return {r["title"]: r for r in records}


def test_one_report(tmp_path, slice_a):
    data = make_data_dir(tmp_path, {REPORT_A: slice_a})
    corpus = load_corpus(data)
    assert [r["id"] for r in corpus.records] == [
        "2021-12-c01", "2021-12-c02", "2021-12-c03", "2021-12-l01", "2021-12-l02",
    ]
    assert corpus.skipped == []
    (source,) = corpus.sources
    raw = (data / "reports" / REPORT_A).read_bytes()
    assert source["path"] == REPORT_A
    assert source["sha256"] == hashlib.sha256(raw).hexdigest()
    assert source["size"] == len(raw)
    assert source["format"] == "txt" and source["encoding"] == "utf-8"
    assert source["records"] == 5 and source["by_kind"] == {"policy": 5}
    assert source["status"] == "parsed"
    # The parser's findings come through, tagged with their report.
    assert corpus.anomalies and all(a["report"] == REPORT_A for a in corpus.anomalies)
    assert all("sources" not in r for r in corpus.records)


def test_missing_data_dir(tmp_path):
    with pytest.raises(CorpusError) as info:
        load_corpus(tmp_path / "nowhere")
    assert str(info.value) == f"data directory not found: {tmp_path / 'nowhere'}"


def test_no_reports(tmp_path):
    (tmp_path / "data").mkdir()
    with pytest.raises(CorpusError, match="no reports directory"):
        load_corpus(tmp_path / "data")
    (tmp_path / "data" / "reports").mkdir()
    (tmp_path / "data" / "reports" / ".partial.txt").write_text("x")
    with pytest.raises(CorpusError) as info:
        load_corpus(tmp_path / "data")
    assert "no reports in" in str(info.value) and "\n" not in str(info.value)


def test_gbk_report_parses_like_utf8(tmp_path, slice_a):
    # GBK has no em space; a GBK export writes the ideographic space instead.
    text = slice_a.replace("\u2003", "\u3000")
    utf8 = load_corpus(make_data_dir(tmp_path / "u", {REPORT_A: text}))
    gbk = load_corpus(make_data_dir(tmp_path / "g", {REPORT_A: text.replace("\n", "\r\n").encode("gbk")}))
    assert gbk.sources[0]["encoding"] == "gbk"
    assert gbk.records == utf8.records


def test_pdf_report(tmp_path, slice_a):
    pdf = make_pdf(slice_a, tmp_path / "r.pdf")
    from_txt = load_corpus(make_data_dir(tmp_path / "t", {REPORT_A: slice_a}))
    from_pdf = load_corpus(make_data_dir(tmp_path / "p", {"2021-12_基建PPP政策月报.pdf": pdf.read_bytes()}))
    assert from_pdf.sources[0]["format"] == "pdf"
    assert from_pdf.skipped == []
    fields = ("id", "kind", "level", "title", "doc_number", "bodies_canonical", "publish_date", "region")
    assert [{f: r.get(f) for f in fields} for r in from_pdf.records] == [
        {f: r.get(f) for f in fields} for r in from_txt.records
    ]
    squeeze = lambda s: "".join(s.split())  # noqa: E731
    for a, b in zip(from_pdf.records, from_txt.records):
        assert squeeze(a["text"]) == squeeze(b["text"])


def test_same_policy_in_two_reports(tmp_path, slice_a):
    data = make_data_dir(tmp_path, {REPORT_A: slice_a, REPORT_B: january_report()})
    corpus = load_corpus(data)
    ids = [r["id"] for r in corpus.records]
    assert len(ids) == len(set(ids)) == 5 + 3
    merged = [r for r in corpus.records if "sources" in r]
    assert len(merged) == 1
    (policy,) = merged
    assert policy["id"] == "2021-12-c02"  # the first report's id stays
    assert policy["doc_number"] == "发改农经规〔2021〕1728号"
    assert [s["report"] for s in policy["sources"]] == [REPORT_A, REPORT_B]
    assert corpus.merges == [{"id": "2021-12-c02", "absorbed": ["2022-01-c01"], "reports": [REPORT_A, REPORT_B]}]
    assert {r["id"][:7] for r in corpus.records} == {"2021-12", "2022-01"}


def test_union_of_urls_and_match_without_doc_number(tmp_path, slice_a):
    base = load_corpus(make_data_dir(tmp_path / "a", {REPORT_A: slice_a}))
    original = base.records[3]
    # The same policy from another source: no 文号, title typed with other
    # spacing and punctuation, one URL of its own.
    imported = dict(original)
    imported.update(
        id="ext-1",
        doc_number=None,
        doc_number_parts=None,
        title=" " + original["title"].replace("《", "").replace("》", "") + " ",
        source_urls=["https://example.org/policy/1"] + original["source_urls"][:1],
    )
    del imported["source"]
    data = make_data_dir(tmp_path / "b", {
        REPORT_A: slice_a,
        "zz-import.jsonl": json.dumps(imported, ensure_ascii=False) + "\n",
    })
    corpus = load_corpus(data)
    assert len(corpus.records) == 5
    merged = corpus.records[3]
    assert merged["id"] == original["id"]
    assert merged["title"] == original["title"]
    assert merged["source_urls"] == original["source_urls"] + ["https://example.org/policy/1"]
    assert merged["sources"] == [original["source"], {"report": "zz-import.jsonl", "first_line": 1, "last_line": 1}]


def test_doc_number_on_an_unrelated_title_is_no_match(tmp_path, slice_a):
    # The source prints a wrong 文号 now and then; a document with another
    # title under the same 文号 stays a document of its own.
    records = load_corpus(make_data_dir(tmp_path / "a", {REPORT_A: slice_a})).records
    other = {"id": "x-1", "kind": "policy", "title": "关于做好冬季供暖保障工作的通知",
             "doc_number": records[0]["doc_number"].replace("〔", "[").replace("〕", "]"),
             "publish_date": "2022-01-05"}
    data = make_data_dir(tmp_path / "b", {REPORT_A: slice_a, "z.jsonl": json.dumps(other, ensure_ascii=False)})
    corpus = load_corpus(data)
    assert [r["id"] for r in corpus.records] == [r["id"] for r in records] + ["x-1"]
    assert not corpus.merges


def test_doc_number_printed_twice_in_one_file_is_no_merge_key(tmp_path, slice_a):
    records = load_corpus(make_data_dir(tmp_path / "a", {REPORT_A: slice_a})).records
    target = records[3]
    twins = [
        {"id": f"x-{i}", "kind": "policy", "title": target["title"], "doc_number": target["doc_number"],
         "bodies": [body], "publish_date": date}
        for i, (body, date) in enumerate((("甲市人民政府", "2022-01-05"), ("乙市人民政府", "2022-01-09")))
    ]
    jsonl = "\n".join(json.dumps(t, ensure_ascii=False) for t in twins)
    corpus = load_corpus(make_data_dir(tmp_path / "b", {REPORT_A: slice_a, "z.jsonl": jsonl}))
    assert len(corpus.records) == len(records) + 2
    assert not corpus.merges
    # One of them alone would have been the same document.
    corpus = load_corpus(make_data_dir(tmp_path / "c", {REPORT_A: slice_a, "z.jsonl": json.dumps(twins[0], ensure_ascii=False)}))
    assert len(corpus.records) == len(records)
    assert corpus.merges == [{"id": target["id"], "absorbed": ["x-0"], "reports": [REPORT_A, "z.jsonl"]}]


def test_jsonl_import(tmp_path, slice_a):
    exported = load_corpus(make_data_dir(tmp_path / "a", {REPORT_A: slice_a})).records
    lines = [json.dumps(r, ensure_ascii=False) for r in exported[:2]]
    lines.insert(1, "{not json")
    lines.append(json.dumps({"id": "x", "kind": "memo", "title": "t"}))
    lines.append(json.dumps({"kind": "policy", "title": "t"}))
    lines.append("")
    data = make_data_dir(tmp_path / "b", {"bulk/other.jsonl": "\n".join(lines)})
    corpus = load_corpus(data)
    assert corpus.records == exported[:2]
    assert corpus.sources[0]["path"] == "bulk/other.jsonl" and corpus.sources[0]["format"] == "jsonl"
    assert corpus.warnings == [
        "bulk/other.jsonl line 2: not JSON (Expecting property name enclosed in double quotes); line ignored",
        "bulk/other.jsonl line 4: record x: kind must be one of policy, activity, interpretation; line ignored",
        "bulk/other.jsonl line 5: record without an id; line ignored",
    ]


def test_export_reimported_beside_its_report_adds_nothing(tmp_path, slice_a):
    exported = load_corpus(make_data_dir(tmp_path / "a", {REPORT_A: slice_a})).records
    jsonl = "\n".join(json.dumps(r, ensure_ascii=False) for r in exported)
    corpus = load_corpus(make_data_dir(tmp_path / "b", {REPORT_A: slice_a, "export.jsonl": jsonl}))
    assert [r["id"] for r in corpus.records] == [r["id"] for r in exported]
    for record in corpus.records:
        # The export's records point at the same report lines: one source each.
        assert record.get("sources", [record["source"]]) == [record["source"]]


def test_unreadable_files_among_good_ones(tmp_path, slice_a):
    data = make_data_dir(tmp_path, {
        REPORT_A: slice_a,
        "2021-11_broken.txt": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
        "2021-10_empty.txt": b"",
        "notes.docx": b"PK\x03\x04",
        "2021-09_not-a-report.txt": "会议纪要\n\n今天讨论了预算。\n",
        "broken.pdf": b"%PDF-1.7\n1 0 obj",
    })
    corpus = load_corpus(data)
    assert len(corpus.records) == 5
    reasons = {s["path"]: s["reason"] for s in corpus.skipped}
    assert reasons["2021-11_broken.txt"] == "binary file, not a text report"
    assert reasons["2021-10_empty.txt"] == "empty file"
    assert reasons["notes.docx"] == "unsupported file type (expected .txt, .pdf, .jsonl)"
    # The parser's own verdict, without the file name the entry already holds.
    assert "附件" in reasons["2021-09_not-a-report.txt"]
    assert not reasons["2021-09_not-a-report.txt"].startswith(("2021-09", "the parser failed"))
    assert reasons["broken.pdf"].startswith("unreadable PDF")
    assert all("\n" not in r for r in reasons.values())
    assert len([w for w in corpus.warnings if w.startswith("skipped ")]) == 5


def test_cache_and_fallback(tmp_path, slice_a):
    data = make_data_dir(tmp_path, {REPORT_A: slice_a, REPORT_B: january_report(central=(5,), reprinted=())})
    first = load_corpus(data)
    files = {f.path: f for f in first.files}
    again = load_corpus(data, cache=files)
    assert [s["status"] for s in again.sources] == ["cached", "cached"]
    assert again.records == first.records
    # A changed file is parsed again, the other one still comes from the cache.
    (data / "reports" / REPORT_B).write_text(january_report(central=(5, 16), reprinted=()), encoding="utf-8")
    changed = load_corpus(data, cache=files)
    assert {s["path"]: s["status"] for s in changed.sources} == {REPORT_A: "cached", REPORT_B: "parsed"}
    assert len(changed.records) == 8
    # A file that turned unreadable keeps its last good records when asked to.
    (data / "reports" / REPORT_A).write_bytes(b"\x00\x01\x02garbage")
    broken = load_corpus(data, fallback=files)
    assert broken.skipped[0]["path"] == REPORT_A and broken.skipped[0]["kept_records"] == 5
    assert {r["id"] for r in first.records} <= {r["id"] for r in broken.records}
    assert {s["path"]: s["status"] for s in broken.sources} == {REPORT_A: "kept", REPORT_B: "parsed"}
    without = load_corpus(data)
    assert len(without.records) == 3


def test_two_reports_of_one_month_keep_every_document(tmp_path):
    data = make_data_dir(tmp_path, {
        "2021-12_a.txt": report_slice(central=(2,), local=(1,)),
        "2021-12_b.txt": report_slice(central=(4,), local=(19,)),
    })
    corpus = load_corpus(data)
    ids = [r["id"] for r in corpus.records]
    assert len(ids) == len(set(ids)) == 4
    assert sum("is taken by another document" in w for w in corpus.warnings) == 2


@pytest.mark.parametrize("reports", [
    {REPORT_A: "slice_a", REPORT_B: "january"},  # one policy absorbs another report's
    {"2021-12_a.txt": "first", "2021-12_b.txt": "second"},  # one id taken twice: a suffix
])
def test_merging_leaves_each_files_records_as_parsed(tmp_path, slice_a, reports):
    texts = {"slice_a": slice_a, "january": january_report(), "first": report_slice(central=(2,), local=(1,)),
             "second": report_slice(central=(4,), local=(19,))}
    data = make_data_dir(tmp_path, {name: texts[key] for name, key in reports.items()})
    corpus = load_corpus(data)
    assert corpus.merges or any("is taken by another document" in w for w in corpus.warnings)
    # the build caches these per file: merging must not have written into them
    for f in corpus.files:
        (alone,) = load_corpus(make_data_dir(tmp_path / f.path, {f.path: texts[reports[f.path]]})).files
        assert f.to_json() == alone.to_json()
