"""The search core: query language, ranking, filters, facets and snippets.

One pure entry point, `Searcher.search(query, filters, sort, page, per_page)`,
serves the CLI, the web pages and the JSON API alike and returns a plain dict.
The query language is documented in docs/query-language.md.

How a query word matches (see indexer.analysis for the two index views):

* exactly: the n-gram phrase of the word, i.e. every document containing the
  string with whitespace ignored — this is the recall guarantee;
* or by words: every jieba word of it present (for longer, unquoted words);
* or through a synonym / agency alias alternative.

Ranking is Whoosh's BM25F over the word fields (title weighted highest) plus
the exact matches, and on top three tiers that always come first: the 文号
equals the query, the title contains the whole query, the title contains every
query word.
"""
from __future__ import annotations

import calendar
import functools
import html
import itertools
import json
import re
import threading
import time
import unicodedata
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from whoosh import query as Q
from whoosh import scoring
from whoosh.analysis import Token
from whoosh.highlight import PinpointFragmenter

from indexer import analysis
from indexer.analysis import char_grams, doc_number_key, fold, query_words, squash, unfolded_pattern
from indexer.indexing import is_index, open_index, read_stamp
from indexer.lineage import with_derived
from indexer.schema import (
    DATE_FILTERS,
    DEFAULT_FIELDS,
    FACET_LABELS,
    FACETS,
    FIELD_PREFIXES,
    FIELD_WEIGHTS,
    FILTER_FACETS,
    FILTER_FIELDS,
    KIND_ORDER,
    KIND_PRIOR,
    LISTED_FACETS,
    NGRAM_SUFFIX,
)

from .evaluate import Chain, Evaluator

SORTS = ("relevance", "newest", "oldest")
MAX_QUERY_CHARS = 200
MAX_TERMS = 24
MAX_DEPTH = 8
MAX_PER_PAGE = 100
MAX_PAGE = 10_000

# Ranking tiers: constant scores far above any BM25F sum of MAX_TERMS words.
TIER_DOC_NUMBER = 1e9
TIER_TITLE_WHOLE = 1e7
TIER_TITLE_ALL = 1e5
# Weight of an exact (n-gram phrase) match relative to the word match of a field.
EXACT_WEIGHT = 1.5
# An expansion (PPP → 政府和社会资本合作) ranks a little below the word typed.
SYNONYM_WEIGHT = 0.8

# BM25F length normalisation of the body text. Documents run from a 150-character
# cover notice to a 50,000-character plan whose many mentions of a topic mean it
# is about that topic: the usual b = 0.75 would bury it under short notes.
TEXT_LENGTH_NORMALISATION = 0.4
WEIGHTING = scoring.BM25F(B=0.75, K1=1.2, text_B=TEXT_LENGTH_NORMALISATION,
                          text_ng_B=TEXT_LENGTH_NORMALISATION)

SCORE_CACHE_SIZE = 128
EXPORT_BATCH = 100

SNIPPET_CHARS = 150
SNIPPET_SURROUND = 36
SNIPPET_FRAGMENTS = 2
# A snippet is chosen among each word's first occurrences: a plan of 50,000 characters
# can hold a word hundreds of times, and weighing every passage costs more than the
# rest of the page.
SNIPPET_MATCHES_PER_WORD = 40

_ELLIPSIS = "…"


class SearchError(Exception):
    """Base of the errors a search reports; the message is Chinese, for users."""


class QueryError(SearchError):
    """The query or a parameter cannot be used as given (a user error: HTTP 400)."""


class IndexUnavailable(SearchError):
    """No usable index: missing, unreadable, or built with other analysis
    resources (a server-side condition: HTTP 503)."""


# =========================================================================== query language

_QUOTE = '"'
_FIELD_RE = re.compile(
    "(" + "|".join(sorted((re.escape(k) for k in FIELD_PREFIXES), key=len, reverse=True)) + r")[:]",
    re.IGNORECASE,
)
# A 文号 typed with any brackets and spacing, after fold(): 发改高技〔2021〕1742 号.
_DOC_NUMBER_RE = re.compile(
    r"([\u3400-\u9fff]{1,12})\s*[〔(]\s*((?:19|20)\d\d)\s*[〕)]\s*(?:第\s*)?(\d{1,6})\s*(号?)"
)
_TEXT_DASHES = frozenset("‐‑‒–—―﹣")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


@dataclass
class Term:
    text: str
    quoted: bool = False
    doc_number: bool = False
    fields: tuple[str, ...] | None = None  # None: inherited / default


@dataclass
class Node:
    op: str  # "and" | "or" | "not"
    children: list


@dataclass
class _Lexeme:
    kind: str  # WORD PHRASE DOCNUM LPAREN RPAREN OR NOT FIELD
    text: str = ""


def _clean_query(raw: str, notes: list[str]) -> str:
    text = unicodedata.normalize("NFC", str(raw or ""))
    text = _CONTROL_RE.sub(" ", text)
    if len(text) > MAX_QUERY_CHARS:
        text = text[:MAX_QUERY_CHARS]
        notes.append(f"检索式过长，只使用了前 {MAX_QUERY_CHARS} 个字符")
    return text


