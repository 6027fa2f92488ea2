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
from indexer.doc_numbers import QUERY_DOC_NUMBER_RE, find_query_doc_numbers
from indexer.schema import FIELD_WEIGHTS, NGRAM_SUFFIX

from .chain import Chain
from .near import Near, Needle
from .parser import Node, Term

# Ranking tiers: constant scores far above any BM25F sum of the most terms a query keeps.
TIER_DOC_NUMBER = 1e9
TIER_TITLE_WHOLE = 1e7
TIER_TITLE_ALL = 1e5
# A run of several words found as typed, per run: above any BM25F sum, below the title tiers.
TIER_RUN = 1e3
# Weight of an exact (n-gram phrase) match relative to the word match of a field.
EXACT_WEIGHT = 1.5
# An expansion (PPP → 政府和社会资本合作) ranks a little below the word typed.
SYNONYM_WEIGHT = 0.8
# A word found only as its parts (绿色 … 发展 for 绿色发展) ranks below the word itself.
SUB_WORD_WEIGHT = 0.5


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


def _words_query(words: list[str], fields, weight: float = 1.0, loosely: bool = False):
    """Every word present in one of the fields. `loosely`: a longer word may also be
    present as the words it is made of (绿色发展 in 绿色高质量发展), which the index holds
    as sub-words of every longer word."""
    clauses = []
    for word in words:
        clause = _word_in(word, fields, weight) if _indexed_word(word) else exact_query(word, fields, weight)
        parts = _parts(word) if loosely else []
        if parts:
            clause = Q.Or([clause, Q.And([_word_in(p, fields, weight * SUB_WORD_WEIGHT) for p in parts])])
        clauses.append(clause)
    return clauses[0] if len(clauses) == 1 else Q.And(clauses)


def _indexed_word(word: str) -> bool:
    """Whether the index can hold `word` as a word: Latin and digits, a single
    character, or a word of jieba's dictionary. A run of characters jieba could only
    read one by one (老旧 of 老旧小区) is not, and is matched as a string instead."""
    return len(word) == 1 or not all("\u3400" <= ch <= "\u9fff" for ch in word) \
        or bool(analysis.init_jieba().FREQ.get(word))


def _word_in(word: str, fields, weight: float):
    alternatives = [Q.Term(name, word, boost=FIELD_WEIGHTS[name] * weight) for name in fields]
    return alternatives[0] if len(alternatives) == 1 else Q.Or(alternatives)


def _parts(word: str) -> list[str]:
    """The longest dictionary words inside `word` when together they cover every one
    of its characters (高质量发展 → 高质量 发展), else []."""
    inside = analysis.sub_words(word)
    maximal = [(w, i) for w, i in inside
               if not any(o != w and len(o) > len(w) and j <= i and i + len(w) <= j + len(o) for o, j in inside)]
    covered = set()
    for w, i in maximal:
        covered.update(range(i, i + len(w)))
    return [w for w, _i in sorted(maximal, key=lambda wi: wi[1])] if len(covered) == len(word) else []


@functools.lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    return analysis.load_stopwords()


def content_words(text: str) -> list[str]:
    """The words of a run as jieba reads them, with characters it could only read one
    by one (a misspelt 冷连物流 → 冷 连 物流) kept together as one run (冷连): a word
    nobody wrote is not matched by its characters scattered over a document."""
    out: list[str] = []
    loose = ""
    for word in query_words(text):
        if len(word) == 1 and "\u3400" <= word <= "\u9fff" and word not in _stopwords():
            loose += word
            continue
        if loose:
            out.append(loose)
            loose = ""
        out.append(word)
    if loose:
        out.append(loose)
    # A lone character between words (专项债作资本金, 冷链物流的政策有哪些) is a function word
    # or a verb: when the run falls back to its words, they are the other words.
    words = [w for w in out if not (len(w) == 1 and "\u3400" <= w <= "\u9fff")]
    return words if words else out


