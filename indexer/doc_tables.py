"""The document tables a search reads besides the postings: for each facet, filter and
date field, which documents carry which value and which values each document carries,
and each document's record id. Written once per generation by the build, read by the
search workers through `mmap`. Most come from the index's postings; the documents each
document cites come from the links the build resolved over the whole corpus (kept
beside the index, not in it: see indexer.lineage.DERIVED_FIELDS).

Held as Python dicts, lists and arrays, these tables cost every worker its own copy,
growing with the corpus (and a worker that opens a new generation after a nightly
build cannot share the copy its parent made before forking). Mapped from a file, the
bytes sit in the OS page cache once for every worker; a worker holds only the values
of the small fields (facets, dates) it has decoded.

The file: the header's length (8 bytes), a magic line, a JSON header (the document
count and, per field, where its sections lie), then 8-byte aligned sections of
little-endian 32-bit integers, each field with its UTF-8 blob of values and
  value_at   n_values + 1 offsets into the field's UTF-8 blob (values sorted)
  docs_at    n_values + 1 offsets into docs; docs: each value's documents, ascending
  values_at  doc_count + 1 offsets into values; values: each document's value numbers
  label_at   (labelled fields, LABELS) n_values + 1 offsets into the field's labels blob
and one byte per document number: 1 for a live document.
"""
from __future__ import annotations

import json
import mmap
import os
import struct
import sys
from array import array
from bisect import bisect_left
from collections import Counter
from pathlib import Path

import numpy as np

from indexer.lineage import link_keys, link_label
from indexer.schema import DATE_FILTERS, FACETS, FILTER_FIELDS

MAGIC = b"policy-search document tables 2\n"
ID_FIELD = "id"
# every field a search reads this way (facets, the report each document came from,
# filters on another field than their facet, dates, ids), each once
FIELDS = tuple(dict.fromkeys([*FACETS.values(), "report", *FILTER_FIELDS.values(),
                              *(fieldname for fieldname, _op in DATE_FILTERS.values()), ID_FIELD]))
# fields made from each document's links (its `cites`): field → the values of a list of
# links (the cites facet counts each parent once, by key; its filter finds a parent by
# any of its names)
LINK_FIELDS = {FACETS["cites"]: lambda links: [link["key"] for link in links],
               FILTER_FIELDS["cites"]: link_keys}
# the others, read from the index's postings
POSTING_FIELDS = tuple(name for name in FIELDS if name not in LINK_FIELDS)
# fields whose values are labelled for display (a cited parent's key → how its citing
# documents name it); a value's label is the one its first document (by number) gives
LABELS = (FACETS["cites"],)
_ALIGN = 8
# a field of at most this many values keeps them decoded (facets, dates); larger ones
# (ids, cited parents: they grow with the corpus) decode a value each time it is read
DECODED_KEPT = 2048


def _int_array(values) -> array:
    out = array("i", values)
    if sys.byteorder != "little":
        out.byteswap()
    return out


def collect(reader, links) -> tuple[int, bytes, dict[str, list[tuple[str, list[int]]]]]:
    """(document count, live flags, field → [(value, its live documents)] sorted by value)
    from a Whoosh reader and the links of its records (record id → links)."""
    count = reader.doc_count_all()
    live = bytearray(count)
    for docnum in reader.all_doc_ids():
        live[docnum] = 1
    fields: dict[str, list[tuple[str, list[int]]]] = {}
    for fieldname in POSTING_FIELDS:
        holders: dict[bytes, list[int]] = {}
        if fieldname in reader.schema:
            for leaf, base in reader.leaf_readers():
                for term, ids in _segment_postings(leaf, fieldname):
                    docs = [base + d for d in ids if live[base + d]]
                    if docs:
                        holders.setdefault(term, []).extend(docs)
        entries = [(term.decode("utf-8"), docs) for term, docs in holders.items()]
        entries.sort(key=lambda entry: entry[0])
        fields[fieldname] = entries
    docnum_of = {value: docs[0] for value, docs in fields[ID_FIELD]}
    for fieldname, values_of in LINK_FIELDS.items():
        named: dict[str, list[int]] = {}
        for record_id, doc_links in links.items():
            docnum = docnum_of.get(record_id)
            if docnum is not None:
                for value in dict.fromkeys(values_of(doc_links)):
                    named.setdefault(value, []).append(docnum)
        fields[fieldname] = sorted((value, sorted(docs)) for value, docs in named.items())
    return count, bytes(live), fields