def _lex(text: str, notes: list[str]) -> list[_Lexeme]:
    """Split a (folded) query into lexemes, never failing: an unpaired quote is
    dropped and the rest searched as plain words."""
    out: list[_Lexeme] = []
    i, n = 0, len(text)
    quote_dropped = False
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch == _QUOTE:
            end = text.find(_QUOTE, i + 1)
            if end < 0:
                quote_dropped = True
                i += 1
                continue
            out.append(_Lexeme("PHRASE", text[i + 1:end]))
            i = end + 1
            continue
        if ch == "(":
            out.append(_Lexeme("LPAREN"))
            i += 1
            continue
        if ch == ")":
            out.append(_Lexeme("RPAREN"))
            i += 1
            continue
        m = _DOC_NUMBER_RE.match(text, i)
        if m and (i == 0 or not ("\u3400" <= text[i - 1] <= "\u9fff")):
            out.append(_Lexeme("DOCNUM", re.sub(r"\s+", "", m.group(0))))
            i = m.end()
            continue
        m = _FIELD_RE.match(text, i)
        if m:
            out.append(_Lexeme("FIELD", m.group(1).lower()))
            i = m.end()
            continue
        if ch == "-" and i + 1 < n and not text[i + 1].isspace() and not text[i + 1].isdigit() \
                and text[i + 1] not in "-" + "".join(_TEXT_DASHES):
            out.append(_Lexeme("NOT"))
            i += 1
            continue
        j = i
        while j < n and not text[j].isspace() and text[j] not in '"()':  # noqa: B005
            j += 1
        word = text[i:j]
        i = j
        if word == "OR" or word == "|":
            out.append(_Lexeme("OR"))
        elif word in ("AND", "&"):
            continue
        elif word == "NOT":
            out.append(_Lexeme("NOT"))
        elif word == "-":
            notes.append("单独的减号已忽略（排除某词请写成 -词，不加空格）")
        else:
            # A 文号 may follow other characters without a space: 冷链发改高技〔2021〕1742号.
            m = _DOC_NUMBER_RE.search(word)
            if m and m.start() > 0 and m.end() == len(word):
                out.append(_Lexeme("WORD", word[:m.start()]))
                out.append(_Lexeme("DOCNUM", re.sub(r"\s+", "", m.group(0))))
            else:
                out.append(_Lexeme("WORD", word))
    if quote_dropped:
        notes.append("引号不成对，已按普通检索处理")
    return out


class _Parser:
    """Recursive descent over lexemes; every malformation degrades to a plain
    reading and a note, never an exception."""

    def __init__(self, lexemes: list[_Lexeme], notes: list[str]):
        self.lx = lexemes
        self.i = 0
        self.notes = notes
        self.terms = 0

    def peek(self) -> _Lexeme | None:
        return self.lx[self.i] if self.i < len(self.lx) else None

    def parse(self):
        node = self.parse_or(0)
        while self.peek() is not None:  # stray ')' at top level
            self.i += 1
            self._note("多余的右括号已忽略")
            more = self.parse_or(0)
            if more is not None:
                node = more if node is None else Node("and", [node, more])
        return node

    def _note(self, message: str) -> None:
        if message not in self.notes:
            self.notes.append(message)

    def parse_or(self, depth: int):
        alternatives = [self.parse_and(depth)]
        while (tok := self.peek()) is not None and tok.kind == "OR":
            self.i += 1
            alternatives.append(self.parse_and(depth))
        present = [a for a in alternatives if a is not None]
        if len(alternatives) > 1 and len(present) < len(alternatives):
            self._note("OR 两侧需要检索词，缺少的一侧已忽略")
        if not present:
            return None
        return present[0] if len(present) == 1 else Node("or", present)

    def parse_and(self, depth: int):
        items = []
        while (tok := self.peek()) is not None:
            if tok.kind == "OR":
                break
            if tok.kind == "RPAREN":
                if depth > 0:
                    break
                self.i += 1
                self._note("多余的右括号已忽略")
                continue
            item = self.parse_unary(depth)
            if item is not None:
                items.append(item)
        if not items:
            return None
        return items[0] if len(items) == 1 else Node("and", items)

    def parse_unary(self, depth: int):
        negate = False
        while (tok := self.peek()) is not None and tok.kind == "NOT":
            self.i += 1
            negate = not negate
        atom = self.parse_atom(depth, None)
        if atom is None:
            if negate:
                self._note("单独的减号已忽略（排除某词请写成 -词，不加空格）")
            return None
        return Node("not", [atom]) if negate else atom

    def parse_atom(self, depth: int, fields):
        tok = self.peek()
        if tok is None:
            return None
        if tok.kind in ("OR", "RPAREN"):
            return None
        self.i += 1
        if tok.kind == "NOT":
            inner = self.parse_atom(depth, fields)
            return Node("not", [inner]) if inner is not None else None
        if tok.kind == "FIELD":
            prefix_fields = FIELD_PREFIXES[tok.text]
            nxt = self.peek()
            if nxt is None or nxt.kind in ("OR", "RPAREN", "FIELD"):
                self._note(f"“{tok.text}:”后面缺少检索词，已忽略")
                return None
            return self.parse_atom(depth, prefix_fields)
        if tok.kind == "LPAREN":
            if depth >= MAX_DEPTH:
                self._note("括号嵌套过深，内层括号已忽略")
                return self.parse_atom(depth, fields)
            inner = self.parse_or(depth + 1)
            if (close := self.peek()) is not None and close.kind == "RPAREN":
                self.i += 1
            else:
                self._note("括号不成对，已自动补全")
            if inner is not None and fields:
                inner = _with_fields(inner, fields)
            return inner
        if tok.kind in ("WORD", "PHRASE", "DOCNUM"):
            if not squash(tok.text):
                if tok.kind == "PHRASE":
                    self._note("空的引号已忽略")
                return None
            self.terms += 1
            if self.terms > MAX_TERMS:
                self._note(f"检索词过多，只使用了前 {MAX_TERMS} 个")
                return None
            return Term(tok.text, quoted=tok.kind == "PHRASE", doc_number=tok.kind == "DOCNUM",
                        fields=fields)
        return None


def _with_fields(node, fields):
    if isinstance(node, Term):
        if node.fields is None:
            node.fields = fields
        return node
    node.children = [_with_fields(c, fields) for c in node.children]
    return node


def _has_negation(node) -> bool:
    if node is None or isinstance(node, Term):
        return False
    return node.op == "not" or any(_has_negation(c) for c in node.children)


