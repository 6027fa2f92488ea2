"""2.1 / 2.2: the tables of central and local policies (分类, 发布日期, 机构, 标题, 主要内容),
the links dumped after each table page, and the merge of each row onto the appendix document
it describes."""
from __future__ import annotations

import re
from difflib import SequenceMatcher

from indexer import normalize as nz
from indexer.dates import parse_date
from indexer.report.cells import is_table_header, narrow
from indexer.report.matching import best_pairs, norm_title
from indexer.report.model import ParsedReport, PolicyDraft
from indexer.text import Line, clean_spaces, display_width, join_paragraphs

CATEGORY_LINE_RE = re.compile(r"^[/／\u4e00-\u9fff]{1,6}$")


def parse_policy_table(lines: list[Line]) -> list[dict]:
    """Rows of a flattened 2.1 / 2.2 table. Each row is anchored on its 发布日期 cell; the
    category cell is the run of short tag lines just before it (or the text before the date
    on the same line); after the date come the narrow 机构 lines, the wider 标题 lines, then
    the 主要内容 lines. The URLs dumped at the end of each page are the title cells' links."""
    items = [ln for ln in lines if ln.kind in ("text", "url")]
    items = [ln for ln in items if not is_table_header(ln.text)]
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
    while k < len(cells) and narrow(cells[k].text, 10):
        k += 1
    body = cells[:k]
    j = k
    while j < len(cells) and narrow(cells[j].text, 24):
        j += 1
    return body, cells[k:j], cells[j:]


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


def merge_table_rows(policies: list[PolicyDraft], rows: list[dict], result: ParsedReport) -> None:
    """Every table row describes an appendix document: copy its categories, summary, link
    and date onto that document. Rows are matched on title (the table prefixes the issuer),
    date and issuer, best pairs first."""
    scored = []
    for r_i, row in enumerate(rows):
        for p_i, p in enumerate(policies):
            if p.record["level"] != row["level"]:
                continue
            s = _row_match_score(row, p)
            if s > 0.5:
                scored.append((s, r_i, p_i))
    used_rows = set()
    for r_i, p_i in best_pairs(scored):
        used_rows.add(r_i)
        row, p = rows[r_i], policies[p_i]
        p.record["categories"] = row["categories"]
        p.record["summary"] = row["summary"]
        p.table_urls = row["source_urls"]
        p.table_date = row["date"]
        p.table_bodies = nz.split_bodies(row["bodies_text"])
    for r_i, row in enumerate(rows):
        if r_i not in used_rows:
            result.warnings.append(f"table row '{row['title']}' ({row['date']}) matches no appendix document")
            result.anomalies.append({"record": f"table {row['level']}", "field": "table_row",
                                     "problem": f"row '{row['title']}' matches no appendix document", "resolution": "dropped"})
    result.table_rows_merged = len(used_rows)
    result.table_rows_total = len(rows)


def _row_match_score(row: dict, draft: PolicyDraft) -> float:
    p = draft.record
    rt, pt = norm_title(row["title"]), norm_title(p["title"])
    if not rt or not pt:
        return 0.0
    inner_p = re.sub(r"^关于(印发|联合印发|转发)?", "", pt)
    if pt in rt or inner_p in rt:
        title_score = 1.0
    else:
        title_score = SequenceMatcher(None, rt[-len(pt) - 4:], pt).ratio()
    score = title_score
    raw = draft.fields
    if parse_date(raw.get("发布日期")) == row["date"]:
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
