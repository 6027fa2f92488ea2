"""Index builds as generations: build beside the live index, validate, switch.

    <index_root>/
      CURRENT                 name of the live generation (replaced atomically)
      generations/<build_id>/ a complete Whoosh index, manifest.json, files.json,
                              source-*.json (one per report file)
      build.lock              held (flock) by a running build or rollback
      last_build.json         outcome of the last build attempt

A build works in `generations/.tmp-<build_id>/` and only renames it into place
once it is complete and validated; CURRENT is then replaced with
os.replace, so a reader sees either the old or the new generation, never a
mix.  A build killed at any point leaves the live generation as it was; the
next build removes what the dead one left behind.

Builds are incremental: every record's content hash is kept in the manifest
and every file's parse result in a source-*.json named by its path and content
hash (files.json maps each path to its content hash), so only new, changed and
removed documents reach the index.  The parse result of an unchanged file is
hard-linked from the live generation, not written again.  A change of the analysis resources or of
the indexing code makes the next build a full one.

Longer than the other modules because a build is one transaction (lock, read,
index, validate, publish, switch, prune) whose steps share the lock and the
rollback on failure; status and rollback read the same layout, so they live here.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import multiprocessing
import os
import shutil
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from indexer import doc_tables, lineage, lineage_table, parallel, spelling
from indexer.corpus import Corpus, SourceFile, load_corpus
from indexer.errors import BuildLocked, CorpusError, RollbackError

CURRENT = "CURRENT"
GENERATIONS = "generations"
LOCK = "build.lock"
LAST_BUILD = "last_build.json"
MANIFEST = "manifest.json"
FILES = "files.json"
# one report file's parse result (indexer.corpus.SourceFile), see source_cache_name
SOURCE_PREFIX = "source-"
# who cites whom (indexer.lineage.derived_table): the records' cited_by and siblings are
# kept out of the index, so a report that cites a document does not re-index it.
LINEAGE = "lineage.sqlite"  # indexer.lineage_table
# the same table as JSON, in generations built before it moved to SQLite: still served
# until the next build replaces them
LEGACY_LINEAGE = "lineage.json"
# the words of the index filed for did-you-mean (indexer.spelling)
SPELLING = "spelling.sqlite"
# facet values, dates and ids by document and by value, mapped by the search workers
DOC_TABLES = "documents.tables"  # indexer.doc_tables
# each record's extracted references by lineage.extraction_key: the next build extracts
# only those of new and changed texts
REFERENCES = "references.json"
ACTIVATED = "ACTIVATED"  # written into a generation once it has been live
TMP_PREFIX = ".tmp-"
MANIFEST_FORMAT = 1

DEFAULT_KEEP = 3
DEFAULT_MAX_DROP = 0.2

# Test and diagnosis hook: stop at a named stage until a file is removed.
PAUSE_ENV = "POLICY_SEARCH_BUILD_PAUSE_AT"
PAUSE_FILE_ENV = "POLICY_SEARCH_BUILD_PAUSE_FILE"

STAGES = ("lock", "read", "index", "index-progress", "validate", "manifest", "publish", "switch", "activate", "prune")

# Files of ours inside a generation; everything else there belongs to Whoosh.
_OWN_FILES = {MANIFEST, FILES, ACTIVATED, LINEAGE, LEGACY_LINEAGE, REFERENCES, SPELLING, DOC_TABLES}
_PACKAGE_DIR = Path(__file__).resolve().parent
_REPO_DIR = _PACKAGE_DIR.parent
# What decides the documents an index holds: a change makes the next build a full one.
_INDEX_CODE = ("analysis.py", "folding.py", "doc_numbers.py", "schema.py", "indexing.py")


# --------------------------------------------------------------------------- progress

class Progress:
    """Receives a build's progress; the CLI draws a bar or writes log lines."""

    # A bar wants to move while documents are indexed: the build then feeds
    # the indexer in slices, which costs a little time (more commits), so
    # unattended builds index in one go.
    wants_detail = False

    def stage(self, name: str, message: str) -> None:
        pass

    def start(self, total: int, label: str) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def finish(self) -> None:
        pass


# --------------------------------------------------------------------------- paths

def generations_dir(index_root) -> Path:
    return Path(index_root) / GENERATIONS


def generation_dir(index_root, build_id: str) -> Path:
    return generations_dir(index_root) / build_id


def live_build_id(index_root) -> str | None:
    try:
        name = (Path(index_root) / CURRENT).read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return name or None


def live_generation(index_root) -> Path | None:
    """The directory of the live generation (a Whoosh index), or None."""
    build_id = live_build_id(index_root)
    if build_id is None:
        return None
    path = generation_dir(index_root, build_id)
    return path if (path / MANIFEST).is_file() else None