def _positive_terms(node, out: list[Term]) -> list[Term]:
    """Terms that a hit should contain (not under a negation)."""
    if isinstance(node, Term):
        out.append(node)
    elif node is not None and node.op != "not":
        for child in node.children:
            _positive_terms(child, out)
    return out


def _top_level_terms(node) -> list[Term] | None:
    """The terms of a plain conjunction (no OR, no negation), else None."""
    if isinstance(node, Term):
        return [node]
    if node is not None and node.op == "and" and all(isinstance(c, Term) for c in node.children):
        return list(node.children)
    return None


# =========================================================================== compiling

@functools.lru_cache(maxsize=1)
def _synonyms() -> dict[str, list[list[str]]]:
    return analysis.load_synonyms()


def _exact(needle: str, fields, weight: float = 1.0):
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


@dataclass
class _Highlight:
    """What to mark for one query word: its exact form, else its words."""
    needle: str
    words: tuple[str, ...]
    fields: tuple[str, ...]


@dataclass
class Plan:
    """A parsed and compiled query."""
    text: str
    match: object | None  # Whoosh query selecting the hits; None = every document
    ranked: object | None  # match plus the ranking tiers
    highlights: list[_Highlight]
    explanation: dict


# Function words left out when a query word falls back to "all its words": the
# exact match keeps them, and the index keeps them all (phrase positions).
_FALLBACK_STOPWORDS = frozenset("的 了 和 与 及 或 等 之 在 对 为 是 并 将 把 被 于 以 由 从 向 也 而 其 该 这 那 个".split())


def _compile_word(text: str, fields, weight: float = 1.0, highlights=None, fallback: bool = True):
    """A plain (unquoted) word: exact, or (with `fallback`) all its jieba words."""
    needle = squash(text)
    exact = _exact(needle, fields, weight)
    words = [w for w in query_words(text) if w]
    alternatives = [exact] if exact is not None else []
    content = [w for w in words if w not in _FALLBACK_STOPWORDS]
    use_words = fallback and len(content) > 1 and words != [needle]
    if use_words:
        alternatives.append(_words_query(content, fields, weight))
    elif words == [needle]:
        # A single word also ranks by its word fields (BM25F over title, text…).
        alternatives.append(_words_query([needle], fields, weight * 0.5))
    if highlights is not None:
        marked = tuple(w for w in content if len(w) > 1) if use_words else ()
        highlights.append(_Highlight(needle, marked, tuple(fields)))
    if not alternatives:
        return None, []
    return Q.Or(alternatives) if len(alternatives) > 1 else alternatives[0], content if use_words else []


def _compile_term(term: Term, fields, explanation: dict, highlights: list[_Highlight], tiers: list):
    fields = tuple(term.fields or fields)
    needle = squash(term.text)
    record = {"text": term.text, "fields": list(fields)}
    if term.quoted:
        record["mode"] = "exact"
        highlights.append(_Highlight(needle, (), fields))
        explanation["terms"].append(record)
        return _exact(needle, fields)
    alternatives = []
    if term.doc_number or _DOC_NUMBER_RE.fullmatch(fold(term.text)):
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
    for parts in _synonyms().get(needle, []):
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


def _compile(node, fields, explanation, highlights, tiers, negated=False):
    if isinstance(node, Term):
        if negated:
            # What is excluded is not highlighted and does not rank.
            return _compile_term(node, fields, explanation, [], [])
        return _compile_term(node, fields, explanation, highlights, tiers)
    if node.op == "not":
        before = len(explanation["terms"])
        inner = _compile(node.children[0], fields, explanation, highlights, tiers, not negated)
        for record in explanation["terms"][before:]:
            record["negated"] = not negated
        return Q.AndNot(Q.Every(), inner) if inner is not None else None
    children = [_compile(c, fields, explanation, highlights, tiers, negated) for c in node.children]
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


@functools.lru_cache(maxsize=512)
def parse_query(text: str) -> Plan:
    """Parse and compile a query string (cached: plans are immutable)."""
    notes: list[str] = []
    cleaned = _clean_query(text, notes)
    # Lex the folded query, except that only a typed hyphen-minus (or its full-width
    # form) is the exclusion operator: a dash from pasted text (—, –) stays a
    # character, and fold() unifies it later for matching.
    folded = "".join(c if c in _TEXT_DASHES else f for c, f in zip(cleaned, fold(cleaned)))
    explanation = {"query": cleaned, "terms": [], "expansions": [], "doc_numbers": [], "notes": notes}
    lexemes = _lex(folded, notes)
    tree = _Parser(lexemes, notes).parse()
    highlights: list[_Highlight] = []
    tiers: list = []
    match = _compile(tree, DEFAULT_FIELDS, explanation, highlights, tiers) if tree is not None else None
    whole = squash(cleaned)
    if match is not None and not _has_negation(tree) and not any(t.quoted for t in _positive_terms(tree, [])):
        # The recall guarantee: a document containing the whole query string is a
        # hit whatever the parse made of it (parentheses or a hyphen in a title).
        # A plain conjunction of words needs no help: such a document contains
        # each word exactly, in order, so it matches already.
        top = _top_level_terms(tree)
        plain = top and all(t.fields is None and not t.doc_number for t in top) \
            and "".join(squash(t.text) for t in top) == whole
        if not plain:
            match = Q.Or([match, _exact(whole, DEFAULT_FIELDS, 0.5)])
    top = _top_level_terms(tree)
    if match is not None and top and all(t.fields in (None, ("title",)) for t in top):
        title_whole = "".join(squash(t.text) for t in top)
        alternatives = [_exact(title_whole, ("title",))]
        if len(top) == 1 and not top[0].quoted:
            for parts in _synonyms().get(title_whole, []):
                clauses = [_exact(p, ("title",)) for p in parts]
                alternatives.append(clauses[0] if len(clauses) == 1 else Q.And(clauses))
        tiers.append(Q.ConstantScoreQuery(Q.Or(alternatives), TIER_TITLE_WHOLE))
        if len(top) > 1:
            tiers.append(Q.ConstantScoreQuery(Q.And([_exact(squash(t.text), ("title",)) for t in top]),
                                              TIER_TITLE_ALL))
    ranked = match
    if match is not None and tiers:
        ranked = Q.AndMaybe(match, tiers[0] if len(tiers) == 1 else Q.Or(tiers))
    explanation["summary"] = _describe(explanation, match is None)
    return Plan(cleaned, match, ranked, highlights, explanation)


