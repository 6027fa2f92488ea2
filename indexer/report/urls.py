"""Links in a report: the URLs dumped at the end of each appendix page, shared out among the
documents on that page, and the publisher's own site, whose links are placeholders."""
from __future__ import annotations

import re

from indexer.dates import parse_date
from indexer.report.model import PolicyDraft
from indexer.text import Line

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


def assign_appendix_urls(lines: list[Line], sections: dict, policies: list[PolicyDraft]) -> None:
    """Links dumped at the end of an appendix page belong to the documents on that page, in
    order. Each URL goes to the page's document it fits best (its region's or agency's
    domain, its date in the path), keeping page order."""
    by_line = sorted(policies, key=lambda p: p.first_line)
    spans = [(p.first_line, p.last_line, p) for p in by_line]
    ranges = [sections[k] for k in ("central_appendix", "local_appendix") if k in sections]
    # the appendices run on from one to the other, sharing a page
    for start, end in ([(min(r[0] for r in ranges), max(r[1] for r in ranges))] if ranges else []):
        page_docs: list[PolicyDraft] = []
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
        urls = list(p.table_urls or [])
        for u in p.appendix_urls:
            if u not in urls:
                urls.append(u)
        p.record["source_urls"] = urls


def _doc_at(spans, line_no):
    for first, last, p in spans:
        if first <= line_no <= last:
            return p
    return None


def _assign_page_urls(urls: list[str], docs: list[PolicyDraft]) -> None:
    if not docs:
        return
    unique = []
    for u in urls:
        if u not in unique:
            unique.append(u)
    if len(docs) == 1:
        for u in unique:
            docs[0].appendix_urls.append(u)
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
        docs[j].appendix_urls.append(u)


def _url_fit(url: str, doc: PolicyDraft) -> float:
    """How well a dumped URL fits a document: its table link, the same site, the same
    long id in the path, its publish date in the path; central documents live on national
    sites, local ones rarely do."""
    score = 0.0
    host = url_host(url)
    table_urls = doc.table_urls or []
    if url in table_urls:
        score += 3
    if any(host == url_host(t) for t in table_urls):
        score += 1.5
    ids = _url_ids(url)
    if ids and any(ids & _url_ids(t) for t in table_urls):
        score += 2
    # an attachment usually sits in the folder of its document's page
    if any(_folder(url) == _folder(t) for t in table_urls):
        score += 1
    date = parse_date(doc.fields.get("发布日期")) or doc.table_date
    if date:
        y, m, d = (int(x) for x in date.split("-"))
        day = rf"{y}[-/]0?{m}[-/]0?{d}(?!\d)"
        # publishing systems stamp the day into file names (P020211203339032312311.pdf)
        if re.search(day, url) or f"{y}{m:02d}{d:02d}" in url:
            score += 1
        elif re.search(rf"{y}[-/]?0?{m}(?!\d)", url):
            score += 0.3
    national = host in ("www.gov.cn", "gov.cn") or host.count(".") == 2 and not _is_local_host(host)
    if doc.record["level"] == "central" and national:
        score += 0.3
    if doc.record["level"] == "local" and host in ("www.gov.cn", "gov.cn"):
        score -= 0.5
    return score


def _url_ids(url: str) -> set[str]:
    """Long numbers that name one page; month folders and bare dates (202112, 20211215)
    are shared by every document of that month."""
    return {x for x in re.findall(r"\d{7,}", url) if not re.fullmatch(r"(?:19|20)\d{6}", x)}


def _folder(url: str) -> str:
    return re.sub(r"^https?://", "", url).split("?")[0].rsplit("/", 1)[0].lower()


def url_host(url: str) -> str:
    return re.sub(r"^https?://", "", url).split("/")[0].lower()


def _is_local_host(host: str) -> bool:
    return bool(re.search(r"\.(bj|tj|he|sx|nm|ln|jl|hlj|sh|js|zj|ah|fj|jx|sd|ha|hb|hn|gd|gx|hi|cq|sc|gz|yn|xz|sn|gs|qh|nx|xj)\.gov\.cn$", host))
