"""A replica's pull: copy the primary's live generation, check it, switch to it.

    replicate(source, index_root) → ReplicaResult

One pass asks the primary (`policy-search serve --publish-allow …`, indexer.publish)
which generation is live. When this replica lacks it, every file is fetched into
`generations/.tmp-<build_id>/` (a file the live generation already holds with the
same size and hash, such as the segments an incremental build kept, is hard-linked
instead), checked against its sha256, the whole is validated as a build validates its
own generation (every document of the manifest in the index once, smoke queries from
sampled documents), and only then moved into place and switched to by the same
function a build uses (indexer.build.install_generation). Older generations are kept
for rollback as after a build.

Whatever goes wrong (the primary down or refusing, a transfer cut off or corrupted, a
generation built with other analysis resources, a failed validation) raises
ReplicationError with one line, removes the partial copy and leaves the live
generation as it was. The build lock keeps a pull and a build or rollback apart.
"""
from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from indexer.build import (ACTIVATED, DEFAULT_KEEP, MANIFEST, TMP_PREFIX, BuildLock, clean_debris,
                           generation_dir, generations_dir, install_generation, list_generations,
                           live_build_id, live_generation, prune_generations, read_manifest, rollback,
                           validate_generation)
from indexer.errors import ReplicationError, RollbackError
from indexer.publish import CHUNK, PUBLISH_FORMAT, file_sha256, is_safe_name

# The primary's publishing routes (search_app/views/publish.py serves them).
LIVE_PATH = "/replicate/live"
FILE_PATH = "/replicate/generations/{build_id}/{name}"
SMOKE_SAMPLE = 3
USER_AGENT = "policy-search-replica"


@dataclass
class ReplicaResult:
    # copied (a new generation fetched and live) | switched (one already here made
    # live again: the primary rolled back) | unchanged
    outcome: str
    build_id: str
    message: str
    previous: str | None = None
    downloaded_files: int = 0
    downloaded_bytes: int = 0
    linked_files: int = 0
    seconds: float = 0.0
    pruned: list[str] = field(default_factory=list)


def replicate(source: str, index_root, *, keep: int = DEFAULT_KEEP, timeout: float = 60.0) -> ReplicaResult:
    """One pass: make the primary's live generation live here (see the module doc)."""
    started = time.monotonic()
    root = Path(index_root)
    source = _base_url(source)
    listing = _listing(source, timeout)
    build_id = listing["build_id"]
    wanted = _expected_analysis()
    built_with = (listing.get("resources") or {}).get("analysis")
    if built_with != wanted:
        raise ReplicationError(
            f"the primary's generation {build_id} was built with analysis resources {built_with}, "
            f"this replica has {wanted}: run the same version of policy-search on both")
    previous = live_build_id(root)
    if previous == build_id and live_generation(root) is not None:
        return ReplicaResult("unchanged", build_id, f"generation {build_id} is already live", previous=previous)
    root.mkdir(parents=True, exist_ok=True)
    generations_dir(root).mkdir(exist_ok=True)
    here = generation_dir(root, build_id)
    if build_id in list_generations(root) and (here / ACTIVATED).exists():
        # The primary went back to a generation this replica kept: switch as rollback does.
        try:
            rollback(root, to=build_id)
        except RollbackError as exc:
            raise ReplicationError(str(exc)) from None
        return ReplicaResult("switched", build_id, f"generation {build_id} (kept here) is live again",
                             previous=previous, seconds=round(time.monotonic() - started, 3))
    with BuildLock(root).acquire("replicate"):
        clean_debris(root)
        result = _copy(source, root, listing, wanted, timeout)
        result.previous = previous
        result.pruned = prune_generations(root, keep)
    result.seconds = round(time.monotonic() - started, 3)
    return result


def _base_url(source: str) -> str:
    parts = urllib.parse.urlsplit(source)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ReplicationError(f"--from needs an http:// or https:// address of the primary, not {source!r}")
    return source.rstrip("/")


def _expected_analysis() -> str:
    from indexer import analysis

    return str(analysis.resources_version())


# --------------------------------------------------------------------------- HTTP