def stored_links(reader) -> dict[str, list[dict]]:
    """Record id → links, of an index whose records were indexed with their links
    (made directly from annotated records, without a build's lineage table)."""
    out = {}
    for docnum in reader.all_doc_ids():
        record = json.loads(reader.stored_fields(docnum).get("record") or "{}")
        if record.get("cites"):
            out[record["id"]] = record["cites"]
    return out


def _segment_postings(leaf, fieldname: str):
    """(term, segment docnums) of every term of a field in one segment. The whoosh3
    codec's terms table is walked in order, each term's postings read from the
    terminfo found on the way (the public path looks every term up again: three times
    as long at 50× the report); its private names are used only where they exist."""
    terms = getattr(leaf, "_terms", None)
    if all(hasattr(terms, name) for name in ("items_from", "_codec", "_postfile")):
        format_ = leaf.schema[fieldname].format
        for (name, term), terminfo in terms.items_from(fieldname, b""):
            if name != fieldname:
                break
            yield term, terms._codec.postings_reader(terms._postfile, terminfo, format_,
                                                     term=(fieldname, term)).all_ids()
        return
    for term in leaf.lexicon(fieldname):
        yield term, leaf.postings(fieldname, term).all_ids()


def write_tables(path: Path, reader, links=None) -> None:
    """The tables of the index `reader` reads, written to `path` (atomically); `links`
    (record id → its links, lineage.derived_table()'s "cites") by default those its
    stored records carry."""
    links = stored_links(reader) if links is None else links
    count, live, fields = collect(reader, links)
    id_of = {docs[0]: value for value, docs in fields[ID_FIELD]}
    sections: list[bytes] = []
    offset = 0
    header: dict = {"doc_count": count, "live_count": sum(live), "fields": {}}

    def add(data: bytes) -> int:
        nonlocal offset
        start = offset
        padded = data + b"\0" * (-len(data) % _ALIGN)
        sections.append(padded)
        offset += len(padded)
        return start

    header["live"] = add(live)
    for fieldname, entries in fields.items():
        blob = bytearray()
        value_at, docs_at, docs = [0], [0], []
        of_doc: list[list[int]] = [[] for _ in range(count)]
        for number, (value, holders) in enumerate(entries):
            blob += value.encode("utf-8")
            value_at.append(len(blob))
            docs.extend(holders)
            docs_at.append(len(docs))
            for docnum in holders:
                of_doc[docnum].append(number)
        values_at, values = [0], []
        for numbers in of_doc:
            values.extend(numbers)
            values_at.append(len(values))
        spec = {
            "values": len(entries),
            "blob": [add(bytes(blob)), len(blob)],
            "value_at": add(_int_array(value_at).tobytes()),
            "docs_at": add(_int_array(docs_at).tobytes()),
            "docs": add(_int_array(docs).tobytes()),
            "values_at": add(_int_array(values_at).tobytes()),
            "of_doc": add(_int_array(values).tobytes()),
        }
        if fieldname in LABELS:
            labels, label_at = _labels(entries, lambda docnum: links.get(id_of.get(docnum)) or [])
            spec["labels"] = [add(labels), len(labels)]
            spec["label_at"] = add(_int_array(label_at).tobytes())
        header["fields"][fieldname] = spec
    head = MAGIC + json.dumps(header, separators=(",", ":")).encode("utf-8") + b"\n"
    head += b" " * (-len(head) % _ALIGN)
    tmp = Path(f"{path}.tmp")
    with open(tmp, "wb") as out:
        out.write(struct.pack("<Q", len(head)))
        out.write(head)
        for section in sections:
            out.write(section)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def _labels(entries, links_of) -> tuple[bytes, list[int]]:
    """(labels blob, offsets) of a labelled field's values (parent keys), each as the
    first of its documents that names it, by `links_of(docnum)`, names it ("" where none
    does)."""
    blob, label_at, read = bytearray(), [0], {}
    for value, docs in entries:
        for docnum in docs:
            if docnum not in read:
                read[docnum] = {link["key"]: link_label(link) for link in links_of(docnum)}
            label = read[docnum].get(value)
            if label:
                blob += label.encode("utf-8")
                break
        label_at.append(len(blob))
    return bytes(blob), label_at


class TablesError(Exception):
    """A tables file that is missing, damaged or of another format."""


