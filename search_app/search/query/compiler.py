"""Compiling the parsed query into Whoosh queries for the one-pass scorer.

How a query word matches (see indexer.analysis for the two index views):

* exactly: the n-gram run of the word (`Chain`), i.e. every document containing
  the string with whitespace ignored — this is the recall guarantee;
* or by words: every jieba word of it present (for longer, unquoted words);
* or through a synonym / agency alias alternative, only where the word itself is absent.

A 文号 matches by its normalised keyword and, exactly, where it is cited.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

from whoosh import query as Q

from indexer import analysis
from indexer.analysis import char_grams, doc_number_key, fold, query_words, squash
from indexer.doc_numbers import QUERY_DOC_NUMBER_RE
from indexer.schema import FIELD_WEIGHTS, NGRAM_SUFFIX

from .chain import Chain
from .parser import Term

# Ranking tiers: constant scores far above any BM25F sum of the most terms a query keeps.
TIER_DOC_NUMBER = 1e9
TIER_TITLE_WHOLE = 1e7
TIER_TITLE_ALL = 1e5
# Weight of an exact (n-gram phrase) match relative to the word match of a field.
EXACT_WEIGHT = 1.5
# An expansion (PPP → 政府和社会资本合作) ranks a little below the word typed.
SYNONYM_WEIGHT = 0.8


@dataclass
class Highlight:
    """What to mark for one query word: its exact form, else its words."""
    needle: str
    words: tuple[str, ...]
    fields: tuple[str, ...]


@functools.lru_cache(maxsize=1)
def synonyms() -> dict[str, list[list[str]]]:
    return analysis.load_synonyms()


def exact_query(needle: str, fields, weight: float = 1.0):
    """Documents whose field contains `needle` (squashed) exactly."""
    grams = char_grams(needle)
    if not grams:
        return None
    # A document holding the needle as a word of the field holds it exactly; the word
    # analyzer lower-cases what the n-grams fold, so this holds for uncased text only.
    implied = all(ch.lower() == ch == ch.upper() for ch in needle)
    subqueries = []
    for name in fields:
        boost = FIELD_WEIGHTS[name] * EXACT_WEIGHT * weight / len(grams)
        fname = name + NGRAM_SUFFIX
        if len(grams) == 1:
            subqueries.append(Q.Term(fname, grams[0], boost=boost))
        else:
            subqueries.append(Chain(fname, grams, slop=1, boost=boost, implied_by=implied and (name, needle)))
    return subqueries[0] if len(subqueries) == 1 else Q.Or(subqueries)


def _words_query(words: list[str], fields, weight: float = 1.0):
    clauses = []
    for word in words:
        alternatives = [Q.Term(name, word, boost=FIELD_WEIGHTS[name] * weight) for name in fields]
        clauses.append(alternatives[0] if len(alternatives) == 1 else Q.Or(alternatives))
    return clauses[0] if len(clauses) == 1 else Q.And(clauses)


@functools.lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    return analysis.load_stopwords()


def _compile_word(text: str, fields, weight: float = 1.0, highlights=None, fallback: bool = True):
    """A plain (unquoted) word: exact, or (with `fallback`) all its jieba words."""
    needle = squash(text)
    exact = exact_query(needle, fields, weight)
    words = [w for w in query_words(text) if w]
    alternatives = [exact] if exact is not None else []
    content = [w for w in words if w not in _stopwords()]
    use_words = fallback and len(content) > 1 and words != [needle]
    if use_words:
        alternatives.append(_words_query(content, fields, weight))
    elif words == [needle]:
        # A single word also ranks by its word fields (BM25F over title, text…).
        alternatives.append(_words_query([needle], fields, weight * 0.5))
    if highlights is not None:
        marked = tuple(w for w in content if len(w) > 1) if use_words else ()
        highlights.append(Highlight(needle, marked, tuple(fields)))
    if not alternatives:
        return None, []
    return Q.Or(alternatives) if len(alternatives) > 1 else alternatives[0], content if use_words else []


def _compile_term(term: Term, fields, explanation: dict, highlights: list[Highlight], tiers: list):
    fields = tuple(term.fields or fields)
    needle = squash(term.text)
    record = {"text": term.text, "fields": list(fields)}
    if term.quoted:
        record["mode"] = "exact"
        highlights.append(Highlight(needle, (), fields))
        explanation["terms"].append(record)
        return exact_query(needle, fields)
    alternatives = []
    if term.doc_number or QUERY_DOC_NUMBER_RE.fullmatch(fold(term.text)):
        key = doc_number_key(term.text)
        if not key.endswith("号"):
            key += "号"
        record["doc_number"] = key
        explanation["doc_numbers"].append(key)
        alternatives.append(Q.ConstantScoreQuery(Q.Term("doc_number_key", key), 1.0))
        tiers.append(Q.ConstantScoreQuery(Q.Term("doc_number_key", key), TIER_DOC_NUMBER))
        needle = doc_number_key(term.text)
        # A 文号 matches by its keyword and where it is cited, never word by word.
        main, words = _compile_word(needle, fields, 1.0, highlights, fallback=False)
    else:
        main, words = _compile_word(term.text, fields, 1.0, highlights)
    if main is not None:
        alternatives.insert(0, main)
    record["mode"] = "words" if words else "exact"
    if words:
        record["words"] = words
    expansions = []
    for parts in synonyms().get(needle, []):
        if len(parts) == 1 and needle in parts[0]:
            continue  # a longer form containing the word is already matched by it
        # An expansion is a precise name: matched exactly, never word by word.
        clauses = [_compile_word(p, fields, SYNONYM_WEIGHT, highlights, fallback=False)[0] for p in parts]
        clauses = [c for c in clauses if c is not None]
        if clauses:
            expansion = clauses[0] if len(clauses) == 1 else Q.And(clauses)
            # Only where the word itself is absent: naming the thing twice (PPP and
            # 政府和社会资本合作) does not make a document more relevant.
            alternatives.append(Q.AndNot(expansion, main) if main is not None else expansion)
        expansions.append(" ".join(parts))
    if expansions:
        explanation["expansions"].append({"term": term.text, "alternatives": expansions})
        record["expanded"] = expansions
    explanation["terms"].append(record)
    if not alternatives:
        return None
    return alternatives[0] if len(alternatives) == 1 else Q.Or(alternatives)


def compile_node(node, fields, explanation, highlights, tiers, negated=False):
    if isinstance(node, Term):
        if negated:
            # What is excluded is not highlighted and does not rank.
            return _compile_term(node, fields, explanation, [], [])
        return _compile_term(node, fields, explanation, highlights, tiers)
    if node.op == "not":
        before = len(explanation["terms"])
        inner = compile_node(node.children[0], fields, explanation, highlights, tiers, not negated)
        for record in explanation["terms"][before:]:
            record["negated"] = not negated
        return Q.AndNot(Q.Every(), inner) if inner is not None else None
    children = [compile_node(c, fields, explanation, highlights, tiers, negated) for c in node.children]
    children = [c for c in children if c is not None]
    if not children:
        return None
    if node.op == "or":
        return children[0] if len(children) == 1 else Q.Or(children)
    positives = [c for c in children if not _is_pure_exclusion(c)]
    negatives = [c.b for c in children if _is_pure_exclusion(c)]
    base = (positives[0] if len(positives) == 1 else Q.And(positives)) if positives else Q.Every()
    if negatives:
        return Q.AndNot(base, negatives[0] if len(negatives) == 1 else Q.Or(negatives))
    return base


def _is_pure_exclusion(q) -> bool:
    return isinstance(q, Q.AndNot) and isinstance(q.a, Q.Every)

