"""Report text → records.

A monthly report holds: 1.1 highlights, 1.2 activity bullets, 2.1 / 2.2 tables of central
and local policies (分类, 发布日期, 机构, 标题, 主要内容), 2.3 a table of activities, 3.1
interpretations, and the full texts of the policies in 附件一 (central) and 附件二 (local).
Every rule here is a pattern or a cross-check between fields, never a document's number.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from indexer import normalize as nz
from indexer.text import (
    Line,
    classify_lines,
    clean_spaces,
    display_width,
    join_paragraphs,
)

FIELD_LABELS = {"发布部门": "bodies", "文号": "doc_number", "发布日期": "publish_date", "成文日期": "written_date"}
FIELD_RE = re.compile(r"^\s*(发布部门|文号|发布日期|成文日期)\s*[：:]\s*(.*)$")
DOC_HEADING_RE = re.compile(r"^\s*(\d{1,3})\s*[.．、]\s*(\S.*)$")
TOC_RE = re.compile(r"(\.{6,}|…{3,})\s*\d*\s*$")

SECTION_PATTERNS = {
    "activities_bullets": re.compile(r"^\s*1\s*[.．]\s*2\s*本月.*活动"),
    "summary": re.compile(r"^\s*1\s*[.．]\s*3\s*本月小结"),
    "central_table": re.compile(r"^\s*2\s*[.．]\s*1\s*本月.*中央.*一览表"),
    "local_table": re.compile(r"^\s*2\s*[.．]\s*2\s*本月.*地方.*一览表"),
    "activity_table": re.compile(r"^\s*2\s*[.．]\s*3\s*本月.*活动"),
    "interpretations": re.compile(r"^\s*3\s*[.．]\s*1\s*本月.*解读"),
    "central_appendix": re.compile(r"^\s*附件[一1]\s*[：:]\s*中央政策原文"),
    "local_appendix": re.compile(r"^\s*附件[二2]\s*[：:]\s*地方政策原文"),
}
SECTION_ORDER = list(SECTION_PATTERNS)

TABLE_HEADER_WORDS = ("分类", "发布日期", "发布机构", "文件标题", "主要内容", "关键内容", "机构", "标题", "日期", "发 布")
TABLE_DATE_RE = re.compile(r"^(\d{4})-(?:(\d{1,2})-(\d{1,2}))?$")
CATEGORY_LINE_RE = re.compile(r"^[/／\u4e00-\u9fff]{1,6}$")


class ReportError(ValueError):
    """A report that cannot be parsed at all (empty, not a report)."""


@dataclass
class ParsedReport:
    source_name: str
    records: list[dict] = field(default_factory=list)
    anomalies: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    report_month: str | None = None


# --------------------------------------------------------------------------- entry point

def parse_report(text: str, source_name: str) -> ParsedReport:
    if not text or not text.strip():
        raise ReportError(f"{source_name}: the report is empty")
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    lines = classify_lines(text)
    sections = find_sections(lines)
    result = ParsedReport(source_name)
    if "central_appendix" not in sections and "local_appendix" not in sections:
        raise ReportError(f"{source_name}: no 附件 of policy texts found; is this a monthly policy report?")

    policies: list[dict] = []
    for level, key in (("central", "central_appendix"), ("local", "local_appendix")):
        if key in sections:
            start, end = sections[key]
            policies += parse_appendix(lines[start:end], level, result)

    month = report_month(policies, text)
    result.report_month = month
    for p in policies:
        p["id"] = f"{month}-{p['level'][0]}{p['seq']:02d}"

    rows: list[dict] = []
    for level, key in (("central", "central_table"), ("local", "local_table")):
        if key in sections:
            start, end = sections[key]
            rows += [dict(r, level=level) for r in parse_policy_table(lines[start:end])]
    merge_table_rows(policies, rows, result)
    assign_appendix_urls(lines, sections, policies)
    own_sites = publisher_domains(lines)
    for p in policies:
        p["source"] = {"report": source_name, "first_line": p.pop("_first"), "last_line": p.pop("_last")}
        p["source_urls"] = [u for u in p["source_urls"] if not _host(u).endswith(own_sites)]
    finish_policies(policies, result)

    activities = []
    if "activity_table" in sections:
        start, end = sections["activity_table"]
        activities = parse_activity_table(lines[start:end])
    if "activities_bullets" in sections:
        start, end = sections["activities_bullets"]
        activities = merge_activity_bullets(activities, parse_bullets(lines[start:end]))
    for i, act in enumerate(activities, 1):
        act["id"] = f"{month}-act{i:02d}"
        act["source"] = {"report": source_name, "first_line": act.pop("_first"), "last_line": act.pop("_last")}

    interpretations = []
    if "interpretations" in sections:
        start, end = sections["interpretations"]
        interpretations = parse_interpretations(lines[start:end], policies, result)
    for i, it in enumerate(interpretations, 1):
        it["id"] = f"{month}-int{i}"
        it["source"] = {"report": source_name, "first_line": it.pop("_first"), "last_line": it.pop("_last")}

    expected = _toc_counts(lines, sections)
    for level, count in expected.items():
        got = sum(1 for p in policies if p["level"] == level)
        if got < count:
            result.warnings.append(
                f"{source_name}: the contents list {count} {level} documents but only {got} were found "
                "(report cut off?)"
            )
    result.records = policies + activities + interpretations
    return result


def publisher_domains(lines: list[Line]) -> tuple[str, ...]:
    """The report publisher's own site, named in its running header: links to it are
    placeholders, not sources."""
    found = set()
    for ln in lines:
        if ln.kind == "header":
            m = re.search(r"(?:www\.)?([a-z0-9-]+\.[a-z.]+)", ln.text)
            if m:
                found.add(m.group(1))
    return tuple(sorted(found)) or ("\x00",)


def report_month(policies: list[dict], text: str) -> str:
    """YYYY-MM of the report: the most common publish month of its policies."""
    months: dict[str, int] = {}
    for p in policies:
        date = nz.parse_date(p["_raw_fields"].get("发布日期"))
        if date:
            m = date[:7]
            months[m] = months.get(m, 0) + 1
    if months:
        return max(months.items(), key=lambda kv: (kv[1], kv[0]))[0]
    return "r" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]


# --------------------------------------------------------------------------- sections

def find_sections(lines: list[Line]) -> dict[str, tuple[int, int]]:
    """Index ranges of the report's sections, found by their headings (not the contents list)."""
    starts: dict[str, int] = {}
    for i, ln in enumerate(lines):
        if ln.kind != "text" or TOC_RE.search(ln.text):
            continue
        for key, pattern in SECTION_PATTERNS.items():
            if key not in starts and pattern.match(ln.text):
                starts[key] = i
    ordered = sorted(starts.items(), key=lambda kv: kv[1])
    sections = {}
    for n, (key, start) in enumerate(ordered):
        end = ordered[n + 1][1] if n + 1 < len(ordered) else len(lines)
        sections[key] = (start + 1, end)
    return sections


