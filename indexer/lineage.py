"""Lineage of a corpus: which document cites, implements, issues or interprets which.

`resolve_references(records)` links the mentions that indexer.references finds in each record
to the corpus's records (by 文号 first, then by title) and keeps the parents that are not in
the corpus under their 文号 or title, so that "every document implementing 国办发〔2021〕19号"
is answerable either way. The rest of this module answers questions over the result and puts
it into the records (`annotate`).
"""
from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict

from indexer.doc_numbers import normalize_doc_number
# Re-exported: the search layer and the tests look references and keys up here.
from indexer.references import (  # noqa: F401
    INTERPRETATION_MARK_RE, core_key, extract_references, filter_key, issuer_of, title_key,
)

# Strongest first: when one document mentions the same parent several times the link takes
# the most specific relation any mention has.
RELATIONS = ("interprets", "issues", "implements", "cites")
RELATION_LABELS = {"interprets": "解读", "issues": "印发", "implements": "贯彻落实", "cites": "引用"}
CENTRAL_GROUP = "中央"


# ---------------------------------------------------------------------------------------------
# Resolution over a corpus


def extraction_key(record: dict) -> str:
    """What a record's extracted references depend on, hashed (see resolve_references' memo)."""
    own_title = record.get("title") if record.get("kind") != "interpretation" else None
    digest = hashlib.sha1()
    for part in (own_title, record.get("doc_number"), record.get("text")):
        digest.update((part or "").encode("utf-8") + b"\0")
    return digest.hexdigest()


