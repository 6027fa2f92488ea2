"""Small real inputs for the ingestion and build tests.

Slices are cut from the real report so the parser sees real text; PDFs are
typeset from that text with a CJK font from Debian's font packages.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "data" / "reports" / "2021-12_基建PPP政策月报.txt"
# File names for slices standing in for two monthly reports.
REPORT_A = "2021-12_基建PPP政策月报.txt"
REPORT_B = "2022-01_基建PPP政策月报.txt"

# TrueType-outline CJK fonts (fonts-wqy-zenhei, fonts-arphic-*); the CFF-based
# Noto CJK collections cannot be embedded by fpdf2 with usable text.
CJK_FONTS = (
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/arphic/uming.ttc"),
)

_APPENDIX_HEADING = re.compile(r"^\s*附件([一二])：\S*政策原文\s*$")
_DOC_HEADING = re.compile(r"^\s*(\d{1,3})\s*[.．、]\s*\S")
_DOC_HEADING_NUMBER = re.compile(r"\d{1,3}")


@functools.cache
def report_lines() -> tuple[str, ...]:
    return tuple(REPORT.read_text(encoding="utf-8").split("\n"))


@functools.cache
def _appendix_documents() -> dict[str, list[tuple[int, int]]]:
    """(first, last) line index of every appendix document, by appendix."""
    lines = report_lines()
    starts: dict[str, list[int]] = {"一": [], "二": []}
    bounds: dict[str, int] = {}
    current = None
    expected = 1
    for i, line in enumerate(lines):
        m = _APPENDIX_HEADING.match(line)
        if m and "..." not in line:
            current, expected = m.group(1), 1
            bounds[current] = i
            continue
        if current is None:
            continue
        h = _DOC_HEADING.match(line)
        # A document heading is the next number in sequence followed by a
        # 发布部门 line within a few lines; numbered lines inside bodies fail
        # one of the two.
        if h and int(h.group(1)) == expected and any(
            "发布部门" in later for later in lines[i + 1 : i + 12]
        ):
            starts[current].append(i)
            expected += 1
    result: dict[str, list[tuple[int, int]]] = {}
    end_of = {"一": bounds["二"], "二": len(lines)}
    for appendix, first_lines in starts.items():
        ends = first_lines[1:] + [end_of[appendix]]
        result[appendix] = [(a, b) for a, b in zip(first_lines, ends)]
    return result


def front_matter() -> list[str]:
    """The report up to its first appendix (tables, activities, interpretations)."""
    lines = report_lines()
    first = _appendix_documents()["一"][0][0]
    heading = max(i for i in range(first) if _APPENDIX_HEADING.match(lines[i]))
    return list(lines[:heading])


def report_slice(central=(1, 2, 3), local=(1, 2, 3), with_front_matter=False, rewrite=None) -> str:
    """A report holding only the chosen appendix documents (1-based numbers).

    Documents keep their text and are renumbered 1, 2, … as an appendix
    numbers them, so the parser handles them exactly as in the full report.
    `rewrite(appendix, number, text)` may edit a document's text.
    """
    lines = report_lines()
    docs = _appendix_documents()
    out: list[str] = front_matter() if with_front_matter else list(lines[:3])
    for appendix, chosen in (("一", central), ("二", local)):
        if not chosen:
            continue
        out.append(f"附件{appendix}：{'中央' if appendix == '一' else '地方'}政策原文")
        out.append("")
        for seq, number in enumerate(chosen, start=1):
            a, b = docs[appendix][number - 1]
            heading = _DOC_HEADING_NUMBER.sub(str(seq), lines[a], count=1)
            text = "\n".join([heading, *lines[a + 1 : b]])
            if rewrite is not None:
                text = rewrite(appendix, number, text)
            out.append(text)
    return "\n".join(out) + "\n"


def make_data_dir(base: Path, files: dict) -> Path:
    """base/data/reports/ holding `files` (name → text, or bytes as they are)."""
    reports = base / "data" / "reports"
    reports.mkdir(parents=True)
    for name, content in files.items():
        path = reports / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return base / "data"


def next_month(text: str) -> str:
    """Documents as if issued a month later under the next year's 文号: new policies
    for another report (same layout and wording, other metadata)."""
    text = re.sub(r"2021(\s*)年(\s*)12(\s*)月", r"2022\1年\2 1\3月", text)
    return re.sub(r"(?m)^(\s*文号[:：].*?)2021", r"\g<1>2022", text)


def january_report(central=(4, 5, 16), local=(22,), reprinted=(("一", 4),)) -> str:
    """A later report: new documents, and some of December's reprinted unchanged."""
    return report_slice(
        central=central,
        local=local,
        rewrite=lambda appendix, number, text: text if (appendix, number) in reprinted else next_month(text),
    )


def document_text(appendix: str, number: int) -> str:
    a, b = _appendix_documents()[appendix][number - 1]
    return "\n".join(report_lines()[a:b])


def cjk_font() -> Path:
    for font in CJK_FONTS:
        if font.exists():
            return font
    pytest.skip("no TrueType CJK font installed (make test installs fonts-wqy-zenhei)")


def make_pdf(text: str, path: Path) -> Path:
    """Typeset `text` line by line into a PDF with a real CJK font."""
    fpdf = pytest.importorskip("fpdf", reason="fpdf2 is in the test extras")
    pdf = fpdf.FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_font("cjk", "", str(cjk_font()), collection_font_number=0)
    pdf.set_font("cjk", size=9)
    pdf.add_page()
    for line in text.split("\n"):
        if line.strip():
            pdf.multi_cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
        else:
            pdf.ln(5)
    path.write_bytes(bytes(pdf.output()))
    return path
