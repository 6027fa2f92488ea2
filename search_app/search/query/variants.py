"""Traditional characters typed in a query → the simplified text the index holds.

Researchers outside the mainland type 碳達峰, 鄉村振興, or a whole title in Taiwan or
Hong Kong conventions (資料中心 for 数据中心). OpenCC converts them: its `t2s` tells
whether a query holds traditional characters at all, and `tw2sp` converts characters
and Taiwan phrasing (Hong Kong forms are covered by the same character tables). The
conversion stays in the query path: the index holds the documents as printed.
"""
from __future__ import annotations

import functools

import opencc


@functools.lru_cache(maxsize=None)
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


def to_simplified(text: str) -> str | None:
    """The query in simplified characters and mainland phrasing, or None when it holds
    no traditional character (a simplified query is never rewritten)."""
    if not text or _converter("t2s").convert(text) == text:
        return None
    converted = _converter("tw2sp").convert(text)
    return converted if converted != text else None


def warm_converters() -> None:
    """Load OpenCC's tables now (a tenth of a second), not in a user's first query."""
    _converter("t2s")
    _converter("tw2sp")
