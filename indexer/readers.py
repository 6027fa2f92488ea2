"""Bytes on disk → report text.

Reports arrive as plain text in whatever encoding the exporting tool used
(UTF-8, GBK, GB18030) or as PDF.  Everything that reaches the parser is a
str with LF line ends.  Anything that cannot be read raises `UnreadableReport`
whose message is one line, fit for a log or a CLI error.
"""
from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path

from indexer.errors import UnreadableReport

TEXT_SUFFIXES = (".txt",)
PDF_SUFFIXES = (".pdf",)

# Control characters other than tab, LF, CR and form feed do not occur in
# text exports; more than a few of them means the bytes are not text.
_TEXT_CONTROLS = {"\t", "\n", "\r", "\f"}
_MAX_CONTROL_FRACTION = 0.001


@dataclass(frozen=True)
class DecodedReport:
    text: str
    encoding: str  # "utf-8", "utf-16", "gbk", "gb18030" or "pdf"


def read_report(path) -> str:
    """The text of the report at `path` (.txt in any supported encoding, or .pdf)."""
    path = Path(path)
    return decode_report(_read_bytes(path), path.name).text


def decode_report(data: bytes, name: str) -> DecodedReport:
    """Decode the bytes of a report called `name`; the suffix picks text or PDF."""
    if name.lower().endswith(PDF_SUFFIXES):
        return DecodedReport(fold_line_ends(pdf_text(data, name)), "pdf")
    return decode_text(data, name)


def decode_text(data: bytes, name: str) -> DecodedReport:
    if not data.strip():
        raise UnreadableReport(f"{name}: empty file")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text, encoding = data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise UnreadableReport(f"{name}: not a text file (broken UTF-16)") from None
    elif b"\x00" in data:
        raise UnreadableReport(f"{name}: binary file, not a text report")
    else:
        text, encoding = _decode_8bit(data, name)
    text = text.removeprefix("\ufeff")
    _reject_binary(text, name)
    if not text.strip():
        raise UnreadableReport(f"{name}: empty file")
    return DecodedReport(fold_line_ends(text), encoding)


def _decode_8bit(data: bytes, name: str) -> tuple[str, str]:
    # Chinese GBK text is practically never valid UTF-8, so strict UTF-8 first
    # is a safe test; GB18030 is a superset of GBK and GB2312.
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    for encoding in ("gbk", "gb18030"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise UnreadableReport(f"{name}: not a text file in UTF-8, GBK or GB18030")


def _reject_binary(text: str, name: str) -> None:
    controls = sum(1 for ch in text if ch < " " and ch not in _TEXT_CONTROLS)
    if controls > max(2, len(text) * _MAX_CONTROL_FRACTION):
        raise UnreadableReport(f"{name}: binary file, not a text report")


def fold_line_ends(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def pdf_text(data: bytes, name: str) -> str:
    """The text layer of a PDF, pages separated by a blank line."""
    if not data.strip():
        raise UnreadableReport(f"{name}: empty file")
    if not data.lstrip().startswith(b"%PDF"):
        raise UnreadableReport(f"{name}: not a PDF file")
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    # pypdf logs recoverable oddities of real-world PDFs as warnings; they are
    # noise next to the one-line outcome reported for the file.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                reader.decrypt("")
            except Exception:
                raise UnreadableReport(f"{name}: encrypted PDF") from None
        pages = [page.extract_text() or "" for page in reader.pages]
    except UnreadableReport:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise UnreadableReport(f"{name}: unreadable PDF ({detail})") from None
    text = "\n\n".join(page.rstrip("\n") for page in pages)
    if not text.strip():
        raise UnreadableReport(f"{name}: PDF has no text layer (scanned images need OCR first)")
    return text


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise UnreadableReport(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UnreadableReport(f"{path}: is a directory, not a report") from None
    except PermissionError:
        raise UnreadableReport(f"{path}: permission denied") from None
    except OSError as exc:
        raise UnreadableReport(f"{path}: cannot read ({exc.strerror or exc})") from None
