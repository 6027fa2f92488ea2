"""Highlighting: where a query's words are in a text, which passages show them best,
and how to render them.

As in Whoosh's own highlight module, finding and rendering are apart. The search
core only finds: match spans in a title, the passages of a snippet (`Fragment`s),
the paragraphs of a document with their spans. Formatters turn those into HTML for
the views (`HtmlFormatter`, everything escaped but the marks) or into terminal text
for the CLI (`PlainFormatter`, `AnsiFormatter`); the core never calls them.
"""
from __future__ import annotations

import html
import itertools
from dataclasses import dataclass

from whoosh.analysis import Token
from whoosh.highlight import PinpointFragmenter

from indexer.analysis import fold, unfolded_pattern
from search_app.settings import setting

ELLIPSIS = "…"

Span = tuple[int, int]


@dataclass(frozen=True)
class Fragment:
    """A passage to show: its text (line breaks as spaces), the matches in it, and
    whether the source text goes on before or after it."""
    text: str
    spans: tuple[Span, ...] = ()
    cut_before: bool = False
    cut_after: bool = False

    def to_dict(self) -> dict:
        return {"text": self.text, "spans": [list(s) for s in self.spans],
                "cut_before": self.cut_before, "cut_after": self.cut_after}


# --------------------------------------------------------------------------- finding

def merge_spans(spans) -> list[Span]:
    """Overlapping or touching spans joined, in order (as (start, end) tuples)."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged if e > s]


def text_spans(text: str, highlights, fieldname: str, limit: int | None = None) -> list[Span]:
    """Where the plan's words occur in a text (a title, a document's whole text),
    found in the text as it is: a pattern per word matches every form folding to it
    (indexer.analysis.unfolded_pattern), with whitespace ignored as in matching.
    With `limit`, only each word's first occurrences (enough to choose a snippet)."""
    if not text or not highlights:
        return []

    def find(word: str) -> list[Span]:
        return [m.span() for m in itertools.islice(unfolded_pattern(word).finditer(text), limit)]

    spans = []
    for hl in highlights:
        if fieldname not in hl.fields:
            continue
        found = find(hl.needle) if hl.needle else []
        if not found:
            for word in hl.words:
                found += find(word)
        spans += found
    return spans


def best_fragments(text: str, spans) -> list[Fragment]:
    """The best passages around the matches (Whoosh's pinpoint fragmenter over the
    spans): most distinct matched strings first, then most matches, then earliest;
    shown in text order."""
    merged = merge_spans(spans)
    tokens = []
    for start, end in merged:
        token = Token(positions=False, chars=True)
        token.startchar, token.endchar = start, end
        token.text = fold(text[start:end], lower=True)
        token.matched = True
        tokens.append(token)
    fragmenter = PinpointFragmenter(maxchars=setting("snippet_chars"), surround=setting("snippet_surround"),
                                    charlimit=None)
    fragments = list(fragmenter.fragment_matches(text, tokens))
    if not fragments:
        return []
    scored = sorted(fragments, key=lambda f: (-len({t.text for t in f.matches}), -len(f.matches), f.startchar))
    chosen = sorted(scored[:setting("snippet_fragments")], key=lambda f: f.startchar)
    return [
        Fragment(
            text=text[f.startchar:f.endchar].replace("\n", " "),
            spans=tuple(merge_spans((t.startchar - f.startchar, t.endchar - f.startchar) for t in f.matches)),
            cut_before=f.startchar > 0,
            cut_after=f.endchar < len(text),
        )
        for f in chosen
    ]


def plain_snippet(record: dict) -> list[Fragment]:
    """The opening of the summary (else the text), for a result without matches to show."""
    source = (record.get("summary") or record.get("text") or "").replace("\n", " ").strip()
    limit = setting("snippet_chars")
    return [Fragment(source[:limit], cut_after=len(source) > limit)]


def snippet(record: dict, highlights) -> list[Fragment]:
    """The passages of a result: around its matches in the text, else in the summary,
    else the opening of the summary."""
    text = record.get("text") or ""
    spans = text_spans(text, highlights, "text", setting("snippet_matches_per_word"))
    if spans:
        fragments = best_fragments(text, spans)
        if fragments:
            return fragments
    summary = record.get("summary") or ""
    summary_spans = text_spans(summary, highlights, "summary")
    if summary_spans:
        return best_fragments(summary, summary_spans) or plain_snippet(record)
    return plain_snippet(record)


def paragraphs(text: str, spans) -> list[dict]:
    """The text's non-blank lines ({text, spans}), each with the spans inside it
    (every match marked)."""
    out = []
    start = 0
    for line in text.split("\n"):
        end = start + len(line)
        local = [(max(s, start) - start, min(e, end) - start) for s, e in spans if s < end and e > start]
        if line.strip():
            out.append({"text": line, "spans": [list(s) for s in merge_spans(local)]})
        start = end + 1
    return out


# --------------------------------------------------------------------------- formatters

class Formatter:
    """Renders text with marked spans; subclasses say how a piece of text and a
    match are written."""

    def text(self, s: str) -> str:
        return s

    def match(self, s: str) -> str:
        raise NotImplementedError

    def format(self, text: str, spans) -> str:
        out = []
        pos = 0
        for start, end in merge_spans(spans):
            start = max(start, pos)
            if end <= start:
                continue
            out.append(self.text(text[pos:start]))
            out.append(self.match(text[start:end]))
            pos = end
        out.append(self.text(text[pos:]))
        return "".join(out)

    def format_fragments(self, fragments) -> str:
        """Snippet passages (`Fragment.to_dict()` dicts, as results carry them)."""
        return " ".join(
            (ELLIPSIS if f["cut_before"] else "") + self.format(f["text"], f["spans"])
            + (ELLIPSIS if f["cut_after"] else "")
            for f in fragments
        )


class HtmlFormatter(Formatter):
    """HTML with every character escaped and the matches in <mark>; with `first_id`,
    the first mark carries that id (a link can jump to it)."""

    def __init__(self, first_id: str | None = None):
        self.first_id = first_id

    def text(self, s: str) -> str:
        return html.escape(s)

    def match(self, s: str) -> str:
        if self.first_id:
            opening = f'<mark id="{html.escape(self.first_id)}">'
            self.first_id = None
        else:
            opening = "<mark>"
        return opening + html.escape(s) + "</mark>"


class PlainFormatter(Formatter):
    """Plain text with the matches in 【】 (a terminal without colour, a pipe)."""

    def match(self, s: str) -> str:
        return f"【{s}】"


class AnsiFormatter(Formatter):
    """Terminal text with the matches in bold red."""

    def match(self, s: str) -> str:
        return f"\x1b[1;31m{s}\x1b[0m"