def _compile_word(text: str, fields, weight: float = 1.0, highlights=None, fallback: bool = True):
    """A plain (unquoted) word: exact, or (with `fallback`) all its jieba words."""
    needle = squash(text)
    exact = exact_query(needle, fields, weight)
    words = [w for w in content_words(text) if w]
    alternatives = [exact] if exact is not None else []
    content = [w for w in words if w not in _stopwords()]
    use_words = fallback and len(content) > 1 and words != [needle]
    if use_words:
        alternatives.append(_words_query(content, fields, weight, loosely=True))
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
        keys = term.doc_keys
        if not keys:
            # 第10号, 04号, 【2021】: the key as the 文号 is indexed, not as typed.
            hits = find_query_doc_numbers(term.text)
            if len(hits) == 1 and hits[0].start == 0 and hits[0].end == len(term.text):
                key = hits[0].key
                keys = tuple(dict.fromkeys(k for _a, k in hits[0].agency_candidates)) or (key,)
        keys = keys or (key,)
        record["doc_number"] = key
        explanation["doc_numbers"].append(key)
        by_key = [Q.Term("doc_number_key", k) for k in keys]
        by_key = by_key[0] if len(by_key) == 1 else Q.Or(by_key)
        alternatives.append(Q.ConstantScoreQuery(by_key, 1.0))
        tiers.append(Q.ConstantScoreQuery(by_key, TIER_DOC_NUMBER))
        if term.maybe_words:
            # 政府 2021 10 may be words after all: they match too, far below the 文号.
            alternatives.append(_compile_word(term.maybe_words, fields, 1.0, None)[0])
        needle = key[:-1] if key.endswith("号") and not doc_number_key(term.text).endswith("号") else key
        # A 文号 matches by its keyword and where it is cited, never word by word.
        main, words = _compile_word(needle, fields, 1.0, highlights, fallback=False)
    else:
        main, words = _compile_word(term.text, fields, 1.0, highlights)
        if words:
            # The run as typed, contiguous, ranks above its words close together,
            # which rank above its words anywhere (see the searcher's run bonuses).
            tiers.append(Q.ConstantScoreQuery(exact_query(needle, fields), TIER_RUN))
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


def _needle(term: Term) -> Needle:
    """How a term of 同句 / 同段 is found in a sentence: its exact form, or all its words
    where it falls back to them. Not its synonyms: that two words stand together is a
    claim about the words the researcher typed."""
    needle = doc_number_key(term.text) if term.doc_number else squash(term.text)
    if term.quoted or term.doc_number:
        return Needle((needle,))
    words = [w for w in content_words(term.text) if w]
    content = [w for w in words if w not in _stopwords()]
    return Needle((needle,), tuple(content) if len(content) > 1 and words != [needle] else ())


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
    if node.op == "near":
        if len(children) < len(node.children):
            return Q.And(children) if len(children) > 1 else children[0]
        explanation.setdefault("proximity", []).append(
            {"unit": node.unit, "terms": [t.text for t in node.children]})
        used = tuple(dict.fromkeys(f for t in node.children for f in (t.fields or fields)))
        return Near(children, node.unit, tuple(_needle(t) for t in node.children), used)
    positives = [c for c in children if not _is_pure_exclusion(c)]
    negatives = [c.b for c in children if _is_pure_exclusion(c)]
    base = (positives[0] if len(positives) == 1 else Q.And(positives)) if positives else Q.Every()
    if negatives:
        return Q.AndNot(base, negatives[0] if len(negatives) == 1 else Q.Or(negatives))
    return base


def _is_pure_exclusion(q) -> bool:
    return isinstance(q, Q.AndNot) and isinstance(q.a, Q.Every)



def partial_units(tree, fields) -> tuple[list[tuple[str, object]], object | None]:
    """The parts of a query a document may hold some of: each positive part of a
    top-level conjunction (a word, a quoted string, a 同句, a parenthesised OR), or,
    for a query of one plain run, each of its content words; with the exclusions every
    document must still satisfy. ([], None) for a query with one part only."""
    scratch = {"terms": [], "expansions": [], "doc_numbers": []}
    children = tree.children if isinstance(tree, Node) and tree.op == "and" else [tree]
    positives = [c for c in children if not (isinstance(c, Node) and c.op == "not")]
    negatives = [c.children[0] for c in children if isinstance(c, Node) and c.op == "not"]
    units = []
    if len(positives) >= 2:
        for child in positives:
            q = compile_node(child, fields, scratch, [], [])
            if q is not None:
                units.append((_label(child), q))
    elif len(positives) == 1 and isinstance(positives[0], Term) and not positives[0].quoted \
            and not positives[0].doc_number:
        term = positives[0]
        words = [w for w in content_words(term.text) if w and w not in _stopwords()]
        # Each word as the term's own word fallback matches it, so a document holding
        # every unit is a full match, never a partial one.
        for word in dict.fromkeys(words):
            units.append((word, _words_query([word], tuple(term.fields or fields), loosely=True)))
        if len(units) == 1 and words[0] != squash(term.text):
            # One word left of a longer run (未闭合 → 闭合): the documents holding that
            # word lack the run as typed.
            units.insert(0, (term.text, exact_query(squash(term.text), tuple(term.fields or fields))))
    if len(units) < 2:
        return [], None
    excluded = [q for q in (compile_node(n, fields, scratch, [], []) for n in negatives) if q is not None]
    return units, (Q.Or(excluded) if len(excluded) > 1 else excluded[0]) if excluded else None


def _label(node) -> str:
    if isinstance(node, Term):
        return f"“{node.text}”" if node.quoted else node.text
    if node.op == "near":
        return ("同句" if node.unit == "sentence" else "同段") + "(" + " ".join(_label(c) for c in node.children) + ")"
    joiner = " OR " if node.op == "or" else " "
    return "(" + joiner.join(_label(c) for c in node.children) + ")"
