"""References between policy documents: which document cites, implements, issues or
interprets which.

`extract_references(text)` finds every mention of another document in one text: a title in
《…》 (with the 文号 that often follows it in brackets) or a bare 文号 in any bracket or spacing
variant. `resolve_references(records)` links the mentions of a whole corpus to its records (by
文号 first, then by title) and keeps the parents that are not in the corpus under their 文号 or
title, so that "every document implementing 国办发〔2021〕19号" is answerable either way.

The cue words that classify a link live in data/tables/lineage_cues.tsv.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from functools import lru_cache

from indexer.doc_numbers import (AGENCY_BEFORE_RE, TEXT_DOC_NUMBER_RE, YEAR_SERIAL_RE, format_doc_number,
                                 looks_like_doc_number, normalize_doc_number)
from indexer.normalize import load_table, split_list

CUES_TABLE = "lineage_cues.tsv"

# Strongest first: when one document mentions the same parent several times the link takes
# the most specific relation any mention has.
RELATIONS = ("interprets", "issues", "implements", "cites")
RELATION_LABELS = {"interprets": "解读", "issues": "印发", "implements": "贯彻落实", "cites": "引用"}
CENTRAL_GROUP = "中央"

_TITLE_RE = re.compile(r"《([^《》\n]{1,160})》")
# A 文号 that follows a title, inside the bracket that comes right after it; 《X》的通知（…） when
# the title marks only the attachment of 关于印发《X》的通知.
_FOLLOWING_BRACKET_RE = re.compile(r"\s*(?:的(?:通知|函))?\s*[（(]\s*")
# Titles listed one after another (《A》《B》、《C》和《D》) share the words that follow the list.
_TITLE_LIST_RE = re.compile(r"(?:\s*[、，,和及与]?\s*《[^《》]{1,160}》(?:\s*[（(][^（）()]{0,40}[）)])?)*")
_SENTENCE_END = "。；;！!？?\n"
_CLAUSE_END = _SENTENCE_END + "，,：:"
_PAIRS = {"）": "（", ")": "(", "》": "《", "〉": "〈", "”": "“", "】": "【", "〕": "〔"}
_OPENERS = set(_PAIRS.values())
_QUOTES_RE = re.compile(r"[《》〈〉<>“”\"‘’'「」『』]")
_DASHES_RE = re.compile(r"[—–－‐‑―]+")
_WRAPPER_RE = re.compile(r"^(?:.{0,40}?)(?:关于)?(?:联合)?(?:印发|转发)(?P<inner>.+?)的(?:通知|函)$")
_ISSUER_RE = re.compile(r"^(?P<issuer>.{0,40}?)关于(?P<core>.+)$")
_INTERPRETATION_MARK_RE = re.compile(r"^\s*【[^】]*解读[^】]*】\s*")

LOOKBACK = 150
PHRASE_BEFORE = 30
PHRASE_AFTER = 20
MAX_AGENCY = 10


@lru_cache(maxsize=None)
def _cues() -> dict[str, tuple[str, ...]]:
    # Longest first so that 贯彻落实 is found before 落实.
    return {row["kind"]: tuple(sorted(split_list(row["cues"]), key=len, reverse=True))
            for row in load_table(CUES_TABLE)}


@lru_cache(maxsize=None)
def _short_name_re() -> re.Pattern:
    """A short name standing for the document itself or for one named earlier (《规划》, 《实施意见》)."""
    cues = _cues()
    qualifiers = "|".join(map(re.escape, cues["short_name_qualifier"]))
    types = "|".join(map(re.escape, cues["short_name_type"]))
    return re.compile(rf"^(?:{qualifiers})?(?:{types})$")


# ---------------------------------------------------------------------------------------------
# Normalisation of keys


def _doc_number_of(m: re.Match) -> tuple[str | None, int]:
    """The normalised 文号 a regex match in running text stands for, and where its agency code
    starts (after whatever lead words, 根据 / 落实 / 和 …, the run of characters holds)."""
    agency = _agency(unicodedata.normalize("NFKC", m.group("agency")))
    year = int("".join(m.group("year").split()))
    if not agency or not 1949 <= year <= 2100:
        return None, m.start()
    serial = int("".join(m.group("serial").split()))
    return format_doc_number(agency, year, serial), m.end("agency") - len(agency)


def _agency(run: str) -> str | None:
    """The agency code of a 文号 from the run of Han characters before its bracket: whatever
    follows the last lead word (根据, 落实, 和 …) that the run contains."""
    cut = 0
    for word in _cues()["lead"]:
        pos = run.rfind(word)
        while pos >= 0 and pos + len(word) >= len(run):
            # A lead word may not swallow the whole code.
            pos = run.rfind(word, 0, pos)
        if pos >= 0:
            cut = max(cut, pos + len(word))
    agency = run[cut:]
    if not agency or len(agency) > MAX_AGENCY:
        return None
    return agency


def title_key(title: str | None) -> str | None:
    """A title reduced to what identifies the document: no whitespace, quotes or book-title
    marks, the 关于印发…的通知 / 转发…的通知 wrapper removed, dash and zero variants unified."""
    if not title:
        return None
    s = unicodedata.normalize("NFKC", title)
    s = _INTERPRETATION_MARK_RE.sub("", s)
    s = re.sub(r"\s+", "", s)
    s = _DASHES_RE.sub("-", s).replace("○", "〇")
    # NFKC turns ， into a comma, which separates the values of a keyword field.
    s = _QUOTES_RE.sub("", s).replace(",", "，")
    m = _WRAPPER_RE.match(s)
    if m and m.group("inner"):
        s = m.group("inner")
    return s or None


def core_key(title: str | None) -> str | None:
    """The title key without its issuer: 国务院办公厅关于科学绿化的指导意见 → 科学绿化的指导意见, so a
    reference that names the issuer finds a record whose title does not, and the other way."""
    key = title_key(title)
    if not key:
        return None
    m = _ISSUER_RE.match(key)
    return m.group("core") if m else key


def _issuer_of(title: str | None) -> str:
    key = title_key(title) or ""
    m = _ISSUER_RE.match(key)
    return m.group("issuer") if m else ""


def filter_key(value: str | None) -> str | None:
    """What a `cites=` filter value is looked up by: a normalised 文号, a record id or a title key."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if looks_like_doc_number(value):
        return normalize_doc_number(value)
    if re.fullmatch(r"[0-9A-Za-z][0-9A-Za-z_-]*", value):
        return value
    return title_key(value)


