"""Report text → records.

The report's parts are read by the modules of `indexer.report` (see its docstring); this
module runs them in order. The appendix texts come first, because every other part is
matched onto them: the policy tables add categories, summaries, links and dates, the
interpretations point at them. Every rule is a pattern or a cross-check between fields,
never a document's number.
"""
from __future__ import annotations

import hashlib

from indexer.dates import parse_date
from indexer.errors import NotAReport
from indexer.report.activities import merge_activity_bullets, parse_activity_table, parse_bullets
from indexer.report.appendix import parse_appendix
from indexer.report.interpretations import parse_interpretations
from indexer.report.model import ParsedReport, PolicyDraft
from indexer.report.policy_metadata import finish_policies
from indexer.report.policy_tables import merge_table_rows, parse_policy_table
from indexer.report.sections import find_sections, toc_counts
from indexer.report.urls import assign_appendix_urls, publisher_domains, url_host
from indexer.text import classify_lines

__all__ = ["NotAReport", "ParsedReport", "parse_report"]

_LEVELS = (("central", "central_appendix", "central_table"), ("local", "local_appendix", "local_table"))


def parse_report(text: str, source_name: str) -> ParsedReport:
    if not text or not text.strip():
        raise NotAReport(f"{source_name}: the report is empty")
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    lines = classify_lines(text)
    sections = find_sections(lines)
    result = ParsedReport(source_name)
    if "central_appendix" not in sections and "local_appendix" not in sections:
        raise NotAReport(f"{source_name}: no 附件 of policy texts found; is this a monthly policy report?")

    def part(key):
        start, end = sections[key]
        return lines[start:end]

    policies: list[PolicyDraft] = []
    for level, appendix, _ in _LEVELS:
        if appendix in sections:
            policies += parse_appendix(part(appendix), level)

    month = report_month(policies, text)
    result.report_month = month
    for p in policies:
        p.record["id"] = f"{month}-{p.record['level'][0]}{p.record['seq']:02d}"

    rows: list[dict] = []
    for level, _, table in _LEVELS:
        if table in sections:
            rows += [dict(r, level=level) for r in parse_policy_table(part(table))]
    merge_table_rows(policies, rows, result)
    assign_appendix_urls(lines, sections, policies)
    own_sites = publisher_domains(lines)
    for p in policies:
        p.record["source"] = p.source(source_name)
        p.record["source_urls"] = [u for u in p.record["source_urls"] if not url_host(u).endswith(own_sites)]
    finish_policies(policies, result)
    policy_records = [p.record for p in policies]

    activities = parse_activity_table(part("activity_table")) if "activity_table" in sections else []
    if "activities_bullets" in sections:
        activities = merge_activity_bullets(activities, parse_bullets(part("activities_bullets")))
    for i, act in enumerate(activities, 1):
        act.record["id"] = f"{month}-act{i:02d}"
        act.record["source"] = act.source(source_name)

    interpretations = []
    if "interpretations" in sections:
        interpretations = parse_interpretations(part("interpretations"), policy_records, result)
    for i, it in enumerate(interpretations, 1):
        it.record["id"] = f"{month}-int{i}"
        it.record["source"] = it.source(source_name)

    for level, count in toc_counts(lines, sections).items():
        got = sum(1 for p in policy_records if p["level"] == level)
        if got < count:
            result.warnings.append(
                f"{source_name}: the contents list {count} {level} documents but only {got} were found "
                "(report cut off?)"
            )
    result.records = policy_records + [d.record for d in activities + interpretations]
    return result


def report_month(policies: list[PolicyDraft], text: str) -> str:
    """YYYY-MM of the report: the most common publish month of its policies."""
    months: dict[str, int] = {}
    for p in policies:
        date = parse_date(p.fields.get("发布日期"))
        if date:
            m = date[:7]
            months[m] = months.get(m, 0) + 1
    if months:
        return max(months.items(), key=lambda kv: (kv[1], kv[0]))[0]
    return "r" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]