def _toc_counts(lines: list[Line], sections: dict) -> dict[str, int]:
    """How many documents the contents list announces for each appendix."""
    counts = {"central": 0, "local": 0}
    level = None
    first_section = min((s for s, _ in sections.values()), default=len(lines))
    for ln in lines[:first_section]:
        if "附件一" in ln.text or "中央政策原文" in ln.text:
            level = "central"
        elif "附件二" in ln.text or "地方政策原文" in ln.text:
            level = "local"
        elif level and TOC_RE.search(ln.text):
            m = DOC_HEADING_RE.match(ln.text)
            if m:
                counts[level] = max(counts[level], int(m.group(1)))
    return {k: v for k, v in counts.items() if v}


# --------------------------------------------------------------------------- appendices

def parse_appendix(lines: list[Line], level: str, result: ParsedReport) -> list[dict]:
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
        docs.append(parse_document(lines[i:end], seq, level, meta_at - i, result))
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


def parse_document(lines: list[Line], seq: int, level: str, meta_offset: int, result: ParsedReport) -> dict:
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

    doc = {
        "kind": "policy",
        "level": level,
        "seq": seq,
        "title": title,
        "labels": labels,
        "_raw_fields": {k: " ".join(v).strip() for k, v in fields.items()},
        "_raw_body_lines": [" ".join(v) for k, v in fields.items() if k == "发布部门"],
        "_body_field_lines": fields.get("发布部门", []),
        "_lines": body_lines,
        "text": "\n".join(paragraphs),
        "_first": lines[0].no,
        "_last": max((ln.no for ln in lines if ln.kind == "text"), default=lines[0].no),
    }
    return doc


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


# --------------------------------------------------------------------------- policy metadata

