"""indexer.readers on real report text in every supported form."""
from __future__ import annotations

import pytest

from indexer.readers import UnreadableReport, decode_report, read_report
from tests.report_slices import document_text, make_pdf, report_slice


@pytest.fixture(scope="module")
def sample() -> str:
    return report_slice(central=(1,), local=(1, 19))[:20000]


def test_utf8_report_reads_unchanged(tmp_path, sample):
    path = tmp_path / "r.txt"
    path.write_text(sample, encoding="utf-8")
    assert read_report(path) == sample


def test_utf8_with_bom(tmp_path, sample):
    path = tmp_path / "r.txt"
    path.write_bytes(b"\xef\xbb\xbf" + sample.encode("utf-8"))
    assert read_report(path) == sample


def test_gbk_report_is_detected(tmp_path, sample):
    path = tmp_path / "r.txt"
    path.write_bytes(sample.encode("gbk"))
    decoded = decode_report(path.read_bytes(), path.name)
    assert decoded.encoding == "gbk"
    assert decoded.text == sample
    assert "国办发〔2021〕46 号" in decoded.text


def test_gb18030_beyond_gbk(tmp_path, sample):
    # 𠮷 (U+20BB7) has no GBK code; GB18030 encodes it in four bytes.
    text = sample + "\n𠮷\n"
    with pytest.raises(UnicodeEncodeError):
        text.encode("gbk")
    path = tmp_path / "r.txt"
    path.write_bytes(text.encode("gb18030"))
    decoded = decode_report(path.read_bytes(), path.name)
    assert decoded.encoding == "gb18030"
    assert decoded.text == text


def test_utf16_with_bom(tmp_path, sample):
    path = tmp_path / "r.txt"
    path.write_bytes(sample.encode("utf-16"))
    assert read_report(path) == sample


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_crlf_and_cr_are_folded(tmp_path, sample, encoding):
    path = tmp_path / "r.txt"
    path.write_bytes(sample.replace("\n", "\r\n").encode(encoding))
    assert read_report(path) == sample
    path.write_bytes(sample.replace("\n", "\r").encode(encoding))
    assert read_report(path) == sample


@pytest.mark.parametrize("content", [b"", b"   \n\r\n\t  \n", b"\xef\xbb\xbf\n\n"])
def test_empty_file(tmp_path, content):
    path = tmp_path / "empty.txt"
    path.write_bytes(content)
    with pytest.raises(UnreadableReport) as info:
        read_report(path)
    assert str(info.value) == "empty.txt: empty file"


def test_binary_file(tmp_path):
    path = tmp_path / "image.txt"
    # A PNG signature and header: the first bytes of any PNG.
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" + bytes(range(256)) * 4)
    with pytest.raises(UnreadableReport) as info:
        read_report(path)
    assert "binary file" in str(info.value)
    assert "\n" not in str(info.value)


def test_undecodable_bytes_without_nul(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes(bytes(range(0x80, 0x100)) * 8)
    with pytest.raises(UnreadableReport) as info:
        read_report(path)
    assert "\n" not in str(info.value)
    assert str(info.value).startswith("latin.txt: ")


def test_control_characters_mean_binary(tmp_path, sample):
    path = tmp_path / "r.txt"
    path.write_bytes(("\x01\x02\x03\x04\x05\x06" * 200 + sample[:100]).encode("utf-8"))
    with pytest.raises(UnreadableReport, match="binary file"):
        read_report(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(UnreadableReport, match="no such file"):
        read_report(tmp_path / "nope.txt")
    with pytest.raises(UnreadableReport, match="is a directory"):
        read_report(tmp_path)


def test_pdf_text_is_extracted(tmp_path):
    text = document_text("一", 2) + "\n" + document_text("二", 19)
    pdf = make_pdf(text, tmp_path / "r.pdf")
    extracted = read_report(pdf)
    assert "\r" not in extracted
    # Layout may re-flow whitespace; every non-blank line's characters survive in order.
    squeeze = lambda s: "".join(s.split())  # noqa: E731
    assert squeeze(extracted) == squeeze(text)
    for line in text.split("\n"):
        if line.strip() and len(line) < 40:
            assert line.strip() in extracted


def test_pdf_that_is_not_a_pdf(tmp_path, sample):
    path = tmp_path / "fake.pdf"
    path.write_text(sample, encoding="utf-8")
    with pytest.raises(UnreadableReport, match="fake.pdf: not a PDF file"):
        read_report(path)


def test_truncated_pdf(tmp_path):
    pdf = make_pdf(document_text("一", 2), tmp_path / "whole.pdf")
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(pdf.read_bytes()[:400])
    with pytest.raises(UnreadableReport) as info:
        read_report(cut)
    assert str(info.value).startswith("cut.pdf: ")
    assert "\n" not in str(info.value)


def test_pdf_without_text_layer(tmp_path):
    fpdf = pytest.importorskip("fpdf")
    pdf = fpdf.FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 50, style="F")
    path = tmp_path / "scan.pdf"
    path.write_bytes(bytes(pdf.output()))
    with pytest.raises(UnreadableReport, match="no text layer"):
        read_report(path)
