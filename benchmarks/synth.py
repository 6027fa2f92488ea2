"""Synthetic corpora made from the real report's records.

A corpus of scale N is the real report plus N-1 synthetic reports, one per earlier
month. A synthetic copy of a record is not a duplicate: ids and dates move to the
copy's month, local documents move to another province (and its city), 文号 get that
year and a new serial, one or two title words are swapped for words of other titles,
and each body keeps most of its own sentences (lightly reordered, numbers changed)
while a fifth come from other documents. Copies therefore neither compress into one
posting nor tie in ranking, yet keep the vocabulary and lengths of real documents.
"""
from __future__ import annotations

import calendar
import copy
import json
import random
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REPORTS = REPO / "data" / "reports"
TABLES = REPO / "data" / "tables"
REAL_REPORT = "2021-12_基建PPP政策月报.txt"

_ID_MONTH = re.compile(r"^(\d{4})-(\d{2})-(.+)$")
_SENTENCE = re.compile(r"[^。！？；\n]+[。！？；]?\n?")
_DIGITS = re.compile(r"\d+")
_DOC_YEAR = re.compile(r"〔(\d{4})〕(\d+)号")


@dataclass(frozen=True)
class Region:
    name: str
    short: str
    cities: tuple[str, ...]


def _table(name: str) -> list[list[str]]:
    rows = []
    header = True
    for line in (TABLES / name).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        if header:
            header = False
            if cells[0].strip() == "name":
                continue
        rows.append(cells)
    return rows


@lru_cache(maxsize=1)
def regions() -> tuple[Region, ...]:
    cities: dict[str, list[str]] = {}
    for cells in _table("cities.tsv"):
        if len(cells) > 1:
            cities.setdefault(cells[1].strip(), []).append(cells[0].strip())
    out = []
    for cells in _table("regions.tsv"):
        name = cells[0].strip()
        short = cells[1].strip() if len(cells) > 1 and cells[1].strip() else name
        out.append(Region(name, short, tuple(cities.get(name, ()))))
    return tuple(out)


def real_records(report: Path | None = None) -> list[dict]:
    """The records of the real report, as the parser gives them."""
    from indexer.parse import parse_report

    path = report or REPORTS / REAL_REPORT
    return parse_report(path.read_text(encoding="utf-8"), path.name).records


def shift_month(year: int, month: int, back: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) - back
    return index // 12, index % 12 + 1


def _shift_date(value: str | None, back: int, rng: random.Random) -> str | None:
    if not value or not re.match(r"^\d{4}-\d{2}-\d{2}$", value):
        return value
    y, m, d = (int(x) for x in value.split("-"))
    y, m = shift_month(y, m, back)
    d = min(max(1, d + rng.randint(-3, 3)), calendar.monthrange(y, m)[1])
    return date(y, m, d).isoformat()


def _words(text: str) -> list[str]:
    import jieba

    return [w for w in jieba.lcut(text, HMM=False) if w.strip()]