def finish_policies(policies: list[dict], result: ParsedReport) -> None:
    """Turn the raw metadata fields into normalised ones, catching the source's errors."""
    printed_numbers: dict[str, list[dict]] = {}
    for p in policies:
        raw = p.pop("_raw_fields")
        body_lines = p.pop("_body_field_lines")
        p.pop("_raw_body_lines", None)
        lines = p.pop("_lines")
        label = f"{p['level']} #{p['seq']}"

        bodies_value = nz.join_body_lines(body_lines)
        doc_number_field = raw.get("文号", "")
        doc_number = nz.normalize_doc_number(doc_number_field)
        if doc_number_field and not doc_number:
            _anomaly(result, p, "doc_number", f"{label}: 文号 field '{doc_number_field}' is not a 文号", "left empty")
        if "文号" in raw and not doc_number_field:
            _anomaly(result, p, "doc_number", f"{label}: 文号 field is empty", "doc_number left null")
        # A 文号 printed in the 发布部门 field: keep it as a candidate, take the issuer elsewhere.
        number_in_bodies = nz.normalize_doc_number(bodies_value) if nz.looks_like_doc_number(bodies_value) else None
        signature = find_signature(lines, raw.get("成文日期"))
        if number_in_bodies:
            bodies = signature or p.get("_table_bodies") or []
            source = "the signature" if signature else "the policy table"
            _anomaly(
                result, p, "bodies",
                f"{label}: 发布部门 holds a 文号 ({number_in_bodies})",
                f"issuer taken from {source}: {'、'.join(bodies) or '(none found)'}",
            )
            p["_number_in_bodies"] = number_in_bodies
        else:
            bodies = nz.split_bodies(bodies_value)
        if not bodies and p.get("_table_bodies"):
            bodies = p["_table_bodies"]
            _anomaly(result, p, "bodies", f"{label}: 发布部门 is empty", f"taken from the policy table: {'、'.join(bodies)}")
        p["bodies"] = bodies
        p["doc_number"] = doc_number
        p["publish_date"] = nz.parse_date(raw.get("发布日期")) or p.get("_table_date")
        p["written_date"] = nz.parse_date(raw.get("成文日期"))
        if not raw.get("发布日期") and p.get("_table_date"):
            _anomaly(result, p, "publish_date", f"{label}: no 发布日期", f"taken from the policy table: {p['_table_date']}")
        p["_signature"] = signature
        if doc_number:
            printed_numbers.setdefault(doc_number, []).append(p)

    # One 文号 printed for several documents: keep it only where its agency code fits the
    # issuer; a document with a better candidate (a 文号 in its 发布部门 field) takes that.
    for number, docs in printed_numbers.items():
        if len(docs) < 2:
            continue
        labels = ", ".join(f"{d['level']} #{d['seq']}" for d in docs)
        for d in docs:
            better = d.get("_number_in_bodies")
            if better:
                d["doc_number"] = better
                resolution = f"文号 taken from the 发布部门 field: {better}"
            else:
                resolution = "kept, flagged as doubtful"
                d.setdefault("flags", []).append(f"文号 {number} is printed for {len(docs)} documents")
            _anomaly(result, d, "doc_number", f"{d['level']} #{d['seq']}: 文号 {number} is printed for {len(docs)} documents ({labels})", resolution)
    for p in policies:
        if not p["doc_number"] and p.get("_number_in_bodies"):
            p["doc_number"] = p["_number_in_bodies"]

    for p in policies:
        label = f"{p['level']} #{p['seq']}"
        p["doc_number_parts"] = nz.doc_number_parts(p["doc_number"])
        if p["level"] == "local":
            region, city, how = infer_place(p)
            p["region"], p["city"] = region, city
            if how:
                _anomaly(result, p, "region", f"{label}: 发布部门 names no region ({'、'.join(p['bodies'])})", how)
            if not region:
                _anomaly(result, p, "region", f"{label}: region could not be inferred", "left empty")
            p["bodies"] = [fix_body_spelling(b, region, city, p, result) for b in p["bodies"]]
        else:
            p["region"], p["city"] = None, None
        p["bodies_canonical"] = _unique(nz.canonical_body(b, p["region"], p["city"]) for b in p["bodies"])
        completed = complete_title(p["title"], p["text"])
        if completed != p["title"]:
            _anomaly(result, p, "title", f"{label}: title cut short in the source: {p['title']}",
                     f"completed from the document's own text: {completed}")
            p["title"] = completed
        p["doc_type"] = nz.doc_type_from_title(p["title"])
        p.setdefault("categories", [])
        p.setdefault("summary", None)
        p.setdefault("source_urls", [])
        p.setdefault("flags", [])
        for key in [k for k in p if k.startswith("_")]:
            p.pop(key)
    # a stable field order makes exports diffable
    order = ["id", "kind", "level", "seq", "title", "doc_number", "doc_number_parts", "bodies",
             "bodies_canonical", "publish_date", "written_date", "region", "city", "doc_type",
             "categories", "summary", "source_urls", "labels", "flags", "source", "text"]
    for i, p in enumerate(policies):
        policies[i] = {k: p.get(k) for k in order}


def complete_title(title: str, text: str) -> str:
    """A notice that issues a document is titled 关于印发《X》的通知; when the printed title
    stops before 的通知, X is looked up as a 《…》 name in the notice's own text."""
    m = re.match(r"^(.*?(?:印发|转发))《?(.+?)》?$", title or "")
    if not m or title.endswith("通知"):
        return title
    head, inner = m.group(1), m.group(2)
    for name in re.findall(r"《([^《》]{4,120})》", text[:3000]):
        if name.replace(" ", "").startswith(inner.replace(" ", "")):
            return f"{head}{name}的通知"
    return f"{head}{inner}的通知"


def _unique(items) -> list:
    out = []
    for item in items:
        if item and item not in out:
            out.append(item)
    return out


def _anomaly(result: ParsedReport, record: dict, field_name: str, problem: str, resolution: str) -> None:
    result.anomalies.append(
        {"record": f"{record['level']} #{record['seq']}", "field": field_name, "problem": problem, "resolution": resolution}
    )


