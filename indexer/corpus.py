"""Every file under data/reports/ → one de-duplicated list of records.

Files are read in path order (report names start with their month, so that
is chronological).  A file that cannot be read is listed in `skipped` with
its reason and never affects the records of other files.  The same policy
printed in two reports becomes one record: the first report's record, with
both reports in `sources` and the union of their URLs.
"""
from __future__ import annotations

import hashlib
import json
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from indexer.doc_numbers import normalize_doc_number
from indexer.errors import CorpusError, NotAReport, UnreadableReport, UnusableReport
from indexer.parse import parse_report
from indexer.readers import decode_report, decode_text

REPORTS_SUBDIR = "reports"
FORMATS = {".txt": "txt", ".pdf": "pdf", ".jsonl": "jsonl"}
RECORD_KINDS = ("policy", "activity", "interpretation")

# Fields whose values from every report are kept, not just the first one's.
_UNION_FIELDS = ("source_urls", "categories")


@dataclass
class SourceFile:
    """What one file contributed, before merging across files."""

    path: str  # relative to the reports directory, '/'-separated
    sha256: str
    size: int
    format: str
    encoding: str | None = None
    records: list[dict] = field(default_factory=list)
    anomalies: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict) -> "SourceFile":
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass
class Corpus:
    records: list[dict]
    anomalies: list[dict]
    warnings: list[str]
    # One entry per file that contributed records: path, sha256, size,
    # format, encoding, counts, and how it was obtained (status).
    sources: list[dict]
    # Files that could not be read: path and reason (and how many of its
    # records were kept from its last good version, when a fallback was given).
    skipped: list[dict]
    # Records that absorbed the same policy from other reports.
    merges: list[dict] = field(default_factory=list)
    # The per-file results, for a build to cache by content hash.
    files: list[SourceFile] = field(default_factory=list)


def reports_dir(data_dir) -> Path:
    return Path(data_dir) / REPORTS_SUBDIR


