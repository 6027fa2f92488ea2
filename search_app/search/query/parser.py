"""The query language's parser: lexemes → a tree of `Term`s under and/or/not `Node`s.

Recursive descent that never raises: every malformation (a stray parenthesis, an
operator with nothing beside it, too many terms) degrades to the plain reading and
adds a note that the page shows.
"""
from __future__ import annotations

from dataclasses import dataclass

from indexer.analysis import squash
from indexer.schema import FIELD_PREFIXES
from search_app.settings import setting

from .lexer import Lexeme


@dataclass
class Term:
    text: str
    quoted: bool = False
    doc_number: bool = False
    fields: tuple[str, ...] | None = None  # None: inherited / default
    doc_keys: tuple[str, ...] = ()  # a loosely written 文号: every key it may stand for
    maybe_words: str = ""  # … and the text as typed, when it may be plain words after all


@dataclass
class Node:
    op: str  # "and" | "or" | "not" | "near" (children: Terms, all in one `unit`)
    children: list
    unit: str | None = None  # near: "sentence" | "paragraph"



class Parser:
    """Recursive descent over lexemes; every malformation degrades to a plain
    reading and a note, never an exception."""

    def __init__(self, lexemes: list[Lexeme], notes: list[str]):
        self.lx = lexemes
        self.i = 0
        self.notes = notes
        self.terms = 0
        self.max_terms = setting("query_terms")
        self.max_depth = setting("query_depth")

    def peek(self) -> Lexeme | None:
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
            if depth >= self.max_depth:
                self._note("括号嵌套过深，内层括号已忽略")
                return self.parse_atom(depth, fields)
            inner = self.parse_or(depth + 1)
            if (close := self.peek()) is not None and close.kind == "RPAREN":
                self.i += 1
            else:
                self._note("括号不成对，已自动补全")
            if inner is not None and fields:
                inner = with_fields(inner, fields)
            return inner
        if tok.kind == "NEAR":
            return self.parse_near(depth, fields, tok.text)
        if tok.kind in ("WORD", "PHRASE", "DOCNUM"):
            if not squash(tok.text):
                if tok.kind == "PHRASE":
                    self._note("空的引号已忽略")
                return None
            self.terms += 1
            if self.terms > self.max_terms:
                self._note(f"检索词过多，只使用了前 {self.max_terms} 个")
                return None
            return Term(tok.text, quoted=tok.kind == "PHRASE", doc_number=tok.kind == "DOCNUM",
                        fields=fields, doc_keys=tok.keys, maybe_words=tok.maybe_words)
        return None


    def parse_near(self, depth: int, fields, unit: str):
        """同句( … ) / 同段( … ): two or more plain terms inside; anything else is read as
        the plain query it contains, with a note."""
        name = "同句" if unit == "sentence" else "同段"
        inner = self.parse_or(depth + 1)
        if (close := self.peek()) is not None and close.kind == "RPAREN":
            self.i += 1
        else:
            self._note(f"“{name}(”缺少右括号，已自动补全")
        if inner is None:
            self._note(f"“{name}()”中没有检索词，已忽略")
            return None
        if fields:
            inner = with_fields(inner, fields)
        terms = top_level_terms(inner)
        if terms is None:
            self._note(f"“{name}()”中只能写检索词（不能用 OR、排除或括号），已按普通检索处理")
            return inner
        if len(terms) < 2:
            self._note(f"“{name}()”需要至少两个检索词，已按普通检索处理")
            return inner
        return Node("near", terms, unit)


def with_fields(node, fields):
    if isinstance(node, Term):
        if node.fields is None:
            node.fields = fields
        return node
    node.children = [with_fields(c, fields) for c in node.children]
    return node


def has_negation(node) -> bool:
    if node is None or isinstance(node, Term):
        return False
    return node.op == "not" or any(has_negation(c) for c in node.children)


def positive_terms(node, out: list[Term]) -> list[Term]:
    """Terms that a hit should contain (not under a negation)."""
    if isinstance(node, Term):
        out.append(node)
    elif node is not None and node.op != "not":
        for child in node.children:
            positive_terms(child, out)
    return out


def top_level_terms(node) -> list[Term] | None:
    """The terms of a plain conjunction (no OR, no negation), else None."""
    if isinstance(node, Term):
        return [node]
    if node is not None and node.op == "and" and all(isinstance(c, Term) for c in node.children):
        return list(node.children)
    return None