def find_signature(lines: list[Line], written: str | None) -> list[str]:
    """The issuing bodies signed above the 成文日期 at the end of a cover notice."""
    target = nz.parse_date(written) if written else None
    text_lines = [ln for ln in lines if ln.kind == "text"]
    for k, ln in enumerate(text_lines):
        date = nz.parse_date(ln.text) if len(ln.text) <= 16 else None
        if not date or (target and date != target):
            continue
        names = []
        for prev in reversed(text_lines[max(0, k - 12):k]):
            name = prev.text.strip()
            if not nz.is_known_body(name) or len(name) > 30:
                break
            names.insert(0, name)
        if names:
            return names
    return []


def infer_place(p: dict) -> tuple[str | None, str | None, str | None]:
    """(region, city, how) of a local document: from its bodies, else its 文号 prefix, its
    title or its signature. `how` explains an inference the 发布部门 field did not state."""
    bodies = p["bodies"]
    for body in bodies:
        place = nz.place_at_start(body)
        if place:
            return place.province, (place.name if place.is_city else None), None
    candidates = [
        ("文号 prefix", nz.region_from_doc_number(p.get("doc_number"))),
        ("title", (nz.places_in(p.get("title", "")) or [None])[0]),
        ("signature", next((nz.place_at_start(s) for s in p.get("_signature", []) if nz.place_at_start(s)), None)),
    ]
    for how, place in candidates:
        if place:
            return place.province, (place.name if place.is_city else None), f"region {place.province} inferred from the {how}"
    return None, None, None


def fix_body_spelling(body: str, region: str | None, city: str | None, p: dict, result: ParsedReport) -> str:
    """A body whose region prefix lost a character (津市人民政府办公厅 for 天津市…)."""
    if not region or nz.place_at_start(body):
        return body
    for name in filter(None, (city, region)):
        # the printed name is a proper suffix of the full place name followed by the agency
        for cut in range(1, len(name)):
            tail = name[cut:]
            if len(tail) >= 2 and body.startswith(tail) and not body.startswith(("省", "市", "自治区")):
                fixed = name + body[len(tail):]
                _anomaly(result, p, "bodies", f"{p['level']} #{p['seq']}: misspelt body '{body}'", f"corrected to {fixed}")
                return fixed
    return body


# --------------------------------------------------------------------------- policy tables

def parse_policy_table(lines: list[Line]) -> list[dict]:
    """Rows of a flattened 2.1 / 2.2 table. Each row is anchored on its 发布日期 cell; the
    category cell is the run of short tag lines just before it (or the text before the date
    on the same line); after the date come the narrow 机构 lines, the wider 标题 lines, then
    the 主要内容 lines. The URLs dumped at the end of each page are the title cells' links."""
    items = [ln for ln in lines if ln.kind in ("text", "url")]
    items = [ln for ln in items if not _is_table_header(ln.text)]
    dates = _table_dates(items)
    width = _category_width(items, dates)
    cat_starts = []
    for start, _, _, inline_cat in dates:
        c = start
        if not inline_cat:
            while c - 1 >= 0 and _is_category_line(items[c - 1], width):
                c -= 1
            # a wrapped cell fills its first line: a shorter first line is the tail of
            # the cell above spilling over the page break
            while c < start - 1 and display_width(items[c].text) < max(
                    display_width(ln.text) for ln in items[c + 1:start]) - 1:
                c += 1
        cat_starts.append(c)
    rows: list[dict] = []
    for n, (start, date_end, date, inline_cat) in enumerate(dates):
        end = cat_starts[n + 1] if n + 1 < len(dates) else len(items)
        cat_lines = [ln.text.replace(" ", "") for ln in items[cat_starts[n]:start]]
        if inline_cat:
            cat_lines = [inline_cat]
        cells = items[date_end + 1:end]
        text_cells = [ln for ln in cells if ln.kind == "text"]
        body_lines, title_lines, summary_lines = _split_row_cells(text_cells)
        rows.append({
            "date": date,
            "categories": split_categories(cat_lines, width),
            "bodies_text": clean_spaces(" ".join(ln.text for ln in body_lines)),
            "title": clean_spaces("".join(ln.text for ln in title_lines)),
            "title_line_count": len(title_lines),
            "summary": "\n".join(join_paragraphs(summary_lines)) if summary_lines else None,
            "first_line": items[cat_starts[n]].no,
            "last_line": items[end - 1].no if end - 1 < len(items) else items[-1].no,
        })
    _assign_table_urls(items, rows, [d[0] for d in dates])
    return rows


_INLINE_DATE_RE = re.compile(r"^(?P<cat>.*?)\s*(?P<y>\d{4})\s*[-/]\s*(?P<m>\d{1,2})\s*[-/]\s*(?P<d>\d{1,2})$")
_SPLIT_DATE_HEAD_RE = re.compile(r"^(?P<cat>.*?)\s*(?P<y>\d{4})\s*[-/]$")
_SPLIT_DATE_TAIL_RE = re.compile(r"^(?P<m>\d{1,2})\s*[-/]\s*(?P<d>\d{1,2})$")


