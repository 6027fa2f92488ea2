"""The query language: lexer → parser → compiler → `Plan` (docs/query-language.md)."""
from .compiler import Highlight
from .parser import Node, Term
from .plan import Plan, parse_query

__all__ = ["Highlight", "Node", "Plan", "Term", "parse_query"]