# ---------------------------------------------------------------------------------------------
# Extraction


def extract_references(text: str, *, title: str | None = None,
                       doc_number: str | None = None) -> list[dict]:
    """Every reference to another document in `text`, in order of appearance.

    Each is {title, doc_number, relation, phrase, offset}: `title` as printed inside 《》 (or
    None for a bare 文号), `doc_number` normalised (or None), `relation` one of implements /
    issues / interprets / cites, `phrase` the stretch of the sentence that cites it, `offset`
    the character offset of the reference in `text`. Given the document's own `title` and
    `doc_number`, mentions of the document itself are left out and its attachment (关于印发《X》
    的通知 → X) is classified `issues`.
    """
    if not text:
        return []
    own_doc_number = normalize_doc_number(doc_number) if doc_number else None
    own_key = title_key(title)
    own_core = core_key(title)
    # 关于印发《X》的通知 issues X: a mention of X is its attachment, not the notice itself.
    own_attachment = own_key if title and _is_wrapper(title) else None

    refs: list[dict] = []
    consumed: list[tuple[int, int]] = []  # spans of 文号 already attached to a title
    abbreviations: set[str] = set()

    for m in _TITLE_RE.finditer(text):
        raw = _display_title(m.group(1))
        start, end = m.start(), m.end()
        inner_key = title_key(raw)
        if not inner_key:
            continue
        if _is_abbreviation(text, start):
            abbreviations.add(inner_key)
            continue
        if inner_key in abbreviations or _short_name_re().match(inner_key):
            continue
        number, number_end, number_span = _following_doc_number(text, end)
        if number_span:
            consumed.append(number_span)
        if own_doc_number and number == own_doc_number:
            continue
        attachment = inner_key == own_attachment and not _is_wrapper(raw)
        if not attachment and (inner_key == own_key or (
                core_key(raw) == own_core and not _issuer_of(raw))):
            continue
        relation = _classify(text, start, number_end or end, own_attachment=attachment)
        refs.append({
            "title": raw,
            "doc_number": number,
            "relation": relation,
            "phrase": _phrase(text, start, number_end or end),
            "offset": start,
        })

    for hit in YEAR_SERIAL_RE.finditer(text):
        window = max(0, hit.start() - 16)
        run = AGENCY_BEFORE_RE.search(text, window, hit.start())
        m = run and TEXT_DOC_NUMBER_RE.match(text, run.start())
        if not m:
            continue
        number, start = _doc_number_of(m)
        if not number or any(a <= start < b for a, b in consumed):
            continue
        if number == own_doc_number:
            continue
        refs.append({
            "title": None,
            "doc_number": number,
            "relation": _classify(text, start, m.end(), own_attachment=False),
            "phrase": _phrase(text, start, m.end()),
            "offset": start,
        })

    refs.sort(key=lambda r: r["offset"])
    return refs


