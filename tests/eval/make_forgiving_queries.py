"""Generate the rule-made part of tests/eval/forgiving_queries.tsv.

The evaluation set of the "forgiving search" feature: queries typed the way
policy researchers type them, each with the record(s) that must come back.
Run from the repository root (once; the output is committed):

    .venv/bin/python tests/eval/make_forgiving_queries.py

Every generated row comes from a rule applied to the records of data/ (no
per-record special case); which records a rule is applied to is decided by
the record's position, so the set is stable. Rows whose note starts with
"hand" were written by hand after generation: a rerun keeps them (at the end
of the file) and rewrites the rest.

One module, over 500 lines, because it is one run over the records: a section
per pattern, each a few rules, sharing the record loading and the row writer.

Patterns and checks (see tests/forgiving_eval.py):
  title        a title pasted from a news item or a table       top3
  words        topic words apart / reordered / one dropped      top3
  traditional  traditional characters (OpenCC s2t/s2tw/s2twp/s2hk)  top3
  doc_number   a 文号 written loosely                            top1
  proximity    同句(A B) / 同段(A B), the exact set computed here  set

Needs the `opencc` package (pip install opencc) for the traditional rows.
"""
from __future__ import annotations

import itertools
import re
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent / "forgiving_queries.tsv"
COLUMNS = ("pattern", "query", "expect", "check", "note")

sys.path.insert(0, str(ROOT))


# --------------------------------------------------------------------------- text helpers

_MARKS_RE = re.compile(r"[“”\"'‘’《》〈〉「」『』【】\s]")


def norm(text: str | None) -> str:
    """Compare titles: NFKC, lower case, whitespace and quotation / title marks removed."""
    return _MARKS_RE.sub("", unicodedata.normalize("NFKC", text or "").lower())


