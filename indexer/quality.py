"""The data-quality report of `policy-search check`: counts, and every anomaly the parser
found in the source with how it was resolved."""
from __future__ import annotations

from collections import Counter

REQUIRED_POLICY_FIELDS = ("title", "bodies", "publish_date", "written_date", "doc_type")


def quality_report(corpus) -> dict:
    records = corpus.records
    policies = [r for r in records if r.get("kind") == "policy"]
    by_kind = Counter(r.get("kind") for r in records)
    by_level = Counter(p.get("level") for p in policies)
    by_region = Counter(p.get("region") or "（中央）" for p in policies)
    missing = []
    for p in policies:
        for name in REQUIRED_POLICY_FIELDS:
            if not p.get(name):
                missing.append({"record": p["id"], "field": name})
        if p.get("level") == "local" and not p.get("region"):
            missing.append({"record": p["id"], "field": "region"})
    report = {
        "counts": {
            "by_kind": dict(sorted(by_kind.items())),
            "policy_by_level": dict(sorted(by_level.items())),
            "policy_by_region": dict(sorted(by_region.items(), key=lambda kv: (-kv[1], kv[0]))),
            "policies_with_table_row": sum(1 for p in policies if p.get("summary") or p.get("categories")),
            "policies_with_doc_number": sum(1 for p in policies if p.get("doc_number")),
            "policies_with_source_url": sum(1 for p in policies if p.get("source_urls")),
            "interpretations_linked": sum(1 for r in records if r.get("kind") == "interpretation" and r.get("interprets")),
        },
        "anomalies": list(corpus.anomalies),
        "missing_fields": missing,
        "warnings": list(corpus.warnings),
        "sources": [
            {k: s.get(k) for k in ("path", "sha256", "status", "records") if k in s}
            for s in getattr(corpus, "sources", []) or []
        ],
    }
    lineage = _lineage_summary(records)
    if lineage is not None:
        report["references"] = lineage
    return report


def _lineage_summary(records):
    """Reference counts, where the lineage module is available."""
    try:
        from indexer import lineage
    except ImportError:  # pragma: no cover - lineage is part of the package
        return None
    summary = getattr(lineage, "lineage_summary", None)
    resolve = getattr(lineage, "resolve_references", None)
    if summary is None or resolve is None:
        return None
    try:
        return summary(resolve(records))
    except TypeError:
        return summary(records)


def render_quality_report(report: dict) -> str:
    c = report["counts"]
    lines = ["数据质量报告 / data-quality report", ""]
    lines.append("records by kind: " + ", ".join(f"{k} {v}" for k, v in c["by_kind"].items()))
    lines.append("policies by level: " + ", ".join(f"{k} {v}" for k, v in c["policy_by_level"].items()))
    lines.append("policies by region: " + ", ".join(f"{k} {v}" for k, v in c["policy_by_region"].items()))
    lines.append(
        f"policies with a table row merged: {c['policies_with_table_row']}; with a 文号: "
        f"{c['policies_with_doc_number']}; with a source URL: {c['policies_with_source_url']}; "
        f"interpretations linked: {c['interpretations_linked']}"
    )
    if "references" in report:
        lines.append("references: " + ", ".join(f"{k} {v}" for k, v in report["references"].items()
                                                 if not isinstance(v, (list, dict))))
    lines.append("")
    lines.append(f"anomalies ({len(report['anomalies'])}):")
    for a in report["anomalies"]:
        lines.append(f"  - {a['problem']}; {a['resolution']}")
    if report["missing_fields"]:
        lines.append(f"missing fields ({len(report['missing_fields'])}):")
        for m in report["missing_fields"]:
            lines.append(f"  - {m['record']}: {m['field']}")
    if report["warnings"]:
        lines.append(f"warnings ({len(report['warnings'])}):")
        for w in report["warnings"]:
            lines.append(f"  - {w}")
    return "\n".join(lines)
