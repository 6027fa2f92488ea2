"""Cells of the report's flattened tables (2.1 to 2.3): the extraction left one cell line per
text line, so a column is recognised by how wide its lines are."""
from __future__ import annotations

from indexer.text import display_width

TABLE_HEADER_WORDS = ("分类", "发布日期", "发布机构", "文件标题", "主要内容", "关键内容", "机构", "标题", "日期", "发 布")


def is_table_header(text: str) -> bool:
    t = text.replace(" ", "")
    if t in ("分类", "发布", "日期", "序号"):
        return True
    words = sum(1 for w in TABLE_HEADER_WORDS if w.replace(" ", "") in t)
    return words >= 2 and len(t) <= 30


def narrow(text: str, width: int) -> bool:
    return display_width(text.replace(" ", "")) <= width