def squash(text: str | None) -> str:
    """Whitespace removed, Latin lower-cased: the form words are looked for in."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or "")).lower()


def inner_title(title: str) -> str | None:
    """关于印发《X》的通知 / 关于印发X的通知 → X (title marks around X removed)."""
    m = re.fullmatch(r"关于(?:联合)?印发(.+)的通知", title)
    if not m:
        return None
    inner = m.group(1)
    if inner.startswith("《") and inner.endswith("》") and inner.count("《") == 1:
        inner = inner[1:-1]
    return inner


# Short forms of issuing bodies as researchers type them (longest first).
SHORT_BODY = (
    ("人民政府办公厅", "政府办公厅"),
    ("人民政府", "政府"),
    ("国家发展改革委", "国家发改委"),
    ("发展和改革委员会", "发改委"),
    ("发展改革委", "发改委"),
    ("工业和信息化部", "工信部"),
    ("住房和城乡建设部", "住建部"),
    ("住房城乡建设部", "住建部"),
    ("国务院办公厅", "国办"),
)
_PLACE_PREFIX_RE = re.compile(r"^(.{2,3}?(?:省|市)|(?:广西壮族|宁夏回族|内蒙古|新疆维吾尔|西藏)?自治区)(?=.)")


def short_body(body: str, drop_place: bool) -> str:
    for long, short in SHORT_BODY:
        if long in body:
            body = body.replace(long, short, 1)
            break
    if drop_place:
        m = _PLACE_PREFIX_RE.match(body)
        if m and not m.group(1).endswith("自治区"):
            body = ("省" if m.group(1).endswith("省") else "市") + body[m.end():]
    return body


def body_prefix(record: dict, short: bool, drop_place: bool = False) -> str:
    bodies = record.get("bodies") or []
    first = bodies[0]
    if short:
        first = short_body(first, drop_place)
    if len(bodies) > 1:
        return f"{first}等{len(bodies)}部门"
    return first


# --------------------------------------------------------------------------- corpus

def load_records() -> list[dict]:
    from indexer.analysis import init_jieba
    from indexer.corpus import load_corpus
    from indexer.lineage import annotate

    init_jieba()
    return annotate(load_corpus(ROOT / "data").records)


class Corpus:
    def __init__(self, records: list[dict]):
        self.records = records
        self.by_id = {r["id"]: r for r in records}
        self.policies = [r for r in records if r["kind"] == "policy"]
        self.titled = [r for r in records if r["kind"] in ("policy", "interpretation")]
        self.norm_titles = {r["id"]: norm(r["title"]) for r in records}
        self.squashed = {r["id"]: squash(self.anywhere(r)) for r in records}

    @staticmethod
    def anywhere(r: dict) -> str:
        """The default search fields: title, summary, text, bodies, 文号."""
        return "\n".join([r.get("title") or "", r.get("summary") or "", r.get("text") or "",
                          " ".join(r.get("bodies") or []), " ".join(r.get("bodies_canonical") or []),
                          r.get("doc_number") or ""])

    def titles_containing(self, core: str) -> list[str]:
        key = norm(core)
        return [r["id"] for r in self.titled if key and key in self.norm_titles[r["id"]]]

    def titles_with_all(self, words: list[str]) -> list[str]:
        keys = [norm(w) for w in words]
        return [r["id"] for r in self.titled if all(k in self.norm_titles[r["id"]] for k in keys)]

    def docs_with_all(self, words: list[str]) -> set[str]:
        keys = [squash(w) for w in words]
        return {i for i, t in self.squashed.items() if all(k in t for k in keys)}


def expect_for_title(corpus: Corpus, record: dict, core: str) -> list[str] | None:
    """The record, plus every policy / interpretation whose title contains `core`
    (an interpretation titled with the body and the policy's title). None when the
    core names more than three records: not a title query any more."""
    ids = corpus.titles_containing(core)
    if record["id"] not in ids:
        ids.append(record["id"])
    return ids if len(ids) <= 3 else None


# --------------------------------------------------------------------------- title

def _cut(title: str, share: float) -> str:
    """The first `share` of the title, without a dangling bracket, mark or number."""
    return title[: max(4, round(len(title) * share))].rstrip("（(“《、，—－-0123456789")


def title_variants(record: dict, unique_title: bool):
    """(query, core, note): core is the title text the query carries (for the expected set)."""
    title = record["title"]
    inner = inner_title(title)
    full = body_prefix(record, short=False)
    short = body_prefix(record, short=True, drop_place=unique_title)
    no_de = title.replace("的", "")
    no_guanyu = title[2:] if title.startswith("关于") else title
    yield full + title, full + title, "body as printed + title"
    yield short + title, short + title, "short body + title"
    yield "【解读】" + title, title, "【解读】 mark + title"
    if inner:
        yield "《" + inner + "》", inner, "inner document title in 《》"
    else:
        yield "“" + title + "”", title, "title in “”"
    yield _cut(title, 0.7), _cut(title, 0.7), "title cut to 70%"
    if inner:
        yield inner, inner, "inner document title, no 关于印发…的通知"
    else:
        yield no_guanyu, no_guanyu, "关于 dropped"
    yield short + no_de, short + no_de, "short body + title with 的 dropped"
    yield "【图解】" + short + title, short + title, "【图解】 mark + short body + title"
    if inner:
        yield full + "印发《" + inner + "》", inner, "news style: body 印发《inner title》"
    else:
        yield _cut(title, 0.8), _cut(title, 0.8), "title cut to 80%"
    yield short + no_guanyu, short + no_guanyu, "short body + title without 关于"
    yield "《" + full + title + "》", full + title, "body as printed + title, in 《》"


def make_title(corpus: Corpus) -> list[dict]:
    rows = []
    counts = {}
    for r in corpus.policies:
        counts[norm(r["title"])] = counts.get(norm(r["title"]), 0) + 1
    for i, r in enumerate(corpus.policies):
        if i % 2:
            continue
        unique = counts[norm(r["title"])] == 1
        variants = list(title_variants(r, unique))
        # rotate through the variants; take the next one when a variant names too many records
        for k in range(len(variants)):
            query, core, note = variants[((i // 2) + k) % len(variants)]
            expect = expect_for_title(corpus, r, core)
            if expect and norm(query) != "":
                rows.append(dict(pattern="title", query=query, expect=expect, check="top3", note=note))
                break
    return rows


# --------------------------------------------------------------------------- words

_WRAPPER_RE = re.compile(r"^(关于(?:联合)?印发|关于|转发)|(的通知|的实施意见|的若干意见|的意见|实施意见|的通知)$")
STOP = {"关于", "印发", "通知", "实施", "意见", "若干", "方案", "工作", "有关", "事项", "进一步", "十四五",
        "规划", "发展", "加快", "推进", "推动", "建设", "促进", "加强", "深入", "支持", "实施方案",
        # too general to name a topic
        "时期", "有效", "治理", "模式", "利用", "做好", "领域", "相关", "体系", "措施", "政策措施",
        "行动计划", "行动", "目标", "若干", "重点", "有关", "开展", "提升", "水平", "能力", "健全"}
FILLERS = ("政策", "文件", "措施")


def title_words(record: dict) -> list[str]:
    from indexer.analysis import query_words

    core = record["title"]
    for _ in range(2):
        core = _WRAPPER_RE.sub("", core)
    core = re.sub(r"[“”《》（）()\d—－-]", " ", core)
    words = []
    for w in query_words(core):
        if len(w) >= 2 and w not in STOP and w not in words:
            words.append(w)
    return words


def make_words(corpus: Corpus) -> list[dict]:
    rows = []
    df = {}
    for r in corpus.titled:
        for w in set(title_words(r)):
            df[w] = df.get(w, 0) + 1
    for i, r in enumerate(corpus.policies):
        if i % 2 == 0:
            continue
        words = title_words(r)
        if len(words) < 2:
            continue
        rare = sorted(words, key=lambda w: (df.get(w, 0), -len(w), words.index(w)))
        candidates = []
        kind = (i // 2) % 4
        for k in range(4):
            v = (kind + k) % 4
            if v == 0:  # in another order, typed apart
                used = words[:4]
                candidates.append((" ".join(reversed(used)), used, "title words reversed, spaced"))
            elif v == 1 and len(words) >= 3:  # a middle word dropped, the rest run together
                first = words[:4]
                inner = [w for w in first[1:-1] if w != rare[0] and df.get(w, 0) > 1]
                if not inner:
                    continue
                common = max(inner, key=lambda w: (df.get(w, 0), inner.index(w)))
                used = [w for w in first if w != common]
                candidates.append(("".join(used), used, "title words run together, one dropped"))
            elif v == 2 and len("".join(rare[:2])) >= 5:  # the two rarest words, swapped
                used = rare[:2]
                candidates.append((" ".join(reversed(used)), used, "two rarest title words, swapped"))
            elif v == 3 and len("".join(rare[:2])) >= 5:  # a word inserted that the title does not have
                used = rare[:2]
                filler = FILLERS[i % len(FILLERS)]
                candidates.append((" ".join(used) + " " + filler, used, f"two rarest title words + '{filler}'"))
        for query, used, note in candidates:
            expect = corpus.titles_with_all(used)
            if r["id"] in expect and len(expect) <= 3:
                rows.append(dict(pattern="words", query=query, expect=expect, check="top3", note=note))
                break
    return rows


# --------------------------------------------------------------------------- traditional

CONVERSIONS = ("s2t", "s2tw", "s2twp", "s2hk")


def make_traditional(corpus: Corpus) -> list[dict]:
    import opencc

    conv = {c: opencc.OpenCC(c) for c in CONVERSIONS}
    rows = []
    for i, r in enumerate(corpus.policies):
        c = CONVERSIONS[(i // 2) % len(CONVERSIONS)]
        if i % 4 == 1:  # a whole title
            query = conv[c].convert(r["title"])
            expect = expect_for_title(corpus, r, r["title"])
            if expect and query != r["title"]:
                rows.append(dict(pattern="traditional", query=query, expect=expect, check="top3",
                                 note=f"title, OpenCC {c}"))
        elif i % 4 == 3:  # the title's two rarest words, as a topic
            words = sorted(title_words(r), key=lambda w: (len(corpus.titles_with_all([w])), -len(w)))
            used = None
            for a, b in itertools.combinations(words, 2):
                expect = corpus.titles_with_all([a, b])
                if r["id"] in expect and len(expect) <= 2:
                    used = [a, b]
                    break
            if used:
                query = conv[c].convert(" ".join(used))
                if query != " ".join(used):
                    rows.append(dict(pattern="traditional", query=query, expect=corpus.titles_with_all(used),
                                     check="top3", note=f"two title words, OpenCC {c}"))
    return rows


# --------------------------------------------------------------------------- doc_number

FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _loosen(agency: str, year: int, serial: int):
    y, n = str(year), str(serial)
    return (
        (f"{agency}{y}年{n}号", "year as 年, no brackets"),
        (f"{agency}〔{y}〕第{n}号", "第N号"),
        (f"{agency}({y}){n}", "half-width () and no 号"),
        (f"{agency}〔{y}〕{n}号".translate(FULLWIDTH), "full-width digits"),
        (f"{agency}[{y}]{n}号", "[] brackets"),
        (f"{agency}（{y}）{n}号", "full-width （） brackets"),
        (f"{agency} 〔{y}〕 {n} 号", "spaces around the parts"),
        (f"{agency}〔{y}〕{n}", "no 号"),
        (f"{agency}【{y}】{n}号", "【】 brackets"),
        (f"{agency}{y}年第{n}号", "year as 年 and 第N号"),
        (f"{agency} {y} {n}", "spaces instead of brackets"),
        (f"{agency}({y})第{n}号".translate(FULLWIDTH), "() and 第N号, full-width digits"),
    )


def make_doc_number(corpus: Corpus) -> list[dict]:
    from indexer.analysis import doc_number_key

    numbered = [r for r in corpus.policies if r.get("doc_number") and r.get("doc_number_parts")]
    by_key: dict[str, list[str]] = {}
    for r in numbered:
        by_key.setdefault(doc_number_key(r["doc_number"]), []).append(r["id"])
    rows = []
    for i, r in enumerate(numbered):
        if i % 4:
            continue
        parts = r["doc_number_parts"]
        loosenings = _loosen(parts["agency"], parts["year"], parts["serial"])
        expect = by_key[doc_number_key(r["doc_number"])]
        for k in range(2):
            query, note = loosenings[(i // 4 * 2 + k) % len(loosenings)]
            rows.append(dict(pattern="doc_number", query=query, expect=expect, check="top1",
                             note=f"{note} (of {r['doc_number']})"))
    return rows


# --------------------------------------------------------------------------- proximity

SENTENCE_END_RE = re.compile(r"[。！？；!?]")


def paragraphs(text: str) -> list[str]:
    return [squash(p) for p in (text or "").split("\n") if p.strip()]


def sentences(text: str) -> list[str]:
    out = []
    for p in paragraphs(text):
        out.extend(s for s in SENTENCE_END_RE.split(p) if s)
    return out


def _together(unit: str, a: str, b: str) -> bool:
    """Both in `unit` at non-overlapping places."""
    if a not in unit or b not in unit:
        return False
    for m in re.finditer("(?=" + re.escape(a) + ")", unit):
        s, e = m.start(), m.start() + len(a)
        for n in re.finditer("(?=" + re.escape(b) + ")", unit):
            t, f = n.start(), n.start() + len(b)
            if f <= s or t >= e:
                return True
    return False


_UNITS: dict = {}


def _units(corpus: Corpus, unit: str, with_title_summary: bool) -> dict[str, list[str]]:
    key = (id(corpus), unit, with_title_summary)
    if key not in _UNITS:
        split = sentences if unit == "同句" else paragraphs
        _UNITS[key] = {
            r["id"]: split(r.get("text") or "")
            + ((split(r.get("title") or "") + split(r.get("summary") or "")) if with_title_summary else [])
            for r in corpus.records
        }
    return _UNITS[key]


def proximity_set(corpus: Corpus, a: str, b: str, unit: str, with_title_summary: bool = False) -> set[str]:
    a, b = squash(a), squash(b)
    hits = set()
    for rid, units in _units(corpus, unit, with_title_summary).items():
        if a in corpus.squashed[rid] and b in corpus.squashed[rid] \
                and any(_together(u, a, b) for u in units):
            hits.add(rid)
    return hits


_SYNONYMS = (ROOT / "data" / "dictionaries" / "synonyms.txt").read_text(encoding="utf-8")
_AGENCIES = (ROOT / "data" / "tables" / "agencies.tsv").read_text(encoding="utf-8")


def _avoid(word: str) -> bool:
    """Words that expand (synonyms, agency aliases) or hold digits/Latin: their matching
    is not a plain substring test."""
    synonyms, agencies = _SYNONYMS, _AGENCIES
    return word in synonyms or word in agencies or not re.fullmatch(r"[\u4e00-\u9fff]{2,4}", word)


def word_pool(corpus: Corpus) -> list[str]:
    """Topic words: two- to four-character title words of policies, found in 4 to 40 records."""
    pool = []
    for r in corpus.policies:
        for w in title_words(r):
            if w not in pool and not _avoid(w):
                n = sum(squash(w) in t for t in corpus.squashed.values())
                if 4 <= n <= 40:
                    pool.append(w)
    return pool


def make_proximity(corpus: Corpus) -> list[dict]:
    pool = word_pool(corpus)
    candidates = {"同句": [], "同段": []}
    for a, b in itertools.combinations(pool, 2):
        if a in b or b in a:
            continue
        anywhere = corpus.docs_with_all([a, b])
        if len(anywhere) < 3:
            continue
        for unit in candidates:
            exact = proximity_set(corpus, a, b, unit)
            # the same set whether or not the title and summary count as units: robust
            if not exact or exact != proximity_set(corpus, a, b, unit, with_title_summary=True):
                continue
            if len(exact) < len(anywhere) and len(exact) <= 12:
                candidates[unit].append((a, b, exact, anywhere))
    rows = []
    for unit, found in candidates.items():
        # spread over the pool: every k-th candidate, 12 plain and 4 combined per operator
        step = max(1, len(found) // 16)
        chosen = found[::step][:16]
        for j, (a, b, exact, anywhere) in enumerate(chosen):
            note = f"{len(exact)} of the {len(anywhere)} records with both words"
            if j % 4 == 3:
                extra = _combine(corpus, exact, j)
                if extra:
                    query, ids, how = extra
                    rows.append(dict(pattern="proximity", query=f"{unit}({a} {b}) {query}",
                                     expect=sorted(exact & ids), check="set", note=f"{note}; {how}"))
                    continue
            rows.append(dict(pattern="proximity", query=f"{unit}({a} {b})", expect=sorted(exact),
                             check="set", note=note))
    return rows


def _combine(corpus: Corpus, exact: set[str], j: int):
    """A field or plain word that keeps part (not none) of the exact set."""
    options = []
    # 标题: a word of the title of one of the hits
    for i in sorted(exact):
        for w in ("规划", "意见", "方案", "措施", "通知", "会议"):
            ids = {r["id"] for r in corpus.records if w in (r.get("title") or "")}
            if 0 < len(exact & ids):
                options.append((f"标题:{w}", ids, f"and title contains {w}"))
        region = corpus.by_id[i].get("region")
        if region:
            short = re.sub(r"(省|市|壮族自治区|回族自治区|自治区)$", "", region)
            ids = {r["id"] for r in corpus.records
                   if short in (r.get("region") or "") + (r.get("city") or "")}
            options.append((f"地区:{short}", ids, f"and region {short}"))
            ids = {r["id"] for r in corpus.records if squash(short) in corpus.squashed[r["id"]]}
            options.append((short, ids, f"and the word {short} anywhere"))
    options = [o for o in options if 0 < len(exact & o[1])]
    # prefer one that actually narrows the set
    narrowing = [o for o in options if len(exact & o[1]) < len(exact)] or options
    return narrowing[j % len(narrowing)] if narrowing else None


# --------------------------------------------------------------------------- output

def read_hand_rows() -> list[dict]:
    if not OUT.exists():
        return []
    lines = OUT.read_text(encoding="utf-8").splitlines()
    rows = [dict(zip(COLUMNS, line.split("\t"))) for line in lines[1:] if line.strip()]
    return [row for row in rows if row.get("note", "").startswith("hand")]


def main() -> None:
    corpus = Corpus(load_records())
    generated = (make_title(corpus) + make_words(corpus) + make_traditional(corpus)
                 + make_doc_number(corpus) + make_proximity(corpus))
    hand = read_hand_rows()
    seen = set()
    lines = ["\t".join(COLUMNS)]
    for row in generated:
        if (row["pattern"], row["query"]) in seen:
            continue
        seen.add((row["pattern"], row["query"]))
        row = dict(row, expect=" ".join(row["expect"]))
        assert not any(ch in row[c] for c in COLUMNS for ch in "\t\n")
        lines.append("\t".join(row[c] for c in COLUMNS))
    lines += ["\t".join(row[c] for c in COLUMNS) for row in hand]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    counts = {}
    for row in generated:
        counts[row["pattern"]] = counts.get(row["pattern"], 0) + 1
    print(f"{OUT.relative_to(ROOT)}: generated {counts}, kept {len(hand)} hand-written rows")


if __name__ == "__main__":
    main()