def _table_dates(items: list[Line]) -> list[tuple[int, int, str, str]]:
    """(first item, last item, ISO date, category text on the same line) of each date cell:
    2021-12-03, 2021- / 12-03, 2021/ / 12/29, or '外贸 2021-12-09'."""
    out = []
    k = 0
    while k < len(items):
        ln = items[k]
        if ln.kind == "text" and len(ln.text) <= 24:
            m = _INLINE_DATE_RE.match(ln.text)
            if m and len(m.group("cat")) <= 12:
                out.append((k, k, _iso(m), clean_spaces(m.group("cat"))))
                k += 1
                continue
            m = _SPLIT_DATE_HEAD_RE.match(ln.text)
            if m and len(m.group("cat")) <= 12 and k + 1 < len(items):
                m2 = _SPLIT_DATE_TAIL_RE.match(items[k + 1].text)
                if m2:
                    out.append((k, k + 1, f"{m.group('y')}-{int(m2.group('m')):02d}-{int(m2.group('d')):02d}",
                                clean_spaces(m.group("cat"))))
                    k += 2
                    continue
        k += 1
    return out


def _iso(m: re.Match) -> str:
    return f"{m.group('y')}-{int(m.group('m')):02d}-{int(m.group('d')):02d}"


def _cjk_len(text: str) -> int:
    return len(re.sub(r"[/／\s]", "", text))


def _is_category_line(ln: Line, width: int) -> bool:
    return (ln.kind == "text" and " " not in ln.text.strip() and bool(CATEGORY_LINE_RE.match(ln.text.strip()))
            and _cjk_len(ln.text) <= width)


def _category_width(items: list[Line], dates) -> int:
    """The 分类 column's width in characters: the commonest length of the first line of a
    category cell, found with a permissive first pass."""
    firsts = []
    for start, _, _, inline_cat in dates:
        if inline_cat:
            continue
        c = start
        while c - 1 >= 0 and _is_category_line(items[c - 1], 6):
            c -= 1
        if c < start:
            firsts.append(_cjk_len(items[c].text))
    if not firsts:
        return 4
    return max(set(firsts), key=lambda w: (firsts.count(w), -w))


def _is_table_header(text: str) -> bool:
    t = text.replace(" ", "")
    if t in ("分类", "发布", "日期", "序号"):
        return True
    words = sum(1 for w in TABLE_HEADER_WORDS if w.replace(" ", "") in t)
    return words >= 2 and len(t) <= 30


def split_categories(cat_lines: list[str], width: int = 4) -> list[str]:
    """The 分类 cell: tags separated by '/', or, in a column two characters wide, stacked
    one per line ('生态' / '金融'). In a wider column a tag wrapped over lines
    ('财政金' / '融') is rejoined."""
    cat_lines = [clean_spaces(c) for c in cat_lines if c]
    joined = "".join(cat_lines)
    if "/" in joined or "／" in joined:
        return [t for t in re.split(r"[/／]", joined) if t]
    if width <= 2 and len(cat_lines) > 1:
        return cat_lines
    return [joined] if joined else []


def _split_row_cells(cells: list[Line]) -> tuple[list[Line], list[Line], list[Line]]:
    """机构 lines are the narrow column (at most 5 characters), 标题 lines the middle one,
    主要内容 lines the wide one."""
    k = 0
    while k < len(cells) and _narrow(cells[k].text, 10):
        k += 1
    body = cells[:k]
    j = k
    while j < len(cells) and _narrow(cells[j].text, 24):
        j += 1
    return body, cells[k:j], cells[j:]


def _narrow(text: str, width: int) -> bool:
    return display_width(text.replace(" ", "")) <= width


def _assign_table_urls(items: list[Line], rows: list[dict], dates) -> None:
    """Match the URLs dumped after each page to that page's rows: the links come in row
    order, one per line of the title cell; a run of equal URLs is one row's link."""
    # pages: split items at URL runs
    row_at = {d: i for i, d in enumerate(dates)}
    pending: list[int] = []  # rows whose title started on the current page
    current_row = None
    k = 0
    while k < len(items):
        ln = items[k]
        if k in row_at:
            current_row = row_at[k]
            pending.append(current_row)
        if ln.kind == "url":
            run = []
            while k < len(items) and items[k].kind == "url":
                run.append(items[k].text)
                k += 1
            groups = _url_groups(run)
            _match_groups(groups, pending, rows)
            pending = [current_row] if current_row is not None and not rows[current_row].get("source_urls") else []
            # a row continuing on the next page keeps its place only if it has no link yet
            continue
        k += 1
    for r in rows:
        r.pop("_page_urls", None)
        r.setdefault("source_urls", [])


def _url_groups(run: list[str]) -> list[tuple[str, int]]:
    groups: list[tuple[str, int]] = []
    for url in run:
        if groups and groups[-1][0] == url:
            groups[-1] = (url, groups[-1][1] + 1)
        else:
            groups.append((url, 1))
    return groups


