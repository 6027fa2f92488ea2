"""An appendix document's printed metadata made into its normalised fields: 文号, issuers,
dates, region and city, document type. The source's errors (a 文号 in the 发布部门 field, one
文号 printed for several documents, a title cut short, a misspelt body) are caught here,
corrected where the document itself or its table row says how, and listed as anomalies."""
from __future__ import annotations

import re

from indexer import normalize as nz
from indexer.dates import parse_date
from indexer.doc_numbers import doc_number_parts, looks_like_doc_number, normalize_doc_number
from indexer.report.model import ParsedReport, PolicyDraft, add_anomaly
from indexer.text import Line

# A stable field order makes exports diffable.
RECORD_FIELDS = ("id", "kind", "level", "seq", "title", "doc_number", "doc_number_parts", "bodies",
                 "bodies_canonical", "publish_date", "written_date", "region", "city", "doc_type",
                 "categories", "summary", "source_urls", "labels", "flags", "source", "text")


def finish_policies(policies: list[PolicyDraft], result: ParsedReport) -> None:
    """Turn the printed metadata fields into normalised ones, catching the source's errors.
    Each draft's record is replaced by one holding exactly RECORD_FIELDS."""
    printed_numbers: dict[str, list[PolicyDraft]] = {}
    for draft in policies:
        _read_fields(draft, result)
        if draft.record["doc_number"]:
            printed_numbers.setdefault(draft.record["doc_number"], []).append(draft)
    _settle_shared_numbers(printed_numbers, result)
    for draft in policies:
        if not draft.record["doc_number"] and draft.number_in_bodies:
            draft.record["doc_number"] = draft.number_in_bodies
    for draft in policies:
        _place_and_name(draft, result)
        draft.record = {k: draft.record.get(k) for k in RECORD_FIELDS}


def _read_fields(draft: PolicyDraft, result: ParsedReport) -> None:
    p, raw, label = draft.record, draft.fields, draft.label
    bodies_value = nz.join_body_lines(draft.body_field_lines)
    doc_number_field = raw.get("文号", "")
    doc_number = normalize_doc_number(doc_number_field)
    if doc_number_field and not doc_number:
        add_anomaly(result, p, "doc_number", f"{label}: 文号 field '{doc_number_field}' is not a 文号", "left empty")
    if "文号" in raw and not doc_number_field:
        add_anomaly(result, p, "doc_number", f"{label}: 文号 field is empty", "doc_number left null")
    # A 文号 printed in the 发布部门 field: keep it as a candidate, take the issuer elsewhere.
    number_in_bodies = normalize_doc_number(bodies_value) if looks_like_doc_number(bodies_value) else None
    signature = find_signature(draft.body_lines, raw.get("成文日期"))
    if number_in_bodies:
        bodies = signature or draft.table_bodies or []
        source = "the signature" if signature else "the policy table"
        add_anomaly(
            result, p, "bodies",
            f"{label}: 发布部门 holds a 文号 ({number_in_bodies})",
            f"issuer taken from {source}: {'、'.join(bodies) or '(none found)'}",
        )
        draft.number_in_bodies = number_in_bodies
    else:
        bodies = nz.split_bodies(bodies_value)
    if not bodies and draft.table_bodies:
        bodies = draft.table_bodies
        add_anomaly(result, p, "bodies", f"{label}: 发布部门 is empty", f"taken from the policy table: {'、'.join(bodies)}")
    p["bodies"] = bodies
    p["doc_number"] = doc_number
    p["publish_date"] = parse_date(raw.get("发布日期")) or draft.table_date
    p["written_date"] = parse_date(raw.get("成文日期"))
    if not raw.get("发布日期") and draft.table_date:
        add_anomaly(result, p, "publish_date", f"{label}: no 发布日期", f"taken from the policy table: {draft.table_date}")
    draft.signature = signature


def _settle_shared_numbers(printed_numbers: dict[str, list[PolicyDraft]], result: ParsedReport) -> None:
    """One 文号 printed for several documents: keep it only where its agency code fits the
    issuer; a document with a better candidate (a 文号 in its 发布部门 field) takes that."""
    for number, drafts in printed_numbers.items():
        if len(drafts) < 2:
            continue
        labels = ", ".join(d.label for d in drafts)
        for d in drafts:
            better = d.number_in_bodies
            if better:
                d.record["doc_number"] = better
                resolution = f"文号 taken from the 发布部门 field: {better}"
            else:
                resolution = "kept, flagged as doubtful"
                d.record.setdefault("flags", []).append(f"文号 {number} is printed for {len(drafts)} documents")
            add_anomaly(result, d.record, "doc_number",
                        f"{d.label}: 文号 {number} is printed for {len(drafts)} documents ({labels})", resolution)


def _place_and_name(draft: PolicyDraft, result: ParsedReport) -> None:
    """Region, city, canonical bodies, completed title and document type."""
    p, label = draft.record, draft.label
    p["doc_number_parts"] = doc_number_parts(p["doc_number"])
    if p["level"] == "local":
        region, city, how = infer_place(draft)
        p["region"], p["city"] = region, city
        if how:
            add_anomaly(result, p, "region", f"{label}: 发布部门 names no region ({'、'.join(p['bodies'])})", how)
        if not region:
            add_anomaly(result, p, "region", f"{label}: region could not be inferred", "left empty")
        p["bodies"] = [fix_body_spelling(b, region, city, p, result) for b in p["bodies"]]
    else:
        p["region"], p["city"] = None, None
    p["bodies_canonical"] = _unique(nz.canonical_body(b, p["region"], p["city"]) for b in p["bodies"])
    completed = complete_title(p["title"], p["text"])
    if completed != p["title"]:
        add_anomaly(result, p, "title", f"{label}: title cut short in the source: {p['title']}",
                    f"completed from the document's own text: {completed}")
        p["title"] = completed
    p["doc_type"] = nz.doc_type_from_title(p["title"])
    p.setdefault("categories", [])
    p.setdefault("summary", None)
    p.setdefault("source_urls", [])
    p.setdefault("flags", [])


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


def find_signature(lines: list[Line], written: str | None) -> list[str]:
    """The issuing bodies signed above the 成文日期 at the end of a cover notice."""
    target = parse_date(written) if written else None
    text_lines = [ln for ln in lines if ln.kind == "text"]
    for k, ln in enumerate(text_lines):
        date = parse_date(ln.text) if len(ln.text) <= 16 else None
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


def infer_place(draft: PolicyDraft) -> tuple[str | None, str | None, str | None]:
    """(region, city, how) of a local document: from its bodies, else its 文号 prefix, its
    title or its signature. `how` explains an inference the 发布部门 field did not state."""
    p = draft.record
    bodies = p["bodies"]
    for body in bodies:
        place = nz.place_at_start(body)
        if place:
            return place.province, (place.name if place.is_city else None), None
    candidates = [
        ("文号 prefix", nz.region_from_doc_number(p.get("doc_number"))),
        ("title", (nz.places_in(p.get("title", "")) or [None])[0]),
        ("signature", next((nz.place_at_start(s) for s in draft.signature if nz.place_at_start(s)), None)),
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
                add_anomaly(result, p, "bodies", f"{p['level']} #{p['seq']}: misspelt body '{body}'", f"corrected to {fixed}")
                return fixed
    return body