def resolve_references(records: list[dict], memo: dict | None = None) -> dict:
    """Link the references of every record to the records they name.

    `memo` (extraction_key → references) holds what an earlier build extracted; the
    references of records it lacks are extracted and added to it, and entries of texts
    no longer among `records` are dropped, so it leaves holding exactly what the next
    build needs, and a nightly build reads only the new report's texts.

    Returns a plain dict:
      cites[id]        the parents of record `id`, one entry per parent, in order of first
                       mention: {key, target_id, title, doc_number, relation, phrase, offset,
                       mentions}; target_id is None when the parent is not in the corpus
      cited_by[key]    the records citing a parent: {id, title, region, level, kind, relation,
                       phrase}; `key` is the record id of a parent in the corpus, else its 文号,
                       else its title key
      parents[key]     {key, target_id, title, doc_number, cited_by_count}
      attachments[id]  titles of the documents a record issues itself (关于印发《X》的通知 → X):
                       they are part of the record, so citing them cites the record
      aliases[k]       any 文号, title key or id that names a parent or record → its key
      records[id]      {id, title, region, level, kind, doc_number} of every record
      found            number of reference mentions extracted
    """
    catalogue = _Catalogue(records)
    extracted: dict[str, list[dict]] = {}
    title_numbers: dict[str, Counter] = defaultdict(Counter)
    used: set[str] = set()
    for r in records:
        # An interpretation's title names the policy it interprets, not itself.
        own_title = r.get("title") if r.get("kind") != "interpretation" else None
        key = extraction_key(r) if memo is not None else None
        refs = None
        if key is not None:
            used.add(key)
            refs = memo.get(key)
        if refs is None:
            refs = extract_references(r.get("text") or "", title=own_title, doc_number=r.get("doc_number"))
            if key is not None:
                memo[key] = [dict(ref) for ref in refs]
        else:
            refs = [dict(ref) for ref in refs]
        extracted[r["id"]] = refs
        for ref in refs:
            if ref["title"] and ref["doc_number"]:
                title_numbers[title_key(ref["title"])][ref["doc_number"]] += 1
    if memo is not None:
        for stale in set(memo) - used:
            del memo[stale]

    # What a record issues and is not a record of its own is part of that record.
    attachments: dict[str, list[str]] = defaultdict(list)
    for r in records:
        for ref in extracted[r["id"]]:
            if ref["relation"] == "issues" and ref["title"] and not catalogue.resolve(ref, r):
                attachments[r["id"]].append(ref["title"])
                catalogue.add_attachment(ref, r)

    cites: dict[str, list[dict]] = {}
    parents: dict[str, dict] = {}
    # Every name that may be looked up → the keys it names; only unambiguous names are kept.
    names: dict[str, set[str]] = defaultdict(set)
    for alias, record_id in catalogue.attachment_aliases:
        names[alias].add(record_id)
    for r in records:
        links: dict[str, dict] = {}
        own = {title_key(t) for t in attachments.get(r["id"], ())}
        refs = [ref for ref in extracted[r["id"]] if not (ref["title"] and title_key(ref["title"]) in own)]
        refs.extend(_interpretation_refs(r, catalogue))
        for ref in refs:
            target = ref.get("target_id") or catalogue.resolve(ref, r, attachments=True)
            if target == r["id"]:
                continue
            if target and target == r.get("interprets"):
                ref = dict(ref, relation="interprets")
            number = ref.get("doc_number")
            if not number and ref.get("title"):
                learned = title_numbers.get(title_key(ref["title"]))
                if learned:
                    number = learned.most_common(1)[0][0]
            if target:
                key = target
                number = normalize_doc_number(catalogue.by_id[target].get("doc_number")) or number
            else:
                key = number or title_key(ref["title"])
            if not key:
                continue
            link = links.get(key)
            if link is None:
                link = links[key] = {
                    "key": key, "target_id": target, "title": ref.get("title"),
                    "doc_number": number, "relation": ref["relation"], "phrase": ref["phrase"],
                    "offset": ref["offset"], "mentions": 0,
                }
            link["mentions"] += 1
            link["title"] = link["title"] or ref.get("title")
            link["doc_number"] = link["doc_number"] or number
            if RELATIONS.index(ref["relation"]) < RELATIONS.index(link["relation"]):
                link["relation"] = ref["relation"]
                link["phrase"] = ref["phrase"]
            parent = parents.setdefault(key, {
                "key": key, "target_id": target, "title": None, "doc_number": None,
                "cited_by_count": 0,
            })
            parent["title"] = parent["title"] or (
                catalogue.by_id[target].get("title") if target else ref.get("title"))
            parent["doc_number"] = parent["doc_number"] or number
            for alias in (number, title_key(ref.get("title"))):
                if alias:
                    names[alias].add(key)
        cites[r["id"]] = sorted(links.values(), key=lambda link: link["offset"])

    cited_by: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        for link in cites[r["id"]]:
            cited_by[link["key"]].append({
                "id": r["id"], "title": r.get("title"), "region": r.get("region"),
                "level": r.get("level"), "kind": r.get("kind"), "relation": link["relation"],
                "phrase": link["phrase"],
            })
    for key, citing in cited_by.items():
        parents[key]["cited_by_count"] = len(citing)
    for r in records:
        if r.get("kind", "policy") != "policy":
            continue
        for alias in (normalize_doc_number(r.get("doc_number")), title_key(r.get("title"))):
            if alias:
                names[alias].add(r["id"])
    aliases = {alias: next(iter(keys)) for alias, keys in names.items() if len(keys) == 1}
    # A key names itself, whatever else shares its spelling.
    aliases.update({key: key for key in parents})
    aliases.update({r["id"]: r["id"] for r in records})

    return {
        "cites": cites,
        "cited_by": dict(cited_by),
        "parents": parents,
        "attachments": dict(attachments),
        "aliases": aliases,
        "records": {r["id"]: {k: r.get(k) for k in ("id", "title", "region", "level", "kind", "doc_number")}
                    for r in records},
        "found": sum(len(refs) for refs in extracted.values()),
    }