class Synthesizer:
    """Makes synthetic reports from one real report's records, deterministically."""

    def __init__(self, records: list[dict], seed: int = 20211231) -> None:
        self.records = records
        self.seed = seed
        first = next((r["id"] for r in records if _ID_MONTH.match(r.get("id") or "")), "2021-12-x")
        match = _ID_MONTH.match(first)
        self.year, self.month = int(match.group(1)), int(match.group(2))
        self.sentences = [s for r in records for s in _SENTENCE.findall(r.get("text") or "") if len(s) > 8]
        self.title_words = {r["id"]: _words(r.get("title") or "") for r in records}
        pool: dict[int, list[str]] = {}
        for words in self.title_words.values():
            for w in words:
                if len(w) >= 2 and not w.isascii():
                    pool.setdefault(len(w), []).append(w)
        self.word_pool = {n: sorted(set(ws)) for n, ws in pool.items()}
        self.categories = sorted({c for r in records for c in r.get("categories") or []})

    def month_of(self, back: int) -> str:
        y, m = shift_month(self.year, self.month, back)
        return f"{y:04d}-{m:02d}"

    def report_name(self, back: int) -> str:
        return f"{self.month_of(back)}_合成月报.jsonl"

    def report(self, back: int) -> list[dict]:
        """The synthetic report `back` months before the real one (back >= 1)."""
        rng = random.Random(self.seed * 1000003 + back)
        month = self.month_of(back)
        name = self.report_name(back)
        return [self._record(r, back, month, name, rng) for r in self.records]

    # -- one record ---------------------------------------------------------

    def _new_id(self, rid: str | None, month: str, back: int) -> str | None:
        if not rid:
            return rid
        match = _ID_MONTH.match(rid)
        return f"{month}-{match.group(3)}" if match else f"{month}-s{back}-{rid}"

    def _text(self, text: str, rng: random.Random, foreign: float = 0.2) -> str:
        if not text:
            return text
        parts = _SENTENCE.findall(text) or [text]
        out = []
        for s in parts:
            if self.sentences and rng.random() < foreign:
                s = rng.choice(self.sentences)
            if rng.random() < 0.5:
                s = _DIGITS.sub(lambda m: str(rng.randint(10 ** (len(m.group()) - 1) if len(m.group()) > 1 else 0,
                                                        10 ** len(m.group()) - 1)), s)
            out.append(s)
        for i in range(len(out) - 1):
            if rng.random() < 0.25:
                out[i], out[i + 1] = out[i + 1], out[i]
        return "".join(out)

    def _title(self, record: dict, rng: random.Random) -> str:
        words = list(self.title_words.get(record.get("id"), []) or [record.get("title") or ""])
        candidates = [i for i, w in enumerate(words) if len(w) >= 2 and not w.isascii()
                      and len(self.word_pool.get(len(w), ())) > 1]
        for i in rng.sample(candidates, min(len(candidates), rng.randint(1, 2))):
            words[i] = rng.choice(self.word_pool[len(words[i])])
        return "".join(words)

    def _record(self, record: dict, back: int, month: str, report: str, rng: random.Random) -> dict:
        new = copy.deepcopy(record)
        new["id"] = self._new_id(record.get("id"), month, back)
        if record.get("interprets"):
            new["interprets"] = self._new_id(record["interprets"], month, back)
        new["title"] = self._title(record, rng)
        new["text"] = self._text(record.get("text") or "", rng)
        new["summary"] = self._text(record.get("summary") or "", rng, foreign=0.1)
        for key in ("publish_date", "written_date"):
            if key in new:
                new[key] = _shift_date(new.get(key), back, rng)
        if record.get("region"):
            self._move_region(new, record, rng)
        if record.get("doc_number"):
            self._renumber(new, rng)
        if self.categories and new.get("categories") is not None and rng.random() < 0.3:
            cats = set(new["categories"])
            cats.symmetric_difference_update({rng.choice(self.categories)})
            new["categories"] = sorted(cats)
        new.pop("sources", None)
        new["source"] = {"report": report, "first_line": 0, "last_line": 0}
        return new

    def _move_region(self, new: dict, old: dict, rng: random.Random) -> None:
        table = {r.name: r for r in regions()}
        source = table.get(old["region"])
        if source is None or rng.random() < 0.2:
            return
        target = rng.choice([r for r in regions() if r.name != old["region"]])
        city = rng.choice(target.cities) if old.get("city") and target.cities else None
        pairs = [(source.name, target.name), (source.short, target.short)]
        if old.get("city"):
            pairs.insert(0, (old["city"], city or target.name))
            if old["city"].endswith("市"):
                pairs.insert(1, (old["city"][:-1], (city or target.short).removesuffix("市")))

        def swap(text):
            if not isinstance(text, str):
                return text
            for a, b in pairs:
                if a and len(a) >= 2:
                    text = text.replace(a, b)
            return text

        for key in ("title", "text", "summary"):
            new[key] = swap(new.get(key))
        for key in ("bodies", "bodies_canonical"):
            if isinstance(new.get(key), list):
                new[key] = [swap(b) for b in new[key]]
        new["region"] = target.name
        new["city"] = city

    def _renumber(self, new: dict, rng: random.Random) -> None:
        year = int((new.get("publish_date") or "2021")[:4])
        serial = rng.randint(1, 2500)
        number, n = _DOC_YEAR.subn(f"〔{year}〕{serial}号", new["doc_number"])
        if not n:
            number = f"{new['doc_number']}-{serial}"
        new["doc_number"] = number
        parts = new.get("doc_number_parts")
        if isinstance(parts, dict) and n:
            new["doc_number_parts"] = {**parts, "year": year, "serial": serial}


def corpus(records: list[dict], scale: int, seed: int = 20211231) -> list[dict]:
    """The real records followed by scale-1 synthetic reports."""
    synth = Synthesizer(records, seed)
    out = list(records)
    for back in range(1, scale):
        out.extend(synth.report(back))
    return out


def write_data_dir(data_dir: Path, records: list[dict], scale: int, seed: int = 20211231,
                   real_report: Path | None = None, extra: int = 0) -> list[str]:
    """A data directory for `indexer.build`: the real report as text (so a build parses it)
    and each synthetic report as JSON Lines. `extra` synthetic reports beyond the scale
    are written too (the reports "added later"). Returns the synthetic file names."""
    reports = Path(data_dir) / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    source = real_report or REPORTS / REAL_REPORT
    target = reports / source.name
    if not target.exists():
        target.write_bytes(source.read_bytes())
    synth = Synthesizer(records, seed)
    names = []
    for back in range(1, scale + extra):
        name = synth.report_name(back)
        path = reports / name
        if not path.exists():
            lines = [json.dumps(r, ensure_ascii=False) for r in synth.report(back)]
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        names.append(name)
    # A report left by an interrupted run (the incremental step adds and then removes
    # one) would make this corpus larger than its scale.
    wanted = {target.name, *names}
    for path in reports.iterdir():
        if path.name not in wanted:
            path.unlink()
    return names