def report_files(data_dir) -> list[Path]:
    """Every candidate file under data_dir/reports/, in path order.

    Hidden files are ignored: copy tools write their partial files that way.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise CorpusError(f"data directory not found: {data_dir}")
    root = reports_dir(data_dir)
    if not root.is_dir():
        raise CorpusError(f"no reports directory: {root}")
    files = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or path.name.endswith("~"):
            continue
        if path.is_file() or (path.is_symlink() and not path.is_dir()):
            files.append(path)
    if not files:
        raise CorpusError(f"no reports in {root} (expected .txt, .pdf or .jsonl files)")
    return files


def load_corpus(data_dir, *, cache: dict | None = None, fallback: dict | None = None) -> Corpus:
    """Read, parse and merge every report under `data_dir`.

    `cache` maps a file's relative path to a `SourceFile` parsed earlier by
    the same pipeline: it is reused when the content hash still matches.
    `fallback` maps a relative path to the last good `SourceFile` of that
    path: when the file has become unreadable its records are kept.
    """
    root = reports_dir(data_dir)
    cache, fallback = cache or {}, fallback or {}
    files: list[SourceFile] = []
    sources, skipped = [], []
    for path in report_files(data_dir):
        rel = path.relative_to(root).as_posix()
        try:
            data = path.read_bytes()
        except OSError as exc:
            skipped.append(_skip(rel, f"cannot read ({exc.strerror or exc})", None, fallback, files))
            continue
        sha = hashlib.sha256(data).hexdigest()
        cached = cache.get(rel)
        if cached is not None and cached.sha256 == sha:
            files.append(cached)
            sources.append(_source_entry(cached, "cached"))
            continue
        try:
            parsed = parse_file(rel, data, sha)
        except UnusableReport as exc:
            skipped.append(_skip(rel, _reason(exc, rel), sha, fallback, files, size=len(data)))
            continue
        files.append(parsed)
        sources.append(_source_entry(parsed, "parsed"))
    for entry in skipped:
        if entry.get("kept_records"):
            sources.append(_source_entry(fallback[entry["path"]], "kept"))
    records, merges, merge_warnings = merge_files(files)
    anomalies = [a for f in files for a in f.anomalies]
    warnings = [w for f in files for w in f.warnings] + merge_warnings
    for entry in skipped:
        kept = entry.get("kept_records")
        suffix = f"; kept its {kept} records from the last good version" if kept else ""
        warnings.append(f"skipped {entry['path']}: {entry['reason']}{suffix}")
    sources.sort(key=lambda s: s["path"])
    return Corpus(records, anomalies, warnings, sources, skipped, merges, files)


def _reason(exc: Exception, rel: str) -> str:
    message = " ".join(str(exc).split())
    # Reader messages start with the file name, which the entry already holds.
    for prefix in (f"{rel}: ", f"{Path(rel).name}: "):
        if message.startswith(prefix):
            return message[len(prefix):]
    return message


def _skip(rel, reason, sha, fallback, files, size=None) -> dict:
    entry = {"path": rel, "reason": reason, "sha256": sha, "size": size}
    previous = fallback.get(rel)
    if previous is not None and previous.records:
        files.append(previous)
        entry["kept_records"] = len(previous.records)
    return entry


def _source_entry(f: SourceFile, status: str) -> dict:
    return {
        "path": f.path,
        "sha256": f.sha256,
        "size": f.size,
        "format": f.format,
        "encoding": f.encoding,
        "records": len(f.records),
        "by_kind": dict(sorted(Counter(r.get("kind") for r in f.records).items())),
        "anomalies": len(f.anomalies),
        "warnings": len(f.warnings),
        "status": status,
    }


# --------------------------------------------------------------------------- one file

def parse_file(rel: str, data: bytes, sha256: str) -> SourceFile:
    """Parse the bytes of the report at relative path `rel`; an `UnusableReport` (whose
    message does not repeat `rel`) if it yields no records."""
    fmt = FORMATS.get(Path(rel).suffix.lower())
    if fmt is None:
        allowed = ", ".join(FORMATS)
        raise UnreadableReport(f"unsupported file type (expected {allowed})")
    source = SourceFile(rel, sha256, len(data), fmt)
    if fmt == "jsonl":
        decoded = decode_text(data, rel)
        source.encoding = decoded.encoding
        source.records, source.warnings = _jsonl_records(decoded.text, rel)
        return source
    decoded = decode_report(data, rel)
    source.encoding = decoded.encoding
    try:
        report = parse_report(decoded.text, rel)
    except NotAReport as exc:  # the parser's verdict: not a report it can read
        raise NotAReport(_reason(exc, rel)) from exc
    except Exception as exc:  # a parser failure on one file must not stop the others
        detail = " ".join(str(exc).split())
        raise UnusableReport(f"the parser failed: {type(exc).__name__}: {detail}") from exc
    source.records = list(report.records)
    source.anomalies = [{**a, "report": rel} for a in report.anomalies]
    source.warnings = [w if rel in w else f"{rel}: {w}" for w in report.warnings]
    if not source.records:
        raise NotAReport("no documents found in it (not a policy report?)")
    return source


def _jsonl_records(text: str, rel: str) -> tuple[list[dict], list[str]]:
    records, warnings = [], []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            warnings.append(f"{rel} line {number}: not JSON ({exc.msg}); line ignored")
            continue
        problem = _record_problem(record)
        if problem:
            warnings.append(f"{rel} line {number}: {problem}; line ignored")
            continue
        record.setdefault("text", "")
        record.setdefault("summary", "")
        record.setdefault("source", {"report": rel, "first_line": number, "last_line": number})
        records.append(record)
    if not records:
        raise NotAReport("no valid records in it (JSON Lines in the export's schema expected)")
    return records, warnings


def _record_problem(record) -> str | None:
    if not isinstance(record, dict):
        return "not a JSON object"
    if not isinstance(record.get("id"), str) or not record["id"].strip():
        return "record without an id"
    if record.get("kind") not in RECORD_KINDS:
        return f"record {record['id']}: kind must be one of {', '.join(RECORD_KINDS)}"
    if not isinstance(record.get("title"), str) or not record["title"].strip():
        return f"record {record['id']}: no title"
    return None


# --------------------------------------------------------------------------- merging

def merge_files(files: list[SourceFile]) -> tuple[list[dict], list[dict], list[str]]:
    """One record per policy across files, in order of first appearance.

    Records of one file are never merged with each other: the parser has
    already told them apart (one 文号 can be misprinted on several documents,
    so a 文号 matches only between records whose titles agree).

    A record is copied only when merging changes it (its id or what it absorbs): the
    others are the files' own records, shared rather than copied (5,000 records of
    100 MB at 50× the report took seconds to copy), and nothing changes them later.
    """
    ambiguous = _ambiguous_doc_numbers(files)
    records: list[dict] = []
    groups: dict[tuple, int] = {}  # match key → index in records
    files_of: list[set[str]] = []  # per record: files merged into it
    merged_ids: dict[int, list[str]] = {}
    for f in sorted(files, key=lambda f: f.path):
        for record in f.records:
            keys = _match_keys(record, ambiguous)
            target = next(
                (
                    groups[k]
                    for k in keys
                    if k in groups
                    and f.path not in files_of[groups[k]]
                    and (k[0] != "doc_number" or _same_title(records[groups[k]]["title"], record["title"]))
                ),
                None,
            )
            if target is None:
                target = len(records)
                records.append(record)
                files_of.append({f.path})
            else:
                if target not in merged_ids:  # first absorption: the files' records stay untouched
                    records[target] = json.loads(json.dumps(records[target]))
                _absorb(records[target], json.loads(json.dumps(record)))
                files_of[target].add(f.path)
                merged_ids.setdefault(target, []).append(record["id"])
            for k in keys:
                groups.setdefault(k, target)
    warnings = _make_ids_unique(records, files_of)
    merges = [
        {"id": records[i]["id"], "absorbed": ids, "reports": [s["report"] for s in records[i]["sources"]]}
        for i, ids in sorted(merged_ids.items())
    ]
    return records, merges, warnings


def _ambiguous_doc_numbers(files: list[SourceFile]) -> set[str]:
    """文号 printed on more than one record of the same file."""
    ambiguous = set()
    for f in files:
        counts = Counter(_doc_number_key(r) for r in f.records)
        ambiguous |= {k for k, n in counts.items() if k and n > 1}
    return ambiguous


def _doc_number_key(record: dict) -> str | None:
    return normalize_doc_number(record.get("doc_number")) if record.get("doc_number") else None


def _match_keys(record: dict, ambiguous: set[str]) -> list[tuple]:
    keys = []
    doc_number = _doc_number_key(record)
    if doc_number and doc_number not in ambiguous:
        keys.append(("doc_number", doc_number))
    title = _squeeze(record.get("title"))
    date = record.get("publish_date") or record.get("written_date")
    if title and date:
        issuers = record.get("bodies_canonical") or record.get("bodies") or []
        issuer = "|".join(sorted(_squeeze(b) for b in issuers))
        keys.append(("title", record.get("kind"), title, issuer, date))
    return keys


def _same_title(a: str, b: str) -> bool:
    """Titles of one document as two reports print it: equal after squeezing,
    one cut short, or nearly the same characters.  A 文号 shared by documents
    with unrelated titles is a misprint, not a match."""
    a, b = _squeeze(a), _squeeze(b)
    if not a or not b:
        return True
    if a in b or b in a:
        return True
    pairs_a = Counter(a[i : i + 2] for i in range(len(a) - 1))
    pairs_b = Counter(b[i : i + 2] for i in range(len(b) - 1))
    shared = sum((pairs_a & pairs_b).values())
    return 2 * shared >= 0.7 * (sum(pairs_a.values()) + sum(pairs_b.values()))


def _squeeze(text) -> str:
    """Title or body name without spacing, punctuation or width differences."""
    text = unicodedata.normalize("NFKC", text or "")
    return "".join(ch for ch in text if not ch.isspace() and not unicodedata.category(ch).startswith("P"))


def _absorb(base: dict, other: dict) -> None:
    sources = base.get("sources") or [base["source"]]
    for s in other.get("sources") or [other.get("source")]:
        if s and s not in sources:
            sources.append(s)
    base["sources"] = sources
    for name in _UNION_FIELDS:
        values = list(base.get(name) or [])
        values += [v for v in other.get(name) or [] if v not in values]
        if values or name in base:
            base[name] = values
    for name, value in other.items():
        if name in ("id", "source", "sources") or name in _UNION_FIELDS:
            continue
        if base.get(name) in (None, "", [], {}) and value not in (None, "", [], {}):
            base[name] = value


def _make_ids_unique(records: list[dict], files_of: list[set[str]]) -> list[str]:
    """Two different documents with one id (two reports of the same month):
    the later one gets a suffix from its file name so neither is lost."""
    seen: set[str] = set()
    warnings = []
    for n, (record, paths) in enumerate(zip(records, files_of)):
        rid = record["id"]
        if rid in seen:
            path = min(paths)
            suffix = hashlib.sha1(path.encode()).hexdigest()[:6]
            new = f"{rid}-{suffix}"
            warnings.append(f"{path}: id {rid} is taken by another document; this one is {new}")
            records[n] = record = {**record, "id": new}  # a copy: the file's record stays as parsed
        seen.add(record["id"])
    return warnings