class DocTables:
    """One generation's tables, mapped read-only. Forked workers may share an open
    one (a mapping has no file offset); the bytes are the page cache's."""

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            with open(self.path, "rb") as handle:
                self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError) as exc:
            raise TablesError(f"{self.path}: {exc}") from exc
        try:
            (head_len,) = struct.unpack_from("<Q", self._map, 0)
            head = bytes(self._map[8:8 + head_len])
            if not head.startswith(MAGIC):
                raise TablesError(f"{self.path}: not a document tables file")
            header = json.loads(head[len(MAGIC):])
        except (struct.error, ValueError) as exc:
            self._map.close()
            raise TablesError(f"{self.path}: {exc}") from exc
        self._view = memoryview(self._map)
        self._base = 8 + head_len
        self.doc_count: int = header["doc_count"]
        self.live = LiveDocs(self._bytes(header["live"], self.doc_count), header["live_count"])
        self.fields = {name: FieldTable(self, name, spec) for name, spec in header["fields"].items()}

    def _bytes(self, offset: int, length: int) -> memoryview:
        start = self._base + offset
        return self._view[start:start + length]

    def _ints(self, offset: int, count: int) -> memoryview:
        return self._bytes(offset, 4 * count).cast("i")

    def close(self) -> None:
        """Unmap, unless views handed out are still alive (then the mapping goes with them)."""
        self.fields = {}
        try:
            self._view.release()
            self._map.close()
        except BufferError:
            pass


class LiveDocs:
    """The live document numbers, as a read-only set (a byte a document, copied out of
    the mapping: asked of every document a query scores, and small)."""

    __slots__ = ("_flags", "_count")

    def __init__(self, flags: memoryview, count: int):
        self._flags, self._count = bytes(flags), count

    def __contains__(self, docnum) -> bool:
        try:
            return docnum >= 0 and self._flags[docnum] == 1
        except (IndexError, TypeError):
            return False

    def __iter__(self):
        return (d for d, flag in enumerate(self._flags) if flag)

    def __len__(self) -> int:
        return self._count

    @property
    def flags(self) -> bytes:
        """A byte a document: 1 for a live one, 0 for a deleted one."""
        return self._flags


class FieldTable:
    """One field's values, each with its documents, and each document's values."""

    def __init__(self, tables: DocTables, name: str, spec: dict):
        self.name = name
        self.size = spec["values"]
        blob_at, blob_len = spec["blob"]
        self._blob = tables._bytes(blob_at, blob_len)
        self._value_at = tables._ints(spec["value_at"], self.size + 1)
        self._docs_at = tables._ints(spec["docs_at"], self.size + 1)
        self._docs = tables._ints(spec["docs"], self._docs_at[self.size])
        self._values_at = tables._ints(spec["values_at"], tables.doc_count + 1)
        self._of_doc = tables._ints(spec["of_doc"], self._values_at[tables.doc_count])
        self.labelled = "label_at" in spec
        if self.labelled:
            self._labels = tables._bytes(*spec["labels"])
            self._label_at = tables._ints(spec["label_at"], self.size + 1)
        # decoded values kept, for fields of few values (ids, cited parents: one or more a
        # document, decoded when read)
        self._decoded: dict[int, str] | None = {} if self.size <= DECODED_KEPT else None

    def value(self, number: int) -> str:
        if self._decoded is not None:
            text = self._decoded.get(number)
            if text is None:
                text = self._decoded[number] = self._decode(number)
            return text
        return self._decode(number)

    def label(self, number: int) -> str | None:
        """The value's label (a labelled field's), or None."""
        if not self.labelled or self._label_at[number] == self._label_at[number + 1]:
            return None
        return bytes(self._labels[self._label_at[number]:self._label_at[number + 1]]).decode("utf-8")

    def _decode(self, number: int) -> str:
        return bytes(self._blob[self._value_at[number]:self._value_at[number + 1]]).decode("utf-8")

    def number(self, value: str) -> int | None:
        """The value's number (values are sorted), or None."""
        if not isinstance(value, str):
            return None
        low = bisect_left(range(self.size), value, key=self._decode)
        return low if low < self.size and self._decode(low) == value else None

    def docs(self, number: int) -> memoryview:
        return self._docs[self._docs_at[number]:self._docs_at[number + 1]]

    def numbers_of(self, docnum: int) -> memoryview:
        if not 0 <= docnum < len(self._values_at) - 1:
            return self._of_doc[0:0]
        return self._of_doc[self._values_at[docnum]:self._values_at[docnum + 1]]


