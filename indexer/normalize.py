"""Normalisation of the metadata a report prints: issuing bodies, regions, document types.

The domain knowledge (regions, cities, agency aliases, document types) lives in
TSV tables under data/tables; this module only knows how to apply them. 文号 are
indexer.doc_numbers' business, dates indexer.dates'.
"""
from __future__ import annotations

import csv
import functools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from indexer.doc_numbers import doc_number_parts

TABLES_DIR = Path(__file__).resolve().parent.parent / "data" / "tables"


@functools.lru_cache(maxsize=None)
def load_table(name: str) -> tuple[dict, ...]:
    """Rows of a TSV table under data/tables (lines starting with # are comments)."""
    path = TABLES_DIR / name
    with path.open(encoding="utf-8") as fh:
        lines = [line for line in fh if line.strip() and not line.startswith("#")]
    reader = csv.DictReader(lines, delimiter="\t")
    return tuple({k: (v or "").strip() for k, v in row.items()} for row in reader)


def split_list(value: str) -> list[str]:
    return [v for v in (value or "").split("|") if v]


# --------------------------------------------------------------------------- regions

@dataclass(frozen=True)
class Place:
    name: str          # full official name
    province: str      # the province-level division (== name for a province)
    is_city: bool


@functools.lru_cache(maxsize=None)
def _places() -> tuple[list[tuple[str, Place]], dict[str, Place], dict[str, Place]]:
    """(name prefixes longest first, province by 文号 prefix, city by 文号 prefix)."""
    prefixes: list[tuple[str, Place]] = []
    province_codes: dict[str, Place] = {}
    city_codes: dict[str, Place] = {}
    for row in load_table("regions.tsv"):
        place = Place(row["name"], row["name"], False)
        for alias in [row["name"], row["short"], *split_list(row.get("aliases", ""))]:
            if alias:
                prefixes.append((alias, place))
        for code in split_list(row["doc_prefixes"]):
            province_codes[code] = place
    for row in load_table("cities.tsv"):
        place = Place(row["name"], row["province"], True)
        short = row["name"][:-1] if row["name"].endswith("市") else row["name"]
        for alias in [row["name"], short, *split_list(row.get("aliases", ""))]:
            if alias and len(alias) >= 2:
                prefixes.append((alias, place))
        for code in split_list(row["doc_prefixes"]):
            city_codes[code] = place
    prefixes.sort(key=lambda p: -len(p[0]))
    return prefixes, province_codes, city_codes


def province_names() -> list[str]:
    return [row["name"] for row in load_table("regions.tsv")]


def place_at_start(text: str) -> Place | None:
    """The region or city a name starts with (福建省…, 广州市…, 广西…)."""
    text = (text or "").strip()
    for alias, place in _places()[0]:
        if text.startswith(alias):
            # a bare short name must not swallow a longer word (e.g. 青海 vs 青年)
            return place
    return None


def places_in(text: str) -> list[Place]:
    """Every region or city named anywhere in text, in order of appearance."""
    found: list[tuple[int, Place]] = []
    text = text or ""
    for alias, place in _places()[0]:
        if len(alias) < 2:
            continue
        start = text.find(alias)
        if start >= 0:
            found.append((start, place))
    found.sort(key=lambda f: f[0])
    return [p for _, p in found]


def region_from_doc_number(doc_number: str | None) -> Place | None:
    """宁政发〔2021〕31号 → 宁夏回族自治区; 穗府规 → 广州市 (city codes only where unambiguous)."""
    parts = doc_number_parts(doc_number)
    if not parts:
        return None
    _, province_codes, city_codes = _places()
    first = parts["agency"][:1]
    if first in province_codes:
        return province_codes[first]
    if first in city_codes:
        return city_codes[first]
    return None


# --------------------------------------------------------------------------- bodies

@functools.lru_cache(maxsize=None)
def _body_words(kind: str) -> tuple[str, ...]:
    """Words of agency names, by kind, from data/tables/body_words.tsv."""
    return tuple(w for row in load_table("body_words.tsv") if row["kind"] == kind for w in split_list(row["words"]))


