"""The query-language help page is docs/query-language.md, so the page and the document the
search module's authors maintain never disagree. This renders the small Markdown subset
that file uses (headings, tables, lists, indented code, `code`, **bold**) into escaped HTML,
and turns its examples into search links.
"""
from __future__ import annotations

import html
import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlencode

from markupsafe import Markup

QUERY_LANGUAGE_DOC = Path(__file__).resolve().parents[2] / "docs" / "query-language.md"
# Table columns whose `code` cells are queries a reader can run.
EXAMPLE_COLUMNS = ("示例", "例子")

_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*(.+?)\*\*")


def help_html(path: Path = QUERY_LANGUAGE_DOC) -> Markup | None:
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return None
    return _render_cached(str(path), stamp)


@lru_cache(maxsize=4)
def _render_cached(path: str, _stamp: int) -> Markup:
    return render(Path(path).read_text(encoding="utf-8"))


def example_link(query: str) -> str:
    href = "/?" + urlencode({"q": query})
    return f'<a class="example" href="{html.escape(href)}"><code>{html.escape(query)}</code></a>'


def inline(text: str, *, examples: bool = False) -> str:
    out = []
    pos = 0
    for m in _CODE.finditer(text):
        out.append(_BOLD.sub(r"<strong>\1</strong>", html.escape(text[pos:m.start()], quote=False)))
        code = m.group(1).replace("\\|", "|")
        out.append(example_link(code) if examples else f"<code>{html.escape(code)}</code>")
        pos = m.end()
    out.append(_BOLD.sub(r"<strong>\1</strong>", html.escape(text[pos:], quote=False)))
    return "".join(out)


def _join(lines: list[str]) -> str:
    # Chinese prose wraps anywhere: rejoin without a space, except between Latin words.
    text = ""
    for line in (ln.strip() for ln in lines):
        if text and re.search(r"[A-Za-z0-9`)]$", text) and re.match(r"[A-Za-z0-9`(]", line):
            text += " "
        text += line
    return text


def _cells(row: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", row.strip().strip("|"))]


def render(markdown: str) -> Markup:
    lines = markdown.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
        elif line.startswith("#"):
            level = min(len(line) - len(line.lstrip("#")), 3)
            out.append(f"<h{level}>{inline(line.lstrip('#').strip())}</h{level}>")
            i += 1
        elif line.lstrip().startswith("|"):
            rows = []
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                rows.append(_cells(lines[i]))
                i += 1
            header, body = rows[0], [r for r in rows[1:] if not all(re.fullmatch(r":?-{3,}:?", c) for c in r)]
            linked = [h in EXAMPLE_COLUMNS for h in header]
            out.append('<table class="syntax-table"><thead><tr>')
            out.extend(f'<th scope="col">{inline(h)}</th>' for h in header)
            out.append("</tr></thead><tbody>")
            for row in body:
                out.append("<tr>" + "".join(
                    f"<td>{inline(c, examples=linked[k] if k < len(linked) else False)}</td>" for k, c in enumerate(row)
                ) + "</tr>")
            out.append("</tbody></table>")
        elif line.startswith("    "):
            # An indented block lists queries, one a line.
            block = []
            while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
                if lines[i].strip():
                    block.append(lines[i].strip())
                i += 1
            out.append('<ul class="example-list">' + "".join(f"<li>{example_link(q)}</li>" for q in block) + "</ul>")
        elif line.startswith("- "):
            items: list[list[str]] = []
            while i < len(lines) and (lines[i].startswith("- ") or (lines[i].startswith("  ") and items)):
                if lines[i].startswith("- "):
                    items.append([lines[i][2:]])
                else:
                    items[-1].append(lines[i])
                i += 1
            out.append("<ul>" + "".join(f"<li>{inline(_join(item))}</li>" for item in items) + "</ul>")
        else:
            paragraph = []
            while i < len(lines) and lines[i].strip() and not lines[i].startswith(("#", "- ", "|", "    ")):
                paragraph.append(lines[i])
                i += 1
            out.append(f"<p>{inline(_join(paragraph))}</p>")
    return Markup("\n".join(out))
