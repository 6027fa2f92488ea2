"""Matching shared by the parts of the parser: one-to-one pairing and title comparison keys."""
from __future__ import annotations

import re


def best_pairs(scored: list[tuple[float, int, int]]) -> list[tuple[int, int]]:
    """One-to-one matching from (score, left, right) candidates, best pairs first."""
    used_left, used_right, pairs = set(), set(), []
    for _, left, right in sorted(scored, reverse=True):
        if left in used_left or right in used_right:
            continue
        used_left.add(left)
        used_right.add(right)
        pairs.append((left, right))
    return pairs


def norm_title(title: str) -> str:
    """A title without spacing, quotes, brackets or 解读, for comparing two printings of it."""
    return re.sub(r"[\s《》“”\"'、，,（）()【】\[\]]", "", title or "").replace("解读", "")
