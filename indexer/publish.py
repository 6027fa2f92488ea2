"""What a primary offers its replicas: a generation's files, each with its size and hash.

A generation is an immutable directory (indexer.build): every file in it is written
before it goes live and never changed afterwards, except ACTIVATED, which records
when this machine made it live and so is not published. A replica
(indexer.replicate) copies the files listed here, checks each against its hash and
switches as a build does.

The hashes are computed on first request and remembered per file (path, size,
modification time), so a replica polling every few seconds costs a stat per file.
"""
from __future__ import annotations

import hashlib
import re
import threading
from pathlib import Path

from indexer.build import (ACTIVATED, TMP_PREFIX, generation_dir, live_build_id, list_generations,
                           read_manifest)

PUBLISH_FORMAT = 1
# Build ids (UTC timestamps) and Whoosh's file names: letters, digits, dot, dash,
# underscore. Anything else in a listing or a URL is refused before it reaches a path.
SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,199}$")
CHUNK = 1 << 20

_hashes: dict[tuple, str] = {}
_hashes_lock = threading.Lock()


def file_sha256(path: Path) -> str:
    """The sha256 of a file, remembered while its size and modification time stay."""
    info = path.stat()
    key = (str(path), info.st_size, info.st_mtime_ns, info.st_ino)
    with _hashes_lock:
        known = _hashes.get(key)
    if known is not None:
        return known
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    value = digest.hexdigest()
    with _hashes_lock:
        _hashes[key] = value
    return value


def published_names(generation: Path) -> list[str]:
    """The files of a generation a replica needs: all but this machine's own
    ACTIVATED mark, Whoosh's lock and half-written temporaries."""
    return sorted(
        p.name for p in generation.iterdir()
        if p.is_file() and p.name != ACTIVATED and TMP_PREFIX not in p.name
        and not p.name.endswith("WRITELOCK") and SAFE_NAME.match(p.name)
    )


def describe_generation(index_root, build_id: str | None = None) -> dict | None:
    """The listing of a generation (the live one by default): build id, the
    analysis resources it was built with, its documents, and every file with its
    size and sha256. None when there is no such complete generation."""
    build_id = build_id or live_build_id(index_root)
    if not build_id or not SAFE_NAME.match(build_id) or build_id not in list_generations(index_root):
        return None
    path = generation_dir(index_root, build_id)
    manifest = read_manifest(path) or {}
    files = [{"name": name, "size": (path / name).stat().st_size, "sha256": file_sha256(path / name)}
             for name in published_names(path)]
    return {
        "format": PUBLISH_FORMAT,
        "build_id": build_id,
        "resources": manifest.get("resources") or {},
        "documents": manifest.get("documents"),
        "finished_at": manifest.get("finished_at"),
        "files": files,
        "bytes": sum(f["size"] for f in files),
    }


def published_file(index_root, build_id: str, name: str) -> Path | None:
    """The path of one published file, or None for anything else: an unknown or
    pruned generation, a name that is not one of its published files."""
    if not (SAFE_NAME.match(build_id) and SAFE_NAME.match(name)):
        return None
    if build_id not in list_generations(index_root):
        return None
    path = generation_dir(index_root, build_id)
    if name not in published_names(path):
        return None
    return path / name


def is_safe_name(name: str) -> bool:
    return bool(SAFE_NAME.match(name or ""))