@functools.lru_cache(maxsize=None)
def _alias_table(name: str) -> dict[str, str]:
    """alias → canonical name, from a table with `canonical` and `aliases` columns; a row
    with a `parent` (an office that issues in its own name) rolls up to that parent."""
    table: dict[str, str] = {}
    for row in load_table(name):
        canonical = row.get("parent") or row["canonical"]
        for alias in [row["canonical"], *split_list(row["aliases"])]:
            table[alias] = canonical
    return table


def _central_aliases() -> dict[str, str]:
    return _alias_table("agencies.tsv")


def _local_aliases() -> dict[str, str]:
    return _alias_table("local_agencies.tsv")


def _strip_office(name: str) -> str:
    for suffix in _body_words("office"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def canonical_body(name: str, region: str | None = None, city: str | None = None) -> str:
    """One canonical name per agency: aliases unified, 办公厅/办公室 rolled up to the parent,
    a local body's missing region (自治区人民政府, 省发展改革委) supplied from `region`."""
    name = re.sub(r"\s+", "", unicodedata.normalize("NFKC", name or "")).rstrip("等")
    if not name:
        return name
    central = _central_aliases()
    if name in central:
        return central[name]
    parent = _strip_office(name)
    if parent in central:
        return central[parent]
    place = place_at_start(parent)
    prefix = ""
    rest = parent
    if place:
        for alias, p in _places()[0]:
            if p == place and parent.startswith(alias):
                prefix, rest = place.name, parent[len(alias):]
                break
    else:
        for generic in _body_words("place_word"):
            if parent.startswith(generic):
                owner = city if generic in ("市",) and city else region
                if generic == "市" and not city and region and region.endswith("市"):
                    owner = region
                if owner:
                    prefix, rest = owner, parent[len(generic):]
                break
    local = _local_aliases()
    rest = local.get(rest, rest)
    if prefix:
        return prefix + rest
    return parent


def is_known_body(name: str) -> bool:
    """Whether a token is a complete agency name we can canonicalise."""
    name = (name or "").strip().rstrip("等")
    if not name:
        return False
    central = _central_aliases()
    if name in central or _strip_office(name) in central:
        return True
    rest = _strip_office(name)
    place = place_at_start(rest)
    if place:
        for alias, p in _places()[0]:
            if p == place and rest.startswith(alias):
                rest = rest[len(alias):]
                break
    else:
        for generic in _body_words("place_word"):
            if rest.startswith(generic):
                rest = rest[len(generic):]
                break
    return rest in _local_aliases() or rest.endswith(_body_words("name_ending"))


def join_body_lines(lines: list[str]) -> str:
    """Rejoin a 发布部门 value wrapped over several lines: a line break inside a name
    (住房和 / 城乡建设部) joins without a space, a break between two names with one."""
    out = ""
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if not out:
            out = line
            continue
        last = out.split()[-1] if out.split() else ""
        first = line.split()[0]
        if is_known_body(last) and (is_known_body(first) or is_known_body(line.split()[0])):
            out += " " + line
        else:
            out += line
    return out


def split_bodies(value: str) -> list[str]:
    """'国家发展改革委 中央网信办 …等' → ['国家发展改革委', '中央网信办', …]."""
    value = unicodedata.normalize("NFKC", value or "").replace("、", " ").replace("，", " ")
    tokens = [t.strip().rstrip("等") for t in value.split()]
    return [t for t in tokens if t]


def doc_type_from_title(title: str) -> str | None:
    """The type of document. A notice that issues (印发 / 转发) a plan, or whose title is
    'X方案的通知', takes the type of what it issues; otherwise the title's last word."""
    title = re.sub(r"\s+", "", title or "")
    if not title:
        return None
    suffixes = sorted(((row["suffix"], row["doc_type"]) for row in load_table("doc_types.tsv")),
                      key=lambda s: -len(s[0]))
    inner = re.sub(r"的?通知$", "", title).rstrip("》”\"'")
    # a period in brackets follows the type word: 规划（2021-2035年）, 行动计划（2022－2024年）
    inner = re.sub(r"[（(][^（()）]*[）)]$", "", inner).rstrip("》”\"'")
    candidates = [inner, title] if inner != title or re.search(r"(印发|转发)", title) else [title]
    for candidate in candidates:
        for suffix, doc_type in suffixes:
            if candidate.endswith(suffix):
                return doc_type
    return None
