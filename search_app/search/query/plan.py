"""A query string → its `Plan`: what selects the hits, what ranks them, what to mark,
and the explanation the page shows ("检索 …").
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

from whoosh import query as Q

from indexer.analysis import fold, squash
from indexer.schema import DEFAULT_FIELDS, FIELD_LABELS

from .compiler import (
    TIER_TITLE_ALL,
    TIER_TITLE_WHOLE,
    Highlight,
    compile_node,
    exact_query,
    synonyms,
)
from .lexer import TEXT_DASHES, clean_query, lex
from .parser import Parser, has_negation, positive_terms, top_level_terms


@dataclass
class Plan:
    """A parsed and compiled query."""
    text: str
    match: object | None  # Whoosh query selecting the hits; None = every document
    ranked: object | None  # match plus the ranking tiers
    highlights: list[Highlight]
    explanation: dict


@functools.lru_cache(maxsize=512)
def parse_query(text: str) -> Plan:
    """Parse and compile a query string (cached: plans are immutable)."""
    notes: list[str] = []
    cleaned = clean_query(text, notes)
    # Lex the folded query, except that only a typed hyphen-minus (or its full-width
    # form) is the exclusion operator: a dash from pasted text (—, –) stays a
    # character, and fold() unifies it later for matching.
    folded = "".join(c if c in TEXT_DASHES else f for c, f in zip(cleaned, fold(cleaned)))
    explanation = {"query": cleaned, "terms": [], "expansions": [], "doc_numbers": [], "notes": notes}
    lexemes = lex(folded, notes)
    tree = Parser(lexemes, notes).parse()
    highlights: list[Highlight] = []
    tiers: list = []
    match = compile_node(tree, DEFAULT_FIELDS, explanation, highlights, tiers) if tree is not None else None
    whole = squash(cleaned)
    if match is not None and not has_negation(tree) and not any(t.quoted for t in positive_terms(tree, [])):
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
    if match is not None and tiers:
        ranked = Q.AndMaybe(match, tiers[0] if len(tiers) == 1 else Q.Or(tiers))
    explanation["summary"] = describe(explanation, match is None)
    return Plan(cleaned, match, ranked, highlights, explanation)


def describe(explanation: dict, everything: bool) -> str:
    if everything:
        return "未输入检索词：列出全部文件，最新的在前"
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
    for e in explanation["expansions"]:
        text += f"；“{e['term']}”同时检索 " + "、".join(f"“{a}”" for a in e["alternatives"])
    if explanation["notes"]:
        text += "。" + "；".join(explanation["notes"])
    return text

