"""Evaluation of the "forgiving search": queries typed the way policy researchers
type them (tests/eval/forgiving_queries.tsv), each with the record(s) that must
come back.

    cases = load_cases()
    report = evaluate(searcher, cases)      # searcher: search_app.search.Searcher
    print(format_report(report))

Checks of a case (the `check` column):

* ``top1`` / ``top3``: some expected id is among the first 1 / 3 entries of
  ``searcher.search(query)["results"]``, read in order (partial matches, which
  the forgiving search appends after the full matches, count like any result);
* ``set``: the ids of the full matches (the results not marked partial, at most
  ``total`` of them, over every page) are exactly the expected ids.

A *dead end* is a query that finds nothing at all (no full and no partial
match) although some record shares a content word with it.

Run directly to evaluate today's code on a fresh index of data/:

    .venv/bin/python -m tests.forgiving_eval
"""
from __future__ import annotations

import functools
import re
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = Path(__file__).resolve().parent / "eval" / "forgiving_queries.tsv"
COLUMNS = ("pattern", "query", "expect", "check", "note")
PATTERNS = ("title", "words", "traditional", "doc_number", "proximity")
CHECKS = {"top1": 1, "top3": 3, "set": None}
SHOWN = 5

# Query syntax and wording that name no topic, left out of the dead-end test.
_SYNTAX_RE = re.compile(r"同句|同段|标题[:：]|全文[:：]|正文[:：]|文号[:：]|机关[:：]|发布机关[:：]|地区[:：]"
                        r"|\bOR\b|\bNOT\b|[()（）\"“”《》【】\[\]〔〕]")
_FUNCTION_WORDS = {"关于", "印发", "通知", "转发", "联合", "有关", "事项", "若干", "图解", "解读", "进一步"}


# --------------------------------------------------------------------------- cases