def _describe(explanation: dict, everything: bool) -> str:
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
            label += "，限" + "、".join(_FIELD_LABELS.get(f, f) for f in t["fields"])
        parts.append(label)
    text = "检索 " + "；".join(parts)
    for e in explanation["expansions"]:
        text += f"；“{e['term']}”同时检索 " + "、".join(f"“{a}”" for a in e["alternatives"])
    if explanation["notes"]:
        text += "。" + "；".join(explanation["notes"])
    return text


_FIELD_LABELS = {"title": "标题", "summary": "摘要", "text": "全文", "bodies": "发布机关",
                 "doc_number": "文号", "place": "地区"}


# =========================================================================== filters

_DATE_RE = re.compile(r"^\s*(\d{4})(?:\s*[-/.年]\s*(\d{1,2})(?:\s*[-/.月]\s*(\d{1,2})\s*日?)?\s*月?)?\s*年?\s*$")


def parse_date_bound(value: str, upper: bool) -> str:
    """'2021' / '2021-12' / '2021-12-08' (or 2021年12月8日) → an ISO day; a partial
    date as a lower bound is its first day, as an upper bound its last."""
    m = _DATE_RE.match(unicodedata.normalize("NFKC", str(value)))
    if not m:
        raise QueryError(f"日期格式应为 YYYY-MM-DD（或 YYYY-MM、YYYY）：{str(value)[:40]}")
    year = int(m.group(1))
    month = int(m.group(2)) if m.group(2) else (12 if upper else 1)
    if not 1 <= month <= 12 or not 1000 <= year <= 9999:
        raise QueryError(f"日期不存在：{str(value)[:40]}")
    last = calendar.monthrange(year, month)[1]
    day = int(m.group(3)) if m.group(3) else (last if upper else 1)
    if not 1 <= day <= last:
        raise QueryError(f"日期不存在：{str(value)[:40]}")
    return f"{year:04d}-{month:02d}-{day:02d}"


def _values(raw) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, str):
        raw = [raw]
    try:
        items = list(raw)
    except TypeError:
        raise QueryError("筛选条件的取值应为文字或文字列表") from None
    out = []
    for item in items:
        if item is None:
            continue
        value = _CONTROL_RE.sub("", str(item)).strip()
        if value and value not in out:
            out.append(value[:100])
    return out


def normalize_filters(filters: dict | None) -> dict:
    """Validated filters: facet keys → lists of values, date keys → ISO days."""
    result: dict = {}
    for key, raw in (filters or {}).items():
        if key in FILTER_FACETS:
            values = _values(raw)
            if values:
                result[key] = values
        elif key in DATE_FILTERS:
            values = _values(raw)
            if values:
                result[key] = parse_date_bound(values[0], upper=key.endswith("_to"))
        else:
            raise QueryError(f"未知的筛选条件：{str(key)[:40]}")
    for low, high, label in (("date_from", "date_to", "发布日期"), ("written_from", "written_to", "成文日期")):
        if low in result and high in result and result[low] > result[high]:
            raise QueryError(f"{label}的起始日期晚于截止日期")
    return result


# =========================================================================== index generations

