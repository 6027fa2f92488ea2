"""附件一 / 附件二: the full texts of the policies, each under a numbered heading and a
metadata block (发布部门 / 文号 / 发布日期 / 成文日期)."""
from __future__ import annotations

import re

from indexer.report.model import PolicyDraft
from indexer.report.sections import DOC_HEADING_RE
from indexer.text import Line, clean_spaces, join_paragraphs

FIELD_RE = re.compile(r"^\s*(发布部门|文号|发布日期|成文日期)\s*[：:]\s*(.*)$")


def parse_appendix(lines: list[Line], level: str) -> list[PolicyDraft]:
    """Split an appendix into documents. A heading `N.标题` counts only when it carries the
    next expected number and a metadata block (发布部门 / 文号 / …) follows within a few lines,
    so numbered lines inside a document's body are never taken for headings."""
    starts: list[tuple[int, int, int]] = []  # (line index, seq, index of first metadata line)
    expected = 1
    for i, ln in enumerate(lines):
        if ln.kind != "text":
            continue
        m = DOC_HEADING_RE.match(ln.text)
        if not m or int(m.group(1)) != expected:
            continue
        meta_at = _metadata_follows(lines, i + 1)
        if meta_at is None:
            continue
        starts.append((i, expected, meta_at))
        expected += 1
    docs = []
    for n, (i, seq, meta_at) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(lines)
        docs.append(parse_document(lines[i:end], seq, level, meta_at - i))
    return docs


def _metadata_follows(lines: list[Line], start: int, window: int = 6) -> int | None:
    seen = 0
    for j in range(start, min(len(lines), start + 40)):
        ln = lines[j]
        if ln.kind != "text":
            continue
        if FIELD_RE.match(ln.text):
            return j
        seen += 1
        if seen >= window or DOC_HEADING_RE.match(ln.text):
            return None
    return None


def parse_document(lines: list[Line], seq: int, level: str, meta_offset: int) -> PolicyDraft:
    heading = DOC_HEADING_RE.match(lines[0].text)
    title_parts = [heading.group(2)]
    for ln in lines[1:meta_offset]:
        if ln.kind == "text":
            title_parts.append(ln.text)
    title = clean_spaces("".join(title_parts))
    # a bracketed mark before the title (【解读】) labels the entry, it is not part of the title
    labels = re.findall(r"^【([^】]{1,6})】", title)
    title = re.sub(r"^【[^】]{1,6}】\s*", "", title)

    fields: dict[str, list[str]] = {}
    current = None
    body_start = meta_offset
    for j in range(meta_offset, len(lines)):
        ln = lines[j]
        if ln.kind != "text":
            continue
        m = FIELD_RE.match(ln.text)
        if m:
            current = m.group(1)
            fields.setdefault(current, []).append(m.group(2).strip())
            body_start = j + 1
            continue
        # a wrapped 发布部门 continues until the next label; other fields are one line
        if current == "发布部门" and _more_fields_ahead(lines, j) and not _is_addressee(ln.text):
            fields[current].append(ln.text)
            body_start = j + 1
            continue
        if len(fields) >= 4 or not _more_fields_ahead(lines, j):
            break
        body_start = j + 1
    body_lines = lines[body_start:]
    paragraphs = join_paragraphs(body_lines)

    record = {
        "kind": "policy",
        "level": level,
        "seq": seq,
        "title": title,
        "labels": labels,
        "text": "\n".join(paragraphs),
    }
    return PolicyDraft(
        record,
        first_line=lines[0].no,
        last_line=max((ln.no for ln in lines if ln.kind == "text"), default=lines[0].no),
        fields={k: " ".join(v).strip() for k, v in fields.items()},
        body_field_lines=fields.get("发布部门", []),
        body_lines=body_lines,
    )


def _more_fields_ahead(lines: list[Line], j: int, window: int = 4) -> bool:
    seen = 0
    for k in range(j + 1, len(lines)):
        if lines[k].kind != "text":
            continue
        if FIELD_RE.match(lines[k].text):
            return True
        seen += 1
        if seen >= window:
            return False
    return False


def _is_addressee(text: str) -> bool:
    return text.rstrip().endswith(("：", ":"))