def load_cases(path: str | Path = CASES) -> list[dict]:
    """The cases of the TSV file: dicts with pattern, query, expect (list of ids),
    check and note."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    header = tuple(lines[0].split("\t"))
    if header != COLUMNS:
        raise ValueError(f"{path}: header {header}, expected {COLUMNS}")
    cases = []
    for n, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) != len(COLUMNS):
            raise ValueError(f"{path}:{n}: {len(cells)} columns, expected {len(COLUMNS)}")
        case = dict(zip(COLUMNS, cells))
        case["expect"] = case["expect"].split()
        case["line"] = n
        if case["pattern"] not in PATTERNS or case["check"] not in CHECKS or not case["expect"]:
            raise ValueError(f"{path}:{n}: bad case {case}")
        cases.append(case)
    return cases


# --------------------------------------------------------------------------- dead ends

@functools.lru_cache(maxsize=1)
def _corpus_texts() -> tuple[str, ...]:
    from indexer.corpus import load_corpus
    from indexer.lineage import annotate

    records = annotate(load_corpus(ROOT / "data").records)
    return tuple(_squash("\n".join([r.get("title") or "", r.get("summary") or "", r.get("text") or "",
                                    " ".join(r.get("bodies") or []), r.get("doc_number") or ""]))
                 for r in records)


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


@functools.lru_cache(maxsize=1)
def _to_simplified():
    try:
        import opencc
    except ImportError:  # the traditional cases then count only through their own words
        return lambda text: text
    return opencc.OpenCC("t2s").convert


def content_words(query: str) -> list[str]:
    """The query's words that name something: jieba words of two or more characters
    (after NFKC and traditional → simplified), without query syntax and function words."""
    from indexer.analysis import init_jieba, query_words

    init_jieba()
    text = _SYNTAX_RE.sub(" ", _to_simplified()(unicodedata.normalize("NFKC", query)))
    words = []
    for w in query_words(text):
        if len(w) >= 2 and w not in _FUNCTION_WORDS and not w.isdigit() and w not in words:
            words.append(w)
    return words


def shared_words(query: str, texts=None) -> list[str]:
    texts = _corpus_texts() if texts is None else texts
    return [w for w in content_words(query) if any(_squash(w) in t for t in texts)]


# --------------------------------------------------------------------------- evaluation

def _is_partial(result: dict) -> bool:
    return bool(result.get("partial")) or result.get("match") == "partial"


def _run(searcher, query: str, all_pages: bool) -> tuple[list[dict], int, str | None]:
    from search_app.search import QueryError

    try:
        first = searcher.search(query, per_page=100 if all_pages else 20)
    except QueryError as exc:  # a user error; an unusable index is raised
        return [], 0, f"{type(exc).__name__}: {exc}"
    results = list(first["results"])
    if all_pages:
        page = 1
        while page < first.get("pages", 1):
            page += 1
            results += searcher.search(query, per_page=100, page=page)["results"]
    return results, first["total"], None


def evaluate(searcher, cases: list[dict], texts=None) -> dict:
    """Run every case; returns

        {"count", "passed", "pass_rate",
         "patterns": {pattern: {"count", "passed", "pass_rate",
                                "failures": [{query, expected, got (top 5 ids), check, note, line}]}},
         "dead_ends": [{query, pattern, shared_words}]}
    """
    patterns = {p: {"count": 0, "passed": 0, "failures": []} for p in PATTERNS}
    dead_ends = []
    for case in cases:
        query, expect, check = case["query"], case["expect"], case["check"]
        results, total, error = _run(searcher, query, all_pages=check == "set")
        ids = [r["id"] for r in results]
        if check == "set":
            full = [r["id"] for r in results if not _is_partial(r)][:total]
            ok = error is None and set(full) == set(expect) and len(full) == len(set(full))
        else:
            ok = error is None and any(i in expect for i in ids[:CHECKS[check]])
        stats = patterns.setdefault(case["pattern"], {"count": 0, "passed": 0, "failures": []})
        stats["count"] += 1
        if ok:
            stats["passed"] += 1
        else:
            failure = {"query": query, "expected": expect, "got": ids[:SHOWN], "check": check,
                       "note": case.get("note", ""), "line": case.get("line")}
            if check == "set":
                got = set(full)
                failure["missing"] = sorted(set(expect) - got)
                failure["extra"] = sorted(got - set(expect))
            if error:
                failure["error"] = error
            stats["failures"].append(failure)
        if not results and not total:
            shared = shared_words(query, texts)
            if shared:
                dead_ends.append({"query": query, "pattern": case["pattern"], "shared_words": shared})
    for stats in patterns.values():
        stats["pass_rate"] = stats["passed"] / stats["count"] if stats["count"] else None
    count = sum(s["count"] for s in patterns.values())
    passed = sum(s["passed"] for s in patterns.values())
    return {
        "count": count,
        "passed": passed,
        "pass_rate": passed / count if count else 0.0,
        "patterns": {p: s for p, s in patterns.items() if s["count"]},
        "dead_ends": dead_ends,
    }


def format_report(report: dict, max_failures: int = 12) -> str:
    lines = [f"forgiving search: {report['passed']}/{report['count']} passed "
             f"({report['pass_rate']:.1%}), {len(report['dead_ends'])} dead ends"]
    for pattern, s in report["patterns"].items():
        lines.append(f"  {pattern:<12} {s['passed']:>3}/{s['count']:<3} ({s['pass_rate']:.0%})")
    for pattern, s in report["patterns"].items():
        for f in s["failures"][:max_failures]:
            extra = ""
            if "missing" in f:
                extra = f" missing={f['missing']} extra={f['extra']}"
            if "error" in f:
                extra += f" error={f['error']}"
            lines.append(f"  FAIL {pattern} [{f['check']}] {f['query']!r}: expected {' '.join(f['expected'])}, "
                         f"got {f['got']}{extra}")
        if len(s["failures"]) > max_failures:
            lines.append(f"  … {len(s['failures']) - max_failures} more {pattern} failures")
    for d in report["dead_ends"][:max_failures]:
        lines.append(f"  DEAD END {d['pattern']} {d['query']!r} (shares {' '.join(d['shared_words'])})")
    if len(report["dead_ends"]) > max_failures:
        lines.append(f"  … {len(report['dead_ends']) - max_failures} more dead ends")
    return "\n".join(lines)


def main() -> None:  # pragma: no cover - a developer's tool
    import sys
    import tempfile

    from indexer.analysis import init_jieba
    from indexer.corpus import load_corpus
    from indexer.indexing import create_index
    from indexer.lineage import annotate
    from search_app.search import Searcher

    init_jieba()
    index = sys.argv[1] if len(sys.argv) > 1 else None
    with tempfile.TemporaryDirectory() as tmp:
        if index is None:
            index = tmp
            create_index(Path(tmp), annotate(load_corpus(ROOT / "data").records))
        searcher = Searcher(index)
        try:
            print(format_report(evaluate(searcher, load_cases()), max_failures=1000))
        finally:
            searcher.close()


if __name__ == "__main__":  # pragma: no cover
    main()