class _Generation:
    """One opened index: the Whoosh searcher and, read once from the index's
    facet fields, which documents carry which facet value."""

    def __init__(self, path: Path, name: str | None):
        self.path = path
        self.name = name
        self.lock = threading.RLock()  # serialises use of the Whoosh searcher
        self._count_lock = threading.Lock()
        self.users = 0
        self.retired = False
        try:
            self.ix = open_index(path)
            self.searcher = self.ix.searcher(weighting=WEIGHTING)
            self.evaluator = Evaluator(self.searcher)
        except Exception as exc:  # a damaged or half-written index
            raise IndexUnavailable(f"无法打开索引 {path}：{exc}") from exc
        self.stamp = read_stamp(path) or {}
        self.manifest = _read_json(path / "manifest.json")
        # who cites each document, written by the build beside the index (absent in an
        # index made directly from annotated records, whose records carry it)
        self.derived = _read_json(path / "lineage.json")
        current = analysis.loaded_resources_version()
        built = self.stamp.get("resources_version")
        self.mismatch = None
        if built != current:
            self.mismatch = (
                f"索引使用的分析资源版本（{built or '未知'}）与程序当前的版本（{current}）不一致："
                "词典、同义词或对照表已更改，请重新建立索引（policy-search build）"
            )
        # query text -> {docnum: relevance score} of every document it matches
        self.scored_cache: dict[str, dict[int, float]] = {}
        self._load_tables()

    def _load_tables(self) -> None:
        reader = self.searcher.reader()
        self.all_docs = frozenset(reader.all_doc_ids())
        self._cite_labels: dict[str, str] | None = None
        self.docnum_by_id: dict[str, int] = {}
        for docnum, value in self._postings(reader, "id"):
            self.docnum_by_id[value] = docnum
        self.by_value: dict[str, dict[str, set[int]]] = {}
        self.of_doc: dict[str, dict[int, tuple[str, ...]]] = {}
        for facet, fieldname in list(FACETS.items()) + [("report", "report")]:
            by_value: dict[str, set[int]] = {}
            of_doc: dict[int, list[str]] = {}
            for docnum, value in self._postings(reader, fieldname):
                by_value.setdefault(value, set()).add(docnum)
                of_doc.setdefault(docnum, []).append(value)
            self.by_value[facet] = by_value
            self.of_doc[facet] = {d: tuple(v) for d, v in of_doc.items()}
        # Filters that match another field than the facet counts (cites: any name of a parent).
        self.filter_by_value: dict[str, dict[str, set[int]]] = {}
        for facet, fieldname in FILTER_FIELDS.items():
            by_value = {}
            for docnum, value in self._postings(reader, fieldname):
                by_value.setdefault(value, set()).add(docnum)
            self.filter_by_value[facet] = by_value
        self.dates: dict[str, dict[int, str]] = {}
        for fieldname in ("publish_date", "written_date"):
            self.dates[fieldname] = {d: v for d, v in self._postings(reader, fieldname)}

    def _postings(self, reader, fieldname: str):
        if fieldname not in reader.schema:
            return
        for term in reader.lexicon(fieldname):
            value = term.decode("utf-8") if isinstance(term, bytes) else str(term)
            for docnum in reader.postings(fieldname, term).all_ids():
                if docnum in self.all_docs:
                    yield docnum, value

    def stale(self) -> bool:
        """An index updated in place (no generations) is reopened when it changed."""
        try:
            return not self.searcher.up_to_date()
        except Exception:
            return True

    def record(self, docnum: int) -> dict:
        record = json.loads(self.searcher.stored_fields(docnum)["record"])
        return record if self.derived is None else with_derived(record, self.derived)

    def cite_labels(self) -> dict[str, str]:
        """Cited parent key → how the citing documents name it (title and 文号), read once."""
        if self._cite_labels is None:
            labels: dict[str, str] = {}
            for docnum in sorted(self.of_doc.get("cites", {})):
                for key, label in (self.searcher.stored_fields(docnum).get("cite_labels") or {}).items():
                    labels.setdefault(key, label)
            self._cite_labels = labels
        return self._cite_labels

    def close(self) -> None:
        try:
            self.searcher.close()
            self.ix.close()
        except Exception:
            pass

    def acquire(self) -> None:
        with self._count_lock:
            self.users += 1

    def release(self) -> None:
        with self._count_lock:
            self.users -= 1
            done = self.retired and self.users == 0
        if done:
            self.close()

    def retire(self) -> None:
        with self._count_lock:
            self.retired = True
            done = self.users == 0
        if done:
            self.close()


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def resolve_index(index_root: str | Path) -> tuple[Path, str | None]:
    """The live index under `index_root`: the generation CURRENT names, or the
    root itself when it holds an index directly."""
    root = Path(index_root)
    try:
        current = (root / "CURRENT").read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        current = ""
    except OSError as exc:
        raise IndexUnavailable(f"无法读取 {root / 'CURRENT'}：{exc.strerror}") from exc
    if current:
        name = Path(current.rstrip("/")).name
        for candidate in (root / current, root / "generations" / name):
            if is_index(candidate):
                return candidate.resolve(), name
        raise IndexUnavailable(f"CURRENT 指向的索引不存在：{current}")
    if is_index(root):
        return root.resolve(), None
    raise IndexUnavailable(f"没有找到索引：{root}（请先运行 policy-search build）")


# =========================================================================== the searcher

