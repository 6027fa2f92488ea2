"""A query string → its `Plan`: what selects the hits, what ranks them, what to mark,
and the explanation the page shows ("检索 …").
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

from whoosh import query as Q

from indexer.analysis import fold, load_query_fillers, squash
from indexer.schema import DEFAULT_FIELDS, FIELD_LABELS

from .compiler import (
    TIER_TITLE_ALL,
    TIER_TITLE_WHOLE,
    Highlight,
    compile_node,
    exact_query,
    partial_units,
    synonyms,
)
from .lexer import TEXT_DASHES, clean_query, lex
from .near import Needle
from .parser import Node, Parser, Term, has_negation, positive_terms, top_level_terms
from .titles import TitleProbe, probe_title
from .variants import to_simplified


@dataclass(frozen=True)
class Unit:
    """One part of a query for partial matching: what the page calls it, and its query."""
    label: str
    query: object


@dataclass
class Plan:
    """A parsed and compiled query."""
    text: str
    match: object | None  # Whoosh query selecting the hits; None = every document
    ranked: object | None  # match plus the ranking tiers
    highlights: list[Highlight]
    explanation: dict
    # For a query of several parts: each part alone, and what every hit must still lack,
    # to list the documents holding most parts when few hold them all.
    units: tuple[Unit, ...] = ()
    exclusion: object | None = None
    # A query that reads like a pasted title: compared with every title (query.titles).
    title_probe: TitleProbe | None = None
    # Runs of several words typed (城市更新行动): where a document does not hold one as
    # typed, its words in one sentence rank above its words anywhere.
    runs: tuple[Needle, ...] = ()


@functools.lru_cache(maxsize=512)
def parse_query(text: str) -> Plan:
    """Parse and compile a query string (cached: plans are immutable)."""
    notes: list[str] = []
    cleaned = clean_query(text, notes)
    relaxed: list[dict] = []
    simplified = to_simplified(cleaned)
    if simplified is not None:
        relaxed.append({"kind": "traditional", "from": cleaned, "to": simplified})
        cleaned = simplified
    # Lex the folded query, except that only a typed hyphen-minus (or its full-width
    # form) is the exclusion operator: a dash from pasted text (—, –) stays a
    # character, and fold() unifies it later for matching.
    folded = "".join(c if c in TEXT_DASHES else f for c, f in zip(cleaned, fold(cleaned)))
    explanation = {"query": cleaned, "terms": [], "expansions": [], "doc_numbers": [], "notes": notes,
                   "relaxed": relaxed}
    lexemes = lex(folded, notes)
    tree = Parser(lexemes, notes).parse()
    tree, fillers = split_fillers(tree)
    if fillers:
        relaxed.append({"kind": "optional", "terms": [t.text for t in fillers]})
    highlights: list[Highlight] = []
    tiers: list = []
    match = compile_node(tree, DEFAULT_FIELDS, explanation, highlights, tiers) if tree is not None else None
    whole = squash(cleaned)
    if match is not None and not has_negation(tree) and not has_near(tree) \
            and not any(t.quoted for t in positive_terms(tree, [])):
        # The recall guarantee: a document containing the whole query string is a
        # hit whatever the parse made of it (parentheses or a hyphen in a title).
        # A plain conjunction of words needs no help: such a document contains
        # each word exactly, in order, so it matches already.
        top = top_level_terms(tree)
        plain = top and all(t.fields is None and not t.doc_number for t in top) \
            and "".join(squash(t.text) for t in top) == whole
        if not plain:
            match = Q.Or([match, exact_query(whole, DEFAULT_FIELDS, 0.5)])
    top = top_level_terms(tree)
    if match is not None and top and all(t.fields in (None, ("title",)) for t in top):
        title_whole = "".join(squash(t.text) for t in top)
        alternatives = [exact_query(title_whole, ("title",))]
        if len(top) == 1 and not top[0].quoted:
            for parts in synonyms().get(title_whole, []):
                clauses = [exact_query(p, ("title",)) for p in parts]
                alternatives.append(clauses[0] if len(clauses) == 1 else Q.And(clauses))
        tiers.append(Q.ConstantScoreQuery(Q.Or(alternatives), TIER_TITLE_WHOLE))
        if len(top) > 1:
            tiers.append(Q.ConstantScoreQuery(Q.And([exact_query(squash(t.text), ("title",)) for t in top]),
                                              TIER_TITLE_ALL))
    ranked = match
    if match is not None and fillers:
        optional = [compile_node(t, DEFAULT_FIELDS, {"terms": [], "expansions": [], "doc_numbers": []},
                                 highlights, []) for t in fillers]
        optional = [q for q in optional if q is not None]
        if optional:
            ranked = Q.AndMaybe(match, optional[0] if len(optional) == 1 else Q.Or(optional))
    if match is not None and tiers:
        ranked = Q.AndMaybe(ranked, tiers[0] if len(tiers) == 1 else Q.Or(tiers))
    probe = None
    if plain_words(tree):
        probe = probe_title(folded)
        if probe is not None and probe.stripped:
            relaxed.append({"kind": "title", "stripped": list(probe.stripped)})
    units, exclusion = partial_units(tree, DEFAULT_FIELDS) if tree is not None else ((), None)
    explanation["summary"] = describe(explanation, match is None)
    runs = tuple(Needle((squash(t["text"]),), tuple(t["words"])) for t in explanation["terms"]
                 if t.get("mode") == "words" and not t.get("negated"))
    return Plan(cleaned, match, ranked, highlights, explanation,
                tuple(Unit(label, q) for label, q in units), exclusion, probe, runs)


@functools.lru_cache(maxsize=1)
def _fillers() -> frozenset[str]:
    return load_query_fillers()


def split_fillers(tree):
    """(the tree without its filler terms, the filler terms): a word such as 文件 or
    相关政策 typed as a term of its own beside other terms names no topic, so it ranks
    but is not required."""
    if not (isinstance(tree, Node) and tree.op == "and"):
        return tree, []
    fillers = [c for c in tree.children if isinstance(c, Term) and not c.quoted and not c.doc_number
               and c.fields is None and squash(c.text) in _fillers()]
    rest = [c for c in tree.children if not any(c is f for f in fillers)]
    if not fillers or not any(isinstance(c, Term) or c.op != "not" for c in rest):
        return tree, []
    return (rest[0] if len(rest) == 1 else Node("and", rest)), fillers


def plain_words(node) -> bool:
    """Whether a query is words only, perhaps in parentheses (a title's （2021—2030年）):
    no OR, exclusion, field, quotes, 文号 or 同句, so it may be a pasted title."""
    if node is None:
        return False
    if isinstance(node, Term):
        return node.fields is None and not node.quoted and not node.doc_number
    return node.op == "and" and all(plain_words(c) for c in node.children)


def has_near(node) -> bool:
    if node is None or isinstance(node, Term):
        return False
    return node.op == "near" or any(has_near(c) for c in node.children)


def describe(explanation: dict, everything: bool) -> str:
    if everything:
        return "未输入检索词：列出全部文件，最新的在前" + ("。" + "；".join(explanation["notes"])
                                                   if explanation["notes"] else "")
    parts = []
    for t in explanation["terms"]:
        label = f"“{t['text']}”"
        if t.get("negated"):
            label = "排除" + label
        elif t.get("mode") == "exact" or not t.get("words"):
            label += "（完整匹配）"
        else:
            label += "（完整匹配，或同时包含 " + " ".join(t["words"]) + "）"
        if t.get("doc_number"):
            label += f"（文号 {t['doc_number']}）"
        if t["fields"] != list(DEFAULT_FIELDS):
            label += "，限" + "、".join(FIELD_LABELS.get(f, f) for f in t["fields"])
        parts.append(label)
    text = "检索 " + "；".join(parts)
    for near in explanation.get("proximity", []):
        text += "；" + "与".join(f"“{t}”" for t in near["terms"]) + \
            ("须在同一句中" if near["unit"] == "sentence" else "须在同一段中")
    for e in explanation["expansions"]:
        text += f"；“{e['term']}”同时检索 " + "、".join(f"“{a}”" for a in e["alternatives"])
    for r in explanation.get("relaxed", []):
        if r["kind"] == "traditional":
            text = f"已将繁体字转换为简体字（“{r['from']}” → “{r['to']}”）；" + text
        elif r["kind"] == "optional":
            text += "；" + "".join(f"“{t}”" for t in r["terms"]) + "是泛称，不要求文件中出现"
        elif r["kind"] == "title":
            text += "；看作粘贴的文件标题，比对标题时去掉了" + "".join(f"“{s}”" for s in r["stripped"])
    if explanation["notes"]:
        text += "。" + "；".join(explanation["notes"])
    return text

