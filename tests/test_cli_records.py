"""`policy-search export` and `check` on real and broken inputs: a one-line error and a
non-zero exit for bad input, never a traceback."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "data" / "reports" / "2021-12_基建PPP政策月报.txt"


def run_cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "search_app.cli", *args],
        capture_output=True, text=True, cwd=cwd or ROOT, timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def data_dir_with(tmp_path: Path, name: str, content: bytes) -> Path:
    reports = tmp_path / "data" / "reports"
    reports.mkdir(parents=True)
    (reports / name).write_bytes(content)
    return tmp_path / "data"


def assert_clean_failure(proc, code=None):
    assert proc.returncode != 0
    if code is not None:
        assert proc.returncode == code
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("policy-search:")


@pytest.fixture(scope="module")
def exported():
    proc = run_cli("export", "--data-dir", str(ROOT / "data"))
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_export_prints_every_record_as_json_lines(exported):
    kinds = [r["kind"] for r in exported]
    assert kinds.count("policy") == 78
    assert kinds.count("interpretation") == 3
    policy = next(r for r in exported if r["id"] == "2021-12-c02")
    for name in ("id", "kind", "level", "seq", "title", "doc_number", "doc_number_parts", "bodies",
                 "bodies_canonical", "publish_date", "written_date", "region", "city", "doc_type",
                 "categories", "summary", "source_urls", "text"):
        assert name in policy
    assert policy["doc_number"] == "发改高技〔2021〕1742号"
    assert policy["bodies_canonical"] == ["国家发展和改革委员会", "国家互联网信息办公室", "工业和信息化部", "国家能源局"]


def test_check_reports_counts_and_anomalies():
    proc = run_cli("check", "--data-dir", str(ROOT / "data"), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["counts"]["policy_by_level"] == {"central": 18, "local": 60}
    assert report["counts"]["policies_with_table_row"] == 76
    problems = [a["problem"] + " " + a["resolution"] for a in report["anomalies"]]
    assert any("central #4: 发布部门 holds a 文号" in p and "国家发展改革委" in p for p in problems)
    assert any("津市人民政府办公厅" in p for p in problems)
    assert any("宁夏回族自治区" in p and "文号 prefix" in p for p in problems)
    assert not [m for m in report["missing_fields"] if m["field"] == "region"]
    text = run_cli("check", "--data-dir", str(ROOT / "data"))
    assert "central #4: 发布部门 holds a 文号" in text.stdout


def test_missing_directory(tmp_path):
    assert_clean_failure(run_cli("export", "--data-dir", str(tmp_path / "nowhere")), 2)


def test_empty_file(tmp_path):
    assert_clean_failure(run_cli("export", "--data-dir", str(data_dir_with(tmp_path, "a.txt", b""))))


def test_binary_file(tmp_path):
    blob = bytes(range(256)) * 40
    assert_clean_failure(run_cli("check", "--data-dir", str(data_dir_with(tmp_path, "a.txt", blob))))


def test_gbk_report_reads_like_utf8(tmp_path, exported):
    # the first 10,000 lines of the report, re-encoded: GB18030 covers every character
    text = "\n".join(REPORT.read_text(encoding="utf-8").split("\n")[:12000])
    data = data_dir_with(tmp_path, "2021-12_gb.txt", text.encode("gb18030"))
    proc = run_cli("export", "--data-dir", str(data))
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    titles = {r["id"]: r["title"] for r in records}
    assert titles["2021-12-c01"] == "关于印发“十四五”冷链物流发展规划的通知"


def test_crlf_report(tmp_path):
    text = "\n".join(REPORT.read_text(encoding="utf-8").split("\n")[:12000]).replace("\n", "\r\n")
    proc = run_cli("export", "--data-dir", str(data_dir_with(tmp_path, "r.txt", text.encode("utf-8"))))
    assert proc.returncode == 0, proc.stderr
    first = json.loads(proc.stdout.splitlines()[0])
    assert first["doc_number"] == "国办发〔2021〕46号"
    assert "\r" not in first["text"]


def test_report_cut_off_parses_what_is_there_and_warns(tmp_path):
    lines = REPORT.read_text(encoding="utf-8").split("\n")
    proc = run_cli("export", "--data-dir", str(data_dir_with(tmp_path, "r.txt", "\n".join(lines[:20000]).encode())))
    assert proc.returncode == 0
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert sum(r["kind"] == "policy" for r in records) > 18
    assert "warning:" in proc.stderr and "cut off" in proc.stderr
    assert "Traceback" not in proc.stderr