def _match_groups(groups: list[tuple[str, int]], pending: list[int], rows: list[dict]) -> None:
    candidates = [i for i in pending if not rows[i].get("source_urls")]
    if not groups or not candidates:
        return
    if len(groups) == len(candidates):
        for (url, _), i in zip(groups, candidates):
            rows[i]["source_urls"] = [url]
        return
    # fewer links than rows: align by the count of title lines, in order
    g = 0
    for i in candidates:
        if g >= len(groups):
            break
        url, count = groups[g]
        if count == rows[i]["title_line_count"] or len(groups) - g >= len(candidates) - candidates.index(i):
            rows[i]["source_urls"] = [url]
            g += 1


def best_pairs(scored: list[tuple[float, int, int]]) -> list[tuple[int, int]]:
    """One-to-one matching from (score, left, right) candidates, best pairs first."""
    used_left, used_right, pairs = set(), set(), []
    for _, left, right in sorted(scored, reverse=True):
        if left in used_left or right in used_right:
            continue
        used_left.add(left)
        used_right.add(right)
        pairs.append((left, right))
    return pairs


def _norm_title(title: str) -> str:
    return re.sub(r"[\s《》“”\"'、，,（）()【】\[\]]", "", title or "").replace("解读", "")


def merge_table_rows(policies: list[dict], rows: list[dict], result: ParsedReport) -> None:
    """Every table row describes an appendix document: copy its categories, summary, link
    and date onto that document. Rows are matched on title (the table prefixes the issuer),
    date and issuer, best pairs first."""
    scored = []
    for r_i, row in enumerate(rows):
        for p_i, p in enumerate(policies):
            if p["level"] != row["level"]:
                continue
            s = _row_match_score(row, p)
            if s > 0.5:
                scored.append((s, r_i, p_i))
    used_rows = set()
    for r_i, p_i in best_pairs(scored):
        used_rows.add(r_i)
        row, p = rows[r_i], policies[p_i]
        p["categories"] = row["categories"]
        p["summary"] = row["summary"]
        p["_table_urls"] = row["source_urls"]
        p["_table_date"] = row["date"]
        p["_table_bodies"] = nz.split_bodies(row["bodies_text"])
        p["_table_title_full"] = row["title"]
        p["_table_lines"] = (row["first_line"], row["last_line"])
        p["_row_merged"] = True
    for r_i, row in enumerate(rows):
        if r_i not in used_rows:
            result.warnings.append(f"table row '{row['title']}' ({row['date']}) matches no appendix document")
            result.anomalies.append({"record": f"table {row['level']}", "field": "table_row",
                                     "problem": f"row '{row['title']}' matches no appendix document", "resolution": "dropped"})
    result.table_rows_merged = len(used_rows)  # type: ignore[attr-defined]
    result.table_rows_total = len(rows)  # type: ignore[attr-defined]


def _row_match_score(row: dict, p: dict) -> float:
    rt, pt = _norm_title(row["title"]), _norm_title(p["title"])
    if not rt or not pt:
        return 0.0
    inner_p = re.sub(r"^关于(印发|联合印发|转发)?", "", pt)
    if pt in rt or inner_p in rt:
        title_score = 1.0
    else:
        title_score = SequenceMatcher(None, rt[-len(pt) - 4:], pt).ratio()
    score = title_score
    raw = p.get("_raw_fields", {})
    if nz.parse_date(raw.get("发布日期")) == row["date"]:
        score += 0.3
    bodies_text = re.sub(r"\s+", "", row["bodies_text"] + row["title"])
    printed = re.sub(r"\s+", "", raw.get("发布部门", ""))
    if printed and (printed[:4] in bodies_text):
        score += 0.2
    place = nz.places_in(row["title"] + row["bodies_text"])
    if place and p["level"] == "local":
        p_places = nz.places_in(p["title"] + raw.get("发布部门", "") + p.get("text", "")[-400:])
        if p_places and place[0].province in {pl.province for pl in p_places}:
            score += 0.2
    return score


def assign_appendix_urls(lines: list[Line], sections: dict, policies: list[dict]) -> None:
    """Links dumped at the end of an appendix page belong to the documents on that page, in
    order. Each URL goes to the page's document it fits best (its region's or agency's
    domain, its date in the path), keeping page order."""
    by_line = sorted(policies, key=lambda p: p["_first"])
    spans = [(p["_first"], p["_last"], p) for p in by_line]
    ranges = [sections[k] for k in ("central_appendix", "local_appendix") if k in sections]
    # the appendices run on from one to the other, sharing a page
    for start, end in ([(min(r[0] for r in ranges), max(r[1] for r in ranges))] if ranges else []):
        page_docs: list[dict] = []
        k = start
        while k < end:
            ln = lines[k]
            if ln.kind == "text":
                doc = _doc_at(spans, ln.no)
                if doc is not None and (not page_docs or page_docs[-1] is not doc):
                    page_docs.append(doc)
            elif ln.kind == "url":
                run = []
                while k < end and lines[k].kind in ("url",):
                    run.append(lines[k].text)
                    k += 1
                _assign_page_urls(run, page_docs)
                page_docs = page_docs[-1:]
                continue
            k += 1
    for p in policies:
        urls = list(p.pop("_table_urls", []) or [])
        for u in p.pop("_appendix_urls", []):
            if u not in urls:
                urls.append(u)
        p["source_urls"] = urls