def _is_wrapper(title: str) -> bool:
    plain = re.sub(r"\s+", "", unicodedata.normalize("NFKC", _INTERPRETATION_MARK_RE.sub("", title)))
    return bool(_WRAPPER_RE.match(_QUOTES_RE.sub("", plain)))


def _display_title(raw: str) -> str:
    """A title as printed, without the line-break spaces the extraction left between CJK characters."""
    raw = re.sub(r"\s+", " ", raw).strip()
    return re.sub(r"(?<=[\u3000-\u9fff\uff00-\uffef]) (?=[\u3000-\u9fff\uff00-\uffef])", "", raw)


def _is_abbreviation(text: str, start: int) -> bool:
    before = text[max(0, start - 6):start]
    return any(before.endswith(c) for c in _cues()["abbreviation"])


def _following_doc_number(text: str, end: int) -> tuple[str | None, int | None, tuple[int, int] | None]:
    """The 文号 in the bracket right after a title: （国办发〔2021〕19号）, (国办发[2021]19 号)."""
    bracket = _FOLLOWING_BRACKET_RE.match(text, end)
    if not bracket:
        return None, None, None
    m = TEXT_DOC_NUMBER_RE.match(text, bracket.end())
    if not m:
        return None, None, None
    number, start = _doc_number_of(m)
    if not number or start != m.start():
        return None, None, None
    # The bracket may go on (（国办发〔2021〕19号，以下简称《意见》）): the reference ends with it.
    close = re.search(r"[）)]", text[m.end():m.end() + 30])
    number_end = m.end() + (close.end() if close else 0)
    return number, number_end, (m.start(), m.end())


def _clause_start(text: str, start: int, stops: str) -> int:
    """Where the clause (or, with sentence stops, the sentence) holding `start` begins."""
    return _clause_bound(text, start - 1, stops, -1)


def _clause_end(text: str, end: int, stops: str) -> int:
    """Where the clause (or sentence) holding `end` ends."""
    return _clause_bound(text, end, stops, 1)


def _clause_bound(text: str, i: int, stops: str, step: int) -> int:
    # Bracketed stretches are skipped, so that a comma inside （…） does not end the clause.
    entering, leaving = (_OPENERS, _PAIRS) if step > 0 else (_PAIRS, _OPENERS)
    limit = min(len(text), i + LOOKBACK) if step > 0 else max(-1, i - LOOKBACK)
    depth = 0
    while i != limit:
        ch = text[i]
        if ch in entering:
            depth += 1
        elif ch in leaving:
            depth = max(0, depth - 1)
        elif depth == 0 and ch in stops:
            return i if step > 0 else i + 1
        i += step
    return limit if step > 0 else limit + 1


