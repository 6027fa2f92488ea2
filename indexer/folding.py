"""Character folding: the one-to-one normalisation that indexing, querying and 文号 keys share.

`fold` maps every character to one character (full width → half width, bracket and dash
variants unified), so offsets into a folded text are offsets into the original; `compact`
drops the artifact spaces and says where each remaining character came from; `squash` is the
form exact matching is defined on. No jieba and no Whoosh here: the parser's 文号 keys need
this without the search machinery.
"""
from __future__ import annotations

import functools
import re
import unicodedata

_OPEN_BRACKETS = "﹝[［"
_CLOSE_BRACKETS = "﹞]］"
_DASHES = "‐‑‒–—―－﹣"
_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"


def _build_fold_table() -> dict[int, str]:
    """NFKC restricted to one-to-one character mappings (full width → half width,
    Kangxi radicals and compatibility ideographs → unified ideographs, which PDF
    extraction produces), plus the bracket and dash variants a 文号 or a date range
    is printed with. Mappings that would change the length (① → 1, … → ...) are left
    out so offsets into the folded text are offsets into the original."""
    table: dict[int, str] = {}
    for cp in range(0x20, 0x10000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        mapped = unicodedata.normalize("NFKC", ch)
        if mapped != ch and len(mapped) == 1:
            table[cp] = mapped
    for cp in range(0x2F800, 0x2FA20):  # CJK compatibility ideographs supplement
        mapped = unicodedata.normalize("NFKC", chr(cp))
        if len(mapped) == 1:
            table[cp] = mapped
    for ch in _OPEN_BRACKETS:
        table[ord(ch)] = "〔"
    for ch in _CLOSE_BRACKETS:
        table[ord(ch)] = "〕"
    for ch in _DASHES:
        table[ord(ch)] = "-"
    for ch in _ZERO_WIDTH:
        table[ord(ch)] = " "
    # NFKC sends the full-width forms to ASCII first; finish the bracket mapping.
    for cp, mapped in list(table.items()):
        if mapped in "[":
            table[cp] = "〔"
        elif mapped in "]":
            table[cp] = "〕"
    return table


_FOLD = _build_fold_table()


def _lower_table(base: dict[int, str]) -> dict[int, str]:
    """`base` followed by lower-casing, where lower-casing keeps the length."""
    table = dict(base)
    for cp in range(0x41, 0x250):
        ch = base.get(cp, chr(cp))
        if len(ch.lower()) == 1 and ch.lower() != ch:
            table[cp] = ch.lower()
    for cp, mapped in base.items():
        if len(mapped.lower()) == 1:
            table[cp] = mapped.lower()
    return table


_FOLD_LOWER = _lower_table(_FOLD)

_WORD_CHAR_RE = re.compile(r"[0-9A-Za-z]")


def fold(text: str, lower: bool = False) -> str:
    """Character-wise normalisation: same length as `text`, offsets unchanged, and
    free of context, so a string folds the same inside any text."""
    return text.translate(_FOLD_LOWER if lower else _FOLD)


def _is_latin(ch: str) -> bool:
    return bool(_WORD_CHAR_RE.match(ch))


def compact(folded: str) -> tuple[str, list[int]]:
    """Drop whitespace that PDF extraction and line wrapping put between Chinese
    characters, keeping one space between two Latin words or numbers (Smart City,
    368 600). Returns the text and, for each of its characters, the offset of the
    character it came from."""
    out: list[str] = []
    offsets: list[int] = []
    pending_space = -1
    for i, ch in enumerate(folded):
        if ch.isspace():
            if pending_space < 0:
                pending_space = i
            continue
        if pending_space >= 0:
            if out and _is_latin(out[-1]) and _is_latin(ch):
                out.append(" ")
                offsets.append(pending_space)
            pending_space = -1
        out.append(ch)
        offsets.append(i)
    return "".join(out), offsets


def normalize_text(text: str | None) -> str:
    """The normalised form used for matching: NFKC (one-to-one), 文号 brackets
    unified to 〔〕, dashes unified, artifact spaces removed, Latin lower-cased."""
    if not text:
        return ""
    return compact(fold(text, lower=True))[0]


@functools.lru_cache(maxsize=1)
def _unfold_table() -> tuple[dict[str, str], str]:
    """Folded character → every character folding to it (itself included), and the
    characters that fold to whitespace without being whitespace themselves."""
    inverse: dict[str, set[str]] = {}
    blank = set()
    for cp, mapped in _FOLD_LOWER.items():
        inverse.setdefault(mapped, {mapped}).add(chr(cp))
        if mapped.isspace() and not re.match(r"\s", chr(cp)):
            blank.add(chr(cp))
    return {k: "".join(sorted(v)) for k, v in inverse.items()}, "".join(sorted(blank))


@functools.lru_cache(maxsize=2048)
def unfolded_pattern(needle: str) -> re.Pattern:
    """A pattern over the original text for what squash() makes `needle` of: each
    character in any form folding to it, whitespace allowed between characters.
    fold() is character-wise, so its matches' offsets are offsets into the text as
    it is, which never has to be folded whole."""
    inverse, blank = _unfold_table()
    gap = r"[\s" + re.escape(blank) + "]*" if blank else r"\s*"
    parts = []
    for ch in needle:
        forms = inverse.get(ch)
        parts.append("[" + re.escape(forms) + "]" if forms and len(forms) > 1 else re.escape(ch))
    return re.compile(gap.join(parts))


def squash(text: str | None) -> str:
    """normalize_text with every whitespace removed: the form in which exact
    substring matching ("whitespace in the source ignored") is defined."""
    if not text:
        return ""
    return re.sub(r"\s+", "", fold(text, lower=True))