def _doc_at(spans, line_no):
    for first, last, p in spans:
        if first <= line_no <= last:
            return p
    return None


def _assign_page_urls(urls: list[str], docs: list[dict]) -> None:
    if not docs:
        return
    unique = []
    for u in urls:
        if u not in unique:
            unique.append(u)
    if len(docs) == 1:
        for u in unique:
            docs[0].setdefault("_appendix_urls", []).append(u)
        return
    # monotone alignment maximising the fit of each URL to its document
    n, m = len(unique), len(docs)
    best = [[float("-inf")] * m for _ in range(n + 1)]
    back = [[0] * m for _ in range(n + 1)]
    for j in range(m):
        best[0][j] = 0.0
    for i in range(1, n + 1):
        for j in range(m):
            prev = max(range(j + 1), key=lambda q: best[i - 1][q])
            best[i][j] = best[i - 1][prev] + _url_fit(unique[i - 1], docs[j])
            back[i][j] = prev
    j = max(range(m), key=lambda q: best[n][q])
    assignment = [0] * n
    for i in range(n, 0, -1):
        assignment[i - 1] = j
        j = back[i][j]
    for u, j in zip(unique, assignment):
        docs[j].setdefault("_appendix_urls", []).append(u)


def _url_fit(url: str, doc: dict) -> float:
    """How well a dumped URL fits a document: its table link, the same site, the same
    long id in the path, its publish date in the path; central documents live on national
    sites, local ones rarely do."""
    score = 0.0
    host = _host(url)
    table_urls = doc.get("_table_urls") or []
    if url in table_urls:
        score += 3
    if any(host == _host(t) for t in table_urls):
        score += 1.5
    ids = _url_ids(url)
    if ids and any(ids & _url_ids(t) for t in table_urls):
        score += 2
    # an attachment usually sits in the folder of its document's page
    if any(_folder(url) == _folder(t) for t in table_urls):
        score += 1
    date = nz.parse_date((doc.get("_raw_fields") or {}).get("发布日期")) or doc.get("_table_date")
    if date:
        y, m, d = (int(x) for x in date.split("-"))
        day = rf"{y}[-/]0?{m}[-/]0?{d}(?!\d)"
        # publishing systems stamp the day into file names (P020211203339032312311.pdf)
        if re.search(day, url) or f"{y}{m:02d}{d:02d}" in url:
            score += 1
        elif re.search(rf"{y}[-/]?0?{m}(?!\d)", url):
            score += 0.3
    national = host in ("www.gov.cn", "gov.cn") or host.count(".") == 2 and not _is_local_host(host)
    if doc["level"] == "central" and national:
        score += 0.3
    if doc["level"] == "local" and host in ("www.gov.cn", "gov.cn"):
        score -= 0.5
    return score


def _url_ids(url: str) -> set[str]:
    """Long numbers that name one page; month folders and bare dates (202112, 20211215)
    are shared by every document of that month."""
    return {x for x in re.findall(r"\d{7,}", url) if not re.fullmatch(r"(?:19|20)\d{6}", x)}


def _folder(url: str) -> str:
    return re.sub(r"^https?://", "", url).split("?")[0].rsplit("/", 1)[0].lower()


def _host(url: str) -> str:
    return re.sub(r"^https?://", "", url).split("/")[0].lower()


def _is_local_host(host: str) -> bool:
    return bool(re.search(r"\.(bj|tj|he|sx|nm|ln|jl|hlj|sh|js|zj|ah|fj|jx|sd|ha|hb|hn|gd|gx|hi|cq|sc|gz|yn|xz|sn|gs|qh|nx|xj)\.gov\.cn$", host))


# --------------------------------------------------------------------------- activities

ACTIVITY_ROW_RE = re.compile(r"^(\d{1,3})\s+((?:19|20)\d{2}/\d{1,2}/\d{1,2})$")
BULLET_RE = re.compile(r"^[\uf06c\uf0b7\u2022\u25cf\u25aa\u25a0\u00b7●■◆▪]\s*")


def parse_activity_table(lines: list[Line]) -> list[dict]:
    items = [ln for ln in lines if ln.kind == "text" and not _is_table_header(ln.text)]
    starts = [k for k, ln in enumerate(items) if ACTIVITY_ROW_RE.match(ln.text)]
    out = []
    for n, k in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(items)
        m = ACTIVITY_ROW_RE.match(items[k].text)
        cells = items[k + 1:end]
        name_lines = []
        j = 0
        while j < len(cells) and _narrow(cells[j].text, 12) and not cells[j].text.endswith("。"):
            name_lines.append(cells[j].text)
            j += 1
        summary = [c.text for c in cells[j:]]
        out.append({
            "kind": "activity",
            "title": clean_spaces("".join(name_lines)),
            "publish_date": nz.parse_date(m.group(2)),
            "summary": clean_spaces(summary[0]) if summary else None,
            "text": "\n".join(clean_spaces(s) for s in summary),
            "categories": [],
            "_seq": int(m.group(1)),
            "_first": items[k].no,
            "_last": items[end - 1].no,
        })
    return out