class _Catalogue:
    """The policy records of a corpus indexed by 文号, title key and issuer-less title key."""

    def __init__(self, records: list[dict]):
        self.by_id = {r["id"]: r for r in records}
        self.by_number: dict[str, list[str]] = defaultdict(list)
        self.by_title: dict[str, list[str]] = defaultdict(list)
        self.by_core: dict[str, list[str]] = defaultdict(list)
        self.attached: dict[str, list[str]] = defaultdict(list)
        self.attachment_aliases: list[tuple[str, str]] = []
        for r in records:
            if r.get("kind", "policy") != "policy":
                continue
            number = normalize_doc_number(r.get("doc_number"))
            if number:
                self.by_number[number].append(r["id"])
            key = title_key(r.get("title"))
            if key:
                self.by_title[key].append(r["id"])
                self.by_core[core_key(r.get("title"))].append(r["id"])

    def add_attachment(self, ref: dict, record: dict) -> None:
        for key in (title_key(ref["title"]), core_key(ref["title"])):
            if record["id"] not in self.attached[key]:
                self.attached[key].append(record["id"])
        self.attachment_aliases.append((title_key(ref["title"]), record["id"]))

    def resolve(self, ref: dict, citing: dict, attachments: bool = False) -> str | None:
        """The one record `ref` names, by 文号 first and then by title; None when no record or
        more than one fits."""
        candidates: list[str] = []
        title = ref.get("title")
        if ref.get("doc_number"):
            candidates = self.by_number.get(ref["doc_number"], [])
            if len(candidates) > 1 and title:
                named = set(self.by_title.get(title_key(title), [])) | set(
                    self.by_core.get(core_key(title), []))
                candidates = [c for c in candidates if c in named]
        if not candidates and title:
            candidates = self.by_title.get(title_key(title)) or self.by_core.get(core_key(title), [])
            candidates = self._plausible(candidates, title, citing)
            if not candidates and attachments:
                candidates = self.attached.get(title_key(title)) or self.attached.get(core_key(title), [])
                candidates = self._plausible(candidates, title, citing)
        candidates = [c for c in candidates if c != citing["id"]]
        return candidates[0] if len(candidates) == 1 else None

    def _plausible(self, candidates: list[str], title: str, citing: dict) -> list[str]:
        """Keep the records a title can mean. Local titles repeat across provinces (three
        provinces issued 关于科学绿化的实施意见): a local record fits when the reference names its
        region, city or issuer, or when it comes from the citing document's own region."""
        kept = []
        for c in candidates:
            record = self.by_id[c]
            if record.get("level") == "central" and not issuer_of(title):
                kept.append(c)
            elif _names_record(title_key(title) or "", record):
                kept.append(c)
            elif record.get("region") and record.get("region") == citing.get("region") and not issuer_of(title):
                kept.append(c)
        return kept


def _names_record(title: str, record: dict) -> bool:
    """Does `title` name the region, city or an issuer of `record`?"""
    names = list(record.get("bodies") or []) + list(record.get("bodies_canonical") or [])
    places = [record.get("region"), record.get("city")]
    for name in filter(None, names):
        if name in title:
            return True
    for name in filter(None, places):
        short = re.sub(r"(省|市|自治区|特别行政区)$", "", name)
        short = re.sub(r"(壮族|回族|维吾尔)$", "", short)
        if name in title or (len(short) >= 2 and short in title):
            return True
    return False


def _interpretation_refs(record: dict, catalogue: _Catalogue) -> list[dict]:
    """The 'interprets' link of an interpretation record (its `interprets` field, else the policy
    its title names) and of a document labelled 解读 (【解读】 before its title) that names
    another document. The report labels some policies so that carry their own full text: their
    title names themselves, and they get no link."""
    title = record.get("title") or ""
    marked = bool(INTERPRETATION_MARK_RE.match(title)) or any(
        "解读" in label for label in record.get("labels") or ())
    if record.get("kind") != "interpretation" and not marked:
        return []
    target = record.get("interprets")
    if not target:
        name = INTERPRETATION_MARK_RE.sub("", title)
        target = catalogue.resolve({"title": name, "doc_number": None}, record)
    if not target or target not in catalogue.by_id or target == record["id"]:
        return []
    return [{
        "title": catalogue.by_id[target].get("title"),
        "doc_number": normalize_doc_number(catalogue.by_id[target].get("doc_number")),
        "relation": "interprets", "phrase": title, "offset": 0, "target_id": target,
    }]


# ---------------------------------------------------------------------------------------------
# Queries over a resolved lineage


def lookup(lineage: dict, value: str | None) -> str | None:
    """The parent key a 文号 (any variant), record id or title names, or None."""
    key = filter_key(value)
    if key is None:
        return None
    return lineage["aliases"].get(key) or lineage["aliases"].get(value.strip())


def cite_keys(lineage: dict, record_id: str) -> list[str]:
    """Every value under which a `cites=` filter should find `record_id`: for each parent its
    key, its record id, its 文号 and its title key."""
    return link_keys(lineage["cites"].get(record_id, []))


def link_keys(links: list[dict]) -> list[str]:
    """The filter keys of a list of links (a record's `cites`, see `annotate`)."""
    keys: list[str] = []
    for link in links:
        for k in (link["key"], link["target_id"], link["doc_number"], title_key(link["title"])):
            if k and k not in keys:
                keys.append(k)
    return keys


def link_label(link: dict) -> str:
    """A parent as a reader names it: its title as cited, with its 文号 when known."""
    title, number = link.get("title"), link.get("doc_number")
    if title and number:
        return f"{title}（{number}）"
    return title or number or link.get("key") or ""


