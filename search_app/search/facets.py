"""Facet counts and the month histogram of a search, as plain dicts for the views."""
from __future__ import annotations

from indexer.doc_tables import doc_mask
from indexer.schema import FACET_LABELS, KIND_ORDER, LISTED_FACETS

from .filters import allowed_by_dates


def facet_counts(gen, matched, selections, selected_values, dated) -> dict:
    """Disjunctive counts: each facet counts the hits of every other selection,
    ignoring its own, so a count says what ticking that value would add."""
    facets = {}
    # (the documents as masks over the index: intersections and counts are then a
    # step for all of them)
    count = gen.tables.doc_count
    matched = doc_mask(matched, count)
    chosen_docs = {other: doc_mask(docs, count) for other, docs in selections.items()}
    if dated is not None:
        matched = matched & doc_mask(dated, count)
    for key in LISTED_FACETS:
        pool = matched
        for other, docs in chosen_docs.items():
            if other != key:
                pool = pool & docs
        of_doc = gen.of_doc[key]
        chosen = selected_values.get(key, [])
        if of_doc.field.labelled:  # cited parents: labelled by the build (indexer.doc_tables)
            counts, labels = of_doc.count_labelled(pool)
            labels.update(of_doc.labels_of(v for v in chosen if v not in labels))
        else:
            counts, labels = of_doc.count(pool), FACET_LABELS.get(key, {})
        for value in chosen:
            counts.setdefault(value, 0)
        if key == "kind":
            order = {k: i for i, k in enumerate(KIND_ORDER)}
            items = sorted(counts.items(), key=lambda kv: (order.get(kv[0], 99), kv[0]))
        else:
            items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        entries = []
        for value, count in items:
            entry = {"value": value, "count": count, "selected": value in chosen}
            if value in labels:
                entry["label"] = labels[value]
            entries.append(entry)
        facets[key] = entries
    return facets

def month_histogram(gen, matched, selections, flt) -> list[dict]:
    """Hits by publish month, ignoring the publish-date range itself (so the
    researcher sees what widening it would add); `selected` marks the months
    inside the range."""
    count = gen.tables.doc_count
    pool = doc_mask(matched, count)
    for docs in selections.values():
        pool = pool & doc_mask(docs, count)
    written = allowed_by_dates(gen, flt, keys=("written_from", "written_to"))
    if written is not None:
        pool = pool & doc_mask(written, count)
    counts = gen.of_doc["month"].count(pool)
    low = (flt.get("date_from") or "0000-00-00")[:7]
    high = (flt.get("date_to") or "9999-99-99")[:7]
    return [{"value": month, "count": counts[month], "selected": low <= month <= high}
            for month in sorted(counts)]