class Searcher:
    """Searches the live index under `index_root` (see docs/architecture.md).

    Safe to share between threads. Each call reads CURRENT and switches to a new
    generation when it changed; a call that started on a generation finishes on
    it, and the old one is closed when its last call returns.
    """

    def __init__(self, index_root: str | Path):
        self.index_root = Path(index_root)
        self._lock = threading.Lock()
        self._gen: _Generation | None = None
        analysis.init_jieba()

    # ----------------------------------------------------------------- generations

    def _acquire_live(self) -> _Generation:
        """The live generation (reopened if CURRENT changed), marked in use."""
        path, name = resolve_index(self.index_root)
        with self._lock:
            gen = self._gen
            if gen is None or gen.path != path or (name is None and gen.stale()):
                fresh = _Generation(path, name)
                if gen is not None:
                    gen.retire()
                self._gen = gen = fresh
            gen.acquire()
        return gen

    @contextmanager
    def _generation(self, check_resources: bool = True):
        gen = self._acquire_live()
        try:
            if check_resources and gen.mismatch:
                raise IndexUnavailable(gen.mismatch)
            with gen.lock:
                yield gen
        finally:
            gen.release()

    def acquire(self) -> "PinnedSearcher":
        """A view of this searcher pinned to the live generation, for a request
        that makes several calls (a page and its facets, a document and its
        related list) and must see one index; `release()` it when done."""
        return PinnedSearcher(self, self._acquire_live())

    def close(self) -> None:
        with self._lock:
            if self._gen is not None:
                self._gen.retire()
                self._gen = None

    # ----------------------------------------------------------------- search

    @staticmethod
    def _prepare(query, filters, sort) -> tuple[Plan, dict, str]:
        """Validate the arguments common to search and iter_results."""
        sort = (sort or "relevance").strip().lower() if isinstance(sort, str) else sort
        if sort not in SORTS:
            raise QueryError(f"未知的排序方式：{str(sort)[:40]}（可用 relevance、newest、oldest）")
        if filters is not None and not isinstance(filters, dict):
            raise QueryError("筛选条件应为“名称 → 取值”的对应表")
        flt = normalize_filters(filters)
        plan = parse_query(query if isinstance(query, str) else str(query or ""))
        if plan.match is None and sort == "relevance":
            sort = "newest"
        return plan, flt, sort

    def _hits(self, gen: _Generation, plan: Plan, flt: dict):
        """(matched, selections, selected values, date-allowed, hits)."""
        matched = self._matched(gen, plan)
        selections, selected_values = self._selections(gen, flt)
        dated = self._date_filter(gen, flt)
        hits = set(matched)
        for docs in selections.values():
            hits &= docs
        if dated is not None:
            hits &= dated
        return matched, selections, selected_values, dated, hits

    def search(self, query: str = "", filters: dict | None = None, sort: str = "relevance",
               page: int = 1, per_page: int = 20) -> dict:
        started = time.perf_counter()
        plan, flt, sort = self._prepare(query, filters, sort)
        page = _clamp_int(page, 1, MAX_PAGE, "页码")
        per_page = _clamp_int(per_page, 1, MAX_PER_PAGE, "每页条数")
        with self._generation() as gen:
            matched, selections, selected_values, dated, hits = self._hits(gen, plan, flt)
            facets = self._facets(gen, matched, selections, selected_values, dated)
            histogram = self._histogram(gen, matched, selections, flt)
            start = (page - 1) * per_page
            ordered = self._order(gen, plan, hits, sort, start + per_page)[start:start + per_page]
            results = self._results(gen, plan, ordered)
        explanation = dict(plan.explanation)
        explanation["filters"] = flt
        explanation["sort"] = sort
        return {
            "query": plan.text,
            "total": len(hits),
            "page": page,
            "per_page": per_page,
            "pages": max(1, -(-len(hits) // per_page)),
            "sort": sort,
            "took_ms": round((time.perf_counter() - started) * 1000, 1),
            "explanation": explanation,
            "results": results,
            "facets": facets,
            "histogram": histogram,
        }

    def iter_results(self, query: str = "", filters: dict | None = None, sort: str = "relevance"):
        """Every hit's full stored record, in order (for exports). The arguments are
        checked at once (QueryError here, not halfway through a download); the
        records are read in batches, all from the generation live when iteration
        starts, without holding the index between batches."""
        plan, flt, sort = self._prepare(query, filters, sort)
        return self._iter_records(plan, flt, sort)

    def _iter_records(self, plan: Plan, flt: dict, sort: str):
        with self._generation() as gen:
            ordered = self._order(gen, plan, self._hits(gen, plan, flt)[-1], sort, None)
            # Keep the generation open (not locked) while the caller consumes.
            gen.acquire()
        try:
            for start in range(0, len(ordered), EXPORT_BATCH):
                with gen.lock:
                    batch = [gen.record(d) for d, _score in ordered[start:start + EXPORT_BATCH]]
                yield from batch
        finally:
            gen.release()

    def _matched(self, gen: _Generation, plan: Plan):
        """Every document the query matches (before filters)."""
        if plan.match is None:
            return gen.all_docs
        return self._scored(gen, plan).keys()

    def _scored(self, gen: _Generation, plan: Plan) -> dict[int, float]:
        """Every matching document with its relevance score, from one scored pass over
        the whole match (the ranked query matches exactly what the match query does;
        its tiers only add score). Remembered per generation: paging, ticking facets,
        changing the sort and exporting ask for the same query again, and building
        Whoosh's matchers is most of a query's cost."""
        cached = gen.scored_cache.get(plan.text)
        if cached is None:
            kinds = gen.of_doc["kind"]
            cached = {docnum: score * KIND_PRIOR.get((kinds.get(docnum) or ("",))[0], 1.0)
                      for docnum, score in gen.evaluator.score_all(plan.ranked).items()
                      if docnum in gen.all_docs}
            gen.scored_cache[plan.text] = cached
            while len(gen.scored_cache) > SCORE_CACHE_SIZE:
                gen.scored_cache.pop(next(iter(gen.scored_cache)))
        return cached

    def _selections(self, gen: _Generation, flt: dict):
        """Per facet key: the documents its selected values allow (OR within a key)."""
        selections: dict[str, set[int]] = {}
        selected_values: dict[str, list[str]] = {}
        for key in FILTER_FACETS:
            if key not in flt:
                continue
            values = [self._resolve_value(gen, key, v) for v in flt[key]]
            values = list(dict.fromkeys(values))
            selected_values[key] = values
            docs: set[int] = set()
            lookup = gen.filter_by_value.get(key, gen.by_value[key])
            for value in values:
                docs |= lookup.get(value, set())
            selections[key] = docs
        return selections, selected_values

    def _resolve_value(self, gen: _Generation, key: str, value: str) -> str:
        """A filter value as the index stores it: a body alias → its canonical name,
        中央/地方 → central/local, 福建 → 福建省."""
        known = gen.by_value.get(key, {})
        if value in known:
            return value
        for code, label in FACET_LABELS.get(key, {}).items():
            if value == label:
                return code
        if key == "body":
            try:
                from indexer.normalize import canonical_body

                canonical = canonical_body(value)
            except Exception:  # the table is data; a bad row must not break search
                canonical = value
            if canonical in known:
                return canonical
            return canonical or value
        if key in ("region", "city"):
            candidates = [k for k in known if k.startswith(value)]
            if len(candidates) == 1:
                return candidates[0]
        if key == "cites":
            from indexer.lineage import filter_key

            return filter_key(value) or value
        return value

    def _date_filter(self, gen: _Generation, flt: dict, keys=tuple(DATE_FILTERS)) -> set[int] | None:
        allowed = None
        for key in keys:
            if key not in flt:
                continue
            fieldname, op = DATE_FILTERS[key]
            bound = flt[key]
            dates = gen.dates[fieldname]
            docs = {d for d, v in dates.items() if (v >= bound if op == ">=" else v <= bound)}
            allowed = docs if allowed is None else allowed & docs
        return allowed

    def _facets(self, gen, matched, selections, selected_values, dated) -> dict:
        """Disjunctive counts: each facet counts the hits of every other selection,
        ignoring its own, so a count says what ticking that value would add."""
        facets = {}
        for key in LISTED_FACETS:
            pool = set(matched)
            for other, docs in selections.items():
                if other != key:
                    pool &= docs
            if dated is not None:
                pool &= dated
            of_doc = gen.of_doc[key]
            counts = Counter(v for d in pool for v in of_doc.get(d, ()))
            chosen = selected_values.get(key, [])
            for value in chosen:
                counts.setdefault(value, 0)
            labels = gen.cite_labels() if key == "cites" else FACET_LABELS.get(key, {})
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

    def _histogram(self, gen, matched, selections, flt) -> list[dict]:
        """Hits by publish month, ignoring the publish-date range itself (so the
        researcher sees what widening it would add); `selected` marks the months
        inside the range."""
        pool = set(matched)
        for docs in selections.values():
            pool &= docs
        written = self._date_filter(gen, flt, keys=("written_from", "written_to"))
        if written is not None:
            pool &= written
        of_doc = gen.of_doc["month"]
        counts = Counter(v for d in pool for v in of_doc.get(d, ()))
        low = (flt.get("date_from") or "0000-00-00")[:7]
        high = (flt.get("date_to") or "9999-99-99")[:7]
        return [{"value": month, "count": counts[month], "selected": low <= month <= high}
                for month in sorted(counts)]

    def _order(self, gen, plan: Plan, hits: set[int], sort: str, limit: int | None):
        """[(docnum, score)] of the hits in the requested order (the first `limit`)."""
        if not hits:
            return []
        if sort == "relevance" and plan.match is not None:
            scores = self._scored(gen, plan)
            # Whoosh's own order: score descending, then index order
            ordered = sorted(hits, key=lambda d: (-scores[d], d))
            if limit is not None:
                ordered = ordered[:limit]
            return [(d, scores[d]) for d in ordered]
        dates = gen.dates["publish_date"]
        by_id = {d: i for i, d in gen.docnum_by_id.items()}
        ordered = sorted(hits, key=lambda d: by_id.get(d, ""))
        ordered.sort(key=lambda d: dates.get(d, ""), reverse=(sort == "newest"))
        # Undated documents go last in either direction.
        ordered.sort(key=lambda d: d not in dates)
        if limit is not None:
            ordered = ordered[:limit]
        return [(d, None) for d in ordered]

    # ----------------------------------------------------------------- results

    def _results(self, gen: _Generation, plan: Plan, ordered) -> list[dict]:
        results = []
        for docnum, score in ordered:
            record = gen.record(docnum)
            result = _result_fields(record)
            result["score"] = None if score is None else round(score, 4)
            result["title_html"] = mark_html(record.get("title") or "", _text_spans(record.get("title") or "", plan, "title"))
            spans = _text_spans(record.get("text") or "", plan, "text", SNIPPET_MATCHES_PER_WORD)
            result["snippet_html"] = _snippet(record, spans, plan)
            results.append(result)
        return results

    def get_document(self, doc_id: str) -> dict | None:
        """The full stored record (text included), or None."""
        if not isinstance(doc_id, str) or not doc_id:
            return None
        with self._generation(check_resources=False) as gen:
            docnum = gen.docnum_by_id.get(doc_id)
            return gen.record(docnum) if docnum is not None else None

    def highlight_text(self, id_or_record, query: str) -> list[str]:
        """The document's text as paragraphs of HTML, the query's matches in <mark>."""
        record = id_or_record if isinstance(id_or_record, dict) else self.get_document(id_or_record)
        if not record:
            return []
        text = record.get("text") or ""
        plan = parse_query(query if isinstance(query, str) else "")
        spans = _text_spans(text, plan, "text") if plan.highlights else []
        paragraphs = []
        start = 0
        for line in text.split("\n"):
            end = start + len(line)
            local = [(max(s, start) - start, min(e, end) - start) for s, e in spans if s < end and e > start]
            if line.strip():
                paragraphs.append(mark_html(line, local))
            start = end + 1
        return paragraphs

    def more_like_this(self, doc_id: str, n: int = 5) -> list[dict]:
        """Documents sharing the most characteristic words of this one."""
        n = _clamp_int(n, 1, 50, "条数")
        with self._generation() as gen:
            docnum = gen.docnum_by_id.get(doc_id) if isinstance(doc_id, str) else None
            if docnum is None:
                return []
            searcher = gen.searcher
            subqueries = []
            for fieldname, count, boost in (("title", 6, 3.0), ("text", 14, 1.0)):
                try:
                    terms = searcher.key_terms([docnum], fieldname, numterms=count * 2)
                except Exception:
                    terms = []
                kept = [(w, s) for w, s in terms if len(w) >= 2 and not w.isdigit()][:count]
                subqueries += [Q.Term(fieldname, w, boost=boost * s) for w, s in kept]
            if not subqueries:
                return []
            results = searcher.search(Q.Or(subqueries), limit=n, mask={docnum})
            ordered = [(hit.docnum, hit.score) for hit in results]
            out = []
            for d, score in ordered:
                record = gen.record(d)
                result = _result_fields(record)
                result["score"] = round(score, 4)
                result["title_html"] = html.escape(record.get("title") or "")
                result["snippet_html"] = _plain_snippet(record)
                out.append(result)
            return out

    def status(self) -> dict:
        """Index path, generation, build time, document counts, resources versions."""
        info: dict = {
            "index_root": str(self.index_root),
            "resources_version": analysis.loaded_resources_version(),
        }
        try:
            with self._generation(check_resources=False) as gen:
                counts = Counter()
                for kind, docs in gen.by_value["kind"].items():
                    counts[kind] = len(docs)
                manifest = gen.manifest or {}
                info.update({
                    "available": gen.mismatch is None,
                    "index_path": str(gen.path),
                    "generation": gen.name,
                    "built_at": (manifest.get("built_at") or manifest.get("finished_at")
                                 or gen.stamp.get("written_at")),
                    "documents": dict(sorted(counts.items(), key=lambda kv: KIND_ORDER.index(kv[0]) if kv[0] in KIND_ORDER else 99)),
                    "total": len(gen.all_docs),
                    "reports": [{"report": r, "documents": len(d)} for r, d in sorted(gen.by_value["report"].items())],
                    "index_resources_version": gen.stamp.get("resources_version"),
                    "resources_match": gen.mismatch is None,
                    "analysis": gen.stamp.get("analysis"),
                    "manifest": gen.manifest,
                })
                if gen.mismatch:
                    info["error"] = gen.mismatch
        except IndexUnavailable as exc:
            info.update({"available": False, "error": str(exc)})
        return info


class PinnedSearcher(Searcher):
    """Searcher whose every call uses one generation (see Searcher.acquire)."""

    def __init__(self, parent: Searcher, gen: _Generation):
        self.index_root = parent.index_root
        self._pinned = gen
        self._released = False
        self._release_lock = threading.Lock()

    @contextmanager
    def _generation(self, check_resources: bool = True):
        gen = self._pinned
        if self._released:
            raise IndexUnavailable("检索句柄已释放")
        if check_resources and gen.mismatch:
            raise IndexUnavailable(gen.mismatch)
        with gen.lock:
            yield gen

    def acquire(self) -> "PinnedSearcher":
        return self

    def release(self) -> None:
        with self._release_lock:
            if self._released:
                return
            self._released = True
        self._pinned.release()

    def close(self) -> None:
        self.release()


def _clamp_int(value, low: int, high: int, label: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise QueryError(f"{label}应为整数：{str(value)[:20]}") from None
    return max(low, min(high, number))


_RESULT_KEYS = ("id", "kind", "title", "doc_number", "bodies", "bodies_canonical", "level", "region",
                "city", "publish_date", "written_date", "doc_type", "categories", "summary",
                "source_urls", "interprets")
_LIST_KEYS = ("bodies", "bodies_canonical", "categories", "source_urls")


def _result_fields(record: dict) -> dict:
    result = {key: record.get(key) for key in _RESULT_KEYS}
    for key in _LIST_KEYS:
        result[key] = list(result[key] or [])
    return result


# =========================================================================== snippets

def mark_html(text: str, spans) -> str:
    """`text` HTML-escaped, with the (start, end) spans wrapped in <mark>."""
    out = []
    pos = 0
    for start, end in _merge(spans):
        if start < pos:
            start = pos
        if end <= start:
            continue
        out.append(html.escape(text[pos:start]))
        out.append("<mark>" + html.escape(text[start:end]) + "</mark>")
        pos = end
    out.append(html.escape(text[pos:]))
    return "".join(out)


def _merge(spans):
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [tuple(s) for s in merged]


def _text_spans(text: str, plan: Plan, fieldname: str, limit: int | None = None) -> list[tuple[int, int]]:
    """Where the plan's words occur in a text (a title, a document's whole text),
    found in the text as it is: a pattern per word matches every form folding to it
    (indexer.analysis.unfolded_pattern), with whitespace ignored as in matching.
    With `limit`, only each word's first occurrences (enough to choose a snippet)."""
    if not text or not plan.highlights:
        return []

    def find(word: str) -> list[tuple[int, int]]:
        return [m.span() for m in itertools.islice(unfolded_pattern(word).finditer(text), limit)]

    spans = []
    for hl in plan.highlights:
        if fieldname not in hl.fields:
            continue
        found = find(hl.needle) if hl.needle else []
        if not found:
            for word in hl.words:
                found += find(word)
        spans += found
    return spans


def _snippet(record: dict, spans, plan: Plan) -> str:
    text = record.get("text") or ""
    if spans:
        fragments = _fragments(text, spans)
        if fragments:
            return fragments
    summary = record.get("summary") or ""
    summary_spans = _text_spans(summary, plan, "summary")
    if summary_spans:
        return _fragments(summary, summary_spans) or _plain_snippet(record)
    return _plain_snippet(record)


def _fragments(text: str, spans) -> str:
    """The best passages around the matches (Whoosh's pinpoint fragmenter over
    the stored offsets), matches in <mark>, everything else escaped."""
    merged = _merge(spans)
    tokens = []
    for start, end in merged:
        token = Token(positions=False, chars=True)
        token.startchar, token.endchar = start, end
        token.text = fold(text[start:end], lower=True)
        token.matched = True
        tokens.append(token)
    fragmenter = PinpointFragmenter(maxchars=SNIPPET_CHARS, surround=SNIPPET_SURROUND, charlimit=None)
    fragments = list(fragmenter.fragment_matches(text, tokens))
    if not fragments:
        return ""
    # Most distinct matched strings first, then most matches, then earliest.
    scored = sorted(fragments, key=lambda f: (-len({t.text for t in f.matches}), -len(f.matches), f.startchar))
    chosen = sorted(scored[:SNIPPET_FRAGMENTS], key=lambda f: f.startchar)
    parts = []
    for fragment in chosen:
        local = [(t.startchar - fragment.startchar, t.endchar - fragment.startchar) for t in fragment.matches]
        piece = text[fragment.startchar:fragment.endchar]
        body = mark_html(piece.replace("\n", " "), local)
        prefix = _ELLIPSIS if fragment.startchar > 0 else ""
        suffix = _ELLIPSIS if fragment.endchar < len(text) else ""
        parts.append(prefix + body + suffix)
    return " ".join(parts)


def _plain_snippet(record: dict) -> str:
    source = (record.get("summary") or record.get("text") or "").replace("\n", " ").strip()
    if len(source) > SNIPPET_CHARS:
        return html.escape(source[:SNIPPET_CHARS]) + _ELLIPSIS
    return html.escape(source)
