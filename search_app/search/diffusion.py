"""How a cited document was taken up: the documents citing it, with their region and date.

The core answers with plain data; the views turn it into a map, a timeline and tables.
The documents are the ones the `cites=` filter finds for the same value (a record id,
a 文号 in any spelling, or a title), so the view and the filtered result list agree.
"""
from __future__ import annotations

from indexer.lineage import link_keys, links_of

from .filters import selections

# What each citing document contributes to the view (the whole record stays in the index).
CITING_FIELDS = ("id", "title", "kind", "level", "region", "city", "publish_date", "doc_number")


def diffusion(gen, value: str) -> dict | None:
    """{parent: {key, target_id, title, doc_number, level, publish_date}, documents: [...]}
    for the parent `value` names, or None when it names no record of the index and no
    document cites it. Each document: CITING_FIELDS and the `relation` its link to the
    parent has."""
    chosen, selected_values = selections(gen, {"cites": [value]})
    docs = chosen.get("cites") or set()
    wanted = selected_values["cites"][0]
    documents, parent = [], None
    for docnum in sorted(docs):
        record = gen.record(docnum, lineage=False)
        link = next((link for link in links_of(record, gen.derived) if wanted in link_keys([link])), None)
        if link is None:
            continue
        parent = parent or {k: link.get(k) for k in ("key", "target_id", "title", "doc_number")}
        documents.append({**{k: record.get(k) for k in CITING_FIELDS}, "relation": link.get("relation")})
    if parent is None:
        if value not in gen.docnum_by_id:
            return None
        # A record nobody cites yet: the view says so.
        parent = {"key": value, "target_id": value, "title": None, "doc_number": None}
    target = gen.docnum_by_id.get(parent["target_id"]) if parent["target_id"] else None
    if target is not None:
        own = gen.record(target, lineage=False)
        parent.update(title=own.get("title") or parent["title"], doc_number=own.get("doc_number") or parent["doc_number"],
                      level=own.get("level"), publish_date=own.get("publish_date"))
    else:
        parent.update(level=None, publish_date=None)
    documents.sort(key=lambda d: (d.get("publish_date") or "9999", d["id"]))
    return {"parent": parent, "documents": documents}
