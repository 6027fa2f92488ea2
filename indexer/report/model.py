"""The parse result, and the drafts that carry a record between the parser's passes.

A record holds only its public fields (docs/architecture.md, record schema); what one pass
learns for a later one (the metadata as printed, the table row's link and date, the lines of
the document) travels beside it in its draft, so no record ever carries a private key.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from indexer.text import Line


@dataclass
class ParsedReport:
    source_name: str
    records: list[dict] = field(default_factory=list)
    anomalies: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    report_month: str | None = None
    table_rows_total: int = 0
    table_rows_merged: int = 0


@dataclass
class Draft:
    """A record in the making and the report lines it was read from."""

    record: dict
    first_line: int
    last_line: int

    def source(self, report: str) -> dict:
        return {"report": report, "first_line": self.first_line, "last_line": self.last_line}


@dataclass
class PolicyDraft(Draft):
    """An appendix document: its record and what the later passes need to finish it."""

    # label (发布部门, 文号, 发布日期, 成文日期) → value as printed, a wrapped value joined by spaces
    fields: dict[str, str] = field(default_factory=dict)
    # the 发布部门 value line by line, to rejoin names wrapped over lines
    body_field_lines: list[str] = field(default_factory=list)
    # the document's lines after its metadata block
    body_lines: list[Line] = field(default_factory=list)
    # from the matching row of the policy table
    table_urls: list[str] = field(default_factory=list)
    table_date: str | None = None
    table_bodies: list[str] = field(default_factory=list)
    # links dumped at the end of the document's appendix page
    appendix_urls: list[str] = field(default_factory=list)
    # a 文号 printed in the 发布部门 field, a candidate for the document's own
    number_in_bodies: str | None = None
    # the issuing bodies signed above the 成文日期
    signature: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """How anomalies name the document: 'central #4'."""
        return f"{self.record['level']} #{self.record['seq']}"


def add_anomaly(result: ParsedReport, record: dict, field_name: str, problem: str, resolution: str) -> None:
    result.anomalies.append(
        {"record": f"{record['level']} #{record['seq']}", "field": field_name, "problem": problem, "resolution": resolution}
    )