class DocsByValue:
    """A field's value → its live documents (ascending), read like a dict; with
    `single`, → its one document (record ids)."""

    __slots__ = ("field", "single")

    def __init__(self, field: FieldTable, single: bool = False):
        self.field, self.single = field, single

    def get(self, value, default=None):
        number = self.field.number(value)
        if number is None:
            return default
        docs = self.field.docs(number)
        return docs[0] if self.single else docs

    def __getitem__(self, value):
        docs = self.get(value)
        if docs is None:
            raise KeyError(value)
        return docs

    def __contains__(self, value) -> bool:
        return self.field.number(value) is not None

    def __iter__(self):
        return (self.field.value(n) for n in range(self.field.size))

    def keys(self):
        return iter(self)

    def items(self):
        return ((self.field.value(n), self.field.docs(n)) for n in range(self.field.size))

    def __len__(self) -> int:
        return self.field.size


class ValuesOfDoc:
    """A document number → the field's values it carries (a tuple), read like a dict
    of the documents that carry one; with `single`, → its one value (dates, ids)."""

    __slots__ = ("field", "single")

    def __init__(self, field: FieldTable, single: bool = False):
        self.field, self.single = field, single

    def get(self, docnum, default=None):
        numbers = self.field.numbers_of(docnum) if isinstance(docnum, int) else ()
        if not numbers:
            return default
        if self.single:
            return self.field.value(numbers[0])
        return tuple(self.field.value(n) for n in numbers)

    def rank(self, docnum, default: int = -1) -> int:
        """The number of the document's (first) value: values are numbered in sorted
        order, so numbers sort as the values do, without decoding them."""
        numbers = self.field.numbers_of(docnum) if isinstance(docnum, int) else ()
        return numbers[0] if numbers else default

    def ranks(self) -> np.ndarray:
        """rank() of every document, by docnum (-1 for those without a value)."""
        at = np.frombuffer(self.field._values_at, dtype=np.int32)
        has = at[1:] > at[:-1]
        out = np.full(len(at) - 1, -1, dtype=np.int64)
        out[has] = np.frombuffer(self.field._of_doc, dtype=np.int32)[at[:-1][has]]
        return out

    def __contains__(self, docnum) -> bool:
        return isinstance(docnum, int) and len(self.field.numbers_of(docnum)) > 0

    def __iter__(self):
        at = self.field._values_at
        return (d for d in range(len(at) - 1) if at[d + 1] > at[d])

    def items(self):
        return ((d, self.get(d)) for d in self)

    def count(self, docs) -> Counter:
        """How many of `docs` carry each value (values decoded once each)."""
        return self.count_labelled(docs)[0]

    def count_labelled(self, docs) -> tuple[Counter, dict[str, str]]:
        """count(docs), and the labels of the values counted (a labelled field's).
        `docs` may be a mask (doc_mask) as well as documents."""
        field = self.field
        chosen = docs if isinstance(docs, np.ndarray) else doc_mask(docs, len(field._values_at) - 1)
        # every (document, value) pair of the field, counted where the document is chosen
        # (arrays over the whole index: a step for all documents, not a Python step each)
        values_at = np.frombuffer(field._values_at, dtype=np.int32)
        owners = np.repeat(np.arange(len(values_at) - 1), np.diff(values_at))
        counted = np.bincount(np.frombuffer(field._of_doc, dtype=np.int32)[chosen[owners]],
                              minlength=field.size)
        numbers = np.flatnonzero(counted).tolist()
        values = {n: field.value(n) for n in numbers}
        labels = {}
        if field.labelled:
            labels = {values[n]: label for n in numbers if (label := field.label(n)) is not None}
        return Counter({values[n]: c for n, c in zip(numbers, counted[numbers].tolist())}), labels

    def labels_of(self, values) -> dict[str, str]:
        """The labels of these values (a labelled field's, looked up one by one)."""
        out = {}
        for value in values:
            number = self.field.number(value)
            label = None if number is None else self.field.label(number)
            if label is not None:
                out[value] = label
        return out


def doc_mask(docs, count: int) -> np.ndarray:
    """A bool a document (`count` of them), true for those of `docs` (an array or a set
    of docnums, the live documents, any iterable of them; numbers out of range are
    left out)."""
    if isinstance(docs, LiveDocs):
        return np.frombuffer(docs.flags, dtype=bool)
    if isinstance(docs, np.ndarray):
        numbers = docs.astype(np.int64, copy=False)
    else:
        numbers = np.fromiter(docs, dtype=np.int64, count=len(docs) if hasattr(docs, "__len__") else -1)
    mask = np.zeros(count, dtype=bool)
    mask[numbers[(numbers >= 0) & (numbers < count)]] = True
    return mask


def open_tables(path: Path) -> DocTables | None:
    """The tables at `path`, or None when it is missing or unreadable."""
    if not Path(path).is_file():
        return None
    try:
        return DocTables(path)
    except (TablesError, KeyError, TypeError):
        return None