def _open(url: str, timeout: float):
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        reason = {403: "refuses this replica's address (see --publish-allow on the primary)",
                  404: "has no such file, or does not publish (serve --publish-allow)",
                  503: "has no live generation to publish"}.get(exc.code, f"answered HTTP {exc.code}")
        raise ReplicationError(f"the primary {reason}: {url}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ReplicationError(f"the primary cannot be reached at {url}: {reason}") from None


def _listing(source: str, timeout: float) -> dict:
    with _open(source + LIVE_PATH, timeout) as response:
        try:
            listing = json.loads(response.read())
        except (ValueError, OSError) as exc:
            raise ReplicationError(f"the primary's listing is unreadable: {exc}") from None
    files = listing.get("files") if isinstance(listing, dict) else None
    if (listing.get("format") != PUBLISH_FORMAT or not is_safe_name(listing.get("build_id"))
            or not isinstance(files, list) or not files
            or not all(isinstance(f, dict) and is_safe_name(f.get("name")) and isinstance(f.get("size"), int)
                       and isinstance(f.get("sha256"), str) for f in files)
            or MANIFEST not in {f["name"] for f in files}):
        raise ReplicationError(f"the primary's listing at {source + LIVE_PATH} is not one this version reads")
    return listing


def _download(url: str, target: Path, entry: dict, timeout: float) -> None:
    digest, got = hashlib.sha256(), 0
    with _open(url, timeout) as response, open(target, "wb") as out:
        while True:
            try:
                chunk = response.read(CHUNK)
            except (OSError, http.client.HTTPException) as exc:  # IncompleteRead: the connection broke
                raise ReplicationError(f"the transfer of {entry['name']} was cut off after {got} of "
                                       f"{entry['size']} bytes ({type(exc).__name__})") from None
            if not chunk:
                break
            digest.update(chunk)
            out.write(chunk)  # an OSError here (a full disk) is the replica's, said by _copy
            got += len(chunk)
    if got != entry["size"]:
        raise ReplicationError(f"the transfer of {entry['name']} was cut off: {got} of {entry['size']} bytes")
    if digest.hexdigest() != entry["sha256"]:
        raise ReplicationError(f"{entry['name']} arrived corrupted (sha256 {digest.hexdigest()[:12]}, "
                               f"the primary lists {entry['sha256'][:12]})")


# --------------------------------------------------------------------------- copy and check

def _copy(source: str, root: Path, listing: dict, wanted: str, timeout: float) -> ReplicaResult:
    build_id = listing["build_id"]
    tmp = generations_dir(root) / f"{TMP_PREFIX}{build_id}"
    live = live_generation(root)
    result = ReplicaResult("copied", build_id, "")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        for entry in listing["files"]:
            target = tmp / entry["name"]
            if live is not None and _same_file(live / entry["name"], entry):
                os.link(live / entry["name"], target)  # never rewritten by Whoosh: safe to share
                result.linked_files += 1
                continue
            url = source + FILE_PATH.format(build_id=urllib.parse.quote(build_id),
                                            name=urllib.parse.quote(entry["name"]))
            _download(url, target, entry, timeout)
            result.downloaded_files += 1
            result.downloaded_bytes += entry["size"]
        _check(tmp, build_id, wanted)
        install_generation(root, tmp, build_id)
    except OSError as exc:  # this machine's disk: full, read-only, permissions
        shutil.rmtree(tmp, ignore_errors=True)
        raise ReplicationError(f"the copy of generation {build_id} could not be written under {root}: "
                               f"{exc.strerror or exc}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    manifest = read_manifest(generation_dir(root, build_id)) or {}
    result.message = (f"generation {build_id} is live: {manifest.get('documents')} documents, "
                      f"{result.downloaded_files} files fetched ({result.downloaded_bytes} bytes), "
                      f"{result.linked_files} kept from the previous generation")
    return result


def _same_file(path: Path, entry: dict) -> bool:
    try:
        return path.is_file() and path.stat().st_size == entry["size"] and file_sha256(path) == entry["sha256"]
    except OSError:
        return False


def _check(tmp: Path, build_id: str, wanted: str) -> None:
    """The copy is the generation the manifest describes, built with this replica's
    analysis resources, and passes a build's validation."""
    from indexer.indexing import read_stamp

    manifest = read_manifest(tmp)
    if manifest is None or manifest.get("build_id") != build_id:
        raise ReplicationError(f"the manifest of generation {build_id} is missing or names another generation")
    stamp = (read_stamp(tmp) or {}).get("resources_version")
    if (manifest.get("resources") or {}).get("analysis") != wanted or stamp != wanted:
        raise ReplicationError(f"generation {build_id} was built with analysis resources {stamp}, "
                               f"this replica has {wanted}")
    ids = sorted(manifest.get("record_hashes") or {})
    if not ids:
        raise ReplicationError(f"the manifest of generation {build_id} lists no documents")
    try:
        records = _validation_records(tmp, ids)
        # The primary has applied its --max-drop already; a replica follows it.
        findings = validate_generation(tmp, records, None, max_drop=1.0, force=True,
                                       fresh_ids=[r["id"] for r in records if len(r) > 1])
    except ReplicationError:
        raise
    except Exception as exc:  # a damaged index that Whoosh cannot open
        raise ReplicationError(f"generation {build_id} cannot be opened: {type(exc).__name__}: {exc}") from None
    if findings["problems"]:
        raise ReplicationError(f"validation refused generation {build_id}: " + "; ".join(findings["problems"]))


def _validation_records(index_dir: Path, ids: list[str]) -> list[dict]:
    """Every document the manifest lists (by id, for the count), a few of them whole
    (their stored records, for the smoke queries a build runs on its own records)."""
    from indexer.indexing import open_index

    step = max(1, len(ids) // SMOKE_SAMPLE)
    sample = set(ids[::step][:SMOKE_SAMPLE]) | {ids[-1]}
    whole = {}
    ix = open_index(index_dir)
    try:
        with ix.searcher() as searcher:
            for doc_id in sample:
                fields = searcher.document(id=doc_id)
                if fields and fields.get("record"):
                    whole[doc_id] = json.loads(fields["record"])
    finally:
        ix.close()
    return [whole.get(i, {"id": i}) for i in ids]