def locate_live_index(index_root) -> tuple[Path | None, str | None]:
    """(index directory, build id) of what readers should search under `index_root`:
    the generation CURRENT names (under generations/, or a directory beside CURRENT
    written by hand), else the root itself when it holds an index directly.
    (None, id) when CURRENT names nothing that is an index; (None, None) when there
    is no index at all. OSError when CURRENT exists but cannot be read."""
    from indexer.indexing import is_index

    root = Path(index_root)
    current = live_build_id(root)
    if current:
        name = Path(current.rstrip("/")).name
        for candidate in (root / current, generation_dir(root, name)):
            if is_index(candidate):
                return candidate.resolve(), name
        return None, current
    if is_index(root):
        return root.resolve(), None
    return None, None


def read_manifest(generation: Path) -> dict | None:
    return read_json(Path(generation) / MANIFEST)


def read_json(path: Path):
    """A JSON file of a generation or the index root, or None when it is missing,
    unreadable or not JSON (a half-written or damaged file is treated as absent)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def read_last_build(index_root) -> dict | None:
    return read_json(Path(index_root) / LAST_BUILD)


def list_generations(index_root) -> list[str]:
    """Complete generations (manifest present), oldest first."""
    root = generations_dir(index_root)
    if not root.is_dir():
        return []
    return sorted(
        p.name for p in root.iterdir() if not p.name.startswith(".") and (p / MANIFEST).is_file()
    )


# --------------------------------------------------------------------------- small helpers

def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def new_build_id(index_root) -> str:
    """A timestamp to the millisecond, later than every generation there is:
    names sort in build order (builds never overlap: they hold the lock)."""
    root = generations_dir(index_root)
    existing = [p.name.removeprefix(TMP_PREFIX) for p in root.iterdir()] if root.is_dir() else []
    latest = max(existing, default="")
    while True:
        moment = _now()
        build_id = f"{moment.strftime('%Y%m%dT%H%M%S')}.{moment.microsecond // 1000:03d}Z"
        if build_id > latest:
            return build_id
        time.sleep(0.001)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` so that readers see the old or the new content."""
    tmp = path.with_name(f"{path.name}{TMP_PREFIX}{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _write_json(path: Path, data, compact: bool = False) -> None:
    # the caches a build reads back (tens of MB at 50× the report) are written compact
    layout = {"separators": (",", ":")} if compact else {"indent": 1}
    write_atomic(path, json.dumps(data, ensure_ascii=False, sort_keys=False, **layout) + "\n")


def record_hash(record: dict) -> str:
    return hashlib.sha256(json.dumps(record, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()


def _hash_files(paths) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.relative_to(_REPO_DIR).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def resource_versions() -> dict:
    """What a generation was built with; a change of `analysis` or `index_code`
    makes an incremental build impossible, a change of `pipeline` only
    invalidates the cached parse results."""
    from indexer import analysis

    index_code = [_PACKAGE_DIR / name for name in _INDEX_CODE if (_PACKAGE_DIR / name).exists()]
    pipeline = [p for p in _PACKAGE_DIR.rglob("*.py") if p.name != "build.py"]
    tables = _REPO_DIR / "data" / "tables"
    if tables.is_dir():
        pipeline += [p for p in tables.rglob("*") if p.is_file()]
    return {
        "analysis": str(analysis.resources_version()),
        "index_code": _hash_files(index_code),
        "pipeline": _hash_files(pipeline),
    }


def _pause_point(stage: str) -> None:
    if os.environ.get(PAUSE_ENV) != stage:
        return
    marker = Path(os.environ.get(PAUSE_FILE_ENV) or f"policy-search-build-paused-{os.getpid()}")
    marker.write_text(f"{os.getpid()} {stage}\n", encoding="utf-8")
    while marker.exists():
        time.sleep(0.02)


def _one_line(exc: BaseException) -> str:
    detail = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


# --------------------------------------------------------------------------- lock

class BuildLock:
    """An exclusive flock on <index_root>/build.lock, released by the kernel
    when the holder dies, so a killed build never leaves a stale lock."""

    def __init__(self, index_root) -> None:
        self.path = Path(index_root) / LOCK
        self._file = None

    def acquire(self, purpose: str) -> "BuildLock":
        f = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = " ".join(f.read().split()) or "unknown process"
            f.close()
            raise BuildLocked(f"another build is running ({holder}); try again when it has finished") from None
        f.seek(0)
        f.truncate()
        f.write(f"{purpose} pid {os.getpid()} since {_iso(_now())}\n")
        f.flush()
        self._file = f
        return self

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing drops the flock
            self._file = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.release()


# --------------------------------------------------------------------------- cleanup

def clean_debris(index_root) -> list[str]:
    """Remove what interrupted builds left behind; call with the lock held.

    Debris: unfinished generations (.tmp-*), half-written files, and complete
    generations that were never switched live (the build died between the
    rename and the switch).  The live generation is never touched.
    """
    root = Path(index_root)
    removed = []
    live = live_build_id(root)
    for tmp in root.glob(f"*{TMP_PREFIX}*"):
        if tmp.is_file():
            tmp.unlink(missing_ok=True)
            removed.append(tmp.name)
    gens = generations_dir(root)
    if gens.is_dir():
        for path in sorted(gens.iterdir()):
            if path.name == live:
                if path.is_dir() and not (path / ACTIVATED).exists() and (path / MANIFEST).is_file():
                    # The build died right after the switch: it is live, so it was activated.
                    write_atomic(path / ACTIVATED, _iso(_now()) + "\n")
                continue
            never_live = path.is_dir() and not (path / ACTIVATED).exists()
            if path.name.startswith(TMP_PREFIX) or never_live or not (path / MANIFEST).is_file():
                _remove(path)
                removed.append(f"{GENERATIONS}/{path.name}")
        for path in gens.iterdir():
            # Half-written files of ours in a kept generation (ACTIVATED.tmp-…).
            for tmp in path.glob(f"*{TMP_PREFIX}*") if path.is_dir() else ():
                tmp.unlink(missing_ok=True)
                removed.append(f"{GENERATIONS}/{path.name}/{tmp.name}")
    return removed


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def prune_generations(index_root, keep: int) -> list[str]:
    """Keep the `keep` newest generations and the live one; remove the rest."""
    keep = max(keep, 2)  # the one just replaced may still serve requests in flight
    live = live_build_id(index_root)
    names = list_generations(index_root)
    doomed = [n for n in names[:-keep] if n != live]
    for name in doomed:
        _remove(generation_dir(index_root, name))
    return doomed


# --------------------------------------------------------------------------- the index

def _index_document_ids(searcher) -> list[str]:
    # From the id field's postings (live documents only), not the stored records:
    # loading every record's text would dominate a small update.
    reader = searcher.reader()
    return [term.decode("utf-8") if isinstance(term, bytes) else term
            for term in reader.lexicon("id")
            for _ in reader.postings("id", term).all_ids()]


def _smoke_sample(records: list[dict], fresh_ids) -> list[dict]:
    """The first, middle and last records, and a few of those this build indexed."""
    picks = [records[0], records[len(records) // 2], records[-1]]
    fresh = set(fresh_ids)
    picks += [r for r in records if r["id"] in fresh][:3]
    return list({r["id"]: r for r in picks}.values())


def smoke_queries(searcher, records: list[dict], fresh_ids=()) -> list[dict]:
    """Word and character queries built from sampled records' own titles and
    texts; each must find its record through the index's postings."""
    from whoosh import query as wq

    from indexer import schema

    checks = []
    for record in _smoke_sample(records, fresh_ids):
        for field_name, text in (("title", record.get("title")),
                                 ("text", record.get("text") or record.get("summary")),
                                 ("title" + schema.NGRAM_SUFFIX, record.get("title"))):
            terms = _query_terms(field_name, (text or "")[:300], grams=field_name.endswith(schema.NGRAM_SUFFIX))
            if not terms:
                continue
            q = wq.And([wq.Term(field_name, t) for t in terms])
            docs = set(searcher.docs_for_query(q))
            own = set(searcher.document_numbers(id=record["id"]))
            checks.append({"query": f"{field_name}:{' '.join(terms)}", "record": record["id"],
                           "hits": len(docs), "found": bool(own & docs)})
    return checks


def _query_terms(field_name: str, text: str, most: int = 3, grams: bool = False) -> list[str]:
    """The longest words of `text`, or for n-grams a run from its middle
    (the start of a title is the same 关于印发 everywhere)."""
    from indexer import schema

    analyzer = schema.SCHEMA[field_name].analyzer
    tokens = list(dict.fromkeys(t.text for t in analyzer(text)))
    if grams:
        middle = max(0, len(tokens) // 2 - 1)
        return tokens[middle : middle + most]
    return sorted(tokens, key=len, reverse=True)[:most]


def _own_file(name: str) -> bool:
    return name in _OWN_FILES or name.startswith(SOURCE_PREFIX)


def source_cache_name(rel: str, sha256: str) -> str:
    """The file of a generation holding the parse result of report `rel` with content
    `sha256`: named by both, so a name never stands for two different results of one
    pipeline (the pipeline version is in the manifest; another one ignores them all)."""
    key = hashlib.sha256(f"{rel}\0{sha256}".encode("utf-8")).hexdigest()[:32]
    return f"{SOURCE_PREFIX}{key}.json"


def read_source_caches(generation: Path) -> dict[str, SourceFile]:
    """Every report file's parse result a generation holds, by relative path. A missing,
    damaged or mismatching entry is left out (that file is parsed again); files.json
    in the older layout (every result inline) is still read."""
    index = read_json(generation / FILES)
    if not isinstance(index, dict):
        return {}
    files = {}
    for rel, entry in index.items():
        if isinstance(entry, str):
            entry = read_json(generation / source_cache_name(rel, entry))
            if not isinstance(entry, dict) or entry.get("sha256") != index[rel]:
                continue
        try:
            source = SourceFile.from_json(entry)
        except (TypeError, KeyError):
            continue
        if source.path == rel and isinstance(source.records, list):
            files[rel] = source
    return files


def write_source_caches(target: Path, files: list[SourceFile], previous: Path | None,
                        reused: dict[str, SourceFile]) -> None:
    """files.json and one source-*.json per file in `target`. A result read from the
    `previous` generation (the same object in `reused`) is hard-linked, not written again."""
    for source in files:
        name = source_cache_name(source.path, source.sha256)
        if previous is not None and reused.get(source.path) is source:
            try:
                os.link(previous / name, target / name)
                continue
            except OSError:
                pass  # gone or another file system: written below
        with open(target / name, "w", encoding="utf-8") as f:
            json.dump(source.to_json(), f, ensure_ascii=False, separators=(",", ":"))
            f.flush()
            os.fsync(f.fileno())
    _write_json(target / FILES, {f.path: f.sha256 for f in files}, compact=True)


def _copy_index(source: Path, target: Path) -> None:
    """The live index's files in a new directory. Whoosh never rewrites a segment file
    (deletions live in the table of contents, which an update writes anew), so hard
    links are a safe copy: a 1 GB index is not duplicated every night."""
    target.mkdir(parents=True)
    for path in source.iterdir():
        if path.is_file() and not _own_file(path.name) and not path.name.endswith("WRITELOCK"):
            if path.name.endswith(".toc") or path.name == "analysis.json":
                shutil.copy2(path, target / path.name)
                continue
            try:
                os.link(path, target / path.name)
            except OSError:
                shutil.copy2(path, target / path.name)


def validate_generation(index_dir: Path, records: list[dict], live_manifest: dict | None,
                        max_drop: float, force: bool, fresh_ids=()) -> dict:
    """Checks that a new generation may go live; returns the findings.

    `problems` lists what refuses it: documents missing or unexpected, smoke
    queries without hits, or (unless forced) a drop in the document count
    larger than `max_drop` against the live generation.
    """
    from indexer import indexing

    expected = {r["id"] for r in records}
    # One opening for every check.
    ix = indexing.open_index(index_dir)
    try:
        with ix.searcher() as searcher:
            ids = _index_document_ids(searcher)
            queries = smoke_queries(searcher, records, fresh_ids)
    finally:
        ix.close()
    problems = []
    found = set(ids)
    if len(ids) != len(found):
        problems.append(f"{len(ids) - len(found)} documents are in the index twice")
    missing, extra = expected - found, found - expected
    if missing:
        problems.append(f"{len(missing)} documents missing from the index (e.g. {sorted(missing)[0]})")
    if extra:
        problems.append(f"{len(extra)} unexpected documents in the index (e.g. {sorted(extra)[0]})")
    if not queries:
        problems.append("no smoke query could be made from the records")
    for query in queries:
        if not query["found"]:
            problems.append(f"smoke query {query['query']!r} did not find {query['record']}")
    previous = (live_manifest or {}).get("documents")
    drop = forced = None
    if previous:
        drop = (previous - len(expected)) / previous
        if drop > max_drop:
            message = (f"the document count would drop from {previous} to {len(expected)} "
                       f"({drop:.0%}, more than the allowed {max_drop:.0%})")
            if force:
                forced = message + "; allowed by --force"
            else:
                problems.append(message + "; use --force if that is intended")
    return {"documents": len(ids), "previous_documents": previous, "drop": drop, "forced": forced,
            "smoke_queries": queries, "problems": problems}


# --------------------------------------------------------------------------- switch

def install_generation(index_root, tmp: Path, build_id: str, stage=None) -> None:
    """Move a complete, validated generation from `tmp` into place and make it live:
    CURRENT is replaced atomically, then ACTIVATED is written. Call with the lock
    held. Shared by a build and a replica's pull (indexer.replicate), so a copied
    generation goes live exactly as a built one does."""
    stage = stage or (lambda name, message: _pause_point(name))
    final = generation_dir(index_root, build_id)
    os.rename(tmp, final)
    _fsync_dir(final.parent)
    stage("switch", f"switching CURRENT to {build_id}")
    write_atomic(Path(index_root) / CURRENT, build_id + "\n")
    stage("activate", f"{build_id} is live")
    write_atomic(final / ACTIVATED, _iso(_now()) + "\n")


# --------------------------------------------------------------------------- build

@dataclass
class BuildResult:
    # ok | partial | refused | failed | bad_input | locked | unchanged
    outcome: str
    message: str
    build_id: str | None = None
    live: str | None = None
    manifest: dict | None = None
    warnings: list[str] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)


@dataclass
class _Previous:
    build_id: str | None
    path: Path | None
    manifest: dict | None
    files: dict[str, SourceFile]
    references: dict[str, list]

    @classmethod
    def load(cls, index_root) -> "_Previous":
        build_id = live_build_id(index_root)
        path = live_generation(index_root)
        manifest = read_manifest(path) if path else None
        files = read_source_caches(path) if path is not None else {}
        references = (read_json(path / REFERENCES) if path is not None else None) or {}
        if manifest is None:
            build_id = path = None
        return cls(build_id, path, manifest, files, references if isinstance(references, dict) else {})


def build(data_dir, index_root, *, full: bool = False, force: bool = False, keep: int = DEFAULT_KEEP,
          max_drop: float = DEFAULT_MAX_DROP, if_missing: bool = False,
          progress: Progress | None = None, jobs: int = 1) -> BuildResult:
    """Build a new generation from `data_dir` and make it live if it validates; a full
    build indexes with `jobs` processes (indexer.parallel)."""
    progress = progress or Progress()
    index_root = Path(index_root)
    index_root.mkdir(parents=True, exist_ok=True)
    generations_dir(index_root).mkdir(exist_ok=True)
    if if_missing and _searchable(live_generation(index_root)):
        live = live_build_id(index_root)
        return BuildResult("unchanged", f"index already built (generation {live}); nothing to do", live=live)
    try:
        lock = BuildLock(index_root).acquire("build")
    except BuildLocked as exc:
        return BuildResult("locked", str(exc))
    with lock:
        _pause_point("lock")
        return _Build(data_dir, index_root, full, force, keep, max_drop, progress, jobs).run()


def _write_doc_tables(generation: Path, links: dict) -> None:
    from indexer import indexing

    ix = indexing.open_index(generation)
    try:
        with ix.reader() as reader:
            doc_tables.write_tables(generation / DOC_TABLES, reader, links)
    finally:
        ix.close()


def _searchable(generation: Path | None) -> bool:
    """Whether a live generation can be searched by this code: one built with other
    analysis resources (an upgrade changed a dictionary or a table) is refused by every
    search, so --if-missing builds anew rather than leave the site answering 503."""
    if generation is None:
        return False
    from indexer import analysis
    from indexer.indexing import read_stamp

    return (read_stamp(generation) or {}).get("resources_version") == analysis.resources_version()


class _Build:
    def __init__(self, data_dir, index_root: Path, full, force, keep, max_drop, progress: Progress,
                 jobs: int = 1) -> None:
        self.data_dir = Path(data_dir)
        self.jobs = max(1, jobs)
        self.root = index_root
        self.full, self.force, self.keep, self.max_drop = full, force, keep, max_drop
        self.progress = progress
        self.started = _now()
        self.clock = time.monotonic()
        self.build_id = new_build_id(index_root)
        self.tmp = generations_dir(index_root) / f"{TMP_PREFIX}{self.build_id}"
        self.stages: dict[str, float] = {}  # seconds spent in each stage
        self._current: tuple[str, float] | None = None
        self.notes: list[str] = []

    def stage(self, name: str, message: str) -> None:
        self._close_stage()
        self._current = (name, time.monotonic())
        self.progress.stage(name, message)
        _pause_point(name)

    def _close_stage(self) -> None:
        if self._current is not None:
            name, since = self._current
            self.stages[name] = round(time.monotonic() - since, 3)
            self._current = None

    def run(self) -> BuildResult:
        interrupted = read_last_build(self.root)
        removed = clean_debris(self.root)
        if interrupted and interrupted.get("outcome") == "running":
            self.notes.append(f"the previous build {interrupted.get('build_id')} was interrupted")
        if removed:
            self.notes.append(f"removed what interrupted builds left: {', '.join(removed)}")
        previous = _Previous.load(self.root)
        self._record_attempt({"outcome": "running", "build_id": self.build_id, "pid": os.getpid(),
                              "started_at": _iso(self.started)})
        try:
            result = self._run(previous)
        except CorpusError as exc:
            result = BuildResult("bad_input", str(exc), live=previous.build_id)
        except Exception as exc:  # anything else: say why in one line
            if live_build_id(self.root) == self.build_id:
                # Only the tidying after the switch failed: the new generation is live and sound.
                result = BuildResult("ok", f"generation {self.build_id} is live; tidying up after the switch "
                                           f"failed: {_one_line(exc)}", live=self.build_id,
                                     manifest=read_manifest(generation_dir(self.root, self.build_id)))
            else:
                result = BuildResult("failed", f"build failed, nothing changed: {_one_line(exc)}",
                                     live=previous.build_id)
            result.warnings.append(traceback.format_exc())
        finally:
            if self.tmp.exists():
                shutil.rmtree(self.tmp, ignore_errors=True)
        result.build_id = self.build_id
        result.warnings = self.notes + result.warnings
        self._record_outcome(result)
        return result

    # -- the steps ---------------------------------------------------------

    def _run(self, previous: _Previous) -> BuildResult:
        self.stage("read", f"reading reports in {self.data_dir / 'reports'}")
        versions = resource_versions()
        old = previous.manifest or {}
        old_versions = old.get("resources") or {}
        full_reason = self._full_reason(previous, versions, old_versions)
        cache = previous.files if old_versions.get("pipeline") == versions["pipeline"] and not self.full else {}
        corpus = load_corpus(self.data_dir, cache=cache, fallback=previous.files)
        # A record carries its own references (re-indexed when they resolve
        # differently); who cites it is written beside the index.
        memo = dict(previous.references) if cache else {}
        links = lineage.resolve_references(corpus.records, memo)
        corpus.records = [lineage.without_derived(r) for r in lineage.annotate(corpus.records, links)]
        derived = lineage.derived_table(links)
        for entry in corpus.skipped:
            self.progress.stage("skip", f"skipped {entry['path']}: {entry['reason']}")
        if not corpus.records:
            return BuildResult("failed", "no documents could be read from any report; nothing changed",
                               live=previous.build_id, skipped=corpus.skipped, warnings=corpus.warnings)

        hashes = {r["id"]: record_hash(r) for r in corpus.records}
        old_hashes = {} if full_reason else old.get("record_hashes") or {}
        added = [i for i in hashes if i not in old_hashes]
        changed = [i for i in hashes if i in old_hashes and old_hashes[i] != hashes[i]]
        removed = [i for i in old_hashes if i not in hashes]
        changes = {"added": len(added), "changed": len(changed), "removed": len(removed),
                   "unchanged": len(hashes) - len(added) - len(changed)}
        same_sources = [(s["path"], s["sha256"]) for s in corpus.sources] == [
            (s["path"], s["sha256"]) for s in old.get("sources", [])
        ]
        if not full_reason and not (added or changed or removed) and same_sources:
            outcome = "partial" if corpus.skipped else "ok"
            message = f"no changes since generation {previous.build_id}; it stays live"
            return BuildResult(outcome, message, live=previous.build_id, manifest=old,
                               warnings=corpus.warnings, skipped=corpus.skipped)

        try:
            self._index(previous, corpus, full_reason, added + changed, removed)
        except Exception as exc:
            if full_reason:
                raise
            # A live generation that cannot be updated (damaged files, a stamp
            # from other resources) must not block every night's build.
            full_reason = f"the incremental update failed ({_one_line(exc)})"
            self.notes.append(f"{full_reason}; rebuilding every document")
            shutil.rmtree(self.tmp, ignore_errors=True)
            self._index(previous, corpus, full_reason, added + changed, removed)
        self.stage("validate", "validating the new generation")
        validation = validate_generation(self.tmp, corpus.records, previous.manifest, self.max_drop,
                                         self.force, fresh_ids=added + changed)
        if validation["problems"]:
            return BuildResult("refused", "validation refused the new generation, the live one stays: "
                               + "; ".join(validation["problems"]), live=previous.build_id,
                               warnings=corpus.warnings, skipped=corpus.skipped)

        self.stage("manifest", "writing the manifest")
        manifest = self._manifest(corpus, versions, full_reason, previous, changes, hashes, validation)
        write_source_caches(self.tmp, corpus.files, previous.path, previous.files)
        lineage_table.write_table(self.tmp / LINEAGE, derived)
        self._write_reader_tables(None if full_reason else previous.path / SPELLING, derived["cites"])
        _write_json(self.tmp / REFERENCES, memo, compact=True)
        _write_json(self.tmp / MANIFEST, manifest)
        _fsync_dir(self.tmp)

        self.stage("publish", "moving the generation into place")
        install_generation(self.root, self.tmp, self.build_id, stage=self.stage)
        self.stage("prune", f"keeping the last {self.keep} generations")
        pruned = prune_generations(self.root, self.keep)
        if pruned:
            self.notes.append(f"removed old generations: {', '.join(pruned)}")
        outcome = "partial" if corpus.skipped else "ok"
        message = (f"generation {self.build_id} is live: {manifest['documents']} documents "
                   f"({changes['added']} added, {changes['changed']} changed, {changes['removed']} removed)")
        if corpus.skipped:
            message += f"; {len(corpus.skipped)} file(s) skipped"
        return BuildResult(outcome, message, live=self.build_id, manifest=manifest,
                           warnings=corpus.warnings, skipped=corpus.skipped)

    def _full_reason(self, previous: _Previous, versions: dict, old_versions: dict) -> str | None:
        if self.full:
            return "--full"
        if previous.manifest is None:
            return "no live generation"
        if previous.manifest.get("format") != MANIFEST_FORMAT:
            return "the live generation has an older manifest format"
        if old_versions.get("analysis") != versions["analysis"]:
            return (f"analysis resources changed ({old_versions.get('analysis')} → {versions['analysis']})")
        if old_versions.get("index_code") != versions["index_code"]:
            return "the indexing code changed"
        return None

    def _write_reader_tables(self, previous_spelling: Path | None, links: dict) -> None:
        """The tables made from the new index itself: its document tables (with the
        documents' `links`), and its words for the spelling table (filed from the
        previous one). With more than one
        job, a forked process writes the document tables meanwhile (each is a second
        or two at 50× the report, most of a nightly build's manifest stage)."""
        from indexer import indexing

        child = None
        if self.jobs > 1:
            child = multiprocessing.get_context("fork").Process(
                target=_write_doc_tables, args=(self.tmp, links), daemon=True)
            child.start()
        ix = indexing.open_index(self.tmp)
        try:
            with ix.reader() as reader:
                if child is None:
                    doc_tables.write_tables(self.tmp / DOC_TABLES, reader, links)
                words = spelling.lexicon_words(reader)
        finally:
            ix.close()
        spelling.write_table(self.tmp / SPELLING, words, previous=previous_spelling)
        if child is not None:
            child.join()
            if child.exitcode != 0:
                raise RuntimeError(f"writing {DOC_TABLES} failed (exit code {child.exitcode})")

    def _index(self, previous: _Previous, corpus: Corpus, full_reason, to_index_ids, to_remove_ids) -> None:
        from indexer import indexing

        wanted = set(to_index_ids)
        records = corpus.records if full_reason else [r for r in corpus.records if r["id"] in wanted]
        if full_reason:
            self.stage("index", f"indexing {len(records)} documents (full build: {full_reason})")
        else:
            self.stage("index", f"updating generation {previous.build_id}: {len(records)} documents to index, "
                                f"{len(to_remove_ids)} to remove")
            _copy_index(previous.path, self.tmp)
        self.progress.start(len(records), "indexing")
        if self.jobs > 1:
            indexed = [0]

            def on_progress(n: int) -> None:
                self.progress.advance(n - indexed[0])
                indexed[0] = n

            if full_reason:
                indexing.create_index(self.tmp, records, jobs=self.jobs, on_progress=on_progress)
            else:
                indexing.update_index(self.tmp, records, to_remove_ids, jobs=self.jobs, on_progress=on_progress)
            _pause_point("index-progress")
        else:
            parts = (parallel.text_slices(records, 8) if self.progress.wants_detail and len(records) > 1
                     else [records])
            for n, part in enumerate(parts):
                if n == 0 and full_reason:
                    indexing.create_index(self.tmp, part)
                else:
                    indexing.update_index(self.tmp, part, to_remove_ids if n == 0 else [])
                self.progress.advance(len(part))
                if n == 0:
                    _pause_point("index-progress")
        self.progress.finish()

    def _manifest(self, corpus: Corpus, versions, full_reason, previous: _Previous, changes, hashes,
                  validation) -> dict:
        finished = _now()
        return {
            "format": MANIFEST_FORMAT,
            "build_id": self.build_id,
            "started_at": _iso(self.started),
            "finished_at": _iso(finished),
            "duration_s": round(time.monotonic() - self.clock, 3),
            "mode": "full" if full_reason else "incremental",
            "full_reason": full_reason,
            "base_generation": None if full_reason else previous.build_id,
            "documents": len(corpus.records),
            "documents_by_kind": dict(sorted(Counter(r["kind"] for r in corpus.records).items())),
            "changes": changes,
            "sources": corpus.sources,
            "skipped": corpus.skipped,
            "merged": len(corpus.merges),
            "anomalies": len(corpus.anomalies),
            "warnings": corpus.warnings,
            "resources": versions,
            "validation": {k: v for k, v in validation.items() if k != "problems"},
            "stages_s": dict(self.stages),  # up to validation; the rest takes milliseconds
            "record_hashes": hashes,
        }

    # -- last_build.json ---------------------------------------------------

    def _record_attempt(self, data: dict) -> None:
        _write_json(self.root / LAST_BUILD, data)

    def _record_outcome(self, result: BuildResult) -> None:
        finished = _now()
        manifest = result.manifest or {}
        self._record_attempt({
            "outcome": result.outcome,
            "message": result.message,
            "build_id": self.build_id,
            "pid": os.getpid(),
            "started_at": _iso(self.started),
            "finished_at": _iso(finished),
            "duration_s": round(time.monotonic() - self.clock, 3),
            "live_generation": result.live,
            "mode": manifest.get("mode") if result.live == self.build_id else None,
            "documents": manifest.get("documents"),
            "changes": manifest.get("changes") if result.live == self.build_id else None,
            "skipped": result.skipped,
            "warnings": [w for w in result.warnings if "\n" not in w.strip()],
            "error_detail": next((w for w in result.warnings if "Traceback" in w), None),
        })


# --------------------------------------------------------------------------- rollback

def rollback(index_root, to: str | None = None, *, force: bool = False) -> str:
    """Switch CURRENT back to the previous generation (or `to`); returns its id."""
    index_root = Path(index_root)
    if not generations_dir(index_root).is_dir():
        raise RollbackError(f"no index at {index_root}")
    live = live_build_id(index_root)
    with BuildLock(index_root).acquire("rollback"):
        names = [n for n in list_generations(index_root)
                 if (generation_dir(index_root, n) / ACTIVATED).exists() or n == to]
        if to is not None:
            if to not in names:
                raise RollbackError(f"no complete generation {to!r} (have: {', '.join(names) or 'none'})")
            target = to
        else:
            older = [n for n in names if live is None or n < live]
            if not older:
                raise RollbackError(f"no generation older than the live one ({live}) to roll back to")
            target = older[-1]
        if target == live:
            raise RollbackError(f"generation {target} is already live")
        manifest = read_manifest(generation_dir(index_root, target)) or {}
        wanted = resource_versions()["analysis"]
        built_with = (manifest.get("resources") or {}).get("analysis")
        if built_with != wanted and not force:
            raise RollbackError(
                f"generation {target} was built with analysis resources {built_with}, "
                f"these are {wanted}: searches would refuse it (use --force to switch anyway)"
            )
        write_atomic(index_root / CURRENT, target + "\n")
        write_atomic(generation_dir(index_root, target) / ACTIVATED, _iso(_now()) + "\n")
    return target


# --------------------------------------------------------------------------- status

def index_status(index_root) -> dict:
    """The live generation, the others, and the last build attempt, as plain data."""
    index_root = Path(index_root)
    now = _now()
    live_id = live_build_id(index_root)
    live_path = live_generation(index_root)
    manifest = read_manifest(live_path) if live_path else None
    problems = []
    if live_id and manifest is None:
        problems.append(f"CURRENT names generation {live_id}, which is missing or incomplete")
    live = None
    if manifest is not None:
        built = _parse_iso(manifest.get("finished_at"))
        age = (now - built).total_seconds() if built else None
        live = {
            "build_id": manifest["build_id"],
            "path": str(live_path),
            "built_at": manifest.get("finished_at"),
            "age_seconds": round(age) if age is not None else None,
            "age": _human_age(age),
            "mode": manifest.get("mode"),
            "duration_s": manifest.get("duration_s"),
            "documents": manifest.get("documents"),
            "documents_by_kind": manifest.get("documents_by_kind"),
            "sources": [{k: s.get(k) for k in ("path", "sha256", "size", "format", "records", "status")}
                        for s in manifest.get("sources", [])],
            "skipped": manifest.get("skipped", []),
            "resources": manifest.get("resources"),
        }
    generations = []
    for name in list_generations(index_root):
        m = read_manifest(generation_dir(index_root, name)) or {}
        generations.append({"build_id": name, "built_at": m.get("finished_at"), "documents": m.get("documents"),
                            "live": name == live_id})
    last = read_last_build(index_root)
    if last and last.get("outcome") == "running" and not _pid_alive(last.get("pid")):
        last = {**last, "outcome": "interrupted",
                "message": "the build stopped before finishing (killed or crashed); the live generation is unchanged"}
    last_view = None
    if last:
        last_view = {k: v for k, v in last.items() if k != "error_detail"}
    return {
        "index_root": str(index_root),
        "live": live,
        "generations": generations,
        "last_build": last_view,
        "build_running": bool(last and last.get("outcome") == "running"),
        "problems": problems,
    }


def _pid_alive(pid) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _human_age(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"