def _classify(text: str, start: int, end: int, *, own_attachment: bool) -> str:
    if own_attachment:
        return "issues"
    cues = _cues()
    clause_start = _clause_start(text, start, _CLAUSE_END)
    before = text[clause_start:start]
    near_before = text[max(clause_start, start - 4):start]
    near_after = text[end:min(_clause_end(text, end, _CLAUSE_END), end + 4)]
    if any(c in near_before or near_after.lstrip("的").startswith(c) for c in cues["interprets"]):
        return "interprets"
    if any(c in before for c in cues["implements"]):
        return "implements"
    # 现将《X》印发给你们 / 《X》已经国务院同意，现印发给你们: the issuing words follow in the
    # same or the next clause, with no other document named in between.
    after = text[end:_clause_end(text, end, _SENTENCE_END)]
    after = after[_TITLE_LIST_RE.match(after).end():]
    after = re.split(r"[《〔﹝\[［【]", after, maxsplit=1)[0]
    for cue in cues["issues"]:
        pos = after.find(cue)
        if pos >= 0 and sum(after[:pos].count(c) for c in _CLAUSE_END) <= 1:
            return "issues"
    return "cites"


def _phrase(text: str, start: int, end: int) -> str:
    s = max(_clause_start(text, start, _CLAUSE_END), start - PHRASE_BEFORE)
    e = min(_clause_end(text, end, _CLAUSE_END), end + PHRASE_AFTER)
    return re.sub(r"\s+", " ", text[s:e]).strip()


# ---------------------------------------------------------------------------------------------
# Resolution over a corpus


def resolve_references(records: list[dict]) -> dict:
    """Link the references of every record to the records they name.

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
    for r in records:
        # An interpretation's title names the policy it interprets, not itself.
        own_title = r.get("title") if r.get("kind") != "interpretation" else None
        refs = extract_references(r.get("text") or "", title=own_title, doc_number=r.get("doc_number"))
        extracted[r["id"]] = refs
        for ref in refs:
            if ref["title"] and ref["doc_number"]:
                title_numbers[title_key(ref["title"])][ref["doc_number"]] += 1

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
            if record.get("level") == "central" and not _issuer_of(title):
                kept.append(c)
            elif _names_record(title_key(title) or "", record):
                kept.append(c)
            elif record.get("region") and record.get("region") == citing.get("region") and not _issuer_of(title):
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
    marked = bool(_INTERPRETATION_MARK_RE.match(title)) or any(
        "解读" in label for label in record.get("labels") or ())
    if record.get("kind") != "interpretation" and not marked:
        return []
    target = record.get("interprets")
    if not target:
        name = _INTERPRETATION_MARK_RE.sub("", title)
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
    `cited_by` (the records citing this one) and `siblings` (see `siblings`). A corpus-wide
    property stored per record, so that a record is re-indexed whenever its links change."""
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


# What annotate() adds that other documents decide: a new report citing a document
# changes these, not the document, so a build keeps them beside the index, as the
# compact table of derived_table(), and with_derived() puts them back as a record is read.
DERIVED_FIELDS = ("cited_by", "siblings")


def without_derived(record: dict) -> dict:
    """The record without DERIVED_FIELDS: what is indexed and hashed."""
    return {k: v for k, v in record.items() if k not in DERIVED_FIELDS}


def derived_table(lineage: dict) -> dict:
    """What with_derived() needs, in the size of the links (not of the sibling lists, which
    grow with the square of the documents implementing one parent)."""
    return {"cited_by": lineage["cited_by"],
            "parents": {key: {k: parent[k] for k in ("key", "target_id", "title", "doc_number")}
                        for key, parent in lineage["parents"].items()}}


def with_derived(record: dict, table: dict) -> dict:
    """`record` (which carries its own `cites`) with its cited_by and siblings from `table`."""
    rid = record.get("id")
    view = {"cites": {rid: record.get("cites") or []}, "cited_by": table.get("cited_by") or {},
            "parents": table.get("parents") or {}}
    return dict(record, cited_by=[dict(e) for e in view["cited_by"].get(rid, [])], siblings=siblings(view, rid))


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
