"""Reading an index: a document's stored record, and postings and field lengths a
block at a time (the search side's one module that knows Whoosh's internals; the build's document
tables walk the terms table in indexer.doc_tables).

The one-pass scorer needs each term's postings as arrays (numpy: a Python int and
float for every posting of a common word were most of the objects a query made and
dropped, and left half-used pages behind in every worker) and each document's field
length (its byte, as stored) as one bytes object per segment. Whoosh's public API yields them one posting
and one document at a time; its whoosh3 codec can hand over a whole block, and a
segment's lengths column can be read at once. Both fast paths use private names of
that codec, so each is taken only where those names exist, and each has a public
slow path that gives the same answer (tests/test_scoring.py runs both).
"""
from __future__ import annotations

import json
from itertools import accumulate
from pickle import loads

import numpy as np

from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
from whoosh.formats import _INT_SIZE, Positions
from whoosh.matching.wrappers import FilterMatcher
from whoosh.util.numeric import length_to_byte

_BLOCK_READER = ("_read_data", "_data", "_byteids", "_read_weights", "_read_values", "_next_block", "_maxid")
_LENGTHS_COLUMN = ("_dbfile", "_basepos", "_count")


class Postings:
    """One term's postings in one segment: docnums (segment-local, ascending) and
    weights as arrays, and the encoded values (positions) for the chains that need them."""
    __slots__ = ("ids", "weights", "values", "_format", "_decode")

    def __init__(self, ids: np.ndarray, weights: np.ndarray, values, format_):
        self.ids = ids
        self.weights = weights
        self.values = values
        self._format = format_
        self._decode = None

    def at(self, docnums) -> np.ndarray:
        """The indexes of these docnums' postings (each must be present)."""
        return np.searchsorted(self.ids, docnums)

    def positions(self, docnum: int) -> list[int]:
        if self._decode is None:
            self._decode = positions_decoder(self._format)
        return self._decode(self.values[int(self.at(docnum))])


def positions_decoder(format_, fast: bool = True):
    """A function decoding one posting's value into its positions. Whoosh's Positions
    format stores them as a pickled list of deltas: decoded here in one C-level pass
    instead of Whoosh's loop over the deltas."""
    if fast and type(format_) is Positions:
        def deltas(v: bytes):
            return loads(v[_INT_SIZE:] if v.endswith(b".") else v[_INT_SIZE:] + b".")
        return lambda v: list(accumulate(deltas(v)))
    return format_.decoder("positions")


def read_postings(reader, fieldname: str, btext: bytes, with_values: bool,
                  within: np.ndarray | None = None, fast: bool = True) -> Postings | None:
    """A term's postings, or None when the segment lacks it. With `within` (ascending
    segment docnums), blocks holding none of those documents are passed over without
    being decoded, as Whoosh's skip_to does. Deleted documents are included: the
    caller keeps the live ones."""
    if (fieldname, btext) not in reader:
        return None
    m = reader.postings(fieldname, btext)
    if isinstance(m, FilterMatcher):
        m = m.child
    fmt = reader.schema[fieldname].format
    if fast and all(hasattr(m, name) for name in _BLOCK_READER) and not m._byteids:
        ids, weights, values = _read_blocks(m, with_values, within)
    else:
        ids, weights, values = _read_one_by_one(m, with_values)
    return Postings(ids, weights, values if with_values else None, fmt)


def _joined(parts: list[np.ndarray], dtype) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype=dtype)


def _read_blocks(m, with_values: bool, within: np.ndarray | None):
    """The whoosh3 codec's block reader: a block of postings decoded at once, its ids
    (stored as deltas) summed and its weights gathered as arrays."""
    ids: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    values: list = []
    low = 0  # documents below this id were in blocks already passed
    while m.is_active():
        if within is not None:
            k = int(np.searchsorted(within, low))
            low = m._maxid + 1
            if k == len(within):
                break
            if within[k] > m._maxid:
                m._next_block()
                continue
        if m._data is None:
            m._read_data()
        ids.append(np.cumsum(np.array(m._data[0], dtype=np.int64)))
        m._read_weights()
        weights.append(np.array(m._weights, dtype=np.float64))
        if with_values:
            m._read_values()
            values.extend(m._values)
        m._next_block()
    return _joined(ids, np.int64), _joined(weights, np.float64), values


def _read_one_by_one(m, with_values: bool):
    """Any codec, through the public matcher API."""
    ids: list[int] = []
    weights: list[float] = []
    values: list = []
    while m.is_active():
        ids.append(m.id())
        weights.append(m.weight())
        if with_values:
            values.append(m.value())
        m.next()
    return np.array(ids, dtype=np.int64), np.array(weights, dtype=np.float64), values


def segment_length_codes(searcher, fieldname: str, fast: bool = True) -> bytes:
    """Every document's length of the field in a segment as Whoosh stores it, one byte
    a document (whoosh.util.numeric.byte_to_length gives the length): from its lengths
    column at once, else asked document by document."""
    reader = searcher.reader()
    count = reader.doc_count_all()
    perdoc = getattr(reader, "_perdoc", None)
    column = None
    if fast and perdoc is not None and hasattr(perdoc, "_cached_reader"):
        column = perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
    if column is not None and all(hasattr(column, a) for a in _LENGTHS_COLUMN):
        raw = bytes(column._dbfile.get(column._basepos, column._count))
        return raw + bytes(count - len(raw))
    return bytes(length_to_byte(reader.doc_field_length(d, fieldname, 0) or 0) for d in range(count))


def stored_record(searcher, docnum: int) -> dict:
    """The record a document was indexed from (its `record` stored field)."""
    return json.loads(searcher.stored_fields(docnum)["record"])