def annotate(records: list[dict], lineage: dict | None = None) -> list[dict]:
    """Copies of `records` carrying their lineage: `cites` (links as in resolve_references),
    `cited_by` (the records citing this one) and `siblings` (see `siblings`)."""
    lineage = lineage if lineage is not None else resolve_references(records)
    annotated = []
    for r in records:
        annotated.append(dict(
            r,
            cites=[dict(link) for link in lineage["cites"].get(r["id"], [])],
            cited_by=[dict(entry) for entry in lineage["cited_by"].get(r["id"], [])],
            siblings=siblings(lineage, r["id"]),
        ))
    return annotated


# What annotate() adds that other documents decide: a new report citing a document, or
# holding a document it cites, changes these, not the document, so a build keeps them
# beside the index, as the compact table of derived_table(), and with_derived() puts them
# back as a record is read. (Indexed with the record, a citation newly resolved to a
# document of the night's report would mean indexing the citing document again.)
DERIVED_FIELDS = ("cites", "cited_by", "siblings")


def without_derived(record: dict) -> dict:
    """The record without DERIVED_FIELDS: what is indexed and hashed."""
    return {k: v for k, v in record.items() if k not in DERIVED_FIELDS}


def derived_table(lineage: dict) -> dict:
    """What with_derived() needs, in the size of the links (not of the sibling lists, which
    grow with the square of the documents implementing one parent)."""
    return {"cites": lineage["cites"], "cited_by": lineage["cited_by"],
            "parents": {key: {k: parent[k] for k in ("key", "target_id", "title", "doc_number")}
                        for key, parent in lineage["parents"].items()}}


def links_of(record: dict, table) -> list[dict]:
    """The links of `record` (its `cites`) from `table` (derived_table()), or those the
    record carries itself where the table has none (records indexed annotated)."""
    part = table.get("cites") if table is not None else None
    links = part.get(record.get("id")) if part is not None else None
    return links if links is not None else record.get("cites") or []


def with_derived(record: dict, table: dict) -> dict:
    """`record` with its cites, cited_by and siblings from `table`."""
    rid = record.get("id")
    view = {"cites": {rid: links_of(record, table)}, "cited_by": table.get("cited_by") or {},
            "parents": table.get("parents") or {}}
    return dict(record, cites=[dict(link) for link in view["cites"][rid]],
                cited_by=[dict(e) for e in view["cited_by"].get(rid, [])], siblings=siblings(view, rid))


def cited_by(lineage: dict, value: str) -> list[dict]:
    """The records citing the document named by `value` (id, 文号 or title)."""
    key = lookup(lineage, value)
    return list(lineage["cited_by"].get(key, [])) if key else []


def cited_by_region(lineage: dict, value: str) -> dict[str, list[dict]]:
    """cited_by grouped by region; central documents under '中央'."""
    return dict(group_by_region(cited_by(lineage, value)))


def group_by_region(entries: list[dict]) -> list[tuple[str, list[dict]]]:
    """Citing documents by region: central ones first, then the regions citing most."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for entry in entries:
        groups[entry.get("region") or CENTRAL_GROUP].append(entry)
    return sorted(groups.items(), key=lambda kv: (kv[0] != CENTRAL_GROUP, -len(kv[1]), kv[0]))


def siblings(lineage: dict, record_id: str) -> list[dict]:
    """For each parent that `record_id` implements, the other records implementing it:
    [{parent: {key, target_id, title, doc_number}, documents: [cited_by entries]}]."""
    groups = []
    for link in lineage["cites"].get(record_id, []):
        if link["relation"] != "implements":
            continue
        others = [e for e in lineage["cited_by"].get(link["key"], [])
                  if e["id"] != record_id and e["relation"] == "implements"]
        if others:
            parent = lineage["parents"][link["key"]]
            groups.append({
                "parent": {k: parent[k] for k in ("key", "target_id", "title", "doc_number")},
                "documents": others,
            })
    return groups


def lineage_summary(lineage: dict) -> dict:
    """Counts for the data-quality report."""
    links = [link for refs in lineage["cites"].values() for link in refs]
    resolved = [link for link in links if link["target_id"]]
    parents = lineage["parents"].values()
    return {
        "references_found": lineage["found"],
        "attachments": sum(len(titles) for titles in lineage["attachments"].values()),
        "links": len(links),
        "resolved": len(resolved),
        "unresolved": len(links) - len(resolved),
        "documents_citing": sum(1 for refs in lineage["cites"].values() if refs),
        "parents_in_corpus": sum(1 for p in parents if p["target_id"]),
        "parents_outside_corpus": sum(1 for p in parents if not p["target_id"]),
        "by_relation": dict(Counter(link["relation"] for link in links)),
    }