def parse_bullets(lines: list[Line]) -> list[dict]:
    """1.2's bullets. The extraction lost the bullet glyph and left its indent: a bullet is
    an indented line after a finished sentence (an indented line mid-sentence is a page start)."""
    bullets: list[dict] = []
    for ln in lines:
        if ln.kind != "text":
            continue
        text = BULLET_RE.sub("", ln.text)
        starts = bool(BULLET_RE.match(ln.text)) or (ln.indented and (not bullets or bullets[-1]["text"].rstrip()[-1:] in "。！？"))
        if starts or not bullets:
            bullets.append({"text": text, "_first": ln.no, "_last": ln.no})
        else:
            bullets[-1]["text"] += text
            bullets[-1]["_last"] = ln.no
    for b in bullets:
        b["text"] = clean_spaces(b["text"])
    return [b for b in bullets if b["text"]]


def merge_activity_bullets(rows: list[dict], bullets: list[dict]) -> list[dict]:
    """A 1.2 bullet retells a table row's activity in a sentence: it becomes that row's
    summary. Pairs are matched on the meeting's name and on the words the bullet shares
    with the row's text, best pairs first; a bullet that matches no row is an activity
    of its own."""
    scored = []
    for b_i, b in enumerate(bullets):
        name, _, rest = b["text"].partition("，")
        grams = _bigrams(rest)
        for r_i, row in enumerate(rows):
            name_sim = SequenceMatcher(None, name, row["title"]).ratio()
            body = _bigrams(row["text"])
            overlap = len(grams & body) / len(grams) if grams else 0.0
            if name_sim >= 0.5 and overlap >= 0.25:
                scored.append((name_sim + 2 * overlap, b_i, r_i))
    used_b = set()
    for b_i, r_i in best_pairs(scored):
        used_b.add(b_i)
        rows[r_i]["summary"] = bullets[b_i]["text"]
    out = list(rows)
    for b_i, b in enumerate(bullets):
        if b_i in used_b:
            continue
        out.append({
            "kind": "activity",
            "title": b["text"].partition("，")[0],
            "publish_date": None,
            "summary": b["text"],
            "text": b["text"],
            "categories": [],
            "_first": b["_first"],
            "_last": b["_last"],
        })
    for row in out:
        row.pop("_seq", None)
    return out


def _bigrams(text: str) -> set[str]:
    text = re.sub(r"[\s，。、；：“”《》（）]", "", text or "")
    return {text[i:i + 2] for i in range(len(text) - 1)}


# --------------------------------------------------------------------------- interpretations

INTERPRETATION_RE = re.compile(r"^\s*政策[一二三四五六七八九十\d]+\s*[：:]\s*(.+)$")


def parse_interpretations(lines: list[Line], policies: list[dict], result: ParsedReport) -> list[dict]:
    items = [ln for ln in lines if ln.kind in ("text", "url")]
    starts = [k for k, ln in enumerate(items) if ln.kind == "text" and INTERPRETATION_RE.match(ln.text)]
    out = []
    for n, k in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(items)
        title = INTERPRETATION_RE.match(items[k].text).group(1)
        body = items[k + 1:end]
        # a heading wrapped onto a second line ends at its closing 》 / 通知
        if body and body[0].kind == "text" and not re.search(r"(通知|》|意见|规划)$", title) and len(body[0].text) < 30:
            title += body[0].text
            body = body[1:]
        urls = []
        for ln in body:
            if ln.kind == "url" and ln.text not in urls:
                urls.append(ln.text)
        paragraphs = join_paragraphs([ln for ln in body if ln.kind == "text"])
        target = _interpreted_policy(title, policies)
        if target is None:
            result.warnings.append(f"interpretation '{title}' matches no appendix document")
        out.append({
            "kind": "interpretation",
            "title": clean_spaces(title),
            "interprets": target["id"] if target else None,
            "publish_date": target.get("publish_date") if target else None,
            "summary": next((q for q in paragraphs if len(q) >= 20 and not re.fullmatch(r"【[^】]*】", q)),
                            paragraphs[0] if paragraphs else None),
            "text": "\n".join(paragraphs),
            "source_urls": urls,
            "categories": [],
            "_first": items[k].no,
            "_last": items[end - 1].no,
        })
    return out


def _interpreted_policy(title: str, policies: list[dict]) -> dict | None:
    t = _norm_title(title)
    best, best_score = None, 0.0
    for p in policies:
        pt = _norm_title(p["title"])
        inner = re.sub(r"^关于(印发)?", "", pt)
        inner = re.sub(r"的通知$", "", inner)
        s = SequenceMatcher(None, t, pt).ratio()
        if inner and inner in t:
            s += 1
        if s > best_score:
            best, best_score = p, s
    return best if best_score >= 0.6 else None
